"""The one exception every data reader raises."""
from kspec.errors import KspecError


class DataError(KspecError):
    """A data file or data entry that cannot be read.

    Attributes
    ----------
    path : str or None
        The file (or ``<stdin>``) that failed, None when no file is involved.
    message : str
        What went wrong, without the path or line.
    hint : str or None
        A likely fix.
    line : int or None
        The 1-based line in a text file, where one applies.

    ``str()`` reads like ``data/iris.csv: line 7: expected 5 columns, found 4 (hint: ...)``.
    """

    def __init__(self, message, path=None, *, line=None, hint=None):
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(message, self.path, hint)

    def format(self):
        text = self.message
        if self.line is not None:
            text = f"line {self.line}: {text}"
        if self.path is not None:
            text = f"{self.path}: {text}"
        if self.hint:
            text = f"{text} (hint: {self.hint})"
        return text

    def __reduce__(self):
        return (_rebuild, (self.message, self.path, self.line, self.hint, type(self)))


class StepError(DataError, ValueError):
    """A preprocessing step that is unknown or has a bad argument (also a ValueError)."""


def _rebuild(message, path, line, hint, cls=DataError):
    return cls(message, path, line=line, hint=hint)
