"""The search space of a sweep: ``KEY=loguniform:LOW:HIGH | uniform:LOW:HIGH | int:LOW:HIGH | choice:A,B,C``.

A key is a ``--set`` path (``compile.optimizer.Adam.learning_rate``, ``model.layers.0.Dense.units``). The
same grammar serves ``kspec sweep --param`` and a spec's ``sweep: {params: {KEY: DIST}}`` section; this
module only parses (the search itself is :mod:`kspec.sweep`, on Optuna).
"""
import math
from typing import NamedTuple

KINDS = ("loguniform", "uniform", "int", "choice")
SAMPLERS = ("tpe", "random", "grid")
DIRECTIONS = ("minimize", "maximize")
FORMS = "loguniform:LOW:HIGH, uniform:LOW:HIGH, int:LOW:HIGH or choice:A,B,C"


class ParamError(ValueError):
    """A malformed search parameter; ``hint`` is a likely fix."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.message, self.hint = message, hint


class Param(NamedTuple):
    """One searched key: ``kind`` is one of KINDS; ``low``/``high`` bound a range, ``choices`` a choice."""

    key: str
    kind: str
    low: object = None
    high: object = None
    choices: tuple = ()

    @property
    def text(self):
        if self.kind == "choice":
            return f"{self.key}=choice:" + ",".join(_plain(c) for c in self.choices)
        return f"{self.key}={self.kind}:{_plain(self.low)}:{_plain(self.high)}"

    def probe_values(self):
        """Values that exercise the whole space when the spec is checked: both ends, or every choice."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]

    def contains(self, value):
        """Whether ``value`` (e.g. the spec's own setting) lies in the space."""
        if self.kind == "choice":
            return any(value == c and type(value) is type(c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and not (isinstance(value, int) or float(value).is_integer()):
            return False
        return self.low <= value <= self.high

    def grid_values(self):
        """Every value of a discrete space (the grid sampler's axis)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return list(range(self.low, self.high + 1))
        raise ParamError(f"{self.text}: the grid sampler needs choice: or int: parameters, not {self.kind}",
                         hint="use --sampler tpe or random for a continuous range, or list values with choice:")


def parse_param(text):
    """``"KEY=DIST"`` -> :class:`Param`. Raises :class:`ParamError` naming what is wrong."""
    if not isinstance(text, str) or "=" not in text:
        raise ParamError(f"expected KEY=DISTRIBUTION, found {text!r}",
                         hint="e.g. --param compile.optimizer.Adam.learning_rate=loguniform:1e-4:1e-1")
    key, dist = (part.strip() for part in text.split("=", 1))
    return parse_distribution(key, dist)


def parse_distribution(key, dist):
    """A :class:`Param` for ``key`` from its distribution text ``KIND:...``."""
    if not key or any(not step for step in key.split(".")):
        raise ParamError(f"invalid key {key!r}", hint="a dotted --set path such as model.layers.0.Dense.units")
    if not isinstance(dist, str) or ":" not in dist:
        raise ParamError(f"{key}: expected a distribution {FORMS}, found {dist!r}",
                         hint=f"e.g. {key}=uniform:0.1:0.5")
    kind, rest = dist.split(":", 1)
    kind = kind.strip().lower()
    if kind not in KINDS:
        from kspec.spec.errors import did_you_mean
        raise ParamError(f"{key}: unknown distribution {kind!r}{did_you_mean(kind, KINDS)}",
                         hint=f"one of {FORMS}")
    if kind == "choice":
        return Param(key, kind, choices=_choices(key, rest))
    bounds = rest.split(":")
    if len(bounds) != 2:
        raise ParamError(f"{key}: {kind} takes LOW:HIGH, found {rest!r}", hint=f"e.g. {key}={kind}:1:8")
    low, high = (_number(key, b, integer=kind == "int") for b in bounds)
    if low > high:
        raise ParamError(f"{key}: LOW {_plain(low)} is above HIGH {_plain(high)}",
                         hint=f"write {key}={kind}:{_plain(high)}:{_plain(low)}")
    if kind == "loguniform" and low <= 0:
        raise ParamError(f"{key}: loguniform needs LOW > 0, found {_plain(low)}",
                         hint="use uniform: for a range that includes 0 or negative values")
    return Param(key, kind, low, high)


def _number(key, text, integer):
    from kspec.spec.loader import load_value
    from kspec.spec.errors import SpecError

    try:
        value = load_value(text.strip(), f"--param {key}")
    except SpecError:
        value = None
    if integer:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(f"{key}: int: bounds must be integers, found {text.strip()!r}",
                             hint=f"e.g. {key}=int:8:64")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParamError(f"{key}: expected a finite number, found {text.strip()!r}", hint=f"e.g. {key}=uniform:0.1:0.5")
    return float(value)


def _choices(key, rest):
    from kspec.spec.loader import load_value
    from kspec.spec.errors import SpecError

    items = [item.strip() for item in rest.split(",")]
    if not any(items):
        raise ParamError(f"{key}: choice: needs at least one value", hint=f"e.g. {key}=choice:relu,tanh")
    if not all(items):
        raise ParamError(f"{key}: choice: has an empty value in {rest!r}", hint="separate values with single commas")
    values = []
    for item in items:
        try:
            value = load_value(item, f"--param {key}")
        except SpecError:
            value = item
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise ParamError(f"{key}: choice values must be plain numbers, words or booleans, found {item!r}")
        if any(value == v and type(value) is type(v) for v in values):
            raise ParamError(f"{key}: choice value {item!r} is listed twice")
        values.append(value)
    return tuple(values)


def _plain(value):
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return str(value).lower() if isinstance(value, bool) else str(value)
