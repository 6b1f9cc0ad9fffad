"""kspec's memory budget: sizes that come from a spec or a file are checked before anything is allocated.

A layer's weights, a weight dataset in a model file, the shape an .npy or IDX header declares and a read
from a device or FIFO are each compared with the budget first, and refused with the estimate in the
message (e.g. "layer 'dense' (Dense) needs 16 GB for its kernel (4, 1000000000) of float32"), so a
one-line spec or a 200-byte file cannot drive kspec out of memory.

The budget is ``KSPEC_MAX_MEMORY`` (``--max-memory`` sets it): a size such as ``16G``, ``500MB`` or a
number of bytes. By default it is half the machine's memory, at most 8 GB (and half of an address-space
limit, ``ulimit -v``, when one is set).
"""
import contextlib
import contextvars
import os
import re

from kspec.errors import KspecError

ENV = "KSPEC_MAX_MEMORY"
DEFAULT_CAP = 8 * 10**9
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]i?)?b?\s*$", re.IGNORECASE)
_scope = contextvars.ContextVar("kspec_memory_scope", default=None)


class MemoryBudgetError(KspecError, ValueError):
    """A size over the memory budget; the message holds the estimate and how to raise the budget."""


def parse_size(text):
    """Bytes from ``"16G"``, ``"500MB"``, ``"2GiB"`` or ``"1000000"``; ValueError otherwise."""
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"not a size: {text!r} (e.g. 16G, 500MB, 2GiB or a number of bytes)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "").lower()])


def format_size(n):
    """``16 GB``, ``1.5 MB``, ``800 bytes`` (decimal units)."""
    n = float(n)
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 10 or value == int(value) else f"{value:.1f} {unit}"
    return f"{int(n)} bytes"


def budget():
    """The budget in bytes: ``KSPEC_MAX_MEMORY``, else the default (see the module docstring)."""
    text = os.environ.get(ENV)
    if text:
        try:
            return parse_size(text)
        except ValueError:
            pass  # the CLI checks --max-memory; a bad variable falls back to the default
    return default_budget()


def default_budget():
    limit = DEFAULT_CAP
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        limit = min(limit, total // 2)
    except (AttributeError, OSError, ValueError):
        pass
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            limit = min(limit, soft // 2)
    except (ImportError, OSError, ValueError):
        pass
    return limit


HINT = f"raise the budget with --max-memory SIZE or {ENV}=SIZE"


def check(nbytes, what):
    """Raise MemoryBudgetError when ``nbytes`` (what ``what`` needs) is over the budget."""
    limit = budget()
    if nbytes > limit:
        raise MemoryBudgetError(f"{what} needs {format_size(nbytes)}, over kspec's memory budget of "
                                f"{format_size(limit)} ({HINT})")


def nbytes(shape, itemsize=4):
    """Bytes of an array of ``shape`` (Python ints: no overflow)."""
    total = int(itemsize)
    for d in shape:
        total *= max(int(d), 0)
    return total


def reserve(nbytes_, what):
    """Count an allocation against the innermost :func:`limited` scope (or check it alone)."""
    scope = _scope.get()
    if scope is None:
        check(nbytes_, what)
        return
    before = scope["used"]
    scope["used"] += nbytes_
    if scope["limit"] is not None and scope["used"] > scope["limit"]:
        raise scope["error"](scope["used"], what)
    check(scope["used"], what if not before else f"{what}, with the {format_size(before)} before it,")


@contextlib.contextmanager
def limited(limit=None, error=None):
    """Count every :func:`reserve` inside against one total: the budget, and ``limit`` when given (then
    ``error(used, what)`` is the exception raised), e.g. the weights that a model file can hold."""
    token = _scope.set({"used": 0, "limit": limit, "error": error})
    try:
        yield
    finally:
        _scope.reset(token)
