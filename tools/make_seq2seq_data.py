"""Write the data of configs/seq2seq_reverse.yaml: short digit sequences and their reversals.

``configs/data/reverse_{train,test}.npz`` hold (uint8, 0 is the start token, digits are 1..9):

* ``source`` (n, 6): random digits, the encoder's input;
* ``target`` (n, 6): the same digits reversed, what the decoder must output;
* ``decoder_in`` (n, 6): the target shifted right by one behind a start token (teacher forcing: at step
  t the decoder sees the correct digit t - 1 and must produce digit t).

Deterministic (seed 0). Run: python tools/make_seq2seq_data.py
"""
import os

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "data")
SIZES = {"train": 4000, "test": 500}
LENGTH = 6


def split(n, rng):
    source = rng.integers(1, 10, size=(n, LENGTH)).astype(np.uint8)
    target = source[:, ::-1].copy()
    decoder_in = np.zeros_like(target)
    decoder_in[:, 1:] = target[:, :-1]
    return {"source": source, "decoder_in": decoder_in, "target": target}


def main():
    rng = np.random.default_rng(0)
    for name, n in SIZES.items():
        path = os.path.join(ROOT, f"reverse_{name}.npz")
        np.savez_compressed(path, **split(n, rng))
        print(f"wrote {path} ({n} sequences)")


if __name__ == "__main__":
    main()
