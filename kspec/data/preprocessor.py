"""The x and y pipelines of a spec, fit on the training split and stored in the run folder."""
from kspec.data.errors import StepError
from kspec.data.preprocessing import Pipeline, _cut, build_pipeline


class Preprocessor:
    """The ``data.x`` and ``data.y`` steps of a spec.

    Parameters
    ----------
    x_steps, y_steps : list, dict of str to list, or None
        The spec form (see :func:`build_pipeline`). For a multi-input model whose x is a dict of
        arrays, a list applies to every input (each fit on its own), a dict gives each input its
        own steps (inputs not named pass through unchanged).
    classes : list of str, optional
        Class names of the labels (from a CSV's string label column or a dataset), kept in the
        state so that predict can print names.

    Use :meth:`fit` (or :meth:`fit_transform`) on the training split, :meth:`transform` on every
    labelled split (``limit`` cuts x and y together) and :meth:`transform_x` on predict input.
    """

    def __init__(self, x_steps=None, y_steps=None, classes=None):
        self.x = _Side(x_steps, "x")
        self.y = _Side(y_steps, "y")
        self.classes = None if classes is None else [str(c) for c in classes]
        self.fitted = False

    @property
    def reads(self):
        """The raw x the steps take: "sequences" (token ids), "text", None (arrays), or a dict input
        name -> kind when data.x names inputs."""
        return self.x.reads

    @property
    def limit(self):
        """The smallest ``limit: N`` in the x or y steps, or None."""
        limits = [n for n in (self.x.limit, self.y.limit) if n is not None]
        return min(limits) if limits else None

    def fit(self, x, y=None, *, classes=None):
        """Learn statistics (``standardize``) from the training split; returns self."""
        n = self.limit
        self.x.fit(_cut(x, n))
        if y is not None:
            self.y.fit(_cut(y, n))
        self._fitted(classes)
        return self

    def fit_transform(self, x, y=None, *, classes=None):
        """:meth:`fit` and :meth:`transform` in one pass over the training split; returns (x, y)."""
        n = self.limit
        x = self.x.apply(_cut(x, n), fit=True)
        y = None if y is None else self.y.apply(_cut(y, n), fit=True)
        self._fitted(classes)
        return x, y

    def transform(self, x, y=None):
        """A labelled split: cut x and y to ``limit``, then apply the steps; returns (x, y)."""
        n = self.limit
        return self.x.apply(_cut(x, n)), (None if y is None else self.y.apply(_cut(y, n)))

    def transform_x(self, x):
        """Predict input: the x steps without ``limit``. x is an array or a dict of arrays."""
        return self.x.apply(x)

    def transform_y(self, y):
        """The y steps without ``limit``."""
        return self.y.apply(y)

    def state(self):
        """A JSON-able dict for the run folder; :meth:`from_state` restores it."""
        return {"x": self.x.state(), "y": self.y.state(), "classes": self.classes,
                "fitted": self.fitted}

    @classmethod
    def from_state(cls, state):
        pre = cls(classes=state.get("classes"))
        pre.x = _Side.from_state(state.get("x"), "x")
        pre.y = _Side.from_state(state.get("y"), "y")
        pre.fitted = bool(state.get("fitted", False))
        return pre

    def _fitted(self, classes):
        if classes is not None:
            self.classes = [str(c) for c in classes]
        self.fitted = True

    def __repr__(self):
        return f"Preprocessor(x={self.x.spec!r}, y={self.y.spec!r})"


class _Side:
    """The pipelines of x or of y: one for a single array, or one per input name."""

    def __init__(self, steps, label):
        self.label = label
        self.spec = steps
        self.named = isinstance(steps, dict)
        self.single = None if self.named else build_pipeline(steps)
        self.inputs = {k: build_pipeline(v) for k, v in steps.items()} if self.named else {}

    @property
    def limit(self):
        limits = [p.limit for p in self._all() if p.limit is not None]
        return min(limits) if limits else None

    @property
    def reads(self):
        if not self.named:
            return self.single.reads if self.single is not None else None
        kinds = {k: p.reads for k, p in self.inputs.items() if p.reads}
        return kinds or None

    def _all(self):
        return ([self.single] if self.single is not None else []) + list(self.inputs.values())

    def _pipeline(self, name):
        if name is None:
            if self.named:
                raise StepError(f"data.{self.label} names inputs {sorted(self.inputs)}, but "
                                f"{self.label} is a single array")
            return self.single
        if name not in self.inputs:
            # a shared list: each input gets its own copy (its own statistics)
            self.inputs[name] = Pipeline([]) if self.named else build_pipeline(self.single.spec())
        return self.inputs[name]

    def fit(self, data):
        if isinstance(data, dict):
            self._check_names(data)
            for k, v in data.items():
                self._pipeline(k).fit(v)
        elif data is not None:
            self._pipeline(None).fit(data)

    def apply(self, data, fit=False):
        """Apply without ``limit`` (the caller has cut already)."""
        if data is None:
            return None
        if isinstance(data, dict):
            self._check_names(data)
            return {k: self._run(self._pipeline(k), v, fit) for k, v in data.items()}
        return self._run(self._pipeline(None), data, fit)

    @staticmethod
    def _run(pipeline, x, fit):
        return pipeline.fit_apply(x) if fit else pipeline.apply(x, limit=False)

    def _check_names(self, data):
        if self.named and set(self.inputs) - set(data):
            raise StepError(f"data.{self.label} names inputs {sorted(set(self.inputs) - set(data))} "
                            f"that the data lacks; it has {sorted(data)}")

    def state(self):
        state = {"spec": self.spec}
        if self.single is not None:
            state["steps"] = self.single.state()
        if self.inputs:
            state["inputs"] = {k: p.state() for k, p in self.inputs.items()}
        return state

    @classmethod
    def from_state(cls, state, label):
        side = cls(None if state is None else state.get("spec"), label)
        if state:
            if "steps" in state:
                side.single = Pipeline.from_state(state["steps"])
            side.inputs = {k: Pipeline.from_state(v) for k, v in state.get("inputs", {}).items()}
        return side
