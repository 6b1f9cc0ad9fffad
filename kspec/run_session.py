"""One training session in a run folder: fit with the run's own checkpoints, then the folder's files; what
happens on Ctrl-C/SIGTERM, on a NaN and on an error (see :mod:`kspec.run_lifecycle` for the folder's life).
"""
import os
import sys
import time

from kspec.models.backup_callbacks import BackupAndRestore
from kspec.models.callbacks import Callback
from kspec.run_lifecycle import (NAN_BATCH_FILE, SignalScope, Terminated, only_kspec_files, release_lock,
                                 remove_checkpoints, remove_stale_temporaries)


# -- the run's own checkpoints --------------------------------------------------------------------------

class RunCheckpoint(BackupAndRestore):
    """BackupAndRestore into the run folder that also keeps ``model.h5``, ``history.csv`` and ``run.json``
    at the last completed epoch."""

    def __init__(self, folder, save_freq, write_epoch_files, record):
        super().__init__(folder, save_freq=save_freq, delete_checkpoint=False)
        self.write_epoch_files = write_epoch_files
        self.record = record
        self.epochs_done = 0

    def backup(self, state):
        meta, _ = state
        if meta["step"] == 0:
            self.write_epoch_files(self.model)
        super().backup(state)
        if meta["step"] == 0:
            self.epochs_done = meta["epoch"]
            self.record.epoch_done(meta["epoch"], meta["epoch_times"])



def run_training(model, spec, doc, preprocessor, splits, folder, session, stream, verbose, checkpoint_every,
                 fresh, result_type, extra_callbacks=()):
    """Fit into ``folder`` (locked by the caller) and write its files; see the module's docstring for
    what happens on an interruption, a NaN or an error. Returns a ``result_type`` (RunResult)."""
    from kspec.models.monitor_callbacks import EarlyStopping
    from kspec.models.nan_guard import NonFiniteError
    from kspec.run_files import (HISTORY_FILE, METRICS_FILE, PREPROCESSING_FILE, check_finite_weights, jsonable,
                                 save_run_model, write_code, write_config, write_history, write_json)
    from kspec.spec.compiler import fit_arguments, make_callbacks

    def write_epoch_files(trained):
        save_run_model(trained, spec, preprocessor, folder)
        if trained.history is not None:
            write_history(trained.history, os.path.join(folder, HISTORY_FILE))

    checkpointer = None
    hook = os.environ.get("KSPEC_TEST_HOOK")
    with SignalScope() as signals:
        try:
            session.save()
            remove_stale_temporaries(folder)
            if fresh:
                write_config(spec, folder, doc)
                write_code(spec, folder)  # copies of the user modules the spec names (module:Name)
            write_json(os.path.join(folder, PREPROCESSING_FILE), preprocessor.state())
            callbacks = make_callbacks(spec, doc, run_dir=folder)  # file arguments go in the run folder
            own = [cb for cb in callbacks if isinstance(cb, BackupAndRestore)
                   and os.path.abspath(cb.backup_dir) == os.path.abspath(folder)]
            save_freq = checkpoint_every or (own[0].save_freq if own else "epoch")
            checkpointer = RunCheckpoint(folder, save_freq, write_epoch_files, session)
            # the caller's callbacks (a sweep's pruning callback) come after the spec's
            callbacks = [checkpointer] + [cb for cb in callbacks if cb not in own] + list(extra_callbacks)
            if hook:
                callbacks.append(PauseHook(hook))
            x, y = splits["train"]
            fit_args = fit_arguments(spec, verbose)
            if "validation" in splits:
                fit_args["validation_data"] = splits["validation"]
            history = model.fit(x, y, callbacks=callbacks, stream=stream, **fit_args)
            if spec.get("stages"):  # fine-tuning stages (kspec.spec.transfer); the run's checkpoints stop here
                from kspec.spec.transfer import run_stages
                histories = [history] + run_stages(model, spec, doc, splits, folder, verbose, stream,
                                                   list(extra_callbacks))
                write_history(histories, os.path.join(folder, HISTORY_FILE))
                history = _joined(histories)
            check_finite_weights(model, os.path.join(folder, "model.h5"), "not saved")
            save_run_model(model, spec, preprocessor, folder)
            if not spec.get("stages"):
                write_history(history, os.path.join(folder, HISTORY_FILE))
            metrics = {}
            if "test" in splits:
                xt, yt = splits["test"]
                metrics = model.evaluate(xt, yt, batch_size=spec["fit"].get("batch_size"), verbose=0,
                                         return_dict=True)
                write_json(os.path.join(folder, METRICS_FILE), jsonable(metrics))
            stopped = any(isinstance(cb, EarlyStopping) and cb.stopped_epoch > 0 for cb in callbacks)
            signals.finishing()
            session.end("early_stopped" if stopped else "finished", epochs_done=len(history.epoch))
            remove_checkpoints(folder)
        except KeyboardInterrupt as e:
            signals.finishing()
            if hook and hook.endswith("+finishing"):
                _pause("while finishing")
            _interrupted(model, folder, session, checkpointer, stream, e)
            raise
        except NonFiniteError as e:
            signals.finishing()
            _stopped_on_nan(model, folder, session, checkpointer, write_epoch_files, e)
            raise
        except BaseException as e:
            signals.finishing()
            done = checkpointer.epochs_done if checkpointer is not None else 0
            if fresh and not done and only_kspec_files(folder):
                import shutil
                shutil.rmtree(folder, ignore_errors=True)
            else:
                session.end("failed", message=f"{type(e).__name__}: {e}")
            raise
        finally:
            if os.path.isdir(folder):
                release_lock(folder)
    return result_type(folder, {k: list(v) for k, v in history.history.items()}, metrics)


