"""Array plumbing for fit/evaluate/predict: nested structures (array, list or dict of arrays), the
validation split, shuffling and batching, as Keras 3 does them (reference §10)."""
import math
import warnings

from kspec import backend


def flatten(data):
    """The arrays of a structure, in order (dicts by key order)."""
    if data is None:
        return []
    if isinstance(data, dict):
        return [a for v in data.values() for a in flatten(v)]
    if isinstance(data, (list, tuple)):
        return [a for v in data for a in flatten(v)]
    return [data]


def map_structure(fn, data):
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: map_structure(fn, v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(map_structure(fn, v) for v in data)
    return fn(data)


def num_samples(*structures):
    sizes = {len(a) for s in structures for a in flatten(s)}
    if len(sizes) > 1:
        raise ValueError(f"all inputs and targets must have the same number of samples; got sizes {sorted(sizes)}")
    return sizes.pop() if sizes else 0


def take(data, index):
    """Rows ``index`` (a slice or an index array) of every array in a structure."""
    return map_structure(lambda a: a[index], data)


def train_validation_split(structures, validation_split):
    """The first floor(N * (1 - f)) samples train, the rest validate; done once, before shuffling."""
    n = num_samples(*structures)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"validation_split={validation_split} leaves no training or no validation samples "
                         f"out of {n}")
    return ([take(s, slice(0, split_at)) for s in structures],
            [take(s, slice(split_at, n)) for s in structures])


def batch_indices(n, batch_size, shuffle):
    """Yield the index (slice or array) of each batch: ceil(n / batch_size) batches, the last partial.

    shuffle=True draws a fresh permutation per call from the backend's shuffle RNG (NumPy's legacy
    RandomState, as Keras on JAX/NumPy uses); "batch" permutes only within each batch. Draws happen
    lazily, when the generator first runs, as in Keras.
    """
    if shuffle == "batch":
        rng = backend.shuffle_rng()
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            yield rng.permutation(stop - start) + start
    elif shuffle:
        perm = backend.shuffle_rng().permutation(n)
        for start in range(0, n, batch_size):
            yield perm[start:start + batch_size]
    else:
        for start in range(0, n, batch_size):
            yield slice(start, min(start + batch_size, n))


