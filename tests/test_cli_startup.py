"""``kspec predict`` imports only what predicting needs (issue 3: 10 rows from stdin in < 0.5 s): no
optimizers, losses, metrics, callbacks, summary table or spec machinery, as ``compile=False`` loading
never uses them. Checked on ``sys.modules`` in a fresh process, never by timing."""
import io
import json
import os
import subprocess
import sys

import pytest

from kspec import run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
# Packages the predict path must not import (a module or any of its submodules).
NOT_ON_PREDICT_PATH = ("kspec.optimizers", "kspec.losses", "kspec.metrics", "kspec.models.callbacks",
                       "kspec.models.monitor_callbacks", "kspec.models.progbar", "kspec.models.summary",
                       "kspec.spec", "kspec.io.weights_h5", "yaml")
# What predicting a Sequential model does need: proof that the command really ran.
NEEDED = ("numpy", "h5py", "kspec.io.h5_legacy", "kspec.models.model", "kspec.data.preprocessor")

# Runs the CLI in-process, then prints the loaded module names as JSON on stderr.
PROBE = ("import json, sys\n"
         "from kspec.cli.main import cli\n"
         "try:\n"
         "    cli.main(sys.argv[1:], prog_name='kspec')\n"
         "finally:\n"
         "    sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n')\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("startup")
    quick = run.train(os.path.join(CONFIGS, "quickstart.yaml"), run_dir=str(folder / "iris"),
                      overrides=["fit.epochs=1"], verbose=0, stream=io.StringIO())
    graph = run.train(os.path.join(CONFIGS, "siamese.yaml"), run_dir=str(folder / "siamese"),
                      overrides=["fit.epochs=1"], verbose=0, stream=io.StringIO())
    return {"iris": quick.run_dir, "siamese": graph.run_dir}


def _modules_after(args, stdin):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", PROBE, *args], input=stdin, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    marker = done.stderr.rindex("MODULES ")
    return done.stdout, set(json.loads(done.stderr[marker + len("MODULES "):]))


def _unwanted(modules):
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in NOT_ON_PREDICT_PATH))


def test_predict_from_stdin_imports_only_what_it_needs(runs):
    rows = "5.7,2.8,4.5,1.3\n6.3,3.3,6.0,2.5\n5.0,3.4,1.5,0.2\n"
    stdout, modules = _modules_after(["predict", runs["iris"], "-", "--classes"], rows)
    assert len(stdout.split()) == 3, f"predict printed {stdout!r}"
    missing = [m for m in NEEDED if m not in modules]
    assert not missing, f"the probe did not load {missing}: did predict run?"
    assert not _unwanted(modules), f"imported by kspec predict: {_unwanted(modules)}"


def test_predict_of_a_graph_model_imports_only_what_it_needs(runs):
    pairs = '{"left": [5.1, 3.5, 1.4, 0.2], "right": [6.3, 3.3, 6.0, 2.5]}\n'
    stdout, modules = _modules_after(["predict", runs["siamese"], "-", "--output-format", "jsonl"], pairs)
    assert len(stdout.splitlines()) == 1, f"predict printed {stdout!r}"
    assert "kspec.models.functional" in modules, "the graph model was not loaded"
    assert not _unwanted(modules), f"imported by kspec predict: {_unwanted(modules)}"


def test_loading_to_compile_still_imports_the_training_modules(runs):
    """The lazy imports move work, they do not lose it: evaluate compiles and needs losses and metrics."""
    stdout, modules = _modules_after(["evaluate", runs["iris"]], "")
    assert set(json.loads(stdout)) == {"accuracy", "loss"}, stdout
    for package in ("kspec.losses", "kspec.metrics", "kspec.optimizers"):
        assert package in modules, f"evaluate ran without importing {package}?"


def test_help_stays_light():
    """kspec --help (and a workbench command's --help) loads no engine and no optional extra."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = ("import sys\nfrom kspec.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)")
    for args in (["--help"], ["plot", "--help"], ["explain", "--help"]):
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                              env=env, timeout=60)
        modules = set(done.stderr.split())
        assert "click" in modules, done.stderr
        heavy = sorted(m for m in modules if m.split(".")[0] in ("numpy", "matplotlib", "h5py", "yaml")
                       or m.startswith(("kspec.engine", "kspec.layers", "kspec.workbench")))
        assert not heavy, f"kspec {' '.join(args)} imported {heavy}"
