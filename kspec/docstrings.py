"""Argument meanings, read from the ``Args:`` sections of docstrings (stated once, where the code is).

An argument of a registered class or function is described by the first ``Args:`` entry of that name
found in: its own docstring, its base classes' (in method resolution order), its module's, and its
package's. So a meaning shared by many classes (``kernel_initializer``, ``reduction``) is written once,
in the base class or package docstring, and ``kspec explain``, the JSON Schema's descriptions and the
docs all read it from there. The format is Google style::

    Args:
        units: Positive integer, the size of the output.
        activation: The activation applied to the output
            (continued on deeper-indented lines).
"""
import importlib
import inspect
import re
import sys

_ENTRY = re.compile(r"^(\w+)(?:\s*\([^)]*\))?\s*:\s*(.*)$")


def args_section(doc):
    """``{name: one-paragraph text}`` of a docstring's ``Args:`` section (empty when it has none)."""
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()
    out = {}
    for i, line in enumerate(lines):
        if line.strip() not in ("Args:", "Arguments:"):
            continue
        base = len(line) - len(line.lstrip())
        entry_indent, name = None, None
        for raw in lines[i + 1:]:
            if not raw.strip():
                name = None if entry_indent is None else name
                continue
            indent = len(raw) - len(raw.lstrip())
            if indent <= base:
                break
            if entry_indent is None:
                entry_indent = indent
            m = _ENTRY.match(raw.strip()) if indent == entry_indent else None
            if m:
                name = m.group(1)
                out.setdefault(name, m.group(2).strip())
            elif name is not None and indent > entry_indent:
                out[name] = (out[name] + " " + raw.strip()).strip()
    return out


def _sources(obj):
    """The docstrings that may describe ``obj``'s arguments, nearest first."""
    docs = []
    if inspect.isclass(obj):
        docs.extend(k.__dict__.get("__doc__") for k in obj.__mro__ if k is not object)
    else:
        docs.append(getattr(obj, "__doc__", None))
    module_name = getattr(obj, "__module__", None) or ""
    module = sys.modules.get(module_name)
    docs.append(getattr(module, "__doc__", None))
    if "." in module_name:
        package = sys.modules.get(module_name.rsplit(".", 1)[0]) or \
            importlib.import_module(module_name.rsplit(".", 1)[0])
        if package is not module:
            docs.append(getattr(package, "__doc__", None))
    return docs


def argument_docs(obj, names=None):
    """``{argument: meaning}`` for ``obj`` (a class or function); ``names`` limits the arguments."""
    found = {}
    for doc in _sources(obj):
        for name, text in args_section(doc).items():
            if names is None or name in names:
                found.setdefault(name, text)
    return found


def summary(obj):
    """The first line of an object's own docstring ('' when it has none)."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    doc = inspect.cleandoc(doc or "")
    return doc.splitlines()[0] if doc else ""