class EpochIterator:
    """The batches of each epoch, as Keras's EpochIterator over arrays gives them.

    Without ``steps_per_epoch`` every epoch is one pass over the data. With it, an epoch is at most
    ``steps_per_epoch`` batches and the pass continues where the last epoch stopped; when the pass runs
    out mid-epoch, the epoch ends early (with Keras's warning) and the next epoch starts a new pass.
    """

    def __init__(self, n, batch_size, steps_per_epoch=None, shuffle=False):
        self.n = n
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.shuffle = shuffle
        self.data_batches = -(-n // batch_size)
        self._pass = None
        self._seen = 0

    @property
    def num_batches(self):
        return self.steps_per_epoch or self.data_batches

    def discard_build_draw(self):
        """Keras peeks at one batch to build the model, metrics and loss on the first fit after compile;
        with shuffling that draws (and throws away) one permutation. Do the same draw."""
        next(batch_indices(self.n, self.batch_size, self.shuffle), None)

    def epoch(self):
        """Yield ``(step, index)`` for one epoch."""
        steps = self.steps_per_epoch or self.data_batches
        if self._pass is None or self.steps_per_epoch is None:
            self._pass = batch_indices(self.n, self.batch_size, self.shuffle)
            self._seen = 0
        for step in range(steps):
            if self._seen >= self.data_batches:
                if self.steps_per_epoch:
                    warnings.warn("Your input ran out of data; interrupting training. Make sure that your "
                                  "dataset or generator can generate at least `steps_per_epoch * epochs` "
                                  "batches. You may need to use the `.repeat()` function when building your "
                                  "dataset.", UserWarning, stacklevel=3)
                break
            self._seen += 1
            yield step, next(self._pass)
        if self._seen >= self.data_batches:
            self._pass = batch_indices(self.n, self.batch_size, self.shuffle)
            self._seen = 0


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights from a {class: weight} map: the class is argmax for one-hot y, else round(y)."""
    xp = backend.xp
    y = backend.to_numpy(y)
    classes = y.argmax(-1) if y.ndim > 1 and y.shape[-1] > 1 else xp.round(y.reshape(len(y), -1)[:, 0])
    weights = xp.ones(len(y), dtype=backend.floatx)
    for cls, w in class_weight.items():
        weights[classes == int(cls)] = w
    return weights


# -- the (x, y, sample_weight) protocol and non-array data ------------------------------------------------
def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """What ``train_step(data)`` receives: ``x`` alone (``(x,)`` for a list/tuple x) without targets,
    ``(x, y)`` without weights, else ``(x, y, sample_weight)`` (Keras's packing)."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found: {str(data)[:200]}")


def is_array_data(x):
    """Arrays and (nested lists/dicts of) arrays, as opposed to a generator or a PyDataset-like object."""
    if x is None or isinstance(x, (list, tuple, dict)):
        return True
    return hasattr(x, "shape") and hasattr(x, "dtype")


def is_batch_source(x):
    """A Python generator/iterator, or a PyDataset-like object (``__len__`` and ``__getitem__`` giving
    batches)."""
    if is_array_data(x):
        return False
    kind = type(x)
    return hasattr(x, "__next__") or (hasattr(kind, "__getitem__") and
                                      (hasattr(kind, "__len__") or hasattr(kind, "num_batches")))


class ArrayBatches:
    """Batches ``(step, data)`` of arrays: :class:`EpochIterator` slices, packed as ``train_step`` wants."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        n = num_samples(x, y, sample_weight)
        batch_size = batch_size or (-(-n // steps) if steps else 32)
        self.iterator = EpochIterator(n, batch_size, steps, shuffle)
        self.num_batches = self.iterator.num_batches

    def discard_build_draw(self):
        self.iterator.discard_build_draw()

    def epoch(self):
        """Yield ``(step, x, y, sample_weight)``."""
        x, y, sw = self.x, self.y, self.sample_weight
        for step, index in self.iterator.epoch():
            yield (step, take(x, index), None if y is None else take(y, index),
                   None if sw is None else take(sw, index))


class SourceBatches:
    """Batches from a generator or a PyDataset-like object, as Keras 3's EpochIterator walks them.

    A generator is peeked for its first two batches, which every fresh pass yields again before the rest
    (Keras's ``peek_and_restore``); without ``steps`` an epoch runs until the source is exhausted, with
    Keras's "ran out of data" warning. A PyDataset-like object gives ``len(ds)`` batches per epoch, in an
    order shuffled with Python's ``random`` when ``shuffle`` is set, and its ``on_epoch_begin`` /
    ``on_epoch_end`` run around each epoch. ``class_weight`` adds sample weights to ``(x, y)`` batches.
    """

    def __init__(self, source, steps=None, shuffle=False, class_weight=None):
        self.source = source
        self.steps = steps
        self.class_weight = class_weight
        if hasattr(source, "__next__"):
            import itertools
            first = list(itertools.islice(source, 2))
            if not first:
                raise ValueError("When passing a Python generator to a Keras model, the generator must yield "
                                 "at least one batch. Received an empty generator.")
            if not isinstance(first[0], tuple):
                raise ValueError("When passing a Python generator to a Keras model, the generator must return "
                                 "a tuple, either (input,) or (inputs, targets) or (inputs, targets, "
                                 f"sample_weights). Received: {str(first[0])[:100]}")
            self._fresh = lambda: itertools.chain(first, source)
            self._data_batches = None
            self._dataset = None
        else:
            self._dataset = source
            self._data_batches = _dataset_length(source)
            self._shuffle = bool(shuffle) and self._data_batches is not None
            self._fresh = self._dataset_pass
        self._num_batches = self._data_batches
        self._current = None
        self._seen = 0

    @property
    def num_batches(self):
        return self.steps or self._num_batches

    def _dataset_pass(self):
        import itertools
        import random
        if self._data_batches is None:
            indices = itertools.count()
        else:
            indices = list(range(self._data_batches))
            if self._shuffle:
                random.shuffle(indices)
        for i in indices:
            yield self._dataset[i]

    def _standardize(self, batch):
        if isinstance(batch, dict):
            return batch, None, None
        if hasattr(batch, "shape") and hasattr(batch, "dtype"):
            batch = (batch,)
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
            raise ValueError("A batch must be a tuple `(x,)`, `(x, y)` or `(x, y, sample_weight)`. Received: "
                             f"{str(batch)[:100]} of type {type(batch).__name__}")
        x, y, sw = unpack_x_y_sample_weight(batch)
        if self.class_weight is not None and y is not None:
            if sw is not None:
                raise ValueError("You cannot specify `class_weight` and `sample_weight` at the same time.")
            sw = class_weight_to_sample_weight(flatten(y)[0], self.class_weight)
        return x, y, sw

    def _epoch_hook(self, name):
        hook = getattr(self._dataset, name, None)
        if callable(hook):
            hook()

    def discard_build_draw(self):
        """Keras's first fit after compile takes one batch to build the model, then starts over."""
        self._epoch_hook("on_epoch_begin")
        next(iter(self._fresh()), None)
        self._epoch_hook("on_epoch_end")

    def _ran_out(self):
        if self._num_batches is None:
            self._num_batches = self._seen
        warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or "
                      "generator can generate at least `steps_per_epoch * epochs` batches. You may need to "
                      "use the `.repeat()` function when building your dataset.", UserWarning, stacklevel=4)
        self._current = None

    def epoch(self):
        """Yield ``(step, x, y, sample_weight)`` for one epoch."""
        self._epoch_hook("on_epoch_begin")
        try:
            yield from self._epoch_steps()
        finally:
            self._epoch_hook("on_epoch_end")

    def _epoch_steps(self):
        steps = self.steps or self._num_batches or -1
        if steps > 0:
            if self._current is None or self.steps is None:
                self._current = iter(self._fresh())
                self._seen = 0
            for step in range(steps):
                if self._num_batches and self._seen >= self._num_batches:
                    if self.steps:
                        self._ran_out()
                    break
                self._seen += 1
                try:
                    batch = next(self._current)
                except StopIteration:
                    self._ran_out()
                    return
                yield (step, *self._standardize(batch))
            if self._num_batches and self._seen >= self._num_batches:
                self._current = iter(self._fresh())
                self._seen = 0
        else:
            current = iter(self._fresh())
            step = 0
            while True:
                self._seen = step + 1
                try:
                    batch = next(current)
                except StopIteration:
                    self._ran_out()
                    return
                yield (step, *self._standardize(batch))
                step += 1


def _dataset_length(dataset):
    """Batches per epoch of a PyDataset-like object: ``num_batches`` (None: endless), else ``len()``."""
    if hasattr(type(dataset), "num_batches"):
        try:
            return dataset.num_batches
        except NotImplementedError:
            pass
    return len(dataset) if hasattr(dataset, "__len__") else None


def batches(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False, class_weight=None,
            purpose="fit"):
    """The batch source for fit/evaluate/predict: :class:`ArrayBatches` or :class:`SourceBatches`."""
    if is_batch_source(x):
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(f"`{name}` argument is not supported when using a generator or PyDataset "
                                 f"as input to {purpose}(); yield (x, y, sample_weight) batches instead")
        return SourceBatches(x, steps, shuffle, class_weight)
    if not is_array_data(x):
        raise TypeError(f"Unrecognized data type for {purpose}(): x={str(x)[:100]} (of type {type(x).__name__}); "
                        "expected arrays (or lists/dicts of arrays), a Python generator, or a PyDataset-like "
                        "object with __len__ and __getitem__ returning batches")
    if class_weight is not None:
        if sample_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        sample_weight = class_weight_to_sample_weight(flatten(y)[0], class_weight)
    return ArrayBatches(x, y, sample_weight, batch_size, steps, shuffle)
