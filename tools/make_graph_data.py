"""Write the data files of the graph-model configs from configs/data/iris_train.csv and iris_test.csv.

* ``configs/data/iris_parts_{train,test}.npz``: ``sepal`` (n, 2) and ``petal`` (n, 2) measurements in cm,
  ``y`` the species index (setosa=0, versicolor=1, virginica=2): one flower, two inputs
  (configs/two_input.yaml).
* ``configs/data/iris_pairs_{train,test}.npz``: ``left`` and ``right`` (n, 4) measurements of two flowers
  and ``same`` (n,) = 1 when they are of the same species; half the pairs are same-species. Pairs are
  drawn within each split, so no test flower is seen in training (configs/siamese.yaml).

Deterministic (seed 0). Run: python tools/make_graph_data.py
"""
import csv
import os

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "data")
PAIRS = {"train": 1200, "test": 300}


def read(name):
    with open(os.path.join(ROOT, f"iris_{name}.csv"), newline="") as f:
        rows = list(csv.reader(f))[1:]
    x = np.array([[float(v) for v in r[:4]] for r in rows], dtype=np.float32)
    species = sorted({r[4] for r in rows})
    y = np.array([species.index(r[4]) for r in rows], dtype=np.int64)
    return x, y


def pairs(x, y, n, rng):
    left = rng.integers(0, len(x), size=n)
    right = np.empty(n, dtype=np.int64)
    same = np.arange(n) % 2 == 0
    for i in range(n):
        pool = np.flatnonzero((y == y[left[i]]) if same[i] else (y != y[left[i]]))
        right[i] = rng.choice(pool)
    return x[left], x[right], same.astype(np.float32)


def main():
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        x, y = read(split)
        np.savez_compressed(os.path.join(ROOT, f"iris_parts_{split}.npz"), sepal=x[:, :2], petal=x[:, 2:], y=y)
        left, right, same = pairs(x, y, PAIRS[split], rng)
        np.savez_compressed(os.path.join(ROOT, f"iris_pairs_{split}.npz"), left=left, right=right, same=same)
    print("wrote iris_parts_{train,test}.npz and iris_pairs_{train,test}.npz in", os.path.normpath(ROOT))


if __name__ == "__main__":
    main()
