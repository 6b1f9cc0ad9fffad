"""What a spec entry may say, read from the code itself (never from a second list of names).

A class's arguments are those of its ``__init__``, followed up the base classes while ``**kwargs``
passes arguments on. The sections ``compile`` and ``fit`` take ``Model.compile``'s and ``Model.fit``'s
arguments. The registry kind of a nested argument follows Keras's naming: ``*_initializer``,
``*_regularizer``, ``*_constraint``, ``activation``/``*_activation`` and ``learning_rate``.
"""
import functools
import inspect

_EMPTY = inspect.Parameter.empty

# Keyword arguments that a base class takes through **kwargs (besides its signature): the legacy
# Keras 2 names that it understands. Keyed by base class, resolved lazily.
_BASE_EXTRAS = {
    ("kspec.layers.base", "Layer"): lambda m: tuple(m.LEGACY_SHAPE_KWARGS),
    ("kspec.optimizers.base", "Optimizer"): lambda m: ("lr", "decay"),
}

# Keras 2 names that mean a Keras 3 argument.
RENAMED = {"lr": "learning_rate"}


class Arguments:
    """The arguments a class accepts.

    ``params`` maps each name to its ``inspect.Parameter`` in signature order (own class first);
    ``legacy`` holds extra names a base class reads from ``**kwargs``; ``open`` is True when some
    ``**kwargs`` goes on to code that cannot be inspected (then unknown names are not errors).
    """

    def __init__(self, params, legacy, open_, first):
        self.params, self.legacy, self.open, self.first = params, legacy, open_, first

    def __contains__(self, name):
        return name in self.params or name in self.legacy

    @property
    def names(self):
        return list(self.params) + [n for n in self.legacy if n not in self.params]

    def required(self):
        return [n for n, p in self.params.items() if p.default is _EMPTY]

    def defaults(self):
        return {n: p.default for n, p in self.params.items() if p.default is not _EMPTY}


@functools.lru_cache(maxsize=None)
def arguments(cls):
    """The :class:`Arguments` of a class (or of a function: its parameters after the first)."""
    params, legacy = {}, []
    first = None
    if not inspect.isclass(cls):
        sig = _signature(cls)
        names = list(sig.parameters.values())[1:] if sig is not None else []
        for p in names:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                params[p.name] = p
        return Arguments(params, (), sig is None, None)
    open_ = False
    fixed = set()  # base-class arguments a subclass passes itself (ActivityRegularization's regularizer)
    for klass in cls.__mro__:
        if klass is object:
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        sig = _signature(init)
        if sig is None:
            open_ = True
            break
        var_kw = False
        for i, p in enumerate(sig.parameters.values()):
            if i == 0:
                continue  # self
            if p.kind == p.VAR_KEYWORD:
                var_kw = True
            elif p.kind == p.VAR_POSITIONAL:
                continue
            else:
                if p.name in fixed:
                    continue
                if first is None and p.kind == p.POSITIONAL_OR_KEYWORD:
                    first = p.name
                params.setdefault(p.name, p)
        fixed.update(klass.__dict__.get("sets_base_arguments", ()))
        if not var_kw:
            break
        extras = _base_extras(klass)
        if extras is not None:
            legacy.extend(extras)
            break
    else:
        open_ = True
    return Arguments(params, tuple(legacy), open_, first)


def activation_arguments(fn):
    """The arguments an activation function needs besides the tensor (``threshold``'s two), which a
    layer's ``activation`` cannot pass."""
    return arguments(fn).required() if fn is not None and not inspect.isclass(fn) else []


def first_positional(cls):
    """The name of the first positional argument of a class (``units`` for Dense), or None."""
    return arguments(cls).first


def argument_kind(name):
    """The registry kind an argument named ``name`` takes, or None for plain values."""
    name = str(name)
    for suffix in ("initializer", "regularizer", "constraint"):
        if name == suffix or name.endswith("_" + suffix):
            return suffix
    if name == "activation" or name.endswith("_activation"):
        return "activation"
    if name == "learning_rate":
        return "schedule"
    return None


def wants_float(param):
    """Whether a parameter takes a float (its default is one), so a YAML int must become a float."""
    if param is None:
        return False
    default = param.default
    if isinstance(default, float):
        return True
    return param.annotation in (float, "float")


@functools.lru_cache(maxsize=None)
def method_arguments(cls, method, exclude=()):
    """(name -> default) of a method's keyword arguments, e.g. ``Model.fit`` for the fit section."""
    sig = inspect.signature(getattr(cls, method))
    return {n: p.default for n, p in sig.parameters.items()
            if n != "self" and n not in exclude and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _base_extras(klass):
    key = (klass.__module__, klass.__name__)
    if key not in _BASE_EXTRAS:
        return None
    import importlib
    return _BASE_EXTRAS[key](importlib.import_module(klass.__module__))
