"""The one exception (and one warning) every model-file function raises."""
from kspec.errors import KspecError


class ModelFileError(KspecError):
    """A model or weights file that cannot be read or written.

    Attributes
    ----------
    path : str or None
        The file that failed (None when no file is involved).
    message : str
        What went wrong, without the path.
    hint : str or None
        A likely fix.

    ``str()`` is one line, like ``runs/x/model.h5: layer 'dense' weight 0 (kernel) has shape (5, 4) in the
    model but (6, 4) in the file (hint: ...)``.
    """

    def __init__(self, message, path=None, *, hint=None):
        self.path = None if path is None else str(path)
        super().__init__(message, self.path, hint)

    def __reduce__(self):
        return (_rebuild, (self.message, self.path, self.hint))


class ModelFileWarning(UserWarning):
    """Something in a model file was skipped, as Keras skips it with a warning (e.g. optimizer state that
    does not fit the optimizer, or weights skipped with ``skip_mismatch``)."""


def _rebuild(message, path, hint):
    return ModelFileError(message, path, hint=hint)
