"""The one registry that maps spec names to classes and functions, per kind.

A class or function registers itself where it is defined, with ``@register(kind)`` and optional aliases.
The spec validator, the JSON Schema, ``--help`` texts and the docs all read from here; nothing is listed
twice. Lookups import the kind's package first, so callers never need to know which module defines what.
"""
import importlib
import re

# The package whose import registers each kind.
_PACKAGES = {
    "layer": "kspec.layers",
    "activation": "kspec.activations",
    "initializer": "kspec.initializers",
    "regularizer": "kspec.regularizers",
    "constraint": "kspec.constraints",
    "loss": "kspec.losses",
    "metric": "kspec.metrics",
    "optimizer": "kspec.optimizers",
    "schedule": "kspec.optimizers.schedules",
    "callback": "kspec.models.callbacks",
}

_entries = {kind: {} for kind in _PACKAGES}    # kind -> {name: obj}, canonical and alias names
_canonical = {kind: {} for kind in _PACKAGES}  # kind -> {canonical name: obj}, in registration order


def snake_case(name):
    """Keras's class-name to snake_case rule, e.g. ``RMSprop`` -> ``rm_sprop``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def register(kind, *aliases, name=None):
    """Class or function decorator: register under its own name (or ``name``) plus ``aliases``."""
    if kind not in _PACKAGES:
        raise KeyError(f"unknown registry kind {kind!r}")

    def deco(obj):
        canonical = name or obj.__name__
        for key in (canonical, *aliases):
            _entries[kind][key] = obj
        _canonical[kind][canonical] = obj
        return obj

    return deco


def _load(kind):
    importlib.import_module(_PACKAGES[kind])


def lookup(kind, name):
    """The object registered as ``name``, or None. Exact names first, then a case-insensitive match.

    ``custom_objects`` in scope come first; a ``module:Name`` reference is user code, imported only where
    code is allowed (:mod:`kspec.user_code`; it raises UserCodeError otherwise)."""
    from kspec import user_code

    found = user_code.custom_object(name)
    if found is not None:
        return found
    if user_code.is_reference(name):
        return user_code.load(kind, name)
    _load(kind)
    table = _entries[kind]
    if name in table:
        return table[name]
    folded = {k.lower(): v for k, v in table.items()}
    return folded.get(str(name).lower())


def names(kind, aliases=True):
    """Every name of a kind (for validation, did-you-mean and the JSON Schema)."""
    _load(kind)
    return list(_entries[kind] if aliases else _canonical[kind])


def items(kind):
    """(canonical name, object) pairs of a kind, in registration order."""
    _load(kind)
    return list(_canonical[kind].items())


def name_of(kind, obj):
    """The canonical registered name of an object (or its class)."""
    _load(kind)
    for key, value in _canonical[kind].items():
        if value is obj or value is type(obj):
            return key
    return None
