"""The tiny masked-sequence dataset shipped in configs/data/sequences_{train,test}.npz.

Each sample is a sequence of 3 to 12 token ids in 1..9 (0 is padding); its label is 1 when more than half of
its tokens are 'high' (id >= 5), else 0. Every file holds the same sequences padded two ways:
``x`` post-padded to 12 steps and ``x_long`` pre-padded to 24, plus the labels ``y``. Under
``Embedding(mask_zero=True)`` both give the same training run (configs/masked_sequences.yaml).
The same sequences unpadded, as text: ``sequences_{train,test}.txt`` (the ids of one sequence per line,
any length) and ``sequences_{train,test}_labels.txt`` (one label per line), for
configs/ragged_sequences.yaml.
Run: python tools/make_sequence_data.py
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "data")


def make(rng, n):
    lengths = rng.integers(3, 13, n)
    seqs = [rng.integers(1, 10, k) for k in lengths]
    y = np.array([int((s >= 5).sum() * 2 > len(s)) for s in seqs], np.int64)
    x = np.zeros((n, 12), np.int64)
    x_long = np.zeros((n, 24), np.int64)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = s
        x_long[i, 24 - len(s):] = s
    return {"x": x, "x_long": x_long, "y": y}, seqs


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(line + "\n" for line in lines)


def main():
    rng = np.random.default_rng(7)
    for split, n in (("train", 320), ("test", 120)):
        arrays, seqs = make(rng, n)
        np.savez_compressed(os.path.join(OUT, f"sequences_{split}.npz"), **arrays)
        write_lines(os.path.join(OUT, f"sequences_{split}.txt"), (" ".join(map(str, s)) for s in seqs))
        write_lines(os.path.join(OUT, f"sequences_{split}_labels.txt"), (str(v) for v in arrays["y"]))


if __name__ == "__main__":
    main()
