"""Spec diagnostics: every problem found in a spec, with the file, line and column it comes from.

A :class:`SpecError` carries all the diagnostics of one check, so a user sees every mistake at once::

    config.yaml:12:7: error: Dense: unknown argument 'unit' (did you mean 'units'?)
       12 |     - Dense: {unit: 10}
          |               ^
"""
from kspec.errors import EXIT_USAGE, KspecError, did_you_mean  # noqa: F401 - did_you_mean is re-exported


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


class SpecError(KspecError):
    """A spec that cannot be used; ``diagnostics`` lists every problem found (errors first). The first
    diagnostic gives the KspecError's message, location and hint."""

    exit_code = EXIT_USAGE

    def __init__(self, diagnostics):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(first.message if first else "invalid spec", first.location if first else None,
                         first.hint if first else None)

    def format(self, snippet=True):
        return "\n".join(d.format(snippet) for d in self.diagnostics)

    def __str__(self):
        return self.format(snippet=False)
