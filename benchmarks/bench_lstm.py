"""Issue 7's speed benchmark: one epoch of the Fashion-MNIST LSTM(128) in kspec, PyTorch and Keras (JAX).

All three train LSTM(128) over the 28 image rows (28 pixels each), Dense 10 softmax, Adam, sparse categorical
crossentropy, batch 128, on 54,000 images (validation_split 0.1). kspec runs ``lstm_kspec.py``; the peers run
``../shared/bench/zoo_torch.py lstm EPOCHS`` and ``zoo_keras.py lstm EPOCHS`` under their own interpreters.
Each is run ``--repeat`` times, interleaved; the best epoch of each is reported with the ratio of kspec's
best to the faster peer's (target <= 1.0).

Usage: python benchmarks/bench_lstm.py [EPOCHS] [--repeat N] [--torch-python PY] [--keras-python PY]
       [--shared DIR] [--kspec-threads N] [--only kspec,torch,keras]
Peer interpreters default to $KSPEC_TORCH_PYTHON / $KSPEC_KERAS_PYTHON, else this Python for both
(a venv with torch, one with keras and jax). ``--kspec-threads`` sets OPENBLAS_NUM_THREADS for kspec (default: OpenBLAS's own).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import dump, epoch_times, run_script  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("epochs", nargs="?", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--shared", default=os.environ.get("KSPEC_SHARED", os.path.join(REPO, "..", "shared")))
    parser.add_argument("--torch-python", default=os.environ.get("KSPEC_TORCH_PYTHON", sys.executable))
    parser.add_argument("--keras-python", default=os.environ.get("KSPEC_KERAS_PYTHON", sys.executable))
    parser.add_argument("--kspec-threads", type=int, default=None)
    parser.add_argument("--only", default="kspec,torch,keras")
    args = parser.parse_args()
    bench = os.path.join(args.shared, "bench")
    base_env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    kspec_env = dict(base_env)
    if args.kspec_threads:
        kspec_env["OPENBLAS_NUM_THREADS"] = str(args.kspec_threads)
    runs = {
        "kspec": (os.path.join(HERE, "lstm_kspec.py"), ["%d" % args.epochs], kspec_env, None),
        "torch": (os.path.join(bench, "zoo_torch.py"), ["lstm", args.epochs], base_env, args.torch_python),
        "keras_jax": (os.path.join(bench, "zoo_keras.py"), ["lstm", args.epochs], dict(base_env, KERAS_BACKEND="jax"),
                      args.keras_python),
    }
    wanted = {"keras": "keras_jax"}
    selected = [wanted.get(n.strip(), n.strip()) for n in args.only.split(",")]
    results = {name: {"epoch_s": [], "peak_mib": []} for name in selected}
    for _ in range(args.repeat):
        for name in selected:
            script, script_args, env, python = runs[name]
            lines, peak = run_script(script, script_args, env=env, python=python)
            results[name]["epoch_s"] += epoch_times(lines)
            results[name]["peak_mib"].append(round(peak, 1))
            results[name]["last_line"] = lines[-1] if lines else ""
            print(f"{name}: {epoch_times(lines)}", file=sys.stderr, flush=True)
    for r in results.values():
        r["best_epoch_s"] = min(r["epoch_s"])
    peers = [results[n]["best_epoch_s"] for n in ("torch", "keras_jax") if n in results]
    if "kspec" in results and peers:
        results["ratio_to_faster_peer"] = round(results["kspec"]["best_epoch_s"] / min(peers), 3)
        results["target"] = "ratio_to_faster_peer <= 1.0"
    results["load_average"] = list(os.getloadavg())
    dump(results)


if __name__ == "__main__":
    main()
