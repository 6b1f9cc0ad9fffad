"""The one error type (floor 0): every error a user can cause derives from :class:`KspecError`.

A KspecError carries a ``message``, where the problem is (``location``: a file, ``file:line:col``, or
None), a likely fix (``hint``) and the ``exit_code`` the command line exits with (1 for runtime, data and
model-file errors; 2 for usage and spec errors). Anything else that escapes a command is a bug in kspec:
the CLI reports it as an internal error (exit 70) and ``KSPEC_DEBUG=1`` shows its traceback.
"""
import difflib

EXIT_ERROR = 1      # a runtime, data or model-file error
EXIT_USAGE = 2      # a usage or spec error
EXIT_INTERNAL = 70  # a bug in kspec (EX_SOFTWARE of sysexits.h)


class KspecError(Exception):
    """An error the user can fix: what went wrong, where, a likely fix, and the exit code."""

    exit_code = EXIT_ERROR

    def __init__(self, message, location=None, hint=None, exit_code=None):
        self.message = message
        self.location = location
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(self.format())

    def format(self):
        """One line: ``location: message (hint: ...)``."""
        text = self.message if self.location is None else f"{self.location}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def __str__(self):
        return self.format()


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
