"""Training checkpoints: every piece of state that the next step depends on, written atomically, and the
small object (:class:`FitLoop`) that ``fit`` calls at the start of training, at each epoch and batch.

A checkpoint is one ``.npz`` file (no pickles): the weights, the optimizer's variables (iterations, learning
rate, slots), every random state (the global Generator, the shuffle RandomState, seeded layers' Generators),
the callbacks' states (History, EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, CSVLogger, ...), the
position of the batch iterator and, for a checkpoint taken mid-epoch, the metrics' running states. Resuming
from it gives the very numbers an uninterrupted ``fit`` gives.

A mid-epoch checkpoint stores the shuffle state of its epoch's start; resuming replays the epoch's batch
order without training on the batches already done, then goes on from the next one.
"""
import json
import os
import secrets
import time

import numpy as np

from kspec import backend

FORMAT = "kspec-checkpoint/1"
CHECKPOINT_FILE = "checkpoint.npz"
PREVIOUS_FILE = "checkpoint.prev.npz"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model."""


# -- the file -------------------------------------------------------------------------------------------

def write_checkpoint(path, meta, arrays, keep_previous=False):
    """Write ``meta`` (JSON-able, arrays allowed inside) and ``arrays`` to ``path`` atomically: a temporary
    file in the same folder, fsync, rename, fsync of the folder. A crash at any instant leaves the old file
    or the new one. ``keep_previous`` moves the old file to ``checkpoint.prev.npz`` first."""
    folder = os.path.dirname(os.path.abspath(path))
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(json.dumps(_encode(meta, payload)).encode("utf-8"), np.uint8)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        if keep_previous and os.path.exists(path):
            os.replace(path, os.path.join(folder, PREVIOUS_FILE))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    fsync_dir(folder)


def fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_checkpoint(path):
    """``(meta, arrays)`` of a checkpoint file; CheckpointError when it is damaged or not one."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        meta = _decode(json.loads(arrays.pop("__meta__").tobytes().decode("utf-8")), arrays)
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a kspec checkpoint (format {meta.get('format')!r})")
    return meta, arrays


