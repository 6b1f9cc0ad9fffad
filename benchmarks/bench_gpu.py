"""Issue 19's GPU benchmark: kspec on CuPy against PyTorch on the same GPU, in one invocation.

Three networks, each trained for EPOCHS epochs on Fashion-MNIST by both sides (best epoch reported):
- mlp: the seed MLP (benchmarks/mlp_kspec.py); kspec's CPU epoch of the same script is timed too, for the
  speed-up of the GPU over the CPU (target >= 10);
- cnn: Keras's mnist_convnet (benchmarks/cnn_kspec.py);
- lstm: LSTM(128) over the image rows (benchmarks/lstm_kspec.py).
kspec's side runs its usual benchmark scripts with ``KSPEC_DEVICE=gpu``; PyTorch's runs
benchmarks/torch_gpu_peer.py (data on the GPU, synchronised before each epoch's time is taken) under
``--torch-python``. Prints one JSON object: each side's epoch times, the best of each and kspec's ratio to
PyTorch (target <= 1.0 where the issue sets one).
Without CuPy and a GPU (or a PyTorch that sees the GPU) it stops with a message and exit status 1.

Usage: python benchmarks/bench_gpu.py [EPOCHS] [--only mlp,cnn,lstm] [--torch-python PY] [--shared DIR]
       [--no-cpu-baseline]
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import dump, epoch_times, run_script  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
KSPEC_SCRIPTS = {"mlp": "mlp_kspec.py", "cnn": "cnn_kspec.py", "lstm": "lstm_kspec.py"}
PROBE_KSPEC = "from kspec import backend; backend.use_device('gpu')"
PROBE_TORCH = "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'PyTorch sees no CUDA GPU')"


def _probe(python, code, env, who):
    """None when ``code`` runs cleanly under ``python``, else the reason (its last stderr line)."""
    try:
        proc = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
    except OSError as e:
        return f"{who}: can't run {python}: {e}"
    if proc.returncode == 0:
        return None
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    return f"{who}: {lines[-1] if lines else f'exit status {proc.returncode}'}"


def _side(script, args, env, python=None):
    lines, peak = run_script(script, args, env=env, python=python)
    times = epoch_times(lines)
    return {"epoch_s": times, "best_epoch_s": min(times), "peak_rss_mib": round(peak, 1),
            "last_line": lines[-1] if lines else ""}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("epochs", nargs="?", type=int, default=2)
    parser.add_argument("--only", default="mlp,cnn,lstm")
    parser.add_argument("--torch-python", default=os.environ.get("KSPEC_TORCH_PYTHON", sys.executable))
    parser.add_argument("--shared", default=os.environ.get("KSPEC_SHARED", os.path.join(REPO, "..", "shared")))
    parser.add_argument("--no-cpu-baseline", action="store_true", help="skip kspec's CPU epoch of the MLP")
    args = parser.parse_args()
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in KSPEC_SCRIPTS]
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {unknown}; choose from {sorted(KSPEC_SCRIPTS)}")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    gpu_env = dict(env, KSPEC_DEVICE="gpu")
    cpu_env = dict(env, KSPEC_DEVICE="cpu")
    problems = [p for p in (_probe(sys.executable, PROBE_KSPEC, cpu_env, "kspec"),
                            _probe(args.torch_python, PROBE_TORCH, env, "torch")) if p]
    if problems:
        print("bench_gpu: needs CuPy and an NVIDIA GPU for kspec, and a PyTorch that sees the GPU:",
              file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        sys.exit(1)
    bench_dir = os.path.join(args.shared, "bench")
    results = {}
    for name in wanted:
        kspec_script = os.path.join(HERE, KSPEC_SCRIPTS[name])
        entry = {"kspec_gpu": _side(kspec_script, [args.epochs], gpu_env)}
        print(f"{name} kspec_gpu: {entry['kspec_gpu']['epoch_s']}", file=sys.stderr, flush=True)
        entry["torch_gpu"] = _side(os.path.join(HERE, "torch_gpu_peer.py"), [name, args.epochs, bench_dir], env,
                                   python=args.torch_python)
        print(f"{name} torch_gpu: {entry['torch_gpu']['epoch_s']}", file=sys.stderr, flush=True)
        best = entry["kspec_gpu"]["best_epoch_s"], entry["torch_gpu"]["best_epoch_s"]
        entry["ratio_to_torch_gpu"] = round(best[0] / best[1], 3)
        if name == "mlp" and not args.no_cpu_baseline:
            entry["kspec_cpu"] = _side(kspec_script, [args.epochs], cpu_env)
            entry["gpu_speedup_over_cpu"] = round(entry["kspec_cpu"]["best_epoch_s"]
                                                  / entry["kspec_gpu"]["best_epoch_s"], 2)
            entry["target"] = "gpu_speedup_over_cpu >= 10"
        else:
            entry["target"] = "ratio_to_torch_gpu <= 1.0"
        results[name] = entry
    results["load_average"] = list(os.getloadavg())
    dump(results)


if __name__ == "__main__":
    main()
