"""The workbench around a run: plots, comparisons, model graphs, starter specs, the name catalog and the
confusion matrix. Floor 7 beside :mod:`kspec.run` (which it may call); the CLI is a thin shell over it.
Heavy optional extras (matplotlib) are imported only by the function that draws.
"""
from kspec.errors import KspecError


class WorkbenchError(KspecError, ValueError):
    """A workbench request that cannot be met (no such run, a missing optional extra, ...); the CLI
    prints it as one line and exits 1."""
