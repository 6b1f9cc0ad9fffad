"""Type and range checks of spec arguments, derived from the code rather than from lists of layers.

The type of an argument comes from its default in the signature (``True`` -> a boolean, ``0.99`` -> a
number, ``1`` -> an integer, ``(1, 1)`` -> an integer or a list of them), or from its annotation.
Ranges come from a *check name*. A class may declare its own in one statement beside its signature::

    class Dropout(Layer):
        arg_checks = {"rate": "unit_interval_open"}

Otherwise Keras's argument names give them (``units`` and ``filters`` are positive integers, ``rate``
and ``dropout`` lie in [0, 1), ``kernel_size`` is a positive integer or a list of them, ...).
:func:`check` returns ``(value, problem)``: the value coerced as Keras users expect (a YAML ``1`` where
a float is taken becomes ``1.0``), and a sentence when the value cannot be right (else None).
"""
import inspect

from kspec.spec.values import describe, is_number

_EMPTY = inspect.Parameter.empty

# Keras argument names -> the check they get when the class declares none.
CONVENTIONS = {
    "units": "positive_int", "filters": "positive_int", "n": "positive_int",
    "input_dim": "positive_int", "output_dim": "positive_int", "depth_multiplier": "positive_int",
    "groups": "positive_int",
    "rate": "unit_interval_open", "dropout": "unit_interval_open",
    "recurrent_dropout": "unit_interval_open",
    "stddev": "non_negative", "epsilon": "non_negative", "l1": "non_negative", "l2": "non_negative",
    "kernel_size": "positive_ints", "strides": "positive_ints_or_null", "pool_size": "positive_ints",
    "dilation_rate": "positive_ints", "size": "positive_ints",
    "data_format": "data_format", "target_shape": "shape",
    "seed": "seed", "name": "name",
    # optimizers
    "momentum": "unit_interval", "beta_1": "unit_interval_open", "beta_2": "unit_interval_open",
    "rho": "unit_interval", "clipnorm": "positive_or_null", "clipvalue": "positive_or_null",
    "global_clipnorm": "positive_or_null", "ema_momentum": "unit_interval", "weight_decay": "non_negative",
    "label_smoothing": "unit_interval", "min_delta": "non_negative", "patience": "non_negative_int",
}
# ``padding`` is a choice where its default is a string (Conv, pooling), a size where it is a number.
PADDING_CHOICES = ("valid", "same", "causal")

# check name -> (description used in messages, test of an already type-checked value)
RANGES = {
    "positive_int": ("a positive integer", lambda v: _int(v) and v > 0),
    "non_negative_int": ("an integer >= 0", lambda v: _int(v) and v >= 0),
    "positive": ("a number > 0", lambda v: is_number(v) and v > 0),
    "positive_or_null": ("a number > 0 or null", lambda v: v is None or (is_number(v) and v > 0)),
    "non_negative": ("a number >= 0", lambda v: is_number(v) and v >= 0),
    "unit_interval": ("a number in [0, 1]", lambda v: is_number(v) and 0 <= v <= 1),
    "unit_interval_open": ("a number in [0, 1)", lambda v: is_number(v) and 0 <= v < 1),
    "probability": ("a probability in [0, 1]", lambda v: is_number(v) and 0 <= v <= 1),
    "positive_ints": ("a positive integer or a list of them", lambda v: _ints(v, 1)),
    "positive_ints_or_null": ("a positive integer, a list of them or null",
                              lambda v: v is None or _ints(v, 1)),
    "non_negative_ints": ("an integer >= 0 or a list of them", lambda v: _ints(v, 0)),
    "data_format": ("channels_last, channels_first or null",
                    lambda v: v in (None, "channels_last", "channels_first")),
    "shape": ("a list of positive sizes (one may be -1)",
              lambda v: isinstance(v, list) and bool(v) and all(_int(d) and (d > 0 or d == -1)
                                                                 for d in v)
              and sum(d == -1 for d in v) <= 1),
    "seed": ("an integer >= 0 or null", lambda v: v is None or (_int(v) and v >= 0)),
    "name": ("a non-empty string or null", lambda v: v is None or (isinstance(v, str) and bool(v))),
    "padding": (" or ".join(PADDING_CHOICES), lambda v: v in PADDING_CHOICES),
}
# Checks of counts and sizes: a YAML 16.0 there means 16 (JSON, and so the schema, cannot tell them apart).
INTEGRAL = {"positive_int", "non_negative_int", "positive_ints", "positive_ints_or_null", "non_negative_ints",
            "shape", "seed"}