def run_training_unwritten(model, spec, doc, splits, folder, verbose, checkpoint_every, result_type,
                           extra_callbacks=()):
    """A data-parallel rank other than 0: the same fit and evaluation as rank 0's :func:`run_training`,
    writing nothing (rank 0 writes the run folder). The spec's callbacks that write files are dropped;
    those that decide (EarlyStopping, ReduceLROnPlateau) stay, as every rank sees the same logs."""
    from kspec.models.callbacks import CSVLogger
    from kspec.models.monitor_callbacks import ModelCheckpoint
    from kspec.spec.compiler import fit_arguments, make_callbacks

    del checkpoint_every  # rank 0 alone checkpoints
    writers = (BackupAndRestore, CSVLogger, ModelCheckpoint)
    callbacks = [cb for cb in make_callbacks(spec, doc, run_dir=folder) if not isinstance(cb, writers)]
    x, y = splits["train"]
    fit_args = fit_arguments(spec, verbose)
    if "validation" in splits:
        fit_args["validation_data"] = splits["validation"]
    history = model.fit(x, y, callbacks=callbacks + list(extra_callbacks), stream=sys.stderr, **fit_args)
    metrics = {}
    if "test" in splits:
        xt, yt = splits["test"]
        metrics = model.evaluate(xt, yt, batch_size=spec["fit"].get("batch_size"), verbose=0, return_dict=True)
    return result_type(folder, {k: list(v) for k, v in history.history.items()}, metrics)


def _joined(histories):
    """One History-like object whose lists run through every stage."""
    from types import SimpleNamespace

    keys = list(dict.fromkeys(k for h in histories for k in h.history))
    joined = {k: [v for h in histories for v in h.history.get(k, [None] * len(h.epoch))] for k in keys}
    return SimpleNamespace(history=joined, epoch=list(range(sum(len(h.epoch) for h in histories))))


def _position(model):
    loop = getattr(model, "_fit_loop", None)
    if loop is None:
        return ""
    return f" in epoch {loop.epoch + 1}, batch {loop.step + 1}" if loop.step >= 0 else f" in epoch {loop.epoch + 1}"


def _interrupted(model, folder, session, checkpointer, stream, exc):
    done = checkpointer.epochs_done if checkpointer is not None else 0
    what = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
    session.end("interrupted", message=f"{what}{_position(model)}", epochs_done=done)
    kept = (f"it keeps the model and checkpoint of epoch {done}" if done
            else "no epoch had ended: resuming starts from the beginning")
    stream.write(f"\nkspec: interrupted by {what}{_position(model)}; {folder}: {kept}\n"
                 f"resume with: kspec train --resume {folder}\n")
    stream.flush()
    exc.kspec_reported = True


def _stopped_on_nan(model, folder, session, checkpointer, write_epoch_files, exc):
    import numpy as np

    from kspec.models.nan_guard import is_finite_sum

    arrays = {}
    for key, value in exc.batch_data.items():
        if isinstance(value, dict):
            arrays.update({f"{key}/{k}": np.asarray(v) for k, v in value.items()})
        elif isinstance(value, (list, tuple)):
            arrays.update({f"{key}/{i}": np.asarray(v) for i, v in enumerate(value)})
        elif value is not None:
            arrays[key] = np.asarray(value)
    arrays.update(epoch=np.int64(exc.epoch), batch=np.int64(exc.batch))
    path = os.path.join(folder, NAN_BATCH_FILE)
    with open(path + ".tmp", "wb") as f:
        np.savez(f, **arrays)
    os.replace(path + ".tmp", path)
    kept = "the model of the last completed epoch"
    if is_finite_sum([w.data for w in model.weights]):
        write_epoch_files(model)  # the weights before the failing update: the last finite ones
        kept = "the weights before the failing update"
    done = checkpointer.epochs_done if checkpointer is not None else 0
    session.end("stopped_on_nan", message=exc.message, epochs_done=done, where=exc.where, cause=exc.cause)
    exc.message += f"\nThe batch is in {path}; model.h5 holds {kept}."
    exc.args = (exc.message,)


class PauseHook(Callback):
    """For tests that interrupt a training at a chosen moment: ``KSPEC_TEST_HOOK=pause@E:B`` prints
    ``KSPEC_TEST_HOOK paused at epoch E batch B`` to stderr before batch B of epoch E (both from 0) and
    waits (up to 120 s) for a signal; ``pause@E:B+finishing`` pauses again after an interruption, before
    the folder is finished (for a second Ctrl-C). Only added when the variable is set."""

    def __init__(self, spec):
        super().__init__()
        _, _, where = spec.partition("@")
        epoch, _, batch = where.partition("+")[0].partition(":")
        self.at = (int(epoch), int(batch or 0))
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            _pause(f"at epoch {self.epoch} batch {batch}")


def _pause(where):
    sys.stderr.write(f"\nKSPEC_TEST_HOOK paused {where}\n")
    sys.stderr.flush()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.05)
