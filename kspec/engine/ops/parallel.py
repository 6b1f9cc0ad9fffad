"""Split big elementwise work over the batch axis across threads.

NumPy's ufuncs, copies and reductions release the GIL on large arrays, so a small thread pool gives the
memory-bound parts of a conv step (im2col, ReLU masks, col2im, pooling) the cores that BLAS already
uses for the GEMMs. ``KSPEC_NUM_THREADS`` sets the number of workers (default: the CPU count, at most 4;
1 runs everything inline).
"""
import concurrent.futures
import os

from kspec import backend

THREADS = max(1, int(os.environ.get("KSPEC_NUM_THREADS", min(os.cpu_count() or 1, 4))))
MIN_ELEMENTS = 1 << 17    # smaller jobs run inline: a thread hand-off costs tens of microseconds

_executor = None


def _pool():
    global _executor
    if _executor is None:
        _executor = concurrent.futures.ThreadPoolExecutor(max_workers=THREADS - 1,
                                                          thread_name_prefix="kspec-batch")
    return _executor


def over_batch(fn, n, elements):
    """Call ``fn(start, stop)`` on contiguous chunks covering ``range(n)``: one chunk per thread when
    ``elements`` (the work's size) is large enough, else once inline (always on a GPU: one kernel launch
    beats several). Chunks must touch disjoint data."""
    parts = min(THREADS, n)
    if parts <= 1 or elements < MIN_ELEMENTS or backend.xp is not backend.host:
        fn(0, n)
        return
    bounds = [n * i // parts for i in range(parts + 1)]
    futures = [_pool().submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    fn(bounds[0], bounds[1])
    for future in futures:
        future.result()
