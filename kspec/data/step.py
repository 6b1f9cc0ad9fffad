"""The base class of the preprocessing steps (:mod:`kspec.data.preprocessing` lists them)."""
from kspec.data.errors import StepError


class Step:
    """One preprocessing step. ``arg`` is the value the spec gives (``255`` in ``{scale: 255}``)."""

    name = None
    fits = False  # whether fit() learns statistics
    reads = None  # the raw input a first step takes: "sequences" (token ids) or "text"; None: arrays

    def __init__(self, arg=None):
        self.arg = arg

    def fit(self, x):
        """Learn statistics from training data x of shape (n, ...); most steps learn nothing."""
        return self

    def apply(self, x, *, inplace=False):
        """Transform x of shape (n, ...). With ``inplace`` the step may overwrite x."""
        raise NotImplementedError

    def state(self):
        """A JSON-able dict that :meth:`from_state` turns back into this step."""
        return {"name": self.name, "arg": self.arg}

    @classmethod
    def from_state(cls, state):
        return cls(state.get("arg"))

    def spec(self):
        """The spec form of this step, e.g. ``{"scale": 255}``."""
        return {self.name: self.arg}

    def _options(self, arg, keys, example):
        """The step's options from ``arg``: a mapping with keys among ``keys`` (None or true: defaults)."""
        if arg is None or arg is True:
            return {}
        if not isinstance(arg, dict):
            raise self._error(f"expected a mapping of options, got {arg!r}", hint=f"e.g. {self.name}: {example}")
        unknown = set(arg) - set(keys)
        if unknown:
            raise self._error(f"unknown options {sorted(unknown)}; use {', '.join(keys)}")
        return dict(arg)

    def _error(self, message, hint=None):
        return StepError(f"{self.name}: {message}", hint=hint)

    def __repr__(self):
        return f"{type(self).__name__}({self.arg!r})"