def _encode(value, arrays):
    """JSON from nested dicts/lists/scalars; arrays go to ``arrays`` and are named in their place."""
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"__tuple__" if isinstance(value, tuple) else "__list__": [_encode(v, arrays) for v in value]}
    if isinstance(value, np.generic):
        return {"__scalar__": value.dtype.str, "value": value.item()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        name = f"state/{len(arrays)}"
        arrays[name] = backend.to_numpy(value)
        return {"__array__": name}
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint")


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__dict__" in value:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["__dict__"]}
    if "__list__" in value:
        return [_decode(v, arrays) for v in value["__list__"]]
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__scalar__" in value:
        return np.dtype(value["__scalar__"]).type(value["value"])
    if "__array__" in value:
        return arrays[value["__array__"]]
    return value


def storable(value):
    """Whether ``value`` can go into a checkpoint (used to pick an object's state attributes)."""
    try:
        _encode(value, {})
    except TypeError:
        return False
    return True


# -- what is captured -------------------------------------------------------------------------------------

def _layers(model):
    """Every layer under ``model``, in a fixed order (nested models and wrappers included)."""
    return model._flatten_layers(include_self=False)


def rng_state(model):
    """The random states: the global Generator, the shuffle RandomState, seeded layers' Generators."""
    layers = {}
    for i, layer in enumerate(_layers(model)):
        for name, value in vars(layer).items():
            if isinstance(value, np.random.Generator):
                layers[f"{i}/{name}"] = value.bit_generator.state
    return {"generator": backend.generator().bit_generator.state,
            "shuffle": backend.shuffle_rng().get_state(legacy=False), "layers": layers}


def set_rng_state(model, state):
    backend.generator().bit_generator.state = state["generator"]
    backend.shuffle_rng().set_state(state["shuffle"])
    for i, layer in enumerate(_layers(model)):
        for name, value in vars(layer).items():
            key = f"{i}/{name}"
            if isinstance(value, np.random.Generator) and key in state["layers"]:
                value.bit_generator.state = state["layers"][key]


def _leaf_metrics(model):
    """The model's metric objects, with a container's (``compile_metrics``) metrics in its place."""
    out = []
    for m in model.metrics:
        inner = getattr(type(m), "metrics", None)
        out.extend(m.metrics if isinstance(inner, property) else [m])
    return out


def _metric_states(model):
    return {"shapes": [o.shapes for o in model._outputs_spec],
            "states": [{k: v for k, v in vars(m).items() if storable(v)} for m in _leaf_metrics(model)]}


def _set_metric_states(model, saved):
    xp = backend.xp
    for output, shapes in zip(model._outputs_spec, saved["shapes"]):
        if shapes is not None:
            output.resolve(*shapes)
    for metric, state in zip(_leaf_metrics(model), saved["states"]):
        for k, v in state.items():
            setattr(metric, k, _to_xp(v, xp))


def _to_xp(value, xp):
    if isinstance(value, np.ndarray):
        return xp.asarray(value)
    if isinstance(value, dict):
        return {k: _to_xp(v, xp) for k, v in value.items()}
    return value


def _callback_states(callbacks):
    out = []
    for i, cb in enumerate(callbacks):
        state = cb.get_state() if hasattr(cb, "get_state") else None
        if state is not None:
            out.append({"index": i, "class": type(cb).__name__, "state": state})
    return out


def _set_callback_states(callbacks, states):
    callbacks = list(callbacks)
    for entry in states:
        i = entry["index"]
        cb = callbacks[i] if i < len(callbacks) else None
        if cb is None or type(cb).__name__ != entry["class"]:  # the list changed: match by class
            cb = next((c for c in callbacks if type(c).__name__ == entry["class"]), None)
        if cb is not None and hasattr(cb, "set_state"):
            cb.set_state(entry["state"])


# -- the fit loop's side ------------------------------------------------------------------------------------

class _Unpositioned:
    """A batch source without an index iterator (a generator, a PyDataset): checkpoints keep no position
    inside a pass, and a resumed epoch draws its batches again from the source."""

    steps_per_epoch = None
    _seen = 0


class FitLoop:
    """What ``fit`` tells checkpoints and the non-finite guard: where training is, and when.

    ``fit`` makes one per call and calls :meth:`start` after ``on_train_begin`` (it returns the epoch to
    start from), :meth:`epoch_begin` after ``on_epoch_begin``, iterates :meth:`batches`, calls
    :meth:`batch_begin`/:meth:`batch_end` around each ``train_step`` and :meth:`epoch_end` after
    ``on_epoch_end``.
    """

    def __init__(self, model, batches, callbacks, terminate_on_nan=True):
        from kspec.models.nan_guard import NanGuard

        self.model = model
        self.source = batches  # the fit's data adapter: arrays (with an EpochIterator) or a batch source
        self.iterator = getattr(batches, "iterator", None) or _Unpositioned()
        self.callbacks = callbacks
        self.savers = [cb for cb in callbacks if hasattr(cb, "load_latest")]  # BackupAndRestore
        self.data = (batches.x, batches.y, batches.sample_weight) if hasattr(batches, "x") else None
        self.guard = NanGuard(model, self) if terminate_on_nan else None
        self.epoch = 0
        self.step = -1
        self.last_logs = {}
        self.resumed_from = None  # (epoch, step) of the checkpoint training resumed from
        self.epoch_times = []
        self._pending = None      # a mid-epoch checkpoint, finished at the epoch's begin
        self._skip = 0
        self._epoch_rng = None    # shuffle state at the epoch's start
        self._pass_rng = None     # shuffle state at the start of the iterator's current pass
        self._epoch_start_seen = 0
        self._epoch_started = None
        model._fit_loop = self

    # -- hooks --
    def start(self, initial_epoch):
        """Restore the newest checkpoint of a BackupAndRestore, if any; returns the first epoch to run."""
        for saver in self.savers:
            found = saver.load_latest()
            if found is not None:
                meta, arrays = found
                return self.restore(meta, arrays)
        if self.guard is not None:
            self.guard.install()
        return initial_epoch

    def epoch_begin(self, epoch):
        self.epoch = epoch
        self.step = -1
        self._epoch_started = time.perf_counter()
        if self._pending is not None:
            meta, arrays = self._pending
            self._pending = None
            self._restore_state(meta, arrays, mid_epoch=True)
            self._skip = meta["step"]
        else:
            self._epoch_rng = backend.shuffle_rng().get_state(legacy=False)
        if self.iterator.steps_per_epoch is None or self.iterator._seen == 0:
            self._pass_rng = self._epoch_rng
        self._epoch_start_seen = self.iterator._seen

    def batches(self):
        """The epoch's ``(step, x, y, sample_weight)`` batches; after a mid-epoch restore, the steps
        already done are drawn (the same order) and skipped."""
        skip, self._skip = self._skip, 0
        for step, *batch in self.source.epoch():
            if step >= skip:
                yield (step, *batch)

    def batch_begin(self, step, batch):
        self.step = step
        if self.guard is not None:
            self.guard.batch_begin(batch)

    def batch_end(self, step):
        if self.guard is not None:
            self.guard.batch_end()
        for saver in self.savers:
            if saver.due_on_batch():
                saver.backup(self.capture(mid_epoch=True))

    def epoch_end(self, epoch, logs):
        self.last_logs = dict(logs)
        self.epoch_times.append(round(time.perf_counter() - self._epoch_started, 3))
        if self.savers:
            state = self.capture(mid_epoch=False)
            for saver in self.savers:
                saver.backup(state)

    def finish(self):
        if self.guard is not None:
            self.guard.uninstall()
        if getattr(self.model, "_fit_loop", None) is self:
            self.model._fit_loop = None

    # -- state --
    def capture(self, mid_epoch):
        """``(meta, arrays)`` of the training state now: at the end of epoch ``self.epoch`` (the next
        epoch starts from it), or after batch ``self.step`` of it (``mid_epoch``)."""
        model, optimizer = self.model, self.model.optimizer
        arrays = {f"weights/{i}": w for i, w in enumerate(model.get_weights())}
        if optimizer.built:
            arrays.update({f"optimizer/{i}": backend.to_numpy(a).copy()
                           for i, (_, a) in enumerate(optimizer.variables)})
        it = self.iterator
        if mid_epoch:
            iterator = {"epoch_rng": self._epoch_rng, "pass_rng": self._pass_rng,
                        "epoch_start_seen": self._epoch_start_seen}
        else:
            now = backend.shuffle_rng().get_state(legacy=False)
            iterator = {"epoch_rng": now, "pass_rng": self._pass_rng if it._seen else now,
                        "epoch_start_seen": it._seen}
        meta = {"format": FORMAT, "epoch": self.epoch if mid_epoch else self.epoch + 1,
                "step": self.step + 1 if mid_epoch else 0, "stage": 0,
                "stop_training": bool(self.model.stop_training) and not mid_epoch,
                "weights": len(model.weights), "optimizer_built": bool(optimizer.built),
                "optimizer_variables": len(optimizer.variables) if optimizer.built else 0,
                "iterator": iterator, "rng": rng_state(model), "callbacks": _callback_states(self.callbacks),
                "metrics": _metric_states(model) if mid_epoch else None,
                "logs": self.last_logs, "epoch_times": list(self.epoch_times), "time": time.time()}
        return meta, arrays

    def restore(self, meta, arrays):
        """Put the model, optimizer, callbacks and iterator where the checkpoint was; returns the epoch
        to start from (``epochs`` when the checkpoint had stopped training)."""
        self._restore_state(meta, arrays, mid_epoch=False)
        _set_callback_states(self.callbacks, meta["callbacks"])
        self.last_logs = dict(meta.get("logs") or {})
        self.epoch_times = list(meta.get("epoch_times") or [])
        self.resumed_from = (meta["epoch"], meta["step"])
        if meta["step"]:
            self._pending = (meta, arrays)
        if self.guard is not None:
            self.guard.install()
        if meta.get("stop_training"):
            self.model.stop_training = True
            return 1 << 62
        return meta["epoch"]

    def _restore_state(self, meta, arrays, mid_epoch):
        model, optimizer = self.model, self.model.optimizer
        if not model.weights and meta["weights"] and self.data is not None:
            from kspec.engine import no_grad
            from kspec.models.data_adapter import take
            with no_grad():  # a model built on its first batch: build it now (the RNG is restored below)
                model(take(self.data[0], slice(0, 1)), training=False)
        if meta["weights"] != len(model.weights):
            raise CheckpointError(f"the checkpoint holds {meta['weights']} weights, the model has "
                                  f"{len(model.weights)}: was the spec changed?")
        model.set_weights([arrays[f"weights/{i}"] for i in range(meta["weights"])])
        if meta["optimizer_built"]:
            if not optimizer.built:
                optimizer.build(model.trainable_weights)
            optimizer.set_variables([arrays[f"optimizer/{i}"] for i in range(meta["optimizer_variables"])])
        it = meta["iterator"]
        self._epoch_rng, self._pass_rng = it["epoch_rng"], it["pass_rng"]
        iterator = self.iterator
        if it["epoch_start_seen"] and iterator.steps_per_epoch:
            # a pass that spans epochs: draw it again from its start and skip what was used
            from kspec.models.data_adapter import batch_indices
            backend.shuffle_rng().set_state(it["pass_rng"])
            iterator._pass = batch_indices(iterator.n, iterator.batch_size, iterator.shuffle)
            for _ in range(it["epoch_start_seen"]):
                next(iterator._pass)
            iterator._seen = it["epoch_start_seen"]
        set_rng_state(model, meta["rng"])
        backend.shuffle_rng().set_state(it["epoch_rng"])
        if mid_epoch:
            _set_metric_states(model, meta["metrics"])
            _set_callback_states(self.callbacks, meta["callbacks"])
