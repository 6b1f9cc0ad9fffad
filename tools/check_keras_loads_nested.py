"""Check that real Keras 3 opens the nested-model files kspec writes and predicts the same.

    python tools/check_keras_loads_nested.py write DIR                               # kspec writes
    KERAS_BACKEND=jax python tools/check_keras_loads_nested.py check DIR  # Keras reads

``write`` builds the nested models of tests/test_models_nested.py (a Sequential base inside a Functional
model, a Functional base inside a Sequential, a Sequential inside a Sequential; each base holds a
BatchNormalization), freezes the base, trains one epoch and saves a whole-model ``<case>.h5`` and
``<case>.weights.h5``, plus ``<case>.npz`` (inputs and kspec's predictions). ``check`` loads every ``.h5``
with ``keras.models.load_model`` and compares the predictions, the layer order, the frozen base and the
optimizer state, then loads the ``.weights.h5`` into the loaded model. One line per check; exit status 1 if
any fails.
"""
import json
import pathlib
import sys

import numpy as np

ATOL = 2e-6
ROOT = pathlib.Path(__file__).resolve().parent.parent


def write(folder):
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import test_models_nested as nested
    from kspec import optimizers

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name in nested.CASES:
        model, base = nested.build(name)
        x, y = nested.ARRAYS[f"{name}/x"], nested.ARRAYS[f"{name}/y"]
        base.trainable = False
        model.compile(optimizer=optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        model.save(folder / f"{name}.h5")
        model.save_weights(folder / f"{name}.weights.h5")
        np.savez(folder / f"{name}.npz", x=x, pred=model.predict(x, verbose=0))
        manifest[name] = {"layers": [l.name for l in model.layers], "base": base.name,
                          "base_layers": [l.name for l in base.layers]}
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
        try:
            model = keras.models.load_model(folder / f"{name}.h5")
        except Exception as exc:  # noqa: BLE001 - report any failure as a failed check
            report(False, f"{name}: keras.models.load_model fails: {str(exc).splitlines()[-1]}")
            continue
        report([l.name for l in model.layers] == info["layers"], f"{name}: layer order")
        base = model.get_layer(info["base"])
        frozen = all(not l.trainable for l in base.layers if l.weights) and len(model.trainable_weights) == 2
        report([l.name for l in base.layers] == info["base_layers"] and frozen,
               f"{name}: the nested {type(base).__name__} with its layers, frozen")
        diff = float(np.abs(model.predict(data["x"], verbose=0) - data["pred"]).max())
        report(diff <= ATOL, f"{name}: Keras predicts kspec's output (max diff {diff:.2g})")
        report(int(model.optimizer.iterations) == 3, f"{name}: optimizer state restored (iterations "
               f"{int(model.optimizer.iterations)})")
        try:
            model.load_weights(folder / f"{name}.weights.h5")
            diff = float(np.abs(model.predict(data["x"], verbose=0) - data["pred"]).max())
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
