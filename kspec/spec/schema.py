"""A JSON Schema (draft-07 or 2020-12) of the spec, generated from the registries and the signatures.

Editors that speak yaml-language-server complete and flag a spec with it (docs/schema.md). Every name
(layers, activations, losses, ...) is an enum or a property taken from the registry, every class's
arguments are properties typed from its signature's defaults and :mod:`kspec.spec.checks`, and mappings
whose keys are known say ``additionalProperties: false``. What a schema cannot say (shapes, expressions,
files) is left to ``kspec validate``.
"""
import inspect

from kspec import registry
from kspec.docstrings import argument_docs
from kspec.spec import checks
from kspec.spec import signatures as sig
from kspec.spec.graph import REFERENCE_KEYS

# The schema uses only keywords that mean the same in both drafts ($defs is reached by JSON pointer).
DRAFTS = {"07": "http://json-schema.org/draft-07/schema#",
          "2020-12": "https://json-schema.org/draft/2020-12/schema"}
KINDS = ("activation", "initializer", "regularizer", "constraint", "loss", "metric", "optimizer",
         "schedule", "callback")
_NULL = {"type": "null"}


def _ref(name):
    return {"$ref": f"#/$defs/{name}"}


def _nullable(schema):
    return {"anyOf": [schema, _NULL]}


def _argument(cls, name, param, defs):
    kind = sig.argument_kind(name)
    if kind == "schedule":
        return {"anyOf": [{"type": "number", "minimum": 0}, _ref("schedule")]}
    if kind is not None:
        return {"anyOf": [_ref(kind), _NULL]}
    if name == "function" and getattr(cls, "takes_expression", False):
        return {"type": "string", "description": "an expression of x, e.g. \"x * sigmoid(x)\""}
    return checks.schema_of(cls, name, param) if inspect.isclass(cls) else {}


def _arguments(cls, defs, extra=()):
    """The schema of a class's arguments: a mapping, its first positional value, or null."""
    accepted = sig.arguments(cls)
    props = {n: _argument(cls, n, p, defs) for n, p in accepted.params.items()}
    for n, text in argument_docs(cls, set(props)).items():  # the docstrings' Args: shown on hover
        props[n] = {**props[n], "description": text}
    for n in accepted.legacy:
        props.setdefault(n, {})
    for n in extra:
        props.setdefault(n, {})
    mapping = {"type": "object", "properties": props}
    if not accepted.open:
        mapping["additionalProperties"] = False
    required = accepted.required()
    if required:
        mapping["required"] = required
    options = [mapping]
    first = accepted.first if inspect.isclass(cls) else None
    if first is not None:
        positional = dict(props[first])
        positional.pop("default", None)
        options.append({**positional, "not": {"type": "object"}} if positional else
                       {"not": {"type": "object"}})
    if not required:
        options.append(_NULL)
    out = {"anyOf": options}
    doc = (inspect.getdoc(cls) or "").strip().splitlines()
    if doc:
        out["description"] = doc[0]  # shown on hover in editors
    return out


def _objects(kind, defs, extra_names=()):
    """A name, or ``{ClassName: {arguments}}``, of a registry kind."""
    names = sorted(set(registry.names(kind)) | set(extra_names))
    props = {}
    for name, obj in registry.items(kind):
        if kind == "activation" and sig.activation_arguments(obj):
            continue  # a layer's activation is called with the tensor alone
        key = f"{kind}.{registry.name_of(kind, obj) or name}"
        if key not in defs:
            defs[key] = _arguments(obj, defs) if inspect.isclass(obj) else \
                {"anyOf": [_NULL, {"type": "object", "maxProperties": 0}]}
        props[name] = _ref(key)
    keras = {"type": "object", "properties": {"class_name": {"enum": names}, "config": {"type": ["object", "null"]},
                                              "module": {}, "registered_name": {}},
             "required": ["class_name"], "additionalProperties": False}
    bare = sorted(n for n in names if not _needs_arguments(registry.lookup(kind, n))
                  and not (kind == "activation" and sig.activation_arguments(registry.lookup(kind, n))))
    return {"anyOf": [{"enum": bare}, {"type": "object", "properties": props, "additionalProperties": False,
                                        "minProperties": 1, "maxProperties": 1}, keras, *_user_code()]}


# Your own code as module:Name (kspec.user_code), a name or a one-key mapping of its arguments; kspec
# validate checks it (it needs --allow-code), the schema only its form.
USER_REFERENCE = "^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"


