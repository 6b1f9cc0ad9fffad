"""Keras ``model_config`` / ``training_config`` JSON <-> kspec models, and Keras's weight naming.

Writing follows what Keras 3.15.1 puts in a legacy ``.h5`` (reference §7a): the model's ``get_config()``
wrapped as ``{"class_name": "Sequential", "config": ...}``, each layer entry reduced to ``class_name`` and
``config`` (no ``module``/``registered_name``/``build_config``), layer dtypes as DTypePolicy dicts.

Reading: models come from :mod:`kspec.models.config` (``from_config`` beside ``get_config``), with its
errors turned into a ModelFileError naming the file; compile arguments are read here, from Keras 3 and
Keras-2 optimizer configs (``lr``, ``decay``) and tf.keras's serialized ``MeanMetricWrapper`` metrics.
"""
from kspec import registry
from kspec.io.errors import ModelFileError
from kspec.models import config as config_mod
from kspec.models.config import accepted_args, drop_unknown_nulls
from kspec.serialization import class_entry, serialize

# Keys of a Keras layer entry that the legacy .h5 config leaves out.
_ENTRY_ONLY_KEYS = ("module", "registered_name", "build_config", "compile_config")
# Keras-2 optimizer config keys with no meaning for the math.
_OPTIMIZER_DROP = ("jit_compile", "is_legacy_optimizer", "mesh")
_ACCURACY_NAMES = ("accuracy", "acc", "crossentropy", "ce")


def keras_class_name(obj):
    """The Keras class name of a kspec layer, model or optimizer (kspec classes carry Keras's names)."""
    return getattr(type(obj), "keras_class_name", type(obj).__name__)


def keras_weight_path(model, weight):
    """A weight's Keras 3 variable path (``sequential/dense/kernel`` for a layer a Sequential model built,
    ``dense/kernel`` in a graph model): the path it got when it was made."""
    return weight.path


# -- writing -----------------------------------------------------------------------------------------------
def dtype_policy(dtype):
    """Keras 3's serialized DTypePolicy for a dtype name (dicts pass through)."""
    if not isinstance(dtype, str):
        return dtype
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype}, "registered_name": None}


def model_config(model):
    """``{"class_name": "Sequential", "config": {...}}`` in the legacy-.h5 form Keras 3 writes."""
    config = dict(model.get_config())
    if "dtype" in config:
        config["dtype"] = dtype_policy(config["dtype"])
    if "layers" in config:
        config["layers"] = [_legacy_entry(entry) for entry in config["layers"]]
    out = {"class_name": keras_class_name(model), "config": config}
    module = class_entry(model, "keras")["module"]
    if not module.startswith("keras"):  # the user's Model subclass (model.class): found again as module:Name
        out["module"] = module
    return out


def _legacy_entry(entry):
    out = {k: v for k, v in entry.items() if k not in _ENTRY_ONLY_KEYS}
    if entry.get("registered_name") and entry.get("module") and \
            not str(entry["module"]).startswith("keras"):  # a user's class: kspec finds it as module:Name
        out["module"] = entry["module"]
    config = dict(out.get("config") or {})
    if out.get("class_name") != "InputLayer" and "dtype" in config:
        config["dtype"] = dtype_policy(config["dtype"])
    if isinstance(config.get("layers"), list):  # a nested model: its layers in the same form
        config["layers"] = [_legacy_entry(e) for e in config["layers"]]
    out["config"] = config
    return out


def training_config(model):
    """Keras's ``training_config`` for a compiled model (None when not compiled), as a legacy ``.h5``
    holds it: losses and metrics with arguments as ``{"class_name", "config"}`` (never the spec's one-key
    shorthand), the optimizer under ``optimizer_config``.

    ``run_eagerly``, ``steps_per_execution`` and ``jit_compile`` have no kspec counterpart; they hold the
    values Keras 3 writes by default on JAX, and Keras ignores them on load.
    """
    config = _compile_entries(model, legacy=True)
    if config is None:
        return None
    optimizer = model.optimizer
    config["optimizer_config"] = {"class_name": keras_class_name(optimizer),
                                  "config": serialize(optimizer.get_config())}
    return config


def compile_config(model):
    """Keras 3's ``compile_config`` of a ``.keras`` file's ``config.json`` (None when not compiled): the
    optimizer and the loss and metric objects serialized with ``module`` and ``registered_name``."""
    config = _compile_entries(model, legacy=False)
    if config is None:
        return None
    optimizer = model.optimizer
    return {"optimizer": {"module": "keras.optimizers", "class_name": keras_class_name(optimizer),
                          "config": serialize(optimizer.get_config()), "registered_name": None}, **config}


