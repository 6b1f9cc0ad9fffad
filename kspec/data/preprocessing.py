"""Preprocessing steps for x and y, as a spec writes them: ``[{scale: 255}, {reshape: [784]}]``.

Each step is a small class (:class:`~kspec.data.step.Step`): ``fit(x)`` learns statistics from the
training split (``standardize``; ``pad_sequences`` and ``text_vectorize`` in :mod:`kspec.data.sequences`
learn a length and a vocabulary), ``apply(x)`` transforms, ``state()``/``from_state()`` store it as JSON.
:data:`STEPS` (name -> class) is the one list of step names. Float output is always float32, and a
pipeline copies its input at most once: after the first step that makes a new array, the later
steps work in place.
"""
import numpy as np

from kspec.backend import floatx
from kspec.data.errors import StepError
from kspec.data.sequences import PadSequences, TextVectorize
from kspec.data.step import Step

_BLOCK = 1 << 18  # values per block when standardize sums squared deviations (2 MB)


class Scale(Step):
    """``scale: 255``: x / 255 as float32, (n, ...) -> (n, ...)."""

    name = "scale"

    def __init__(self, arg=None):
        if isinstance(arg, bool) or not isinstance(arg, (int, float)) or not arg > 0:
            raise self._error(f"expected a positive number to divide by, got {arg!r}",
                              hint="e.g. {scale: 255}")
        super().__init__(arg)

    def apply(self, x, *, inplace=False):
        x = np.asarray(x)
        factor = floatx(self.arg)
        # one float32 array, never float64 (astype + in-place is ~10x faster than divide(dtype=))
        out = x if inplace and x.dtype == floatx else x.astype(floatx)
        return np.divide(out, factor, out=out)


class Reshape(Step):
    """``reshape: [784]``: the per-sample shape, (n, ...) -> (n, *shape); one entry may be -1."""

    name = "reshape"

    def __init__(self, arg=None):
        shape = [arg] if isinstance(arg, int) and not isinstance(arg, bool) else arg
        if (not isinstance(shape, (list, tuple)) or not shape
                or any(isinstance(d, bool) or not isinstance(d, int) or (d < 1 and d != -1)
                       for d in shape)
                or list(shape).count(-1) > 1):
            raise self._error(f"expected a list of positive sizes (one may be -1), got {arg!r}",
                              hint="e.g. {reshape: [28, 28, 1]}")
        super().__init__(list(shape))

    def apply(self, x, *, inplace=False):
        x = np.asarray(x)
        try:
            return x.reshape((x.shape[0], *self.arg))
        except ValueError:
            size = int(np.prod(x.shape[1:]))
            raise self._error(f"cannot reshape samples of shape {list(x.shape[1:])} ({size} "
                              f"values) to {self.arg}") from None


class OneHot(Step):
    """``one_hot: 10``: class indices of shape (n,) or (n, 1) -> float32 (n, classes)."""

    name = "one_hot"

    def __init__(self, arg=None):
        if isinstance(arg, bool) or not isinstance(arg, int) or arg < 1:
            raise self._error(f"expected the number of classes, got {arg!r}",
                              hint="e.g. {one_hot: 10}")
        super().__init__(arg)

    def apply(self, x, *, inplace=False):
        y = np.asarray(x)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise self._error(f"expected class indices of shape (n,), got {list(y.shape)}",
                              hint="are the labels one-hot already?")
        if y.dtype.kind not in "biu":
            if y.dtype.kind != "f" or not np.all(y == np.round(y)):
                raise self._error("expected whole-number class indices")
            y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= self.arg):
            raise self._error(f"class indices run from {int(y.min())} to {int(y.max())}, outside "
                              f"0..{self.arg - 1}", hint=f"set one_hot to at least {int(y.max()) + 1}")
        out = np.zeros((len(y), self.arg), dtype=floatx)
        out[np.arange(len(y)), y] = 1
        return out


class AsType(Step):
    """``astype: float32``: cast, (n, ...) -> (n, ...). float64 is refused (the engine is float32)."""

    name = "astype"
    DTYPES = ("float32", "float16", "int8", "int16", "int32", "int64", "uint8", "uint16",
              "uint32", "bool")

    def __init__(self, arg=None):
        if arg not in self.DTYPES:
            why = "the engine computes in float32; " if arg == "float64" else ""
            raise self._error(f"unknown dtype {arg!r}",
                              hint=f"{why}use one of {', '.join(self.DTYPES)}")
        super().__init__(arg)

    def apply(self, x, *, inplace=False):
        return np.asarray(x).astype(self.arg, copy=False)


