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
from kspec.serialization import serialize

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
    return {"class_name": keras_class_name(model), "config": config}


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
    """Keras's ``training_config`` for a compiled model (None when not compiled).

    ``run_eagerly``, ``steps_per_execution`` and ``jit_compile`` have no kspec counterpart; they hold the
    values Keras 3 writes by default on JAX, and Keras ignores them on load.
    """
    if not getattr(model, "compiled", False) or model.optimizer is None:
        return None
    args = model.compile_args
    config = {"loss": _loss_for_file(serialize(args.get("loss"))),
              "loss_weights": serialize(args.get("loss_weights")),
              "metrics": serialize(args.get("metrics")),
              "weighted_metrics": serialize(args.get("weighted_metrics")),
              "run_eagerly": False, "steps_per_execution": 1, "jit_compile": True}
    optimizer = model.optimizer
    config["optimizer_config"] = {"class_name": keras_class_name(optimizer),
                                  "config": serialize(optimizer.get_config())}
    return config


def _loss_for_file(loss):
    """Loss names as Keras 3 can read them back: its .h5 loader fails on aliases such as "mse", "mae",
    "kld" or "logcosh" (checked with 3.15.1), so an alias is written as the canonical name of what it
    stands for ("mean_squared_error", "LogCosh")."""
    if isinstance(loss, str):
        target = registry.lookup("loss", loss)
        return (registry.name_of("loss", target) if target is not None else None) or loss
    if isinstance(loss, list):
        return [_loss_for_file(v) for v in loss]
    if isinstance(loss, dict) and "class_name" not in loss:
        return {k: _loss_for_file(v) for k, v in loss.items()}
    return loss


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
    """``model.compile`` keyword arguments from a Keras 2 or 3 ``training_config``."""
    if not isinstance(config, dict):
        raise ModelFileError("training_config is not a JSON object", path)
    if not config.get("optimizer_config"):
        raise ModelFileError("training_config has no optimizer_config", path)
    return {"optimizer": optimizer_from_config(config["optimizer_config"], path),
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
