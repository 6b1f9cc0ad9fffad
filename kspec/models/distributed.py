"""Data-parallel training: R processes train one model as one process would (the trainer's hooks).

Every rank holds the whole model and the whole data set, draws the same shuffle and takes its contiguous
rows of each global batch (``fit.batch_size`` is the global batch; uneven shares are allowed). After the
backward pass one fused allreduce sums the gradients, the step's loss values and the moving statistics of
BatchNormalization layers; each loss divides by the global batch's count (``kspec.backend.comm``), so the
summed gradient is the one-process gradient. Metric states are summed when epoch and evaluation logs are
formed, so every rank sees the same logs and callbacks decide alike.

:func:`attach` returns None on one process: the trainer then runs exactly as before.
"""
from kspec import backend
from kspec.backend import comm as comm_mod
from kspec.errors import KspecError


def attach(model, sync=True, data=None, custom=False):
    """The model's :class:`DataParallel` for this process's world, or None on one process. ``sync``
    broadcasts rank 0's weights and random state first (fit does; evaluate inside fit need not).
    ``data`` (the batches of ``da.batches``) and ``custom`` (an overridden step) are checked first."""
    comm = comm_mod.world()
    comm_mod.leave()
    if comm.size == 1:
        return None
    check_supported(data, custom)
    dp = getattr(model, "_data_parallel_cache", None)
    if dp is None or dp.comm is not comm:
        dp = DataParallel(model, comm)
        model._data_parallel_cache = dp
    if sync:
        dp.sync()
    return dp


def check_supported(data, custom):
    """Data-parallel training shards array batches and runs the built-in steps: a generator or PyDataset
    source (each rank would draw its own batches) or an overridden train_step/test_step (whose gradients
    would not be summed) is refused with a KspecError."""
    from kspec.models.data_adapter import ArrayBatches

    if data is not None and not isinstance(data, ArrayBatches):
        raise KspecError("data-parallel training (MPI) needs array data; got a generator or PyDataset",
                         hint="pass NumPy arrays to fit/evaluate, or run on one process")
    if custom:
        raise KspecError("data-parallel training (MPI) runs the built-in train_step and test_step; this "
                         "model overrides one", hint="run on one process, or drop the override")


def rows_of(rank, size, n):
    """``(start, stop)`` of rank's contiguous share of n rows: the first ``n % size`` ranks get one more."""
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


