"""End to end on real Fashion-MNIST: the seed's network from configs/fashion_mlp.yaml on a subset
(``limit``), through the command line in a real process (issue 3). Skipped when the data is absent."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from kspec import run
from kspec.data import DataError, load_dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "fashion_mlp.yaml")
SUBSET = ["data.x=[{scale: 255}, {reshape: [784]}, {limit: 3000}]", "fit.epochs=3"]


def _have_fashion_mnist():
    try:
        load_dataset("fashion_mnist", "test")
    except DataError as e:
        return False, str(e).splitlines()[0]
    return True, ""


_HAVE, _WHY = _have_fashion_mnist()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not _HAVE, reason=f"Fashion-MNIST not installed ({_WHY}); apt-get install "
                                                   "dataset-fashion-mnist or set KSPEC_DATA")]


def test_fashion_mlp_subset_trains_evaluates_and_predicts(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    args = [sys.executable, "-m", "kspec", "train", CONFIG, "--run-dir", str(tmp_path / "fm"), "-q"]
    for override in SUBSET:
        args += ["--set", override]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["metrics"]["accuracy"] >= 0.6, f"test accuracy on the subset: {out['metrics']}"
    assert "'decay' is Keras 2 only" in done.stderr, "the seed's Keras 2 optimizer arguments warn"

    x, y = load_dataset("fashion_mnist", "test")
    probs = run.predict(out["run_dir"], x[:200])  # raw uint8 (n, 28, 28): the run scales and reshapes
    assert probs.shape == (200, 10), f"predict shape {probs.shape}"
    accuracy = float(np.mean(run.to_classes(probs) == y[:200]))
    assert accuracy >= 0.55, f"accuracy of predict on 200 raw test images: {accuracy}"
    loaded = run.load_run(out["run_dir"])
    assert loaded.classes[0] == "T-shirt/top", "class names come with the dataset"
    assert [l.name for l in loaded.model.layers][:3] == ["dense", "activation", "dropout"], "Keras names"