def _compile_entries(model, legacy):
    if not getattr(model, "compiled", False) or model.optimizer is None:
        return None
    args = model.compile_args
    names = list(getattr(model, "output_names", None) or [])
    return {"loss": _keras_objects(args.get("loss"), "loss", names, legacy),
            "loss_weights": serialize(args.get("loss_weights")),
            "metrics": _keras_objects(args.get("metrics"), "metric", names, legacy),
            "weighted_metrics": _keras_objects(args.get("weighted_metrics"), "metric", names, legacy),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": True}


def _keras_objects(value, kind, names, legacy, top=True):
    """A compile argument (a name, an object, the spec's ``{ClassName: {arguments}}``, or lists and dicts
    by output name of these) in the form Keras deserializes. Loss names are written canonically: Keras's
    .h5 loader fails on aliases such as "mse" or "kld" (checked with 3.15.1)."""
    from kspec.models.compile_utils import _is_object_form

    if value is None:
        return None
    if isinstance(value, str):
        if kind != "loss":
            return value
        target = registry.lookup("loss", value)
        return (registry.name_of("loss", target) if target is not None else None) or value
    if isinstance(value, (list, tuple)):
        return [_keras_objects(v, kind, names, legacy, top=False) for v in value]
    if isinstance(value, dict):
        if not top or _is_object_form(value, names, kind):  # one object (inside a list: always)
            return _object_config(_instantiate(kind, value), legacy)
        return {k: _keras_objects(v, kind, names, legacy, top=False) for k, v in value.items()}
    if hasattr(value, "get_config"):
        return _object_config(value, legacy)
    return serialize(value)


def _instantiate(kind, value):
    from kspec import losses, metrics  # here, not at the top: reading a model file needs neither

    return losses.get(value) if kind == "loss" else metrics.get(value)


def _object_config(obj, legacy):
    """``{"module", "class_name", "config", "registered_name"}`` (``{"class_name", "config"}`` for a legacy
    .h5) for a Loss or Metric object; a function-backed loss is its name."""
    if not hasattr(obj, "get_config"):
        return serialize(obj)
    from kspec.losses.loss import LossFunctionWrapper

    if type(obj) is LossFunctionWrapper:  # a plain loss function: Keras stores its name
        name = getattr(obj, "name", None)
        target = registry.lookup("loss", name) if isinstance(name, str) else None
        return (registry.name_of("loss", target) if target is not None else None) or name
    config = serialize(obj)
    if legacy:
        return {"class_name": config["class_name"], "config": config["config"]}
    return config


# -- reading: models (kspec.models.config rebuilds them; here the errors get the file's path) ---------------
def model_from_config(config, path=None):
    """A kspec model (uncompiled, built when the config gives an input shape) from a Keras model_config."""
    try:
        return config_mod.model_from_config(config)
    except config_mod.ConfigError as exc:
        raise ModelFileError(exc.message, path, hint=exc.hint) from None


def layer_from_config(entry, path=None):
    """One kspec layer (or nested model) from a Keras layer entry ``{"class_name": ..., "config": {...}}``."""
    try:
        return config_mod.layer_from_config(entry)
    except config_mod.ConfigError as exc:
        raise ModelFileError(exc.message, path, hint=exc.hint) from None


# -- reading: compile arguments ----------------------------------------------------------------------------
def compile_args(config, path=None):
    """``model.compile`` keyword arguments from a Keras 2 or 3 ``training_config`` (legacy ``.h5``) or a
    ``compile_config`` (``.keras``)."""
    if not isinstance(config, dict):
        raise ModelFileError("training_config is not a JSON object", path)
    optimizer = config.get("optimizer_config") or config.get("optimizer")  # .h5 / .keras
    if not optimizer:
        raise ModelFileError("the compile configuration has no optimizer", path)
    return {"optimizer": optimizer_from_config(optimizer, path),
            "loss": config.get("loss"),
            "metrics": _metrics(config.get("metrics")),
            "weighted_metrics": _metrics(config.get("weighted_metrics")),
            "loss_weights": config.get("loss_weights")}


def optimizer_from_config(config, path=None):
    """A kspec optimizer from ``{"class_name": "Adam", "config": {...}}`` (Keras 2 or 3)."""
    from kspec import optimizers  # here, not at the top: loading a model without compiling needs none

    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelFileError(f"optimizer_config is not a Keras optimizer config: {config!r:.80}", path)
    class_name = config["class_name"]
    cls = registry.lookup("optimizer", class_name)
    if cls is None:
        known = ", ".join(registry.names("optimizer", aliases=False))
        raise ModelFileError(f"unknown optimizer {class_name!r}", path, hint=f"kspec knows {known}")
    args = dict(config.get("config") or {})
    if "lr" in args:  # Keras 2's name for learning_rate
        lr = args.pop("lr")
        args.setdefault("learning_rate", lr)
    if not args.get("decay"):
        args.pop("decay", None)
    for key in _OPTIMIZER_DROP:
        args.pop(key, None)
    args = drop_unknown_nulls(args, accepted_args(cls, optimizers.Optimizer.__init__))
    try:
        return optimizers.get({"class_name": class_name, "config": args})
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"cannot rebuild optimizer {class_name!r}: {exc}", path) from None


def _metrics(value):
    """Compiled metrics as compile() takes them. tf.keras 2 saved its built metric objects: one list per
    output (``[[{"class_name": "MeanMetricWrapper", ...}]]``); a single-output list is unwrapped."""
    if value is None:
        return None
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _metrics(v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) == 1 and isinstance(value[0], list):
            value = value[0]
        return [_metrics(v) if isinstance(v, list) else _metric_id(v) for v in value]
    return _metric_id(value)


def _metric_id(value):
    """tf.keras's ``MeanMetricWrapper`` dict -> the metric's name (``accuracy``) or function name."""
    if not (isinstance(value, dict) and value.get("class_name") == "MeanMetricWrapper"):
        return value
    config = value.get("config") or {}
    name, fn = config.get("name"), config.get("fn")
    if isinstance(name, str) and (name in _ACCURACY_NAMES or registry.lookup("metric", name)
                                  or registry.lookup("loss", name)):
        return name
    return fn if isinstance(fn, str) else name