NUMERIC = {"positive", "positive_or_null", "non_negative", "unit_interval", "unit_interval_open",
           "probability"}


def _integral(value):
    """``16.0`` -> ``16`` (also inside lists); any other value unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _ints(v, low):
    if _int(v):
        return v >= low
    return isinstance(v, list) and bool(v) and all(_ints(d, low) for d in v)


def declared_checks(cls):
    """``arg_checks`` of a class and its bases (the class's own win)."""
    out = {}
    for klass in reversed(getattr(cls, "__mro__", ())):
        out.update(getattr(klass, "__dict__", {}).get("arg_checks") or {})
    return out


def check_name(cls, name, param):
    """The check an argument gets: declared by the class, else by Keras's naming."""
    declared = declared_checks(cls)
    if name in declared:
        return declared[name]
    if name == "padding" and param is not None and isinstance(param.default, str):
        return "padding"
    return CONVENTIONS.get(name)


def expected_type(param):
    """'bool', 'int', 'float', 'str', 'ints' (an int or a list) or None (anything) for a parameter."""
    if param is None:
        return None
    ann = param.annotation
    if isinstance(ann, str) and "|" in ann:  # e.g. save_freq: "str | int": any value; the class checks it
        return None
    if ann in (bool, "bool"):
        return "bool"
    if ann in (int, "int"):
        return "int"
    if ann in (float, "float"):
        return "float"
    if isinstance(ann, str) and "|" in ann:  # e.g. "int | list | None": an axis or a list of axes
        return "ints" if {p.strip() for p in ann.split("|")} <= {"int", "list", "None"} else None
    default = param.default
    if default is _EMPTY or default is None:
        return None
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    if isinstance(default, (tuple, list)):
        return "ints" if all(_ints(d, -2**31) for d in default) else "list"
    return None


_TYPE_WORDS = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string",
               "ints": "an integer or a list of integers", "list": "a list"}


def check(cls, name, value, param):
    """``(value, problem)`` for argument ``name`` of ``cls``: the coerced value and a sentence saying
    what is wrong with it (None when it is fine)."""
    kind = check_name(cls, name, param)
    want = expected_type(param)
    if kind in NUMERIC and want not in ("float", "int"):
        want = "float"
    if value is None and (param is None or param.default is None or "None" in str(param.annotation) or kind in (
            "positive_or_null", "positive_ints_or_null", "seed", "name", "data_format")):
        return value, None
    if kind in INTEGRAL or (want in ("int", "ints") and _integral_name(name)):
        value = _integral(value)
    value, problem = _check_type(want, value, kind, name)
    if problem is None:
        problem = non_finite_problem(value)
    if problem is None and kind in RANGES:
        words, ok = RANGES[kind]
        if not ok(value):
            problem = f"must be {words}, found {_show(value)}"
    return value, problem


def non_finite_problem(value):
    """A sentence when ``value`` is (or holds) NaN or an infinity: no hyperparameter takes one."""
    import math
    items = value if isinstance(value, (list, tuple)) else [value]
    for v in items:
        if isinstance(v, float) and not math.isfinite(v):
            return f"must be a finite number, found {'.nan' if v != v else ('-' if v < 0 else '') + '.inf'}"
    return None


