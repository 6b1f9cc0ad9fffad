"""Spec rules for starting from a trained model: ``model.weights`` (whole or partial weights).

``model.weights`` is a file path, or a mapping that follows Keras's ``load_weights`` options for legacy
``.h5`` files::

    weights: runs/base/model.h5                                  # every layer, paired in order
    weights: {path: base.h5, by_name: true, skip_mismatch: true} # layers paired by name; shapes that
                                                                 # do not fit keep their initial weights

The resolved form is always the mapping, with an absolute ``path`` and both flags.
"""
from kspec.spec.errors import did_you_mean
from kspec.spec.values import describe

WEIGHTS_KEYS = ("path", "by_name", "skip_mismatch")
_WEIGHTS_HINT = "e.g. weights: {path: base.h5, by_name: true, skip_mismatch: true}"
# Files whose weights are paired by position in the model's layers, never by name.
_POSITIONAL_SUFFIXES = (".keras", ".weights.h5")


def resolve_weights(r, value, path):
    """The ``{path, by_name, skip_mismatch}`` of a ``weights`` entry (None when absent); ``r`` is the
    resolver that reports errors at their line."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"path": value}
    elif not isinstance(value, dict):
        r.err(path, f"model.weights must be a file path or a mapping, found {describe(value)}", hint=_WEIGHTS_HINT)
        return None
    for key in value:
        if key not in WEIGHTS_KEYS:
            r.err(path + (key,), f"model.weights: unknown key {key!r}{did_you_mean(key, WEIGHTS_KEYS)}", key=True,
                  hint=f"model.weights takes {', '.join(WEIGHTS_KEYS)}")
    if "path" not in value:
        r.err(path, "model.weights: missing key 'path' (the weights file)", hint=_WEIGHTS_HINT, key=True)
        return None
    out = {"path": r.file_path(value["path"], path + ("path",), must_exist=True)}
    for flag in ("by_name", "skip_mismatch"):
        given = value.get(flag, False)
        if not isinstance(given, bool):
            r.err(path + (flag,), f"model.weights.{flag} must be true or false, found {describe(given)}")
            given = False
        out[flag] = given
    if out["by_name"] and isinstance(value["path"], str) and value["path"].lower().endswith(_POSITIONAL_SUFFIXES):
        r.err(path + ("by_name",), "model.weights.by_name needs a legacy .h5 file: .keras and .weights.h5 files "
                                   "pair weights by position", key=True,
              hint="drop by_name, or give a legacy .h5 file (kspec export RUN base.h5 writes one)")
    return out


def weights_path(entry):
    """The file of a resolved (or older plain-string) ``model.weights`` entry, or None."""
    if isinstance(entry, dict):
        return entry.get("path")
    return entry


def adapt_layers(model, x, skip=(), batch_size=1024):
    """Adapt the model's Normalization layers (those without fixed ``mean``/``variance``) on the training
    inputs ``x``, as a Keras user calls ``layer.adapt(x_train)`` before fit. A layer inside a Sequential
    model is adapted on what the layers before it output (in inference mode); in a graph model, on the
    model input it takes. Layers named in ``skip`` (their statistics came from a weights file) are left
    alone. Returns the names of the layers adapted."""
    from kspec.data import DataError
    from kspec.layers.preprocessing import Normalization
    from kspec.models.sequential import Sequential

    adapted = []
    layers = list(model.layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, Normalization) or layer.input_mean is not None or layer.name in skip:
            continue
        if isinstance(model, Sequential):  # run the layers before it
            data = _run_prefix(layers[:i], x, batch_size)
        else:
            data = _graph_input_of(model, layer, x)
            if data is None:
                raise DataError(f"Normalization layer {layer.name!r}: kspec adapts a Normalization layer of a graph "
                                "model only when it takes a model input directly",
                                hint="move it right after its Input, or give it mean and variance")
        layer.adapt(data)
        adapted.append(layer.name)
    return adapted


def _run_prefix(layers, x, batch_size):
    import numpy as np

    from kspec import backend
    from kspec.engine import no_grad

    if not layers:
        return x
    out = []
    with no_grad():
        for start in range(0, len(x), batch_size):
            h = x[start:start + batch_size]
            for layer in layers:
                h = layer(h, training=False)
            out.append(backend.to_numpy(h.data))
    return np.concatenate(out)


def _graph_input_of(model, layer, x):
    nodes = getattr(layer, "_inbound_nodes", [])
    if len(nodes) != 1 or len(nodes[0].input_tensors) != 1:
        return None
    tensor = nodes[0].input_tensors[0]
    for i, model_input in enumerate(model.inputs):
        if tensor is model_input:
            if isinstance(x, dict):
                return x.get(model.input_names[i])
            return x[i] if isinstance(x, (list, tuple)) else x
    return None


# -- stages ------------------------------------------------------------------------------------------------
STAGE_KEYS = ("trainable", "compile", "fit")
_STAGE_HINT = "e.g. stages: [{trainable: {base: true}, compile: {optimizer: {Adam: {learning_rate: 1.0e-5}}}, " \
              "fit: {epochs: 3}}]"


def resolve_stages(r, value, compile_section, fit_section):
    """The resolved ``stages``: per stage ``trainable`` (layer path -> bool, in order), and full ``compile``
    and ``fit`` sections (the stage's keys replace the top-level ones)."""
    if value is None:
        return []
    if not isinstance(value, list):
        r.err(("stages",), f"stages must be a list of stages, found {describe(value)}", hint=_STAGE_HINT)
        return []
    out = []
    for i, stage in enumerate(value):
        path = ("stages", i)
        if not isinstance(stage, dict):
            r.err(path, f"a stage is a mapping of {', '.join(STAGE_KEYS)}, found {describe(stage)}", hint=_STAGE_HINT)
            continue
        for key in stage:
            if key not in STAGE_KEYS:
                r.err(path + (key,), f"stages: unknown key {key!r}{did_you_mean(key, STAGE_KEYS)}", key=True,
                      hint=f"a stage takes {', '.join(STAGE_KEYS)}")
        trainable = stage.get("trainable")
        if trainable is None:
            trainable = {}
        elif not isinstance(trainable, dict):
            r.err(path + ("trainable",), f"stages.trainable maps layer paths to true or false, found "
                                         f"{describe(trainable)}", hint="e.g. trainable: {base: true, base/conv1: false}")
            trainable = {}
        for name, flag in trainable.items():
            if not isinstance(flag, bool):
                r.err(path + ("trainable", name), f"stages.trainable.{name} must be true or false, found {describe(flag)}")
        compile_args = r.compile(stage.get("compile") or {}, path + ("compile",), base=compile_section) \
            if compile_section is not None else None
        fit_args = r.fit(stage.get("fit") or {}, path + ("fit",), base=fit_section) if fit_section is not None else None
        out.append({"trainable": dict(trainable), "compile": compile_args, "fit": fit_args})
    return out


def layer_paths(model, prefix=""):
    """Every layer's path in ``model``: ``name``, and ``outer/inner`` inside nested models."""
    out = []
    for layer in getattr(model, "layers", ()):
        path = f"{prefix}{layer.name}"
        out.append(path)
        if getattr(layer, "layers", None):
            out += layer_paths(layer, path + "/")
    return out


def find_layer(model, path):
    """The layer at ``path`` (``base/block1_conv1``), or None."""
    obj = model
    for part in path.split("/"):
        obj = next((layer for layer in getattr(obj, "layers", ()) if layer.name == part), None)
        if obj is None:
            return None
    return obj


def check_stages(model, spec, doc=None):
    """Every ``trainable`` path of every stage names a layer of the built model; SpecError otherwise
    (at the key's line, with did-you-mean)."""
    from kspec.spec.errors import Diagnostic, SpecError

    errors = []
    paths = None
    for i, stage in enumerate(spec.get("stages") or []):
        for name in stage["trainable"]:
            if find_layer(model, name) is not None:
                continue
            paths = paths if paths is not None else layer_paths(model)
            message = f"stages: no layer {name!r} in the model{did_you_mean(name, paths)}"
            hint = "layer paths are names, and outer/inner inside a nested model: " + ", ".join(paths[:12]) + \
                   (", ..." if len(paths) > 12 else "")
            where = ("stages", i, "trainable", name)
            errors.append(doc.diagnostic(where, message, hint=hint, key=True) if doc is not None
                          else Diagnostic("<spec>", None, None, message, hint=hint))
    if errors:
        raise SpecError(errors)


def apply_trainable(model, flags):
    """``layer.trainable = value`` for each (path, value), in order."""
    for name, flag in flags.items():
        find_layer(model, name).trainable = flag


# -- a saved model as one layer ----------------------------------------------------------------------------
LOAD_KEYS = ("load", "name", "until", "trainable", "training")
_LOAD_HINT = "e.g. - {load: runs/base, name: base, until: flatten, trainable: false, training: false}"


def is_load_entry(entry):
    return isinstance(entry, dict) and "load" in entry


def resolve_load(r, entry, path, extra_keys=()):
    """The canonical ``{load, name, until, trainable, training}`` of a layer entry that loads a saved model
    (a ``.keras`` or ``.h5`` file, or a kspec run folder; the path relative to the spec). ``until`` must name
    one of the saved model's layers (read from the file's config, without its weights)."""
    allowed = LOAD_KEYS + tuple(extra_keys)
    for key in entry:
        if key not in allowed:
            r.err(path + (key,), f"load: unknown key {key!r}{did_you_mean(key, allowed)}", key=True,
                  hint=f"a load entry takes {', '.join(allowed)}")
    out = {"load": None, "name": entry.get("name"), "until": entry.get("until"),
           "trainable": entry.get("trainable"), "training": entry.get("training")}
    value = entry["load"]
    if not isinstance(value, str) or not value:
        r.err(path + ("load",), f"load must be a model file or run folder, found {describe(value)}", hint=_LOAD_HINT)
        return None
    out["load"] = r.doc.resolve_path(value)
    if not isinstance(out["name"], str) or not out["name"]:
        r.err(path if "name" not in entry else path + ("name",),
              "load: the entry needs a name (the name of the loaded model in this one), e.g. name: base",
              key="name" not in entry, hint=_LOAD_HINT)
    for flag in ("trainable", "training"):
        if out[flag] is not None and not isinstance(out[flag], bool):
            r.err(path + (flag,), f"load: {flag} must be true or false, found {describe(out[flag])}")
    if out["until"] is not None and not isinstance(out["until"], str):
        r.err(path + ("until",), f"load: until must be a layer name, found {describe(out['until'])}")
        out["until"] = None
    if not r.doc.check_files:
        return out
    names = _saved_layer_names(r, out["load"], value, path + ("load",))
    if names is not None and out["until"] is not None and out["until"] not in names:
        r.err(path + ("until",), f"load: the saved model has no layer {out['until']!r}"
                                 f"{did_you_mean(out['until'], names)}", hint="its layers are " + ", ".join(names))
    return out


def model_file(path):
    """The model file of a ``load`` path: a run folder's ``model.h5``, or the path itself."""
    import os

    return os.path.join(path, "model.h5") if os.path.isdir(path) else path  # kspec.run_files.MODEL_FILE


def _saved_layer_names(r, resolved, given, path):
    """The top-level layer names of a saved model (from its config only), or None after reporting why not."""
    import json
    import os
    import zipfile

    file = model_file(resolved)
    if not os.path.exists(resolved):
        r.err(path, f"file not found: {given}" + (f" ({resolved})" if resolved != given else ""),
              hint="paths in a spec are relative to the spec file's folder")
        return None
    if not os.path.isfile(file):
        r.err(path, f"{given} is a folder without a model.h5 (not a finished kspec run)")
        return None
    try:
        if zipfile.is_zipfile(file):
            with zipfile.ZipFile(file) as zf:
                config = json.loads(zf.read("config.json"))
        else:
            import h5py
            with h5py.File(file, "r") as f:
                raw = f.attrs.get("model_config")
                config = json.loads(raw.decode("utf8") if isinstance(raw, bytes) else raw) if raw is not None else None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        r.err(path, f"load: {given} is not a readable model file ({exc})",
              hint="give a Keras .keras or .h5 model file, or a kspec run folder")
        return None
    layers = ((config or {}).get("config") or {}).get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list):
        r.err(path, f"load: {given} holds no model config (a weights-only file?)",
              hint="load needs a whole model: a .keras file, a model .h5 or a run folder")
        return None
    return [entry.get("config", {}).get("name") or entry.get("name") for entry in layers
            if isinstance(entry, dict) and entry.get("class_name") != "InputLayer"]


