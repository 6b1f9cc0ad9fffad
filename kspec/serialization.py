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
        return {"module": KERAS_MODULES.get(kind, "keras"), "class_name": type(value).__name__,
                "config": serialize(value.get_config()), "registered_name": None}
    if callable(value):
        return getattr(value, "keras_name", getattr(value, "__name__", str(value)))
    return value
