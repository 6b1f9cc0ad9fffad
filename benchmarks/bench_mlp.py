"""Issue 2's speed and memory benchmark: kspec's seed MLP against the bare-NumPy floor, side by side.

Both train the seed MLP (784-500-500-10) on 42,000 Fashion-MNIST images per epoch with no validation
pass. Prints each epoch's seconds, the best epoch of each, their ratio (target <= 1.15) and the peak
memory of each process (target ratio <= 1.5).
Usage: python benchmarks/bench_mlp.py [EPOCHS] [--shared DIR]   (DIR defaults to ../shared next to the repo)
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
    parser.add_argument("epochs", nargs="?", type=int, default=3)
    parser.add_argument("--shared", default=os.environ.get("KSPEC_SHARED", os.path.join(REPO, "..", "shared")))
    args = parser.parse_args()
    floor_script = os.path.join(args.shared, "bench", "mlp_numpy_floor.py")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    results = {}
    for name, script in (("kspec", os.path.join(HERE, "mlp_kspec.py")), ("numpy_floor", floor_script)):
        lines, peak = run_script(script, [args.epochs], env=env)
        times = epoch_times(lines)
        results[name] = {"epoch_s": times, "best_epoch_s": min(times), "peak_mib": round(peak, 1),
                         "last_line": lines[-1] if lines else ""}
    k, f = results["kspec"], results["numpy_floor"]
    results["time_ratio_best"] = round(k["best_epoch_s"] / f["best_epoch_s"], 3)
    results["memory_ratio"] = round(k["peak_mib"] / f["peak_mib"], 3)
    results["targets"] = {"time_ratio_best": "<= 1.15", "memory_ratio": "<= 1.5"}
    dump(results)


if __name__ == "__main__":
    main()
