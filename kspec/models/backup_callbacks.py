"""BackupAndRestore: Keras's callback over kspec's checkpoints (:mod:`kspec.models.checkpoint`)."""
import os

from kspec.models.callbacks import Callback
from kspec.models.checkpoint import CHECKPOINT_FILE, PREVIOUS_FILE, CheckpointError, read_checkpoint, \
    write_checkpoint
from kspec.registry import register


@register("callback")
class BackupAndRestore(Callback):
    """Back up the whole training state to ``backup_dir`` at the end of every epoch (and every
    ``save_freq`` batches when it is an integer), and resume from it when ``fit`` starts again, to the
    very numbers an uninterrupted fit gives (Keras resumes at the epoch only).

    ``double_checkpoint`` keeps the previous backup too (used when the newest cannot be read);
    ``delete_checkpoint`` removes the backup when training ends. The backup is ``checkpoint.npz`` in
    ``backup_dir``; kspec's run folders use this callback for their own checkpoints.

    Args:
        backup_dir: The folder of the backup (in a spec, relative to the run folder; ``.`` is the run
            folder's own checkpoint, whose frequency save_freq then sets).
        save_freq: epoch, or a number of batches between backups (besides the one at each epoch's end).
        double_checkpoint: Whether to keep the previous backup too, used when the newest cannot be read.
        delete_checkpoint: Whether to delete the backup when training ends.
    """

    def __init__(self, backup_dir, save_freq: "str | int" = "epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and save_freq is not False and (
                isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. "
                             "Expected either 'epoch' or an integer value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batches_since_save = 0
        self.last_saved = None  # (epoch, step) of the newest backup written

    @property
    def path(self):
        return os.path.join(self.backup_dir, CHECKPOINT_FILE)

    def load_latest(self):
        """``(meta, arrays)`` of the newest readable backup, or None when there is none."""
        paths = [self.path]
        if self.double_checkpoint:
            paths.append(os.path.join(self.backup_dir, PREVIOUS_FILE))
        error = None
        for path in paths:
            if os.path.exists(path):
                try:
                    return read_checkpoint(path)
                except CheckpointError as e:
                    error = error or e
        if error is not None:
            raise error
        return None

    def due_on_batch(self):
        if isinstance(self.save_freq, bool) or not isinstance(self.save_freq, int):
            return False
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            return True
        return False

    def backup(self, state):
        meta, arrays = state
        os.makedirs(self.backup_dir, exist_ok=True)
        write_checkpoint(self.path, meta, arrays, keep_previous=self.double_checkpoint)
        self.last_saved = (meta["epoch"], meta["step"])

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            for name in (CHECKPOINT_FILE, PREVIOUS_FILE):
                path = os.path.join(self.backup_dir, name)
                if os.path.exists(path):
                    os.remove(path)
