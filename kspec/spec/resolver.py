"""Check a loaded spec and resolve it: every name looked up, every argument checked against the code,
every default filled in.

The resolved spec is plain data in one canonical form (what a run folder's ``config.yaml`` holds):
layers are ``{ClassName: {every argument}}``, the optimizer likewise, paths are absolute, and the
``compile`` and ``fit`` sections list every argument of ``Model.compile`` and ``Model.fit``. All the
problems found are reported together in one :class:`SpecError`.
"""
import inspect
import os
import re

from kspec import registry
from kspec.spec import checks
from kspec.spec import signatures as sig
from kspec.spec.errors import SpecError, did_you_mean
from kspec.spec.sections import (DATA_SPLITS, DATA_STEPS, FIT_EXCLUDED,  # noqa: F401 (re-exported)
                                 SHAPE_RESOLVED_METRICS, SectionRules)
from kspec.spec.values import describe, example, is_number, plain
from kspec.user_code import UserCodeError, is_reference

SECTIONS = ("name", "seed", "data", "model", "compile", "fit", "stages", "sweep")
MAX_SEED = 2**32 - 1  # NumPy's seeds (and Keras's set_random_seed) stop there
MODEL_KEYS = ("input_shape", "layers", "weights", "name", "class")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+=-]*$")
_SECTION_HINT = "a spec has the sections " + ", ".join(SECTIONS)


def resolve(doc):
    """The resolved spec (a dict) of a :class:`~kspec.spec.loader.SpecDocument`.

    Raises :class:`SpecError` with every problem found. Warnings (Keras 2 names, ...) are appended to
    ``doc.warnings`` as Diagnostics.
    """
    from kspec.spec.repeat import expand_repeats

    resolver = _Resolver(doc)
    resolver.errors.extend(expand_repeats(doc))
    out = resolver.run()
    _non_finite(doc, doc.data, (), resolver)
    if resolver.errors:
        raise SpecError(sort_diagnostics(resolver.errors))
    return out


def _non_finite(doc, value, path, resolver):
    """Every NaN or infinity anywhere in the spec (loss_weights, data steps, ...) is an error at its line,
    unless an argument check reported it already."""
    if isinstance(value, dict):
        for k, v in value.items():
            _non_finite(doc, v, path + (k,), resolver)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _non_finite(doc, v, path + (i,), resolver)
    else:
        problem = checks.non_finite_problem(value)
        if problem is None:
            return
        where = doc.where(path)[1:]
        if not any((d.line, d.col) == where for d in resolver.errors):
            resolver.err(path, f"{'.'.join(str(p) for p in path)} {problem}")


def sort_diagnostics(diagnostics):
    """Diagnostics in file order (those without a line last, in the order found), each once (a block
    copied by ``repeat`` or an alias would report the same mistake several times)."""
    seen, unique = set(), []
    for d in diagnostics:
        key = (d.file, d.line, d.col, d.message)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return sorted(unique, key=lambda d: (d.line is None, d.line or 0, d.col or 0))