class Standardize(Step):
    """``standardize: true``: (x - mean) / std as float32, (n, ...) -> (n, ...).

    The statistics come from the training split via :meth:`fit`: per feature, over axis 0 by
    default; ``{axis: [0, 1, 2]}`` reduces over more axes (e.g. per channel of (n, h, w, c)
    images) and ``{axis: null}`` over all. A std of 0 becomes 1. ``standardize: false`` is a no-op.
    """

    name = "standardize"
    fits = True

    def __init__(self, arg=True):
        arg = True if arg is None else arg
        if isinstance(arg, dict):
            if set(arg) - {"axis"}:
                raise self._error(f"unknown options {sorted(set(arg) - {'axis'})}; only axis")
            axis = arg.get("axis", 0)
            axes = [axis] if isinstance(axis, int) and not isinstance(axis, bool) else axis
            if axes is not None and (not isinstance(axes, (list, tuple)) or not all(
                    isinstance(a, int) and not isinstance(a, bool) for a in axes) or 0 not in axes):
                raise self._error(f"axis must be a list of axes that includes 0 (the samples), or "
                                  f"null, got {axis!r}")
            self.axes = None if axes is None else sorted(set(axes))
        elif isinstance(arg, bool):
            self.axes = [0]
        else:
            raise self._error(f"expected true, false or {{axis: ...}}, got {arg!r}")
        super().__init__(arg)
        self.mean = self.std = None

    @property
    def active(self):
        return self.arg is not False

    def fit(self, x):
        if not self.active:
            return self
        x = np.asarray(x)
        axes = tuple(range(x.ndim)) if self.axes is None else tuple(a % x.ndim for a in self.axes)
        if len(x) == 0:
            raise self._error("cannot fit on an empty training split")
        count = x.size // int(np.prod([x.shape[a] for a in range(x.ndim) if a not in axes]))
        # float64 statistics without a float64 copy of x: sums are buffered, squared deviations
        # are taken one cache-sized block of samples at a time
        mean = np.sum(x, axis=axes, dtype=np.float64, keepdims=True) / count
        rows = max(1, _BLOCK // max(1, x[0].size))
        sq = 0.0
        for i in range(0, len(x), rows):
            d = x[i:i + rows].astype(np.float64)
            d -= mean
            d *= d
            sq = sq + np.sum(d, axis=axes, keepdims=True)
        std = np.sqrt(sq / count)
        std[std == 0] = 1.0
        self.mean, self.std = mean[0].astype(floatx), std[0].astype(floatx)  # drop the sample axis
        return self

    def apply(self, x, *, inplace=False):
        if not self.active:
            return x
        if self.mean is None:
            raise self._error("no statistics: fit it on the training split first")
        x = np.asarray(x)
        try:
            np.broadcast_shapes(x.shape[1:], self.mean.shape)
        except ValueError:
            raise self._error(f"fit on samples of shape {list(self.mean.shape)}, got "
                              f"{list(x.shape[1:])}") from None
        if inplace and x.dtype == floatx:
            out = np.subtract(x, self.mean, out=x)
        elif x.dtype == floatx:
            out = np.subtract(x, self.mean)
        else:
            out = x.astype(floatx)
            np.subtract(out, self.mean, out=out)
        return np.divide(out, self.std, out=out)

    def state(self):
        state = super().state()
        if self.mean is not None:
            state.update(mean=self.mean.tolist(), std=self.std.tolist(), shape=list(self.mean.shape))
        return state

    @classmethod
    def from_state(cls, state):
        step = cls(state.get("arg"))
        if state.get("mean") is not None:
            shape = tuple(state["shape"])
            step.mean = np.asarray(state["mean"], dtype=floatx).reshape(shape)
            step.std = np.asarray(state["std"], dtype=floatx).reshape(shape)
        return step


class Limit(Step):
    """``limit: N``: the first N samples, of x and y together. It cuts first, wherever it is listed,
    and only labelled splits (``Pipeline.apply_xy``, ``Preprocessor.transform``), not predict input."""

    name = "limit"

    def __init__(self, arg=None):
        if isinstance(arg, bool) or not isinstance(arg, int) or arg < 1:
            raise self._error(f"expected a positive number of samples, got {arg!r}",
                              hint="e.g. {limit: 1000}")
        super().__init__(arg)

    def apply(self, x, *, inplace=False):
        return x[:self.arg]


# The one table of step names: the validator, docs and build_pipeline read it.
STEPS = {cls.name: cls for cls in (Scale, Reshape, OneHot, AsType, Standardize, Limit, PadSequences,
                                   TextVectorize)}


def build_pipeline(steps):
    """A :class:`Pipeline` from the spec form.

    ``steps`` is None, or a list whose items are a step name (``"standardize"``) or a one-key
    mapping (``{"scale": 255}``). Unknown names raise :class:`StepError` (a ValueError).
    """
    if isinstance(steps, Pipeline):
        return steps
    if steps is None:
        return Pipeline([])
    if not isinstance(steps, (list, tuple)):
        raise StepError(f"preprocessing steps must be a list, got {steps!r}",
                        hint="e.g. [{scale: 255}, {reshape: [784]}]")
    built = []
    for item in steps:
        if isinstance(item, Step):
            built.append(item)
            continue
        if isinstance(item, str):
            name, arg = item, None
        elif isinstance(item, dict) and len(item) == 1:
            (name, arg), = item.items()
        else:
            raise StepError(f"a preprocessing step is a name or a one-key mapping, got {item!r}",
                            hint="e.g. {scale: 255} or standardize")
        cls = STEPS.get(name)
        if cls is None:
            raise StepError(f"unknown preprocessing step {name!r}",
                            hint=f"use one of {', '.join(STEPS)}")
        built.append(cls() if arg is None and cls is Standardize else cls(arg))
    return Pipeline(built)


class Pipeline:
    """Steps applied in order to one array. ``limit`` steps cut first; see :meth:`apply_xy`."""

    def __init__(self, steps=()):
        self.steps = list(steps)

    @property
    def limit(self):
        """The smallest ``limit: N`` among the steps, or None."""
        limits = [s.arg for s in self.steps if isinstance(s, Limit)]
        return min(limits) if limits else None

    @property
    def reads(self):
        """What the raw input is, by the first step: "sequences", "text", or None (arrays)."""
        body = self._body()
        return body[0].reads if body else None

    def _body(self):
        return [s for s in self.steps if not isinstance(s, Limit)]

    def fit(self, x):
        """Fit the steps that learn statistics, each on the output of the steps before it."""
        body = self._body()
        last = max((i for i, s in enumerate(body) if s.fits), default=-1)
        if last >= 0:
            self._run(body[:last + 1], _cut(x, self.limit), fit=True)
        return self

    def fit_apply(self, x):
        """Fit and transform in one pass; returns the transformed (and limited) x."""
        return self._run(self._body(), _cut(x, self.limit), fit=True)

    def apply(self, x, *, limit=True):
        """Transform x of shape (n, ...). With ``limit`` the ``limit`` steps cut x first."""
        return self._run(self._body(), _cut(x, self.limit) if limit else x)

    def apply_xy(self, x, y):
        """Transform x; the ``limit`` steps cut x and y together. Returns (x, y)."""
        n = self.limit
        return self._run(self._body(), _cut(x, n)), _cut(y, n)

    def _run(self, steps, x, fit=False):
        source, owned = x, False
        for step in steps:
            if fit and step.fits:
                step.fit(x)
            x = step.apply(x, inplace=owned)
            # once a step made a new array, the later steps may overwrite it
            owned = owned or not np.may_share_memory(x, source)
        return x

    def spec(self):
        return [s.spec() for s in self.steps]

    def state(self):
        """A JSON-able list of step states."""
        return [s.state() for s in self.steps]

    @classmethod
    def from_state(cls, state):
        steps = []
        for s in state:
            if s.get("name") not in STEPS:
                raise StepError(f"unknown preprocessing step {s.get('name')!r} in a stored run")
            steps.append(STEPS[s["name"]].from_state(s))
        return cls(steps)

    def __len__(self):
        return len(self.steps)

    def __iter__(self):
        return iter(self.steps)

    def __repr__(self):
        return f"Pipeline({self.steps!r})"


def _cut(x, n):
    if n is None or x is None:
        return x
    if isinstance(x, dict):
        return {k: v[:n] for k, v in x.items()}
    return x[:n]
