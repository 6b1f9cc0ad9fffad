"""NaN and infinities in data: one message for train, evaluate and predict."""


def non_finite_message(arr, name="sample"):
    """``"2 NaN values in 1 sample (sample 5, column 1)"`` for a float array holding NaN/inf, else None."""
    import numpy as np

    arr = np.asarray(arr)
    if arr.dtype.kind not in "fc" or not arr.size or arr.ndim == 0:
        return None
    bad = ~np.isfinite(arr)
    if not bad.any():
        return None
    flat = bad.reshape(len(arr), -1)
    rows = np.flatnonzero(flat.any(axis=1))
    nan, inf = bool(np.isnan(arr).any()), bool(np.isinf(arr).any())
    kinds = "/".join(k for k, present in (("NaN", nan), ("inf", inf)) if present)
    count = int(bad.sum())
    first = int(rows[0])
    column = f", column {int(np.flatnonzero(flat[first])[0])}" if flat.shape[1] > 1 else ""
    return (f"{count} {kinds} value{'s' if count > 1 else ''} in {len(rows)} {name}{'s' if len(rows) > 1 else ''} "
            f"(first: {name} {first}{column})")
