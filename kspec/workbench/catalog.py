"""What a spec may name: every registered layer, optimizer, loss, ... (``kspec list``) and one name's
arguments with their types, defaults and meanings (``kspec explain``), all read from the registry,
the signatures and the docstrings' ``Args:`` sections."""
import inspect
import textwrap

from kspec import registry
from kspec.docstrings import argument_docs, summary
from kspec.workbench import WorkbenchError

_EMPTY = inspect.Parameter.empty


def plural(kind):
    return kind + ("es" if kind.endswith("s") else "s")


def kinds():
    """``{plural: kind}`` for every registry kind: layers -> layer, losses -> loss, ..."""
    return {plural(k): k for k in registry._PACKAGES}


def kind_of(word):
    """The registry kind a word names (``layers``, ``layer``, ``Losses``), or a clear error."""
    word = word.lower()
    table = kinds()
    if word in table:
        return table[word]
    if word in table.values():
        return word
    raise WorkbenchError(f"no kind {word!r}; the kinds are {', '.join(table)}")


def list_kind(kind):
    """``[{name, aliases, summary}]`` of a kind, in registration order."""
    aliases = {}
    for name in registry.names(kind):
        obj = registry.lookup(kind, name)
        aliases.setdefault(id(obj), []).append(name)
    out = []
    for name, obj in registry.items(kind):
        out.append({"name": name, "aliases": [a for a in aliases.get(id(obj), []) if a != name],
                    "summary": summary(obj)})
    return out


def find(name, kind=None):
    """``[(kind, canonical name, object)]`` registered as ``name`` (exactly, else ignoring case)."""
    searched = [kind] if kind else list(registry._PACKAGES)
    for exact in (True, False):
        hits = []
        for k in searched:
            names = registry.names(k)
            match = name if name in names else None
            if match is None and not exact:
                match = next((n for n in names if n.lower() == name.lower()), None)
            if match is not None:
                obj = registry.lookup(k, match)
                hits.append((k, registry.name_of(k, obj) or match, obj))
        if hits:
            return hits
    return []


def explain(name, kind=None):
    """Everything ``kspec explain`` shows about a registered name, as a list (one entry per kind that
    has it): ``kind``, ``name``, ``aliases``, ``module``, ``summary``, ``doc`` and ``arguments`` (each
    ``name``, ``type``, ``required``, ``default``, ``description``)."""
    hits = find(name, kind)
    if not hits:
        raise WorkbenchError(_unknown(name, kind))
    return [_entry(k, canonical, obj) for k, canonical, obj in hits]


def arguments(kind, obj):
    """The spec arguments of a registered object: ``[{name, type, required, default, description}]``."""
    from kspec.spec import checks
    from kspec.spec import signatures as sig

    accepted = sig.arguments(obj)
    params = {n: p for n, p in accepted.params.items()  # a loss function's y_pred is its input, not an argument
              if inspect.isclass(obj) or kind not in ("loss", "metric") or p.default is not _EMPTY}
    docs = argument_docs(obj, set(params))
    out = []
    for n, p in params.items():
        out.append({"name": n, "type": type_text(obj, n, p, checks, sig), "required": p.default is _EMPTY,
                    "default": None if p.default is _EMPTY else _plain(p.default),
                    "description": docs.get(n)})
    return out


_CHECK_TEXT = {"positive_int": "int >= 1", "non_negative_int": "int >= 0", "positive": "number > 0",
               "positive_or_null": "number > 0 or null", "non_negative": "number >= 0",
               "unit_interval": "number in [0, 1]", "probability": "number in [0, 1]",
               "unit_interval_open": "number in [0, 1)", "positive_ints": "int >= 1 or list of them",
               "positive_ints_or_null": "int >= 1, list of them, or null",
               "data_format": "channels_last | channels_first", "padding": "valid | same"}


def type_text(obj, name, param, checks, sig):
    kind = sig.argument_kind(name)
    if kind == "schedule":
        return "number or schedule"
    if kind is not None:
        return f"{kind}"  # a name, or {Class: {arguments}}
    if inspect.isclass(obj):
        check = checks.check_name(obj, name, param)
        if check in _CHECK_TEXT:
            return _CHECK_TEXT[check]
    want = checks.expected_type(param)
    text = {"bool": "bool", "int": "int", "float": "number", "str": "str", "ints": "int or list of ints",
            "list": "list"}.get(want, "any")
    if param.default is None and text != "any":
        text += " or null"
    return text


def _entry(kind, name, obj):
    aliases = [a for a in registry.names(kind) if registry.lookup(kind, a) is obj and a != name]
    doc = inspect.cleandoc((obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__) or "")
    return {"kind": kind, "name": name, "aliases": aliases, "module": obj.__module__,
            "summary": summary(obj), "doc": _without_args(doc), "arguments": arguments(kind, obj)}


def _without_args(doc):
    """A docstring without its Args: section (shown as the argument table instead)."""
    lines, out, skipping = doc.splitlines(), [], False
    for line in lines:
        if line.strip() in ("Args:", "Arguments:"):
            skipping = True
            continue
        if skipping and line.strip() and not line.startswith((" ", "\t")):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out).strip()


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)


def _unknown(name, kind):
    import difflib

    pool = [n for k in ([kind] if kind else registry._PACKAGES) for n in registry.names(k)]
    close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    where = f"no {kind} named {name!r}" if kind else f"nothing named {name!r} is registered"
    hint = f"; did you mean {', '.join(close)}?" if close else "; kspec list shows every name"
    return where + hint


def format_explain(entry):
    """The text ``kspec explain`` prints for one entry."""
    head = f"{entry['name']} ({entry['kind']}, {entry['module']})"
    lines = [head]
    if entry["aliases"]:
        lines.append(f"  also: {', '.join(entry['aliases'])}")
    if entry["doc"]:
        lines += [""] + ["  " + line if line else "" for line in entry["doc"].splitlines()]
    if entry["arguments"]:
        lines += ["", "  Arguments:"]
        width = max(len(a["name"]) for a in entry["arguments"])
        for a in entry["arguments"]:
            default = "required" if a["required"] else f"default {_yaml(a['default'])}"
            lines.append(f"    {a['name']:<{width}}  {a['type']}, {default}")
            lines.extend(textwrap.wrap(a["description"] or "(no description)", width=100,
                                       initial_indent=" " * (width + 6), subsequent_indent=" " * (width + 6)))
    else:
        lines += ["", "  Arguments: none"]
    return "\n".join(lines)


def _yaml(value):
    import json
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