class DataParallel:
    """The per-model state of data-parallel training on communicator ``comm``."""

    def __init__(self, model, comm):
        self.model, self.comm = model, comm
        self.pending = []  # (output name, loss value) of the running step, summed with its gradients
        self._buffer = None
        self._rows = self._total = 0

    def sync(self):
        """Every rank starts from rank 0's weights (initial or loaded) and random state."""
        self.comm.bcast_arrays([w.data for w in self.model.weights])
        comm_mod.share_random_state(self.comm)

    def _moving_statistics(self):
        """BatchNormalization moving statistics computed from local batches (not ``synchronized``)."""
        from kspec.layers.normalization import BatchNormalization

        out = []
        for layer in _all_layers(self.model):
            if isinstance(layer, BatchNormalization) and not layer.synchronized and layer.built \
                    and layer.trainable:
                out += [layer.moving_mean, layer.moving_variance]
        return out

    # -- the step ------------------------------------------------------------------------------------------
    def shard(self, x, y=None, sample_weight=None):
        """This rank's contiguous rows of a global batch ``(x, y, sample_weight)`` (array structures);
        starts the sharded step."""
        from kspec.models.data_adapter import map_structure, num_samples

        n = num_samples(x, y, sample_weight)
        start, stop = rows_of(self.comm.rank, self.comm.size, n)
        self._rows, self._total = stop - start, n
        self.pending = []
        comm_mod.enter(comm_mod.Shard(self.comm, start, stop, n))
        rows = lambda a: a[start:stop]  # noqa: E731
        return map_structure(rows, x), map_structure(rows, y), map_structure(rows, sample_weight)

    def reduce_gradients(self, grads, loss_value):
        """One fused allreduce of the gradients, the loss values and the local moving statistics. Returns
        ``(gradients, global loss, global batch size)``; per-output loss trackers get their global values."""
        xp = backend.xp
        moving = self._moving_statistics()
        arrays = list(grads) + [v.data for v in moving]
        size = sum(a.size for a in arrays) + 1 + len(self.pending)
        if self._buffer is None or self._buffer.size != size:
            self._buffer = xp.empty(size, dtype=backend.floatx)
        buf, offset = self._buffer, 0
        for a in grads:
            buf[offset:offset + a.size] = a.reshape(-1)
            offset += a.size
        weight = backend.floatx(self._rows)  # moving statistics: averaged, weighted by each rank's rows
        for v in moving:
            buf[offset:offset + v.data.size] = v.data.reshape(-1) * weight if self._rows else 0
            offset += v.data.size
        buf[offset:] = [loss_value] + [value for _, value in self.pending]
        self.comm.allreduce(buf)
        out, offset = [], 0
        for a in grads:
            out.append(buf[offset:offset + a.size].reshape(a.shape))
            offset += a.size
        for v in moving:
            v.assign(buf[offset:offset + v.data.size].reshape(v.data.shape) / backend.floatx(self._total))
            offset += v.data.size
        return out, self._finish(buf[offset:]), self._total

    def reduce_scalars(self, loss_value):
        """An evaluation step's loss values summed across ranks: ``(global loss, global batch size)``."""
        values = self.comm.allreduce_small([loss_value] + [value for _, value in self.pending])
        return self._finish(values), self._total

    def _finish(self, values):
        trackers = self.model._output_loss_trackers
        for (name, _), value in zip(self.pending, values[1:]):
            trackers[name].update_state(float(value), self._total)
        self.pending = []
        comm_mod.leave()
        return float(values[0])

    # -- logs ----------------------------------------------------------------------------------------------
    def sum_metric_states(self):
        """Sum the compiled metrics' states across ranks (in place), before logs are formed."""
        xp = backend.xp
        from kspec.models.checkpoint import _leaf_metrics

        model = self.model  # the loss trackers already hold global values (reduce_gradients/_finish)
        tracked = {id(model._loss_tracker)} | {id(m) for m in model._output_loss_trackers.values()}
        slots = [s for m in _leaf_metrics(model) if id(m) not in tracked for s in _state_slots(m)]
        if not slots:
            return
        flat = [xp.asarray(get(), dtype="float64").reshape(-1) for get, _ in slots]
        total = self.comm.allreduce_small(xp.concatenate(flat) if flat else [])
        offset = 0
        for (get, put), part in zip(slots, flat):
            value = total[offset:offset + part.size]
            offset += part.size
            old = xp.asarray(get())
            put(value.reshape(old.shape).astype(backend.floatx) if old.ndim else backend.floatx(value[0]))


def _state_slots(metric):
    """``(get, put)`` pairs for a metric's additive states: Mean/Sum's ``total``/``count`` and the confusion
    metrics' ``counts`` arrays."""
    slots = []
    for name in ("total", "count"):
        if name in vars(metric):
            slots.append((lambda n=name: getattr(metric, n), lambda v, n=name: setattr(metric, n, v)))
    counts = vars(metric).get("counts")
    if isinstance(counts, dict):
        for key in sorted(counts):
            slots.append((lambda k=key: counts[k], lambda v, k=key: counts.__setitem__(k, v)))
    return slots


def _all_layers(root):
    """A layer and every layer inside it (models, wrappers), in a fixed order."""
    out, seen, todo = [], set(), [root]
    while todo:
        layer = todo.pop(0)
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        subs = getattr(layer, "_sublayers", None)
        todo += list(getattr(layer, "layers", None) or []) + (list(subs()) if subs else [])
    return out
