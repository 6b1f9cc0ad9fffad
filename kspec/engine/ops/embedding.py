"""The embedding lookup: a gather forward and a scatter-add backward without ``add.at``.

Backward sorts the flat ids once and sums each run of equal ids with ``add.reduceat`` (engine-techniques
A7: never the slowest, the fastest at large vocabularies); the table gradient is dense (V, E).
"""
from kspec import backend
from kspec.engine.tensor import Tensor, as_tensor, make


def take_rows(table, ids):
    """``table[ids]``: table (V, E) Tensor, ids integer array (...) -> (..., E).

    Ids must lie in [0, V); out-of-range ids raise ValueError (NumPy would wrap negatives silently). On a
    device the check reads the ids' min and max back in one transfer (the step's only host read).
    """
    xp = backend.xp
    table = as_tensor(table)
    ids = ids.data if isinstance(ids, Tensor) else ids
    ids = xp.asarray(ids)
    if ids.dtype.kind not in "iu":
        ids = ids.astype(xp.int64)
    vocab = table.shape[0]
    if ids.size:
        low, high = (int(ids.min()), int(ids.max())) if xp is backend.host else \
            backend.to_numpy(xp.stack([ids.min(), ids.max()])).tolist()
        if low < 0 or high >= vocab:
            raise ValueError(f"embedding ids must lie in [0, {vocab}); got ids from {low} to {high}")
    out = xp.take(table.data, ids, axis=0)

    def backward(g):
        return (scatter_rows(g.reshape(-1, g.shape[-1]), ids.reshape(-1), vocab),)

    return make(out, (table,), backward, "embedding")


def scatter_rows(rows, ids, vocab):
    """Sum ``rows`` (K, E) into a zero (vocab, E) array at row ``ids`` (K,): sort + ``add.reduceat``."""
    xp = backend.xp
    out = xp.zeros((vocab, rows.shape[1]), dtype=rows.dtype)
    if ids.size == 0:
        return out
    order = xp.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = xp.flatnonzero(xp.concatenate([xp.ones(1, dtype=bool), sorted_ids[1:] != sorted_ids[:-1]]))
    out[sorted_ids[starts]] = xp.add.reduceat(rows[order], starts, axis=0)
    return out
