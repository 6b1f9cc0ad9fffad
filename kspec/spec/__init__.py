"""The YAML spec: safe loading with positions, ``--set`` overrides, validation and resolution, and
compiling a resolved spec into a Model.

    doc = load_file("config.yaml")          # SpecDocument: data + line/col of every node
    apply_overrides(doc, ["fit.epochs=3"])
    spec = resolve(doc)                     # every name checked, every default filled in
    model = compile_model(build_model(spec, doc), spec, doc)

Every problem raises :class:`SpecError`, which lists all the diagnostics found (``file:line:col``).
Importing this package does not import numpy; the resolver and compiler load the engine when used.
"""
from kspec.spec.errors import Diagnostic, SpecError, did_you_mean
from kspec.spec.loader import SpecDocument, from_dict, load_file, load_text
from kspec.spec.overrides import apply_overrides, parse_override


def resolve(doc):
    from kspec.spec.resolver import resolve as _resolve
    return _resolve(doc)


def build_model(spec, doc=None):
    from kspec.spec.compiler import build_model as _build
    return _build(spec, doc)


def compile_model(model, spec, doc=None):
    from kspec.spec.compiler import compile_model as _compile
    return _compile(model, spec, doc)


def dump(spec, stream=None):
    from kspec.spec.writer import dump as _dump
    return _dump(spec, stream)


__all__ = ["Diagnostic", "SpecError", "did_you_mean", "SpecDocument", "from_dict", "load_file",
           "load_text", "apply_overrides", "parse_override", "resolve", "build_model", "compile_model",
           "dump"]
