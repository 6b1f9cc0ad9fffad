"""Configs from ``__init__`` signatures (floor 0): a class states its arguments once.

``record_init`` wraps an ``__init__`` so the bound arguments of the most-derived one are kept on the
instance (``_init_args``); :class:`Configurable` derives ``get_config``/``from_config`` from them. An
attribute named like an argument is serialized in place of the raw argument (``L1`` keeps ``l1`` as the
float32 Keras reports). Layers use ``record_init`` through ``kspec.layers.base.Layer``; initializers,
regularizers, constraints, schedules, optimizers, losses and metrics through ``Configurable``.
"""
import functools
import inspect

from kspec.serialization import serialize


def record_init(init):
    """Wrap ``init`` so the outermost call records its bound arguments (``**kwargs`` flattened in;
    their names in ``_init_extra``)."""
    signature = inspect.signature(init)
    params = signature.parameters.values()
    var_keyword = next((p.name for p in params if p.kind == p.VAR_KEYWORD), None)  # **kwargs, **kw, ...
    var_positional = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), None)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        if not hasattr(self, "_init_args"):
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            recorded = dict(bound.arguments)
            recorded.pop("self")
            recorded.pop(var_positional, None)
            extra = recorded.pop(var_keyword, {}) if var_keyword else {}
            recorded.update(extra)
            self._init_args = recorded
            self._init_extra = frozenset(extra)  # passed through **kwargs, not the class's own arguments
        init(self, *args, **kwargs)

    wrapper.__signature__ = signature
    return wrapper


@functools.lru_cache(maxsize=None)
def config_order(cls):
    """Argument names in Keras's config order: those a base class's ``__init__`` takes come first (a
    Keras ``get_config`` starts from ``super().get_config()``), from the root class down."""
    order = []
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for name, p in inspect.signature(init).parameters.items():
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and name not in order:
                order.append(name)
    return tuple(order)


class Configurable:
    """``get_config`` is ``{argument: value}`` for the arguments of the most-derived ``__init__`` (in
    :func:`config_order`), each value read from the attribute of the same name when there is one;
    ``from_config`` calls the class."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = record_init(cls.__dict__["__init__"])

    def get_config(self):
        args = getattr(self, "_init_args", {})
        keys = [k for k in config_order(type(self)) if k in args] + [k for k in args if k not in
                                                                         config_order(type(self))]
        return {key: serialize(getattr(self, key, args[key])) for key in keys}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
