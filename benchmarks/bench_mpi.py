"""Data-parallel throughput: the seed MLP and the CNN trained on 1, 2, 4 ... MPI ranks.

Each run is ``mpiexec -n R python -m mpi4py bench_mpi.py --worker MODEL`` with cores/R threads per rank
(as ``kspec train --ranks R`` sets them). The data is synthetic, shaped like Fashion-MNIST (throughput does
not depend on the values); the global batch is the benchmark's (200 for the MLP, 128 for the CNN). Each
run trains one warm-up epoch, then times ``--epochs`` epochs on rank 0. Prints one JSON line per run:
samples per second, seconds per epoch, and the final loss, which is the same at every rank count (the
runs train the same model), so the table shows correctness as well as speed.
Usage: python benchmarks/bench_mpi.py [--ranks 1,2,4] [--models mlp,cnn] [--samples N] [--epochs E]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)


def build(name):
    from kspec.layers import Conv2D, Dense, Dropout, Flatten, InputLayer, MaxPooling2D
    from kspec.models import Sequential
    from kspec.optimizers import SGD, Adam

    if name == "mlp":  # benchmarks/mlp_kspec.py's network
        model = Sequential([InputLayer(shape=(784,)), Dense(500, activation="tanh"), Dropout(0.5),
                            Dense(500, activation="tanh"), Dropout(0.5), Dense(10, activation="softmax")])
        model.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9, nesterov=True),
                      loss="categorical_crossentropy", metrics=["accuracy"])
        return model, (784,), 200
    model = Sequential([InputLayer(shape=(28, 28, 1)), Conv2D(32, 3, activation="relu"), MaxPooling2D(2),
                        Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dropout(0.5),
                        Dense(10, activation="softmax")])  # benchmarks/cnn_kspec.py's network
    model.compile(optimizer=Adam(learning_rate=1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    return model, (28, 28, 1), 128


def worker(name, samples, epochs):
    import numpy as np

    from kspec import backend
    from kspec.backend import comm

    backend.set_seed(0)
    model, shape, batch = build(name)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(samples,) + shape).astype("float32")
    y = np.eye(10, dtype="float32")[(x.reshape(samples, -1)[:, :10].argmax(-1))]
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up: buffers, BLAS threads
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    seconds = (time.perf_counter() - start) / epochs
    world = comm.world()
    if world.rank == 0:
        print(json.dumps({"model": name, "ranks": world.size, "samples": samples, "epoch_s": round(seconds, 3),
                          "samples_per_s": round(samples / seconds, 1),
                          "final_loss": history.history["loss"][-1]}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", default="1,2,4")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--samples", type=int, default=None, help="default: 8400 (MLP), 2048 (CNN)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.samples, args.epochs)
        return
    from kspec.cli.commands._launch import mpiexec_path, thread_environment

    mpiexec = mpiexec_path()
    if mpiexec is None:
        sys.exit("bench_mpi needs mpiexec: pip install 'kspec[mpi]'")
    for name in args.models.split(","):
        samples = args.samples or (8400 if name == "mlp" else 2048)
        for ranks in (int(r) for r in args.ranks.split(",")):
            env = thread_environment(ranks)
            env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
            command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py", os.path.abspath(__file__),
                       "--worker", name, "--samples", str(samples), "--epochs", str(args.epochs)]
            subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