def _user_code():
    one = {"type": "object", "patternProperties": {USER_REFERENCE: {"type": ["object", "null"]}},
           "additionalProperties": False, "minProperties": 1, "maxProperties": 1}
    return [{"type": "string", "pattern": USER_REFERENCE}, one]


def _needs_arguments(obj):
    return obj is not None and inspect.isclass(obj) and bool(sig.arguments(obj).required())


def _layers(defs):
    props = {}
    for name, cls in registry.items("layer"):
        key = f"layer.{registry.name_of('layer', cls) or name}"
        if key not in defs:
            defs[key] = _arguments(cls, defs, extra=REFERENCE_KEYS)
        props[name] = _ref(key)
    names = sorted(props)
    bare = sorted(n for n, c in registry.items("layer") if not sig.arguments(c).required())
    one = {"type": "object", "properties": props, "additionalProperties": False, "minProperties": 1,
           "maxProperties": 1}
    repeat = {"type": "object", "properties": {"repeat": {
        "type": "object", "properties": {"times": {"type": "integer", "minimum": 1},
                                         "layers": {"type": "array", "items": _ref("layer"), "minItems": 1}},
        "required": ["times", "layers"], "additionalProperties": False}},
        "required": ["repeat"], "additionalProperties": False}
    apply = {"type": "object", "properties": {"apply": {"type": "string"}, **{k: {} for k in REFERENCE_KEYS},
                                              "name": {"type": "string"}},
             "required": ["apply"], "additionalProperties": False}
    keras = {"type": "object", "properties": {"class_name": {"enum": names}, "config": {"type": ["object", "null"]},
                                              "module": {}, "registered_name": {}, "build_config": {}},
             "required": ["class_name"], "additionalProperties": False}
    return {"anyOf": [{"enum": bare}, one, repeat, apply, keras, *_user_code()]}


def _method(method, exclude, special):
    from kspec.models import Model

    props = {}
    for name, default in sig.method_arguments(Model, method, exclude).items():
        if name in special:
            props[name] = special[name]
            continue
        param = inspect.signature(getattr(Model, method)).parameters[name]
        props[name] = checks.schema_of(None, name, param) if default is not None else {}
    return {"type": "object", "properties": props, "additionalProperties": False}


def _data():
    from kspec.data import FORMATS, SOURCE_KEYS, STEPS
    from kspec.data.datasets import SPLITS, dataset_names

    keys = {k: {} for k in SOURCE_KEYS}
    keys["dataset"] = {"enum": dataset_names()}
    keys["split"] = {"enum": list(SPLITS)}
    keys["format"] = {"enum": list(FORMATS), "description": "; ".join(f"{k}: {v}" for k, v in FORMATS.items())}
    source = {"anyOf": [{"type": "string"}, {"type": "object", "properties": keys, "additionalProperties": False}]}
    step = {"anyOf": [{"enum": sorted(STEPS)},
                      {"type": "object", "propertyNames": {"enum": sorted(STEPS)}, "minProperties": 1,
                       "maxProperties": 1}]}
    steps = {"anyOf": [step, {"type": "array", "items": step}, _NULL]}
    per_input = {"anyOf": [steps, {"type": "object", "additionalProperties": steps}]}
    return {"type": ["object", "null"], "properties": {"train": source, "validation": source, "test": source,
                                                         "x": per_input, "y": per_input},
            "additionalProperties": False}


def _model():
    size = {"anyOf": [{"type": "integer", "minimum": 1}, _NULL]}
    shape = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "array", "items": size, "minItems": 1}]}
    graph_input = {"anyOf": [shape, {"type": "object", "properties": {"shape": shape, "dtype": {"type": "string"}},
                                     "required": ["shape"], "additionalProperties": False}]}
    names = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    load = {"type": "object", "required": ["load", "name"], "additionalProperties": False,
            "description": "a saved model (.keras, .h5 or a run folder) as one layer",
            "properties": {"load": {"type": "string"}, "name": {"type": "string"}, "until": {"type": "string"},
                           "trainable": {"type": "boolean"}, "training": {"type": "boolean"}, "input": names}}
    return {"type": "object", "properties": {
        "input_shape": shape, "layers": {"type": "array", "items": {"anyOf": [_ref("layer"), load]}, "minItems": 1},
        "weights": {"anyOf": [{"type": "string"}, {
            "type": "object", "required": ["path"], "additionalProperties": False,
            "properties": {"path": {"type": "string"}, "by_name": {"type": "boolean"},
                           "skip_mismatch": {"type": "boolean"}}}]},
        "name": {"type": ["string", "null"]},
        "class": {"type": "string", "pattern": USER_REFERENCE,
                  "description": "your own subclass of kspec.Sequential (or kspec.Model for a graph) as "
                                 "module:Name; needs --allow-code"},
        "inputs": {"type": "object", "additionalProperties": graph_input, "minProperties": 1},
        "outputs": names}, "required": ["layers"], "additionalProperties": False}


