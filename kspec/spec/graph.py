"""Graph models in the spec: named inputs, several outputs, shared layers, residual branches.

A model section with ``inputs`` describes a graph (a Keras Functional model)::

    model:
      inputs:                                   # name -> shape, or {shape, dtype}
        image: [4, 4, 1]
        meta: {shape: [3], dtype: float32}
      layers:
        - Flatten: {input: image}               # `input`: one name or a list of names
        - Dense: {units: 8, activation: relu, name: h}   # no `input`: the previous entry's output
        - Concatenate: {name: both, input: [h, meta]}
        - Dense: {units: 3, activation: softmax, name: out}
      outputs: [out]                            # default: the last entry's output

Names: an input's name, a layer's ``name`` (or its Keras default: ``dense``, ``dense_1``, ... counted
per class over the unnamed entries), or an ``apply`` entry's name refer to that entry's output.
Reusing a layer (the same weights) on another input is an ``apply`` entry::

        - {apply: enc, input: right, name: enc_right}   # layer `enc` again; its output is enc_right

(``name`` defaults to ``enc_1``, ``enc_2``, ... for the 2nd, 3rd, ... call). A layer with several outputs
(``LSTM`` with ``return_state``) gives a list; ``lstm[1]`` names its output 1. A recurrent layer (or an
apply of one) takes its starting states by name in ``initial_state``, checked like ``input`` (quoted in a
``[...]`` list, where YAML would read a bare ``[`` as a list)::

        - LSTM: {units: 32, return_state: true, name: encoder, input: source}
        - LSTM: {units: 32, return_sequences: true, input: target, initial_state: ['encoder[1]', 'encoder[2]']}

An entry can only use names defined above it, so a graph cannot loop back on itself. Every input and every
entry's output must be used (by a later entry or as a model output). Output names are the names of the
layers producing them, which is how ``compile`` maps per-output losses, ``loss_weights`` and metrics, and
how history keys read (``out_a_loss``). Data for several inputs/outputs comes as dicts by name:
``x: {image: images, meta: m}``.

:func:`resolve_graph` checks the section (a part of the resolver) and gives the canonical form: each layer
entry ``{Class: {every argument, name, input}}`` with names and inputs written out (and ``initial_state``
where given), each apply entry ``{apply, input, name}``. :func:`build_graph` turns that into a built
Functional model; a layer that cannot take its inputs (e.g. shapes that clash at a merge) is reported at its
line.
"""
import re

from kspec import registry
from kspec.registry import snake_case
from kspec.spec.errors import SpecError, did_you_mean

_PICK = re.compile(r"^(.+)\[(\d+)\]$")
GRAPH_KEYS = ("inputs", "layers", "outputs", "weights", "name", "class")
REFERENCE_KEYS = ("input", "initial_state")   # a graph entry's keys that name other entries' outputs
APPLY_KEYS = ("apply",) + REFERENCE_KEYS + ("name",)
INPUT_KEYS = ("shape", "dtype")
DTYPES = ("float32", "float64", "float16", "int32", "int64", "int8", "uint8", "bool")


def is_graph(model_value):
    """Whether a model section describes a graph (it names its inputs)."""
    return isinstance(model_value, dict) and model_value.get("inputs") is not None


def resolve_graph(resolver, value, path=("model",)):
    """The resolved graph model section; problems go to ``resolver.err`` with their positions."""
    return _GraphResolver(resolver, path).run(value)