class _Resolver(SectionRules):
    def __init__(self, doc):
        self.doc = doc
        self.errors = []

    # -- reporting ----------------------------------------------------------------------------------
    def err(self, path, message, hint=None, key=False):
        self.errors.append(self.doc.diagnostic(path, message, hint=hint, key=key))

    def warn(self, path, message, hint=None, key=False):
        self.doc.warnings.append(self.doc.diagnostic(path, message, hint=hint, key=key,
                                                     severity="warning"))

    def unknown_keys(self, mapping, path, allowed, what, hint=None):
        for key in mapping:
            if key not in allowed:
                self.err(path + (key,), f"{what}: unknown key {key!r}{did_you_mean(key, allowed)}",
                         key=True, hint=hint or f"{what} takes {', '.join(map(str, allowed))}")

    def mapping(self, value, path, what, hint=None):
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.err(path, f"{what} must be a mapping, found {describe(value)}", hint=hint)
            return None
        return value

    # -- the whole spec ------------------------------------------------------------------------------
    def run(self):
        data = self.doc.data
        if not isinstance(data, dict):
            self.err((), f"a spec must be a mapping of sections, found {describe(data)}",
                     hint=_SECTION_HINT)
            return None
        for key in data:
            if key not in SECTIONS:
                self.err((key,), f"unknown section {key!r}{did_you_mean(key, SECTIONS)}", key=True,
                         hint=_SECTION_HINT)
        out = {
            "name": self.name(data.get("name")),
            "seed": self.seed(data.get("seed")),
            "data": self.data(data.get("data")),
            "model": self.model(data.get("model")),
            "compile": self.compile(data.get("compile")),
            "fit": self.fit(data.get("fit")),
        }
        if data.get("stages") is not None:  # fine-tuning after the first fit (kspec.spec.transfer)
            from kspec.spec.transfer import resolve_stages
            out["stages"] = resolve_stages(self, data.get("stages"), out["compile"], out["fit"])
        if data.get("sweep") is not None:  # only kspec sweep reads it (kspec.spec.sweep_section)
            from kspec.spec.sweep_section import resolve_sweep
            out["sweep"] = resolve_sweep(self, data["sweep"])
        self.conflicts(data, out)
        return out

    def conflicts(self, data, out):
        """Keys that contradict each other across sections."""
        fit = data.get("fit") if isinstance(data.get("fit"), dict) else {}
        given = data.get("data") if isinstance(data.get("data"), dict) else {}
        if fit.get("validation_split") and given.get("validation") is not None:
            self.err(("fit", "validation_split"), "fit.validation_split and data.validation cannot be used "
                                                  "together: the validation data would be given twice",
                     key=True, hint="keep data.validation, or drop it and keep validation_split")

    def name(self, value):
        if value is None:
            stem = os.path.splitext(os.path.basename(self.doc.file))[0]
            return stem if _NAME_RE.match(stem or "") else "run"
        if not isinstance(value, str) or not _NAME_RE.match(value):
            self.err(("name",), f"name must be a word usable as a folder name, found {value!r}",
                     hint="letters, digits and _ . + = -, e.g. name: fashion_mlp")
            return "run"
        return value

    def seed(self, value):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
            self.err(("seed",), f"seed must be an integer from 0 to {MAX_SEED} (2**32 - 1), found {value!r}")
            return None
        return value

    # -- data -----------------------------------------------------------------------------------------
    # -- model ----------------------------------------------------------------------------------------
    def model(self, value):
        path = ("model",)
        if value is None:
            self.err((), "missing section 'model'",
                     hint="e.g. model: {input_shape: [4], layers: [{Dense: {units: 3}}]}")
            return None
        value = self.mapping(value, path, "model")
        if value is None:
            return None
        if value.get("inputs") is not None:  # a graph model (kspec.spec.graph)
            from kspec.spec.graph import resolve_graph
            return self.model_class(value, resolve_graph(self, value, path), graph=True)
        self.unknown_keys(value, path, MODEL_KEYS, "model")
        layers = value.get("layers")
        out_layers = []
        if layers is None:
            self.err(path, "model: missing key 'layers'", hint="e.g. layers: [{Dense: {units: 10}}]",
                     key=True)
        elif not isinstance(layers, list) or not layers:
            self.err(path + ("layers",), f"model.layers must be a non-empty list of layers, found "
                                         f"{describe(layers)}")
        else:
            from kspec.spec.transfer import is_load_entry, resolve_load
            for i, entry in enumerate(layers):
                if is_load_entry(entry):  # a saved model as one layer
                    out_layers.append(resolve_load(self, entry, path + ("layers", i)))
                else:
                    out_layers.append(self.layer(entry, path + ("layers", i)))
        input_shape = self.input_shape(value.get("input_shape"), out_layers)
        from kspec.spec.transfer import resolve_weights
        weights = resolve_weights(self, value.get("weights"), path + ("weights",))
        name = value.get("name")
        if name is not None and not isinstance(name, str):
            self.err(path + ("name",), f"model.name must be a string, found {describe(name)}")
        return self.model_class(value, {"input_shape": input_shape, "layers": out_layers, "weights": weights,
                                        "name": name})

    def model_class(self, value, out, graph=False):
        """``model.class: module:Name``: the spec's model built as the user's subclass (its train_step and
        test_step drive fit and evaluate): of kspec.Sequential for a layer list, of kspec.Model for a graph."""
        ref = value.get("class")
        if ref is None or out is None:
            return out
        path = ("model", "class")
        if not is_reference(ref):
            self.err(path, f"model.class names your own model class as module:Name, found {ref!r}",
                     hint="e.g. class: mymodels:CountingModel (a subclass of kspec.Sequential or kspec.Model)")
            return out
        cls = self.find("model", ref, path)
        if cls is False or cls is None:
            return out
        base = "Model" if graph else "Sequential"
        from kspec import models
        if not issubclass(cls, getattr(models, base)):
            self.err(path, f"model.class {ref!r} must subclass kspec.{base} "
                           f"({'a graph spec' if graph else 'a list of layers'} builds one)",
                     hint=f"class {cls.__name__}(keras.{base}): ...")
        out["class"] = ref
        return out

    def input_shape(self, value, layers):
        path = ("model", "input_shape")
        if value is None:
            first = layers[0] if layers else None
            if first and "load" in first:
                return None  # the loaded model knows its input shape
            if first:
                (cls_name, args), = first.items()
                if cls_name == "InputLayer" or any(args.get(k) is not None for k in
                                                   ("input_shape", "batch_input_shape", "input_dim")):
                    return None
            if layers:
                self.err(("model",), "model: missing key 'input_shape' (the shape of one sample, "
                                     "without the batch dimension)", hint="e.g. input_shape: [784]",
                         key=True)
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not value or not all(
                v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in value):
            self.err(path, f"input_shape must be a list of positive sizes (null for a free size), "
                           f"found {value!r}", hint="e.g. input_shape: [28, 28, 1]")
            return None
        return list(value)

    def layer(self, entry, path):
        """``Flatten`` | ``{Dropout: 0.5}`` | ``{Dense: {units: 10}}`` -> ``{Class: {all arguments}}``."""
        if isinstance(entry, str):
            name, args, apath = entry, {}, path
        elif isinstance(entry, dict) and "class_name" in entry and set(entry) <= {
                "class_name", "config", "module", "registered_name", "build_config"}:
            name, args, apath = entry["class_name"], entry.get("config") or {}, path + ("config",)
        elif isinstance(entry, dict) and len(entry) == 1:
            (name, args), = entry.items()
            apath = path + (name,)
        elif isinstance(entry, dict) and entry:
            keys = list(entry)
            self.err(path, f"a layer entry has one key, the class name; found {len(keys)}: "
                           f"{', '.join(map(str, keys))}",
                     hint=f"indent the arguments under the class name: - {keys[0]}: "
                          f"{{{', '.join(f'{k}: ...' for k in keys[1:])}}}")
            return None
        else:
            self.err(path, f"a layer entry is a class name or {{ClassName: arguments}}, found "
                           f"{describe(entry)}", hint="e.g. - Flatten, - Dropout: 0.5, "
                                                       "- Dense: {units: 10, activation: relu}")
            return None
        if not isinstance(name, str):
            self.err(path, f"a layer class name must be a string, found {describe(name)}")
            return None
        cls = self.find("layer", name, path + (name,) if isinstance(entry, dict) else path,
                        key=isinstance(entry, dict))
        if cls is False:
            return None
        if cls is None:
            self.err(path + (name,) if isinstance(entry, dict) else path,
                     f"unknown layer {name!r}{did_you_mean(name, registry.names('layer'))}",
                     key=isinstance(entry, dict))
            return None
        canon = registry.name_of("layer", cls) or name
        if args is None:
            args = {}
        elif not isinstance(args, dict):
            first = sig.first_positional(cls)
            if first is None:
                self.err(apath, f"{canon} takes no positional argument", hint=f"write - {canon}")
                return None
            args = {first: args}
        return {canon: self.arguments("layer", cls, canon, args, apath, fill=True)}

    # -- objects: optimizers, losses, metrics, initializers, ... ------------------------------------------
    def object(self, kind, value, path, fill=False):
        """A name or ``{ClassName: {arguments}}`` of a registry kind, checked (and filled)."""
        if value is None:
            return None
        if isinstance(value, str):
            obj = self.find(kind, value, path)
            if obj is False:
                return value
            if obj is None:
                self.unknown(kind, value, path)
                return value
            if fill and inspect.isclass(obj):
                canon = registry.name_of(kind, obj) or value
                return {canon: self.arguments(kind, obj, canon, {}, path, fill=True)}
            return value
        if isinstance(value, dict):
            if "class_name" in value and set(value) <= {"class_name", "config", "module",
                                                         "registered_name"}:
                name, args, apath = value["class_name"], value.get("config"), path + ("config",)
            elif len(value) == 1:
                (name, args), = value.items()
                apath = path + (name,)
            else:
                self.err(path, f"a {kind} is a name or {{ClassName: {{arguments}}}}, found a mapping "
                               f"with {len(value)} keys ({', '.join(map(str, value))})",
                         hint=f"e.g. {example(kind)}")
                return None
            if not isinstance(name, str):
                self.err(path, f"a {kind} class name must be a string, found {describe(name)}")
                return None
            obj = self.find(kind, name, path + (name,), key=True)
            if obj is False:
                return value
            if obj is None:
                self.unknown(kind, name, path + (name,), key=True)
                return value
            canon = registry.name_of(kind, obj) or name
            if args is None:
                args = {}
            if not isinstance(args, dict):
                self.err(apath, f"{canon}: the arguments must be a mapping, found {describe(args)}",
                         hint=f"e.g. {example(kind)}")
                return None
            if not inspect.isclass(obj):
                if args:
                    self.err(apath, f"{kind} {canon!r} is a function and takes no arguments")
                return canon
            return {canon: self.arguments(kind, obj, canon, args, apath, fill=fill)}
        self.err(path, f"a {kind} is a name or {{ClassName: {{arguments}}}}, found {describe(value)}",
                 hint=f"e.g. {example(kind)}")
        return value

    def find(self, kind, name, path, key=False):
        """``registry.lookup``, with user code (``module:Name``) that can't be loaded reported at ``path``
        (returns False then)."""
        try:
            return registry.lookup(kind, name) if is_reference(name) else spelled(registry, kind, name)
        except UserCodeError as e:
            message = e.message + ("\n" + e.user_traceback.rstrip() if e.user_traceback else "")
            self.err(path, message, hint=e.hint, key=key)
            return False

    def unknown(self, kind, name, path, key=False):
        candidates = registry.names(kind)
        if kind == "metric":
            candidates = candidates + list(SHAPE_RESOLVED_METRICS) + registry.names("loss")
        self.err(path, f"unknown {kind} {name!r}{did_you_mean(name, candidates)}", key=key)

    def arguments(self, kind, cls, name, args, path, fill):
        """Check ``args`` against ``cls``'s signature; coerce YAML ints to floats where Keras takes a
        float; resolve nested objects; fill the defaults when ``fill``."""
        accepted = sig.arguments(cls)
        out = {}
        unknown = False
        for key, value in args.items():
            kpath = path + (key,)
            if not isinstance(key, str):
                self.err(kpath, f"{name}: argument names are strings, found {key!r}", key=True)
                continue
            target = key
            if key in accepted.legacy and key not in accepted.params:
                new = sig.RENAMED.get(key)
                if new is not None:
                    if new in args:
                        self.err(kpath, f"{name}: both {key!r} and {new!r} are given", key=True,
                                 hint=f"{key!r} is the Keras 2 name of {new!r}; keep {new!r}")
                        continue
                    self.warn(kpath, f"{name}: {key!r} is the Keras 2 name of {new!r}", key=True,
                              hint=f"write {new}: {value}")
                    target = new
                elif key == "decay":
                    self.warn(kpath, f"{name}: 'decay' is Keras 2 only (Keras 3 ignores it); kspec "
                                     f"applies the Keras 2 rule lr / (1 + decay * iterations)", key=True,
                              hint="prefer a learning-rate schedule, e.g. learning_rate: "
                                   "{InverseTimeDecay: {...}}")
            elif key not in accepted and not accepted.open:
                self.err(kpath, f"{name}: unknown argument {key!r}{did_you_mean(key, accepted.names)}",
                         key=True)
                unknown = True
                continue
            out[target] = self.value(target, value, accepted.params.get(target), kpath, cls, name)
        for group in CONFLICTS:
            given = [k for k in group if out.get(k) is not None]
            if len(given) > 1:
                self.err(path + (_key_of(args, given[1]),), f"{name}: {' and '.join(map(repr, given))} "
                                                              f"cannot be used together", key=True,
                         hint=f"keep one of {', '.join(group)}")
        missing = [n for n in accepted.required() if n not in out]
        if missing and not unknown:  # after a misspelt argument, "missing" would say it twice
            self.err(path, f"{name}: missing required argument{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(repr(m) for m in missing)}")
        if not fill:
            return out
        filled = {}
        for n, p in accepted.params.items():
            if n in out:
                filled[n] = out[n]
            elif p.default is not inspect.Parameter.empty:
                filled[n] = plain(p.default)
        filled.update({k: v for k, v in out.items() if k not in filled})
        return filled

    def value(self, name, value, param, path, cls=None, owner=None):
        problem = checks.non_finite_problem(value)
        if problem is not None:  # a NaN or infinite learning rate, rate, ... is never meant
            self.err(path, f"{owner}: {name} {problem}")
            return value
        kind = sig.argument_kind(name)
        if kind is not None and value is not None:
            if kind == "schedule" and is_number(value):
                if value < 0:
                    self.err(path, f"{owner}: {name} must be a number >= 0, found {value!r}")
                return float(value)
            if kind == "activation" and isinstance(value, (str, dict)):
                self.activation_arguments(value if isinstance(value, str) else
                                          value.get("class_name", next(iter(value), None)), path, owner)
            if isinstance(value, (str, dict)):
                return self.object(kind, value, path)
            if kind != "schedule" and not callable(value):
                self.err(path, f"{owner}: {name} must be {_article(kind)} {kind} name or {{ClassName: {{arguments}}}}, "
                               f"found {describe(value)}", hint=f"e.g. {example(kind)}")
                return value
        if kind is None and cls is not None and inspect.isclass(cls):
            special = self.special_value(cls, owner, name, value, path)
            if special is not _NOT_SPECIAL:
                return special
            value, problem = checks.check(cls, name, value, param)
            if problem is not None:
                self.err(path, f"{owner}: {name} {problem}")
            return value
        if sig.wants_float(param) and is_number(value) and isinstance(value, int):
            return float(value)
        return value

    def activation_arguments(self, name, path, owner):
        """A layer calls its activation with the tensor alone: one that needs more arguments cannot be it."""
        required = sig.activation_arguments(spelled(registry, "activation", name)) if isinstance(name, str) else []
        if required:
            self.err(path, f"{owner}: activation {name!r} takes arguments ({', '.join(required)}) that a layer "
                           f"does not pass", hint=f"use a Lambda layer, e.g. - Lambda: \"{name}(x, ...)\"")

    def special_value(self, cls, owner, name, value, path):
        """Arguments checked by their own rules: a Lambda's function (an expression)."""
        if name == "function" and isinstance(value, str) and getattr(cls, "takes_expression", False):
            from kspec.layers import expression
            try:
                expression.check_function(value)
            except expression.ExpressionError as e:
                line, col = self.doc.where(path)[1:]
                d = self.doc.diagnostic(path, f"{owner}: {e.message}", hint=e.hint)
                if e.offset is not None and line is not None and col is not None:
                    d.col = col + e.offset + _quote_shift(self.doc, line, col)
                self.errors.append(d)
            return value
        return _NOT_SPECIAL


_NOT_SPECIAL = object()


def spelled(registry, kind, name):
    """The object registered under exactly ``name`` (a canonical name or an alias), else None.

    A spec takes the names the JSON Schema lists (``Dense``, ``adam``); ``dense`` gets a did-you-mean,
    as Keras rejects it. (The Python API's lookups stay case-insensitive.)
    """
    return registry.lookup(kind, name) if name in registry.names(kind) else None


def _article(word):
    return "an" if word[:1] in "aeiou" else "a"
# Arguments of which at most one may be given (Keras raises on several clip options).
CONFLICTS = (("clipnorm", "clipvalue", "global_clipnorm"),)


def _key_of(args, target):
    """The key in the spec's arguments that became ``target`` (``lr`` for learning_rate)."""
    if target in args:
        return target
    return next((k for k, v in sig.RENAMED.items() if v == target and k in args), target)


def _quote_shift(doc, line, col):
    """1 when the scalar at (line, col) starts with a quote (the expression starts one column later)."""
    if doc.lines is None or line > len(doc.lines):
        return 0
    text = doc.lines[line - 1]
    return 1 if col - 1 < len(text) and text[col - 1] in "'\"" else 0