def build_schema(draft="07"):
    """The JSON Schema of a spec, as a dict. ``draft``: "07" (what most editors read) or "2020-12"."""
    from kspec.spec.sections import FIT_EXCLUDED, SHAPE_RESOLVED_METRICS

    defs = {}
    for kind in KINDS:
        extra = ()
        if kind == "metric":
            extra = tuple(SHAPE_RESOLVED_METRICS) + tuple(registry.names("loss"))
        defs[kind] = _objects(kind, defs, extra)
    defs["layer"] = _layers(defs)
    loss = {"anyOf": [_ref("loss"), _NULL, {"type": "array", "items": {"anyOf": [_ref("loss"), _NULL]}},
                      {"type": "object", "minProperties": 2, "additionalProperties": {"anyOf": [_ref("loss"), _NULL]}}]}
    metric_list = {"anyOf": [_ref("metric"), _NULL, {"type": "array", "items": _ref("metric")}]}
    metrics = {"anyOf": [metric_list, {"type": "object", "minProperties": 2, "additionalProperties": metric_list}]}
    compile_ = _method("compile", (), {
        "optimizer": _ref("optimizer"), "loss": loss, "metrics": metrics, "weighted_metrics": metrics,
        "loss_weights": {"anyOf": [{"type": "number"}, {"type": "array"}, {"type": "object"}, _NULL]}})
    compile_["required"] = ["loss"]
    positive = {"type": "integer", "minimum": 1}
    fit = _method("fit", FIT_EXCLUDED, {
        "epochs": positive, "batch_size": _nullable(positive), "initial_epoch": {"type": "integer", "minimum": 0},
        "steps_per_epoch": _nullable(positive), "validation_steps": _nullable(positive),
        "validation_batch_size": _nullable(positive), "validation_freq": positive,
        "verbose": {"enum": ["auto", 0, 1, 2]}, "shuffle": {"enum": [True, False, "batch"]},
        "validation_split": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
        "class_weight": {"anyOf": [_NULL, {"type": "object", "propertyNames": {"pattern": "^[0-9]+$"},
                                           "additionalProperties": {"type": "number"}}]},
        "callbacks": {"anyOf": [_NULL, _ref("callback"), {"type": "array", "items": _ref("callback")}]}})
    fit["type"] = ["object", "null"]
    return {
        "$schema": DRAFTS[draft],
        "$id": "https://kspec.invalid/spec.schema.json",
        "title": "kspec spec",
        "description": "A kspec training spec (kspec schema; check fully with kspec validate).",
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.+=-]*$"},
            "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
            "data": _data(), "model": _model(), "compile": compile_, "fit": fit, "sweep": _sweep(),
            "stages": {"type": ["array", "null"], "items": {
                "type": "object", "additionalProperties": False,
                "properties": {"trainable": {"type": "object", "additionalProperties": {"type": "boolean"}},
                               "compile": {**compile_, "required": []}, "fit": fit}}},
        },
        "required": ["model", "compile"],
        "additionalProperties": False,
        "$defs": dict(sorted(defs.items())),
    }


def _sweep():
    """The ``sweep:`` section (kspec.spec.sweep_section); distributions are checked by kspec validate."""
    from kspec.spec.sweep_params import DIRECTIONS, KINDS, SAMPLERS

    positive = {"type": "integer", "minimum": 1}
    dist = {"type": "string", "pattern": "^(" + "|".join(KINDS) + "):",
            "description": "loguniform:LOW:HIGH, uniform:LOW:HIGH, int:LOW:HIGH or choice:A,B,C"}
    return {"type": "object", "additionalProperties": False, "properties": {
        "params": {"type": "object", "additionalProperties": dist,
                   "description": "--set keys to search, each with its distribution"},
        "trials": positive, "jobs": positive, "metric": {"type": "string", "minLength": 1},
        "direction": {"enum": list(DIRECTIONS)}, "sampler": {"enum": list(SAMPLERS)},
        "prune": {"type": "boolean"}, "timeout": {"type": "number", "exclusiveMinimum": 0},
        "storage": {"type": "string", "minLength": 1}, "study_name": {"type": "string", "minLength": 1}}}
