"""The ``kspec`` command line: a thin click shell over :mod:`kspec.run` (see ``main.py``)."""
