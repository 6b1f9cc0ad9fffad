"""Turning Keras objects into configs and back, one rule for every kind.

An identifier is None, an instance, a registered name (``"adam"``, ``"l2"``, ``"glorot_uniform"``), a
Keras config dict (``{"class_name": "Adam", "config": {...}}``), or the spec's one-key form
(``{"Adam": {"learning_rate": 0.001}}``).
"""
import inspect

from kspec import registry

# The Keras module each kind serializes under (the "module" key of a Keras 3 config).
KERAS_MODULES = {
    "initializer": "keras.initializers",
    "regularizer": "keras.regularizers",
    "constraint": "keras.constraints",
    "optimizer": "keras.optimizers",
    "schedule": "keras.optimizers.schedules",
    "loss": "keras.losses",
    "metric": "keras.metrics",
    "layer": "keras.layers",
}


def deserialize(kind, identifier, **overrides):
    """Resolve an identifier of ``kind`` to an object: classes are instantiated, functions returned."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        obj = registry.lookup(kind, identifier)
        if obj is None:
            raise ValueError(f"unknown {kind} {identifier!r}")
        return obj(**overrides) if inspect.isclass(obj) else obj
    if isinstance(identifier, dict):
        if "class_name" in identifier:
            name, config = identifier["class_name"], dict(identifier.get("config") or {})
            found = lookup_entry(kind, identifier)
            name = name if found is None or not is_user_class(found) else reference_of(found) or name
        elif len(identifier) == 1:
            (name, config), = identifier.items()
            config = dict(config or {})
        else:
            raise ValueError(f"cannot read a {kind} from {identifier!r}")
        obj = registry.lookup(kind, name)
        if obj is None:
            raise ValueError(f"unknown {kind} {name!r}")
        if not inspect.isclass(obj):
            if config:
                raise ValueError(f"{kind} {name!r} takes no arguments")
            return obj
        from_config = getattr(obj, "from_config", None)
        config.update(overrides)
        return from_config(config) if from_config else obj(**config)
    return identifier


def serialize(value):
    """A JSON-ready Keras config for any value a layer or optimizer argument can hold."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if isinstance(value, (list, tuple)):
        return [serialize(v) for v in value]
    if isinstance(value, dict):
        return {k: serialize(v) for k, v in value.items()}
    if hasattr(value, "get_config"):
        kind = getattr(value, "registry_kind", None)
        return {**class_entry(value, KERAS_MODULES.get(kind, "keras")), "config": serialize(value.get_config())}
    if callable(value):
        return getattr(value, "keras_name", None) or reference_of(value) or getattr(value, "__name__", str(value))
    return value


def is_user_class(cls):
    """Whether a class (or function) is the user's, not kspec's: it is named by ``module:Name``."""
    return not getattr(cls, "__module__", "kspec").split(".")[0] == "kspec"


def reference_of(obj):
    """``module:Name`` of a user's class or function (the form a spec and kspec's files name it by),
    None for kspec's own."""
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    if not is_user_class(target) or target.__module__ in ("builtins", "__main__"):
        return None
    return f"{target.__module__}:{target.__qualname__}"


def class_entry(obj, keras_module):
    """The ``module``/``class_name``/``registered_name`` keys of a Keras config entry. A user class keeps
    its own module (Keras's custom-object convention), so kspec finds it again as ``module:Name``."""
    cls = type(obj)
    if is_user_class(cls) and cls.__module__ not in ("builtins", "__main__"):
        return {"module": cls.__module__, "class_name": cls.__name__, "registered_name": cls.__name__}
    return {"module": keras_module, "class_name": cls.__name__, "registered_name": None}


def lookup_entry(kind, entry):
    """The class a Keras config entry names: a registered ``class_name``, else (a user class written with
    its own ``module``) ``module:class_name``, which only loads where code is allowed."""
    name = entry.get("class_name")
    found = registry.lookup(kind, name)
    module = entry.get("module")
    if found is None and isinstance(module, str) and module and not module.split(".")[0] in ("keras", "builtins"):
        found = registry.lookup(kind, f"{module}:{name}")
    return found
