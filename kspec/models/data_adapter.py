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
    """Rows ``index`` (a slice or an index array) of every array in a structure: a batch, moved to the array
    module's device once here (on the CPU the rows themselves)."""
    return map_structure(lambda a: backend.to_device(_rows(a, index)), data)


def _rows(a, index):
    if index.__class__ is not slice and not isinstance(a, backend.host.ndarray):
        index = backend.to_device(index)  # device data is indexed with a device index
    return a[index]


def train_validation_split(structures, validation_split):
    """The first floor(N * (1 - f)) samples train, the rest validate; done once, before shuffling."""
    n = num_samples(*structures)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"validation_split={validation_split} leaves no training or no validation samples "
                         f"out of {n}")
    return ([map_structure(lambda a: a[:split_at], s) for s in structures],
            [map_structure(lambda a: a[split_at:], s) for s in structures])


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
    """Per-sample weights from a {class: weight} map: the class is argmax for one-hot y, else round(y).
    Host data preparation: the weights reach the device with each batch."""
    xp = backend.host
    y = backend.to_numpy(y)
    classes = y.argmax(-1) if y.ndim > 1 and y.shape[-1] > 1 else xp.round(y.reshape(len(y), -1)[:, 0])
    weights = xp.ones(len(y), dtype=backend.floatx)
    for cls, w in class_weight.items():
        weights[classes == int(cls)] = w
    return weights