def load_base(entry):
    """The model a ``load`` entry names, cut at ``until``, named and with ``trainable`` set."""
    from kspec.io import load_model
    from kspec.models.functional import Functional

    model = load_model(model_file(entry["load"]), compile=False)
    if entry.get("until") is not None:
        layer = model.get_layer(entry["until"])
        model = Functional(model.inputs, layer.output, name=entry["name"])
    model.name = entry["name"]
    if entry.get("trainable") is not None:
        model.trainable = entry["trainable"]
    return model


def build_chain(spec, doc=None):
    """A Sequential spec holding ``load`` entries, built as Keras's guide builds it: a Functional chain
    ``Input -> base(x, training=...) -> the other layers``."""
    from kspec import registry
    from kspec.models.functional import Functional, Input
    from kspec.spec.compiler import _EXPECTED, _captured, _diag, _message
    from kspec.spec.errors import SpecError

    model_spec = spec["model"]
    x = inputs = None
    if model_spec.get("input_shape") is not None:
        x = inputs = Input(shape=tuple(model_spec["input_shape"]))
    for i, entry in enumerate(model_spec["layers"]):
        path = ("model", "layers", i)
        kwargs = {}
        try:
            with _captured(doc, path):
                if "load" in entry:
                    layer, what = load_base(entry), f"load {entry['name']!r}"
                    if entry.get("training") is not None:
                        kwargs["training"] = entry["training"]
                else:
                    (class_name, args), = entry.items()
                    layer, what = registry.lookup("layer", class_name)(**args), class_name
        except Exception as e:  # noqa: BLE001 - an unreadable model file or a bad argument: at its line
            if type(e).__name__ != "ModelFileError" and not isinstance(e, _EXPECTED):
                raise
            raise SpecError(_diag(doc, path, f"{_message(e)}")) from None
        if x is None:
            shape = getattr(layer, "input_shape", None)
            if not shape:
                raise SpecError(_diag(doc, ("model",), "model: the input shape is unknown",
                                      hint="add input_shape: [...] to the model section"))
            x = inputs = Input(shape=tuple(shape[1:]))
        try:
            with _captured(doc, path):
                x = layer(x, **kwargs)
        except _EXPECTED as e:
            raise SpecError(_diag(doc, path, f"{what}: cannot take its input {tuple(x.shape)}: {_message(e)}")) \
                from None
    with _captured(doc, ("model",)):
        return Functional(inputs, x, name=model_spec.get("name"))


def run_stages(model, spec, doc, splits, folder, verbose, stream, extra_callbacks=()):
    """The spec's ``stages`` after the first fit: set ``trainable`` flags in order, recompile (a new
    optimizer, as Keras needs after changing them) with the stage's compile section, fit with its fit
    section. Returns the stages' History objects."""
    from kspec.spec.compiler import compile_model, fit_arguments, make_callbacks

    out = []
    for i, stage in enumerate(spec.get("stages") or []):
        staged = dict(spec, compile=stage["compile"], fit=stage["fit"])
        apply_trainable(model, stage["trainable"])
        compile_model(model, staged, doc)
        callbacks = make_callbacks(staged, doc, run_dir=folder) + list(extra_callbacks)
        fit_args = fit_arguments(staged, verbose)
        if "validation" in splits:
            fit_args["validation_data"] = splits["validation"]
        if fit_args.get("verbose") not in (0, None):
            stream.write(f"Stage {i + 1}/{len(spec['stages'])}\n")
        x, y = splits["train"]
        out.append(model.fit(x, y, callbacks=callbacks, stream=stream, **fit_args))
    return out
