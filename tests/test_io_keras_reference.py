"""Live check that real Keras 3 opens kspec's model files (skipped when keras cannot be imported).

The same check runs without pytest in two steps (kspec writes, the reference venv's Keras reads):
``python tools/check_keras_loads_kspec.py write DIR`` then
``KERAS_BACKEND=jax python tools/check_keras_loads_kspec.py check DIR``.
"""
import importlib.util
import os
import warnings

import pytest

TOOL = os.path.join(os.path.dirname(__file__), os.pardir, "tools", "check_keras_loads_kspec.py")


def load_tool():
    spec = importlib.util.spec_from_file_location("check_keras_loads_kspec", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.reference
def test_keras_loads_kspec_files(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras and its backends warn on import; not kspec's concern
        pytest.importorskip("keras")
    tool = load_tool()
    tool.write(tmp_path)
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        failures = tool.check(tmp_path, report=lines.append)
    assert failures == 0, "\n".join(line for line in lines if line.startswith("FAIL"))
    assert len(lines) > 20, "too few checks ran"
