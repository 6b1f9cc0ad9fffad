"""Spec diagnostics: every problem found in a spec, with the file, line and column it comes from.

A :class:`SpecError` carries all the diagnostics of one check, so a user sees every mistake at once::

    config.yaml:12:7: error: Dense: unknown argument 'unit' (did you mean 'units'?)
       12 |     - Dense: {unit: 10}
          |               ^
"""
import difflib


class Diagnostic:
    """One problem (or warning) at a place in a spec.

    ``line`` and ``col`` are 1-based, None where unknown (a dict spec, a ``--set`` override).
    ``source`` is the text of the line, shown under the message with a caret at ``col``.
    """

    __slots__ = ("file", "line", "col", "message", "hint", "severity", "source")

    def __init__(self, file, line, col, message, hint=None, severity="error", source=None):
        self.file, self.line, self.col = file, line, col
        self.message, self.hint, self.severity, self.source = message, hint, severity, source

    @property
    def location(self):
        parts = [str(self.file or "<spec>")]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def format(self, snippet=True):
        """``file:line:col: severity: message``, then the source line and a hint where known."""
        lines = [f"{self.location}: {self.severity}: {self.message}"]
        if snippet and self.source is not None and self.line is not None:
            gutter = f"{self.line:>5} | "
            lines.append(gutter + self.source.rstrip())
            if self.col is not None:
                lines.append(" " * (len(gutter) - 2) + "| " + " " * (self.col - 1) + "^")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def as_dict(self):
        return {k: getattr(self, k) for k in ("file", "line", "col", "severity", "message", "hint")}

    def __str__(self):
        return self.format(snippet=False)

    def __repr__(self):
        return f"Diagnostic({self.format(snippet=False)!r})"


class SpecError(Exception):
    """A spec that cannot be used; ``diagnostics`` lists every problem found (errors first)."""

    def __init__(self, diagnostics):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__(self.format(snippet=False))

    def format(self, snippet=True):
        return "\n".join(d.format(snippet) for d in self.diagnostics)

    def __str__(self):
        return self.format(snippet=False)


def did_you_mean(name, candidates):
    """`` (did you mean 'units'?)`` for the closest candidate, or an empty string."""
    name = str(name)
    candidates = [str(c) for c in candidates]
    folded = {c.lower(): c for c in candidates}
    if name.lower() in folded and folded[name.lower()] != name:
        return f" (did you mean {folded[name.lower()]!r}?)"
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.6)
        close = [folded[c] for c in close]
    return f" (did you mean {close[0]!r}?)" if close else ""
