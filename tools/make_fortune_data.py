"""Build the language-identification data of configs/fortunes_gru.yaml from Debian's fortune files.

Install the corpora first (Debian/Ubuntu, offline-installable packages):
    apt-get install fortunes-de fortunes-es fortunes-it fortunes-br
Then: python tools/make_fortune_data.py [--per-language 1500]
Writes configs/data/fortunes_{train,test}.npz (not shipped): ``x`` one fortune per sample (str, whitespace
collapsed, 20-300 characters), ``y`` the language index (0 de, 1 es, 2 it, 3 pt), ``classes`` the names.
80% train / 20% test, seeded.
"""
import argparse
import glob
import os

import numpy as np

ROOT = "/usr/share/games/fortunes"
SOURCES = {"de": [f"{ROOT}/de/*"], "es": [f"{ROOT}/es/*"], "it": [f"{ROOT}/it/*"], "pt": [f"{ROOT}/brasil"]}
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "data")


def fortunes(patterns):
    """Every fortune (a '%'-separated block) of the files, read as UTF-8 (``.u8`` copies preferred)."""
    files = sorted({f for p in patterns for f in glob.glob(p)
                    if not f.endswith((".dat", ".u8")) and os.path.isfile(f)})
    out = []
    for f in files:
        path = f + ".u8" if os.path.exists(f + ".u8") else f
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
        for block in text.split("\n%"):
            line = " ".join(block.replace("%", " ").split())
            if 20 <= len(line) <= 300:
                out.append(line)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=1500)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x, y = [], []
    for label, (lang, patterns) in enumerate(SOURCES.items()):
        texts = fortunes(patterns)
        if not texts:
            raise SystemExit(f"no fortunes for {lang} under {patterns}: apt-get install fortunes-{lang}")
        picked = rng.permutation(len(texts))[:args.per_language]
        x += [texts[i] for i in picked]
        y += [label] * len(picked)
    order = rng.permutation(len(x))
    x, y = np.array(x)[order], np.array(y, np.int64)[order]
    cut = int(0.8 * len(x))
    classes = np.array(list(SOURCES))
    np.savez_compressed(os.path.join(OUT, "fortunes_train.npz"), x=x[:cut], y=y[:cut], classes=classes)
    np.savez_compressed(os.path.join(OUT, "fortunes_test.npz"), x=x[cut:], y=y[cut:], classes=classes)
    print(f"{cut} train / {len(x) - cut} test fortunes; per language: {np.bincount(y).tolist()}")


if __name__ == "__main__":
    main()
