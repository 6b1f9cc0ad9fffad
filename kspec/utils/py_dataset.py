"""``keras.utils.PyDataset``: a batch source for fit/evaluate/predict, indexed by batch number."""


class PyDataset:
    """Subclass it with ``__len__`` (batches per epoch) and ``__getitem__(index)`` returning a batch
    ``x``, ``(x, y)`` or ``(x, y, sample_weight)``; ``on_epoch_begin``/``on_epoch_end`` run around each
    epoch. kspec reads batches in the calling process (``workers``/``use_multiprocessing`` are accepted and
    ignored)."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError

    @property
    def num_batches(self):
        """Batches per epoch (``len(self)``); None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError("You need to implement the `num_batches` property:\n\n@property\n"
                                  "def num_batches(self):\n  return ...")

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


Sequence = PyDataset