def _check_type(want, value, kind, name=""):
    if want is None:
        return value, None
    if want == "bool":
        if isinstance(value, bool):
            return value, None
        return value, f"must be true or false, found {_show(value)}"
    if want == "float":
        if is_number(value):
            return float(value), None
        return value, f"must be a number, found {_show(value)}"
    if want == "int":
        if _int(value):
            return value, None
        if is_number(value) and not _integral_name(name):
            return value, None  # an int default where Keras takes any number (max_value: 2.5)
        if kind in ("positive_ints", "positive_ints_or_null", "non_negative_ints", "padding") \
                or (isinstance(value, list) and kind is None):
            return value, None  # a size that may also be a list (strides: 1 or [1, 1])
        if isinstance(value, float) and not isinstance(value, bool):
            return value, f"must be an integer, found {value!r}"
        return value, f"must be an integer, found {_show(value)}"
    if want == "ints":
        if _int(value) or isinstance(value, list):
            return value, None
        return value, f"must be {_TYPE_WORDS['ints']}, found {_show(value)}"
    if want == "str":
        if isinstance(value, (str, bool)) or value is None:
            return value, None  # some string arguments also take true/false/null (use_cudnn: auto)
        return value, f"must be a string, found {_show(value)}"
    if want == "list":
        if isinstance(value, list) or _int(value):
            return value, None
        return value, f"must be a list, found {_show(value)}"
    return value, None


# Names of arguments that count things (an int default elsewhere may also take a float: max_value: 2.5).
_INTEGRAL_SUFFIXES = ("units", "filters", "steps", "size", "dim", "patience", "cooldown", "epoch", "epochs",
                      "axis", "axes", "verbose", "freq", "groups", "multiplier", "times", "seed", "rank", "k",
                      "implementation", "n", "step")


def _integral_name(name):
    return str(name).split("_")[-1] in _INTEGRAL_SUFFIXES


def _show(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, list) and len(value) <= 8 and all(v is None or isinstance(v, (int, float, str))
                                                           for v in value):
        return "[" + ", ".join("null" if v is None else repr(v) for v in value) + "]"
    return describe(value)


def schema_of(cls, name, param):
    """A JSON Schema fragment for one argument (used by :mod:`kspec.spec.schema`)."""
    kind = check_name(cls, name, param)
    want = expected_type(param)
    if kind in NUMERIC and want not in ("float", "int"):
        want = "float"
    nullable = param is None or param.default is None or kind in (
        "positive_or_null", "positive_ints_or_null", "seed", "name", "data_format")
    ints = {"type": "integer"}
    integer = {"type": "integer" if kind in INTEGRAL or _integral_name(name) else "number"}
    base = {"bool": {"type": "boolean"}, "int": integer, "float": {"type": "number"},
            "str": {"type": ["string", "boolean"]},
            "ints": {"anyOf": [ints, {"type": "array"}]},
            "list": {"anyOf": [ints, {"type": "array"}]}}.get(want, {})
    base = dict(base)
    if kind == "positive_int":
        base = {"type": "integer", "minimum": 1}
    elif kind == "non_negative_int":
        base = {"type": "integer", "minimum": 0}
    elif kind in ("positive", "positive_or_null"):
        base = {"type": "number", "exclusiveMinimum": 0}
    elif kind == "non_negative":
        base = {"type": "number", "minimum": 0}
    elif kind in ("unit_interval", "probability"):
        base = {"type": "number", "minimum": 0, "maximum": 1}
    elif kind == "unit_interval_open":
        base = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
    elif kind in ("positive_ints", "positive_ints_or_null"):
        pos = {"type": "integer", "minimum": 1}
        base = {"anyOf": [pos, {"type": "array", "items": pos, "minItems": 1}]}
    elif kind == "data_format":
        base = {"enum": ["channels_last", "channels_first"]}
    elif kind == "padding":
        base = {"enum": list(PADDING_CHOICES)}
    elif kind == "shape":
        base = {"type": "array", "items": {"type": "integer"}, "minItems": 1}
    elif kind == "seed":
        base = {"type": "integer", "minimum": 0}
    elif kind == "name":
        base = {"type": "string", "minLength": 1}
    if nullable and base:
        base = {"anyOf": [base, {"type": "null"}]}
    default = None if param is None or param.default is _EMPTY else param.default
    if isinstance(default, (bool, int, float, str)):
        base["default"] = default
    return base
