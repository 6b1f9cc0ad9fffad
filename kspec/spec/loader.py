"""Safe YAML loading that keeps the line and column of every key and value.

Only ``yaml.SafeLoader`` machinery is used (no Python tags, nothing executes). The document becomes
plain Python data (dicts, lists, scalars) in a :class:`SpecDocument`, beside two maps from a *path*
(a tuple of keys and list indices, e.g. ``("model", "layers", 0, "Dense", "units")``) to the 1-based
``(line, col)`` of that value and of its key. Validation reads those maps to say where a mistake is.
"""
import os
import re

import yaml

from kspec.spec.errors import Diagnostic, SpecError


MAX_NODES = 50_000   # values in a spec, aliases expanded (a guard against alias bombs)
MAX_DEPTH = 64       # nesting of mappings and lists


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-6`` as a float (YAML 1.2; PyYAML alone reads it as a string),
    and remembers where each alias (``*name``) is written: composing puts the anchored node itself in
    the alias's place, so only the alias event knows the alias's line."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            self.__dict__.setdefault("alias_marks", {})[_child_key(parent, index)] = mark
        return super().compose_node(parent, index)

    def alias_mark(self, parent, index):
        """Where the child ``index`` of ``parent`` is written as an alias, or None."""
        return self.__dict__.get("alias_marks", {}).get(_child_key(parent, index))


def _child_key(parent, index):
    """A child's place: its parent node and its index (a list position, or a mapping's key node)."""
    return id(parent), index if isinstance(index, int) else id(index)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


class SpecDocument:
    """A loaded spec: ``data`` (plain Python) plus where each part of it came from.

    Attributes
    ----------
    data : object
        The document, usually a dict.
    file : str
        The name used in messages (the path as given, ``<string>`` or ``<dict>``).
    base_dir : str
        The absolute folder that relative paths inside the spec are relative to.
    positions, key_positions : dict of tuple to (int, int)
        1-based (line, col) of each value and of each mapping key, by path.
    origins : dict of tuple to str
        Paths whose value came from elsewhere (``--set KEY=VALUE``), with that origin as the "file".
    """

    def __init__(self, data, file="<dict>", base_dir=".", positions=None, key_positions=None,
                 text=None):
        self.data = data
        self.file = file
        self.base_dir = os.path.abspath(base_dir)
        self.positions = dict(positions or {})
        self.key_positions = dict(key_positions or {})
        self.origins = {}
        self.lines = text.splitlines() if text is not None else None
        self.warnings = []
        self.check_files = True  # whether referenced files must exist (not for a stored run's spec)

    # -- positions --------------------------------------------------------------------------------
    def where(self, path, key=False):
        """(file, line, col) of the value at ``path`` (or of its key), falling back to the nearest
        enclosing node that has a position."""
        path = tuple(path)
        for n in range(len(path), -1, -1):
            prefix = path[:n]
            if prefix in self.origins:
                return self.origins[prefix], None, None
        table = self.key_positions if key else self.positions
        if path in table:
            return (self.file,) + table[path]
        for n in range(len(path) - 1, -1, -1):
            prefix = path[:n]
            if prefix in self.positions:
                return (self.file,) + self.positions[prefix]
        return self.file, None, None

    def diagnostic(self, path, message, hint=None, key=False, severity="error"):
        file, line, col = self.where(path, key=key)
        source = None
        if self.lines is not None and line is not None and file == self.file and line <= len(self.lines):
            source = self.lines[line - 1]
        return Diagnostic(file, line, col, message, hint=hint, severity=severity, source=source)

    def get(self, path, default=None):
        """The value at ``path``, or ``default`` when any step is missing."""
        node = self.data
        for step in path:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                return default
        return node

    def resolve_path(self, value):
        """An absolute path for a path written in the spec (relative to the spec's folder)."""
        value = os.path.expanduser(str(value))
        return value if os.path.isabs(value) else os.path.normpath(os.path.join(self.base_dir, value))

    def forget(self, path):
        """Drop the positions at and under ``path`` (its value was replaced)."""
        n = len(path)
        for table in (self.positions, self.key_positions, self.origins):
            for p in [p for p in table if p[:n] == tuple(path) and (table is not self.key_positions
                                                                    or len(p) > n)]:
                del table[p]