class _GraphResolver:
    def __init__(self, resolver, path):
        self.r = resolver
        self.path = path
        self.defined = {}    # name -> path of the entry (or input) defining it
        self.used = set()
        self.layer_names = {}  # layer name -> entry path (for apply)
        self.state_counts = {}  # recurrent layer name -> (states it takes or None if unknown, class name)
        self.calls = {}      # layer name -> number of calls so far
        self.auto = {}       # class base name -> count, for Keras default names

    def err(self, path, message, hint=None, key=False):
        self.r.err(path, message, hint=hint, key=key)

    def run(self, value):
        path = self.path
        errors_before = len(self.r.errors)
        self.r.unknown_keys(value, path, GRAPH_KEYS, "model",
                            hint="a graph model takes " + ", ".join(GRAPH_KEYS))
        inputs = self.inputs(value.get("inputs"), path + ("inputs",))
        entries = value.get("layers")
        layers = []
        if entries is None:
            self.err(path, "model: missing key 'layers'", key=True,
                     hint="e.g. layers: [{Dense: {units: 10, input: x}}]")
        elif not isinstance(entries, list) or not entries:
            self.err(path + ("layers",), "model.layers must be a non-empty list of layers")
        else:
            previous = next(iter(inputs)) if len(inputs) == 1 else None
            for i, entry in enumerate(entries):
                resolved = self.entry(entry, path + ("layers", i), previous, entries, i)
                layers.append(resolved)
                previous = _output_name(resolved) if resolved is not None else None
        outputs = self.outputs(value, layers)
        if len(self.r.errors) == errors_before:  # after other errors, "never used" would only add noise
            self.unused(outputs)
        from kspec.spec.transfer import resolve_weights
        weights = resolve_weights(self.r, value.get("weights"), path + ("weights",))
        name = value.get("name")
        if name is not None and not isinstance(name, str):
            self.err(path + ("name",), "model.name must be a string")
        return {"inputs": inputs, "layers": layers, "outputs": outputs, "weights": weights, "name": name}

    # -- inputs ---------------------------------------------------------------------------------------
    def inputs(self, value, path):
        if not isinstance(value, dict) or not value:
            self.err(path, "model.inputs maps each input's name to its shape",
                     hint="e.g. inputs: {image: [28, 28], meta: {shape: [3], dtype: float32}}")
            return {}
        out = {}
        for name, spec in value.items():
            ipath = path + (name,)
            if not isinstance(name, str) or not name:
                self.err(ipath, f"an input name must be a string, found {name!r}", key=True)
                continue
            dtype = "float32"
            shape = spec
            if isinstance(spec, dict):
                self.r.unknown_keys(spec, ipath, INPUT_KEYS, f"input {name!r}")
                shape, dtype = spec.get("shape"), spec.get("dtype", "float32")
                if dtype not in DTYPES:
                    self.err(ipath + ("dtype",), f"input {name!r}: unknown dtype {dtype!r}"
                                                 f"{did_you_mean(dtype, DTYPES)}", hint=f"use {', '.join(DTYPES)}")
            if isinstance(shape, int) and not isinstance(shape, bool):
                shape = [shape]
            if not isinstance(shape, list) or not shape or not all(
                    v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in shape):
                self.err(ipath, f"input {name!r}: the shape must be a list of positive sizes (null for a "
                                f"free size), found {shape!r}", hint="e.g. image: [28, 28, 1]")
                shape = None
            self.define(name, ipath, key=True)
            out[name] = {"shape": shape, "dtype": dtype}
        return out

    def define(self, name, path, key=False):
        if name in self.defined:
            self.err(path, f"the name {name!r} is used twice in the model (inputs, layer names and "
                           f"apply names must be unique)", key=key)
            return
        self.defined[name] = path

    # -- entries --------------------------------------------------------------------------------------
    def entry(self, entry, path, previous, entries, index):
        if isinstance(entry, dict) and "apply" in entry:
            return self.apply(entry, path, previous, entries, index)
        if isinstance(entry, dict) and "load" in entry:
            return self.load(entry, path, previous, entries, index)
        args, cls_key = {}, None
        if isinstance(entry, dict) and len(entry) == 1:
            cls_key, args = next(iter(entry.items()))
        if isinstance(args, dict) and cls_key is not None:
            given_input = args.get("input")
            has_input = "input" in args
            entry = {cls_key: {k: v for k, v in args.items() if k not in REFERENCE_KEYS}}
            apath = path + (cls_key,)
        else:
            given_input, has_input, apath = None, False, path
        resolved = self.r.layer(entry, path)
        if resolved is None:
            return None
        (canon, full), = resolved.items()
        name = full.get("name")
        if name is None:
            name = self.default_name(canon)
        elif not isinstance(name, str) or not name:
            self.err(apath + ("name",), f"{canon}: name must be a non-empty string, found {name!r}")
            return None
        full["name"] = name
        inputs = self.references(given_input, apath + ("input",), path, previous, has_input, entries, index,
                                 canon)
        count_fn = getattr(registry.lookup("layer", canon), "initial_state_count", None)
        if count_fn is not None:    # a recurrent layer: how many states it starts from (None: unknown)
            self.state_counts[name] = (count_fn(full), canon)
        states = self.initial_state(args, apath, name, entries, index, canon)
        self.define(name, apath + ("name",) if isinstance(args, dict) and "name" in args else path)
        self.layer_names[name] = path
        self.calls[name] = 1
        full["input"] = inputs
        if states is not None:
            full["initial_state"] = states
        return {canon: full}

    def initial_state(self, args, path, layer, entries, index, what):
        """The checked ``initial_state`` names of an entry calling ``layer`` (None when not given)."""
        if not isinstance(args, dict) or "initial_state" not in args:
            return None
        path = path + ("initial_state",)
        if layer not in self.state_counts:
            self.err(path, f"{what}: initial_state is only for recurrent layers (SimpleRNN, LSTM, GRU, "
                           "Bidirectional)", key=True)
            return None
        value, (count, canon) = args["initial_state"], self.state_counts[layer]
        found = len(value) if isinstance(value, list) else 1 if isinstance(value, str) else count
        if count is not None and found != count:
            states = "the forward layer's states, then the backward layer's" if canon == "Bidirectional" \
                else "[h, c]" if count == 2 else "[h]"
            self.err(path, f"{what}: initial_state takes {count} name(s) ({states}), found {found}",
                     hint="e.g. initial_state: ['encoder[1]', 'encoder[2]'] for an LSTM")
            return value
        return self.references(value, path, path, None, True, entries, index, what, key="initial_state")

    def default_name(self, canon):
        """Keras's default layer name: snake_case of the class, numbered from the 2nd unnamed one."""
        cls = registry.lookup("layer", canon)
        base = snake_case(getattr(cls, "keras_class_name", cls.__name__))
        count = self.auto.get(base, 0)
        self.auto[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def load(self, entry, path, previous, entries, index):
        """A saved model as one layer: ``{load, name, input, until, trainable, training}``."""
        from kspec.spec.transfer import resolve_load

        resolved = resolve_load(self.r, entry, path, extra_keys=("input",))
        if resolved is None or not isinstance(resolved["name"], str) or not resolved["name"]:
            return None
        name = resolved["name"]
        resolved["input"] = self.references(entry.get("input"), path + ("input",), path, previous, "input" in entry,
                                            entries, index, f"load {name!r}")
        self.define(name, path + ("name",))
        self.layer_names[name] = path
        self.calls[name] = 1
        return resolved

    def apply(self, entry, path, previous, entries, index):
        self.r.unknown_keys(entry, path, APPLY_KEYS, "apply entry",
                            hint="an apply entry is {apply: LAYER, input: NAME, name: NAME}")
        layer = entry["apply"]
        if not isinstance(layer, str) or layer not in self.layer_names:
            later = isinstance(layer, str) and any(_entry_name(e) == layer for e in entries[index + 1:])
            where = " (it is defined further down; a layer must be defined before it is applied again)" \
                if later else did_you_mean(layer, list(self.layer_names))
            self.err(path + ("apply",), f"apply: no layer named {layer!r} above this entry{where}")
            return None
        inputs = self.references(entry.get("input"), path + ("input",), path, previous, "input" in entry,
                                 entries, index, f"apply {layer}")
        states = self.initial_state(entry, path, layer, entries, index, f"apply {layer}")
        name = entry.get("name")
        if name is None:
            name = f"{layer}_{self.calls[layer]}"
        elif not isinstance(name, str) or not name:
            self.err(path + ("name",), f"apply: name must be a non-empty string, found {name!r}")
            return None
        self.calls[layer] += 1
        self.define(name, path + ("name",) if "name" in entry else path)
        resolved = {"apply": layer, "input": inputs, "name": name}
        if states is not None:
            resolved["initial_state"] = states
        return resolved

    def references(self, value, path, entry_path, previous, given, entries, index, what, key="input"):
        """The ``key`` names (input or initial_state) of an entry: checked, marked used; the previous output
        when not given."""
        if not given:
            if previous is None:
                self.err(entry_path, f"{what}: missing input (name the input(s) it takes)",
                         hint="e.g. input: image, or input: [h, meta]")
                return None
            self.used.add(previous)
            return previous
        names = value if isinstance(value, list) else [value]
        if not names or not all(isinstance(n, str) for n in names):
            self.err(path, f"{what}: {key} is a name or a list of names, found {value!r}")
            return value
        for i, ref in enumerate(names):
            npath = path + (i,) if isinstance(value, list) else path
            name = split_ref(ref)[0]
            if name in self.defined:
                self.used.add(name)
                continue
            later = [j for j, e in enumerate(entries[index:], start=index) if _entry_name(e) == name]
            if later:
                cycle = "itself" if later[0] == index else "an entry further down"
                self.err(npath, f"{what}: {key} {name!r} is the output of {cycle}; an entry can only take "
                                f"names defined above it (a graph has no cycles)")
            else:
                self.err(npath, f"{what}: unknown {key} {name!r}{did_you_mean(name, list(self.defined))}",
                         hint=f"names defined so far: {', '.join(self.defined) or 'none'}")
        return value

    # -- outputs and unused names ---------------------------------------------------------------------
    def outputs(self, value, layers):
        path = self.path + ("outputs",)
        given = value.get("outputs")
        if given is None:
            last = next((e for e in reversed(layers) if e is not None), None)
            return [_output_name(last)] if last is not None else []
        names = given if isinstance(given, list) else [given]
        if not names or not all(isinstance(n, str) for n in names):
            self.err(path, f"model.outputs is a list of names, found {given!r}", hint="e.g. outputs: [out]")
            return []
        for i, ref in enumerate(names):
            npath = path + (i,) if isinstance(given, list) else path
            name = split_ref(ref)[0]
            if name not in self.defined:
                self.err(npath, f"model.outputs: unknown name {name!r}{did_you_mean(name, list(self.defined))}")
            elif names.count(ref) > 1:
                self.err(npath, f"model.outputs: {ref!r} is listed twice")
            self.used.add(name)
        return list(names)

    def unused(self, outputs):
        for name, path in self.defined.items():
            if name not in self.used and name not in outputs:
                self.err(path, f"{name!r} is never used: no layer takes it and it is not a model output",
                         hint="feed it to a later layer (input: ...), list it in model.outputs, or remove it",
                         key=path[-2:-1] == ("inputs",))


def _entry_name(entry):
    """The name an unresolved entry defines (for messages about forward references), if it says one."""
    if isinstance(entry, dict) and ("apply" in entry or "load" in entry):
        return entry.get("name")
    if isinstance(entry, dict) and len(entry) == 1:
        args = next(iter(entry.values()))
        return args.get("name") if isinstance(args, dict) else None
    return None


def _output_name(resolved):
    if "apply" in resolved or "load" in resolved:
        return resolved["name"]
    (_, args), = resolved.items()
    return args["name"]


# -- building -------------------------------------------------------------------------------------------

def build_graph(spec, doc=None):
    """A built Functional model for a resolved graph spec (the backend is already seeded)."""
    from kspec.models.functional import Functional, Input
    from kspec.spec.compiler import _EXPECTED, _captured, _diag, _message
    from kspec.spec.resolver import sort_diagnostics

    model_spec = spec["model"]
    tensors, layers, errors = {}, {}, []
    for name, inp in model_spec["inputs"].items():
        tensors[name] = Input(shape=tuple(inp["shape"]), dtype=inp["dtype"], name=name)
    for i, entry in enumerate(model_spec["layers"]):
        path = ("model", "layers", i)
        call_kwargs = {}
        if "apply" in entry:
            layer, name, what = layers.get(entry["apply"]), entry["name"], f"apply {entry['apply']}"
            refs, state_refs = entry["input"], entry.get("initial_state")
            if layer is None:
                continue  # its layer failed above
        elif "load" in entry:
            from kspec.spec.transfer import load_base
            name, what, refs, state_refs = entry["name"], f"load {entry['name']!r}", entry["input"], None
            try:
                layer = load_base(entry)
            except Exception as e:  # noqa: BLE001 - a model file that cannot be read: at the entry's line
                if type(e).__name__ != "ModelFileError" and not isinstance(e, _EXPECTED):
                    raise
                errors.append(_diag(doc, path, f"{what}: {_message(e)}"))
                continue
            layers[name] = layer
            if entry.get("training") is not None:
                call_kwargs["training"] = entry["training"]
        else:
            (class_name, args), = entry.items()
            args = dict(args)
            refs, state_refs = args.pop("input"), args.pop("initial_state", None)
            name, what = args["name"], f"{class_name} {args['name']!r}"
            try:
                with _captured(doc, path):
                    layer = registry.lookup("layer", class_name)(**args)
            except _EXPECTED as e:
                errors.append(_diag(doc, path, f"{what}: {_message(e)}"))
                continue
            layers[name] = layer
        state_list = [] if state_refs is None else _as_list(state_refs)
        if any(split_ref(r)[0] not in tensors for r in _as_list(refs) + state_list):
            continue  # an input failed above
        try:
            x = [_pick(tensors, r) for r in refs] if isinstance(refs, list) else _pick(tensors, refs)
            kwargs = dict(call_kwargs) if state_refs is None else \
                {"initial_state": [_pick(tensors, r) for r in state_list]}
        except ValueError as e:
            errors.append(_diag(doc, path, f"{what}: {e}"))
            continue
        try:
            with _captured(doc, path):
                tensors[name] = layer(x, **kwargs)
        except _EXPECTED as e:
            shapes = ", ".join(_shape(t.shape) for t in (x if isinstance(x, list) else [x]))
            errors.append(_diag(doc, path, f"{what}: cannot take its input ({shapes}): {_message(e)}"))
    outputs = []
    for i, ref in enumerate(model_spec["outputs"]):
        if split_ref(ref)[0] not in tensors:
            continue  # its layer failed above
        try:
            outputs.append(_pick(tensors, ref))
        except ValueError as e:
            errors.append(_diag(doc, ("model", "outputs", i), f"model.outputs: {e}"))
    if errors:
        raise SpecError(sort_diagnostics(errors))
    inputs = [tensors[n] for n in model_spec["inputs"]]
    cls = Functional if model_spec.get("class") is None else registry.lookup("model", model_spec["class"])
    with _captured(doc, ("model",)):
        return cls(inputs=inputs[0] if len(inputs) == 1 else inputs,
                   outputs=outputs[0] if len(outputs) == 1 else outputs, name=model_spec.get("name"))


def _as_list(refs):
    return refs if isinstance(refs, list) else [refs]


def split_ref(ref):
    """``"lstm[1]"`` -> ``("lstm", 1)`` (output 1 of a layer with several outputs); ``"h"`` -> ``("h", None)``."""
    match = _PICK.match(ref) if isinstance(ref, str) else None
    return (match.group(1), int(match.group(2))) if match else (ref, None)


def _pick(tensors, ref):
    name, index = split_ref(ref)
    value = tensors[name]
    if index is None:
        if isinstance(value, list):
            raise ValueError(f"{name!r} has {len(value)} outputs; pick one with {name}[0] ... "
                             f"{name}[{len(value) - 1}]")
        return value
    if not isinstance(value, list) or index >= len(value):
        count = len(value) if isinstance(value, list) else 1
        raise ValueError(f"{ref!r}: {name!r} has {count} output{'s' if count > 1 else ''}")
    return value[index]


def _shape(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
