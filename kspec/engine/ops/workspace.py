"""Reusable scratch arrays for the big per-step temporaries (im2col columns, padded inputs, col2im targets).

NumPy hands large allocations straight to mmap and unmaps them on free, so a conv step that allocates its
column buffers afresh page-faults through them every step (engine-techniques A5: a third of the step).
:func:`take` returns an array from a small pool keyed by ``(array module, tag, shape, dtype)``. An array is handed out
again only when nothing else holds it: its reference count shows no tensor, backward closure or view
still uses it, so a buffer still needed by a pending backward pass is never overwritten.
"""
import collections
import sys

from kspec import backend

MAX_PER_KEY = 3            # arrays kept per (tag, shape, dtype)
MAX_BYTES = 256 << 20      # total kept; the least recently used keys are dropped beyond this

_pools = collections.OrderedDict()   # key -> list of arrays
_bytes = 0
enabled = True


def _free_refcount():
    """The reference count of an array that only the pool holds, seen from inside :func:`take`'s loop."""
    probe = [backend.xp.empty(1)]
    for buf in probe:
        return sys.getrefcount(buf)


_FREE = _free_refcount()


def take(tag, shape, dtype=None, zero=False):
    """An array of ``shape`` (float32 unless ``dtype``) that nobody else holds; contents are stale unless
    ``zero``. Callers must overwrite (or zero) every element they read."""
    global _bytes
    xp = backend.xp
    dtype = backend.floatx if dtype is None else dtype
    shape = tuple(int(s) for s in shape)
    if not enabled:
        return xp.zeros(shape, dtype=dtype) if zero else xp.empty(shape, dtype=dtype)
    key = (xp.__name__, tag, shape, xp.dtype(dtype).str)  # a switched module never gets a stale buffer
    pool = _pools.get(key)
    if pool is None:
        pool = _pools[key] = []
    else:
        _pools.move_to_end(key)
    for buf in pool:
        if sys.getrefcount(buf) <= _FREE:
            if zero:
                buf.fill(0)
            return buf
    buf = xp.zeros(shape, dtype=dtype) if zero else xp.empty(shape, dtype=dtype)
    if len(pool) < MAX_PER_KEY:
        pool.append(buf)
        _bytes += buf.nbytes
        _trim(key)
    return buf


def _trim(keep):
    global _bytes
    while _bytes > MAX_BYTES and len(_pools) > 1:
        key, pool = next(iter(_pools.items()))
        if key == keep:
            _pools.move_to_end(key)
            continue
        del _pools[key]
        _bytes -= sum(b.nbytes for b in pool)


def clear():
    """Drop every pooled array."""
    global _bytes
    _pools.clear()
    _bytes = 0


def pooled_bytes():
    return _bytes
