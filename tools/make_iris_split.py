"""Write configs/data/iris_train.csv and iris_test.csv from configs/data/iris.csv.

A deterministic, stratified split: 10 flowers of each species held out for testing (30), the other
120 for training. Both files are shuffled (seed 0) so that a validation_split, which takes the last
rows, sees every species. Run: python tools/make_iris_split.py
"""
import csv
import os

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "data")
TEST_PER_CLASS = 10


def main():
    with open(os.path.join(ROOT, "iris.csv"), newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    rng = np.random.default_rng(0)
    train, test = [], []
    for species in sorted({r[-1] for r in rows}):
        members = [r for r in rows if r[-1] == species]
        order = rng.permutation(len(members))
        test += [members[i] for i in order[:TEST_PER_CLASS]]
        train += [members[i] for i in order[TEST_PER_CLASS:]]
    for name, part in (("iris_train.csv", train), ("iris_test.csv", test)):
        part = [part[i] for i in rng.permutation(len(part))]
        with open(os.path.join(ROOT, name), "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(part)
        print(f"{name}: {len(part)} rows")


if __name__ == "__main__":
    main()
