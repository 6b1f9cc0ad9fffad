"""Issue 6's speed and memory benchmark: kspec's fashion_cnn network against PyTorch CPU, side by side.

Both train Keras's mnist_convnet (Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2, Flatten,
Dropout 0.5, Dense 10) with Adam on 54,000 Fashion-MNIST images per epoch (batch 128, no validation pass):
kspec through benchmarks/cnn_kspec.py, PyTorch through ../shared/bench/zoo_torch.py (2 threads). Each side
runs ``--repeat`` times, alternating, since the machine may be shared; the best epoch of each is compared.
Prints every epoch's seconds, the best of each, their ratio (target <= 1.0) and each process's peak memory.

Usage: python benchmarks/bench_cnn.py [EPOCHS] [--repeat N] [--torch-python PY] [--shared DIR]
The peer's Python (with torch) comes from --torch-python or $KSPEC_TORCH_PYTHON, as in bench_lstm.py
(--peer-python and $KSPEC_PEER_PYTHON are older names for them; default: this Python).
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import _WRAPPER, dump, epoch_times, run_script  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def run_peer(python, script, args, env):
    """Like :func:`_measure.run_script`, but with another interpreter: (stdout lines, peak RSS in MiB)."""
    code = _WRAPPER.format(argv=[script, *map(str, args)], path=os.path.dirname(os.path.abspath(script)),
                           script=os.path.abspath(script))
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env,
                          cwd=os.path.dirname(os.path.abspath(script)))
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{proc.stderr[-2000:]}")
    lines, peak = [], None
    for line in proc.stdout.splitlines():
        if line.startswith("__PEAK_KB__"):
            peak = int(line.split()[1]) / 1024
        else:
            lines.append(line)
    return lines, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("epochs", nargs="?", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side (alternating); best is reported")
    parser.add_argument("--torch-python", "--peer-python", dest="peer_python",
                        default=os.environ.get("KSPEC_TORCH_PYTHON", os.environ.get("KSPEC_PEER_PYTHON", sys.executable)))
    parser.add_argument("--shared", default=os.environ.get("KSPEC_SHARED", os.path.join(REPO, "..", "shared")))
    parser.add_argument("--skip-peer", action="store_true", help="time kspec only")
    args = parser.parse_args()
    peer_script = os.path.join(args.shared, "bench", "zoo_torch.py")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    results = {"kspec": {"epoch_s": [], "peak_mib": []}, "pytorch": {"epoch_s": [], "peak_mib": []}}
    for _ in range(args.repeat):
        lines, peak = run_script(os.path.join(HERE, "cnn_kspec.py"), [args.epochs], env=env)
        results["kspec"]["epoch_s"] += epoch_times(lines)
        results["kspec"]["peak_mib"].append(round(peak, 1))
        results["kspec"]["last_line"] = lines[-1] if lines else ""
        if not args.skip_peer:
            lines, peak = run_peer(args.peer_python, peer_script, ["cnn", args.epochs], env)
            results["pytorch"]["epoch_s"] += epoch_times(lines)
            results["pytorch"]["peak_mib"].append(round(peak, 1))
            results["pytorch"]["last_line"] = lines[-1] if lines else ""
    for side in results.values():
        if side["epoch_s"]:
            side["best_epoch_s"] = min(side["epoch_s"])
            side["peak_mib_max"] = max(side["peak_mib"])
    if not args.skip_peer:
        k, t = results["kspec"], results["pytorch"]
        results["time_ratio_best"] = round(k["best_epoch_s"] / t["best_epoch_s"], 3)
        results["memory_ratio"] = round(k["peak_mib_max"] / t["peak_mib_max"], 3)
        results["targets"] = {"time_ratio_best": "<= 1.0"}
    results["load_average"] = os.getloadavg()
    dump(results)


if __name__ == "__main__":
    main()