def load_file(path):
    """Load a spec file. Raises SpecError when it cannot be read or is not valid YAML."""
    name = str(path)
    try:
        with open(name, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise SpecError(Diagnostic(name, None, None, "no such file")) from None
    except IsADirectoryError:
        raise SpecError(Diagnostic(name, None, None, "is a folder, not a spec file")) from None
    except UnicodeDecodeError as e:
        raise SpecError(Diagnostic(name, None, None, f"not UTF-8 text (byte {e.start})")) from None
    except OSError as e:
        raise SpecError(Diagnostic(name, None, None, f"cannot read: {e.strerror or e}")) from None
    return load_text(text, file=name, base_dir=os.path.dirname(os.path.abspath(name)))


def load_text(text, file="<string>", base_dir="."):
    """Load a spec from YAML text."""
    doc = SpecDocument(None, file=file, base_dir=base_dir, text=text)
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        raise SpecError(_yaml_diagnostic(doc, e)) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (NUL, other controls)
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        code = e.character if isinstance(e.character, int) else ord(e.character)
        raise SpecError(doc_diag(doc, line, col, f"invalid YAML: the control character U+{code:04X} is "
                                                 f"not allowed in YAML",
                                 hint="is this a text file? remove the control character")) from None
    except yaml.YAMLError as e:
        raise SpecError(Diagnostic(file, None, None, f"invalid YAML: {e}")) from None
    except RecursionError:
        raise SpecError(Diagnostic(file, None, None, "invalid YAML: nested too deeply")) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise SpecError(Diagnostic(file, 1, 1, "the spec is empty",
                                   hint="a spec is a YAML mapping with name, data, model, compile "
                                        "and fit sections"))
    errors = []
    doc.data = _Builder(loader, doc, errors).build(node, ())
    if errors:
        raise SpecError(errors)
    return doc


def load_value(text, origin):
    """A ``--set`` value: one YAML scalar or flow collection, read with the same safe rules."""
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
    except (yaml.YAMLError, RecursionError) as e:
        problem = getattr(e, "problem", None) or str(e)
        raise SpecError(Diagnostic(origin, None, None, f"invalid value: {problem}")) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return None
    errors = []
    doc = SpecDocument(None, file=origin)
    value = _Builder(loader, doc, errors).build(node, ())
    if errors:
        for d in errors:
            d.file, d.line, d.col, d.source = origin, None, None, None
        raise SpecError(errors)
    return value


def from_dict(data, base_dir=".", file="<dict>"):
    """A SpecDocument for a spec given as Python data (no positions)."""
    import copy
    return SpecDocument(copy.deepcopy(data), file=file, base_dir=base_dir)


# ------------------------------------------------------------------------------------- internals

def _yaml_diagnostic(doc, e):
    mark = e.problem_mark or e.context_mark
    problem = e.problem or e.context or "invalid YAML"
    message = f"invalid YAML: {problem}"
    if e.context and e.problem and e.context_mark is not None and e.context_mark is not mark:
        message += f" ({e.context} at line {e.context_mark.line + 1})"
    hint = None
    if "found character '\\t'" in problem:
        hint = "YAML indents with spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        hint = "a value that contains ': ' needs quotes; check the indentation of the line above"
    elif "expected ',' or ']', but got '['" in problem:
        hint = "inside [...] a name with brackets needs quotes, e.g. ['encoder[1]', 'encoder[2]']"
    ctx = e.context_mark
    if mark is not None and ctx is not None and e.context and mark.line > ctx.line:
        if "quoted scalar" in e.context:  # an unterminated string runs on to the end
            return doc_diag(doc, ctx.line + 1, ctx.column + 1, "invalid YAML: this quote is never closed",
                            hint="close the string with the same quote it starts with")
        if "simple key" in e.context:  # a line that looks like a key but has no ':'
            return doc_diag(doc, ctx.line + 1, ctx.column + 1, "invalid YAML: a key without ':' (or a "
                                                               "value on a line of its own)",
                            hint="write key: value, or indent the line under its key")
    if (mark is not None and ctx is not None and e.context and "flow" in e.context
            and mark.line > ctx.line and _indent(doc, mark.line + 1) <= _indent(doc, ctx.line + 1)):
        # The flow collection ran into the next block line: it was never closed. Point at its start.
        bracket = "[" if "sequence" in e.context else "{"
        closing = "]" if bracket == "[" else "}"
        return doc_diag(doc, ctx.line + 1, ctx.column + 1, f"invalid YAML: this '{bracket}' is never closed",
                        hint=f"close it with '{closing}' before line {mark.line + 1}, and check the commas")
    if mark is None:
        return Diagnostic(doc.file, None, None, message, hint=hint)
    return doc_diag(doc, mark.line + 1, mark.column + 1, message, hint)


def _indent(doc, line):
    """Leading spaces of a 1-based line (0 when unknown)."""
    if not doc.lines or not 0 < line <= len(doc.lines):
        return 0
    text = doc.lines[line - 1]
    return len(text) - len(text.lstrip(" "))


def doc_diag(doc, line, col, message, hint=None):
    source = doc.lines[line - 1] if doc.lines and 0 < line <= len(doc.lines) else None
    return Diagnostic(doc.file, line, col, message, hint=hint, source=source)


class _Builder:
    """Turns composed YAML nodes into Python data, recording positions and YAML-level errors."""

    def __init__(self, loader, doc, errors):
        self.loader, self.doc, self.errors = loader, doc, errors
        self._stack = set()
        self._aliases = []  # marks of the aliases being expanded, outermost first
        self.count = 0

    def _pos(self, node):
        return node.start_mark.line + 1, node.start_mark.column + 1

    def _error(self, node, message, hint=None):
        line, col = self._pos(node)
        self.errors.append(doc_diag(self.doc, line, col, message, hint))

    def build(self, node, path, alias=None):
        """``alias``: the mark of the alias this node is written as, when it is one."""
        if alias is None or self._aliases:
            return self._build(node, path)
        self._aliases.append(alias)
        try:
            return self._build(node, path)
        finally:
            self._aliases.pop()

    def _build(self, node, path):
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:  # reported at the outermost alias being expanded
                line, col = (self._aliases[0].line + 1, self._aliases[0].column + 1) if self._aliases \
                    else self.doc.key_positions.get(path[:1], self._pos(node))
                self.errors.append(doc_diag(self.doc, line, col, f"the spec expands to more than "
                                            f"{MAX_NODES:,} values (aliases that repeat aliases, a "
                                            f"'billion laughs'?)"))
            return None
        self.doc.positions[path] = self._pos(node)
        if len(path) > MAX_DEPTH:
            if not any("nested more than" in d.message for d in self.errors):
                self._error(node, f"the spec is nested more than {MAX_DEPTH} levels deep")
            return None
        if id(node) in self._stack:
            self._error(node, "an alias refers to the node that contains it (a cycle)")
            return None
        if isinstance(node, yaml.MappingNode):
            self._stack.add(id(node))
            try:
                return self._mapping(node, path)
            finally:
                self._stack.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self._bad_tag(node)
                return None
            self._stack.add(id(node))
            try:
                return [self.build(child, path + (i,), self.loader.alias_mark(node, i))
                        for i, child in enumerate(node.value)]
            finally:
                self._stack.discard(id(node))
        return self._scalar(node)

    def _scalar(self, node):
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            self._bad_tag(node)
            return None
        except (ValueError, TypeError) as e:
            self._error(node, f"invalid value {node.value!r}: {e}")
            return None

    def _bad_tag(self, node):
        self._error(node, f"unsupported YAML tag {node.tag!r}",
                    hint="kspec reads plain YAML only: tags that would build Python objects are "
                         "refused, so a spec can never run code")

    def _mapping(self, node, path):
        if node.tag != "tag:yaml.org,2002:map":
            self._bad_tag(node)
            return None
        try:
            self.loader.flatten_mapping(node)  # YAML merge keys (<<: *anchor)
        except yaml.constructor.ConstructorError as e:
            self._error(node, f"invalid merge key: {e.problem}")
            return {}
        out = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._error(key_node, "a mapping key must be a plain scalar, not a list or mapping")
                continue
            key = self._scalar(key_node)
            try:
                hash(key)
            except TypeError:
                self._error(key_node, f"unusable mapping key {key_node.value!r}")
                continue
            if key in out:
                first = self.doc.key_positions[path + (key,)]
                self._error(key_node, f"duplicate key {key!r} (first defined at line {first[0]})",
                            hint="YAML keeps only the last value; remove one of them")
            self.doc.key_positions[path + (key,)] = self._pos(key_node)
            out[key] = self.build(value_node, path + (key,), self.loader.alias_mark(node, key_node))
        return out
