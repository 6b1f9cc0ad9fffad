"""Shared by the fixture generators in tools/ (run with a Python that has Keras)."""
import numpy as np


def pyify(value):
    """``value`` with NumPy scalars as Python numbers and tuples as lists, ready for json.dump."""
    if isinstance(value, dict):
        return {k: pyify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [pyify(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
