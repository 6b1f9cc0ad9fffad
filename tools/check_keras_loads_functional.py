"""Check that real Keras 3 opens the graph (Functional) model files kspec writes and predicts the same.

    python tools/check_keras_loads_functional.py write DIR                               # kspec writes
    KERAS_BACKEND=jax python tools/check_keras_loads_functional.py check DIR  # Keras reads

``write`` builds the graphs of tests/_functional_graphs.py (two inputs, residual Adds, a shared encoder
with Subtract/Dot/Multiply, two outputs with per-output losses, an Embedding mask through Add/Minimum),
trains each one epoch and saves a whole-model ``<case>.h5`` and ``<case>.weights.h5``, plus ``<case>.npz``
(inputs and kspec's predictions). ``check`` loads every ``.h5`` with ``keras.models.load_model``, compares
the predictions, the compile configuration and the layer order, and loads the ``.weights.h5`` into the
loaded model. It prints one line per check and exits with status 1 if any fails.
"""
import json
import os
import pathlib
import sys

import numpy as np

ATOL = 2e-6
ROOT = pathlib.Path(__file__).resolve().parent.parent


def write(folder):
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import _functional_graphs as graphs
    from kspec import backend
    from kspec.layers import clear_session

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    golden = json.loads((ROOT / "tests" / "fixtures" / "functional_golden.json").read_text())["models"]
    arrays = np.load(ROOT / "tests" / "fixtures" / "functional_golden.npz")
    manifest = {}
    for name, case in golden.items():
        clear_session()
        backend.set_seed(0)
        model = getattr(graphs, name)()
        xs = [arrays[f"{name}/x{i}"] for i in range(case["n_inputs"])]
        ys = [arrays[f"{name}/y{i}"] for i in range(case["n_outputs"])]
        x, y = (xs if len(xs) > 1 else xs[0]), (ys if len(ys) > 1 else ys[0])
        model.compile(**case["compile"])
        model.fit(x, y, batch_size=case["batch"], epochs=1, shuffle=False, verbose=0)
        model.save(folder / f"{name}.h5")
        model.save_weights(folder / f"{name}.weights.h5")
        preds = model.predict(x, verbose=0)
        preds = preds if isinstance(preds, list) else [preds]
        np.savez(folder / f"{name}.npz", **{f"x{i}": a for i, a in enumerate(xs)},
                 **{f"pred{i}": p for i, p in enumerate(preds)})
        manifest[name] = {"layers": [l.name for l in model.layers], "compile": case["compile"]}
        print(f"wrote {name}")
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


def check(folder):
    import keras

    folder = pathlib.Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    failures = 0

    def report(ok, what):
        nonlocal failures
        failures += not ok
        print(("ok   " if ok else "FAIL ") + what)

    for name, info in manifest.items():
        data = np.load(folder / f"{name}.npz")
        xs = [data[k] for k in sorted(k for k in data.files if k.startswith("x"))]
        try:
            model = keras.models.load_model(folder / f"{name}.h5")
        except Exception as exc:  # noqa: BLE001 - report any failure as a failed check
            report(False, f"{name}: keras.models.load_model fails: {str(exc).splitlines()[-1]}")
            continue
        report([l.name for l in model.layers] == info["layers"], f"{name}: layer order")
        preds = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        preds = preds if isinstance(preds, list) else [preds]
        for i, p in enumerate(preds):
            diff = float(np.abs(p - data[f"pred{i}"]).max())
            report(diff <= ATOL, f"{name}: Keras predicts kspec's output {i} (max diff {diff:.2g})")
        optimizer = info["compile"]["optimizer"]["class_name"]
        report(type(model.optimizer).__name__.lower() == optimizer.lower() and int(model.optimizer.iterations) > 0,
               f"{name}: compiled with {optimizer} and its saved state (iterations "
               f"{int(model.optimizer.iterations)})")
        try:
            model.load_weights(folder / f"{name}.weights.h5")
            again = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
            again = again if isinstance(again, list) else [again]
            diff = max(float(np.abs(a - data[f"pred{i}"]).max()) for i, a in enumerate(again))
            report(diff <= ATOL, f"{name}: .weights.h5 loads into Keras (max diff {diff:.2g})")
        except Exception as exc:  # noqa: BLE001 - report any failure as a failed check
            report(False, f"{name}: .weights.h5 does not load: {exc}")
    return failures


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(1 if check(sys.argv[2]) else 0)
