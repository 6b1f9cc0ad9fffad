"""Data-parallel training equals one process: loopback ranks (threads, no MPI) and real ``mpiexec`` runs.

The cases live in tests/_distributed_cases.py: an MLP with Dropout, GaussianNoise, weight and activity
regularizers and sample weights; a masked per-step loss; synchronized BatchNormalization; a two-output
graph. Batches of 8, 8 and 7 rows (23 samples) give uneven shares; some runs give a rank no rows.
"""
import importlib.util
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import _distributed_cases as cases
from kspec.backend import comm
from kspec.cli.commands._launch import mpiexec_path
from kspec.models.distributed import rows_of

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MPIEXEC = mpiexec_path() if importlib.util.find_spec("mpi4py") else None


# ------------------------------------------------------------------------- without MPI


def test_rows_of_splits_contiguously_and_unevenly():
    for n in range(0, 12):
        for size in (1, 2, 3, 5):
            parts = [rows_of(r, size, n) for r in range(size)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
            lengths = [stop - start for start, stop in parts]
            assert max(lengths) - min(lengths) <= 1 and lengths == sorted(lengths, reverse=True)


def test_loopback_collectives_sum_and_broadcast():
    def work(c):
        buf = np.full(3, c.rank + 1, dtype="float32")
        c.allreduce(buf)
        arrays = [np.full(2, float(c.rank))]
        c.bcast_arrays(arrays)
        return buf, c.allreduce_small([c.rank, 1]), c.bcast({"from": c.rank}), arrays[0]

    for buf, small, obj, arr in comm.LoopbackGroup(3).run(work):
        np.testing.assert_array_equal(buf, [6, 6, 6])
        np.testing.assert_array_equal(small, [3, 3])
        assert obj == {"from": 0}
        np.testing.assert_array_equal(arr, [0, 0])


def test_loopback_error_reaches_the_caller_without_hanging():
    def work(c):
        if c.rank == 1:
            raise ValueError("rank 1 broke")
        c.allreduce_small([1.0])  # would wait forever for rank 1 without the barrier's abort

    with pytest.raises(ValueError, match="rank 1 broke"):
        comm.LoopbackGroup(2).run(work)


def test_single_process_helpers_change_nothing(monkeypatch):
    assert comm.current() is None
    assert comm.global_counts(3, 4) == (3, 4)
    assert comm.global_rows(5) == 5 and comm.counts_replicated_terms() and comm.batch_allreduce() is None
    rng = np.random.default_rng(0)
    assert comm.draw_rows(rng.random, (2, 3)).shape == (2, 3)
    for name in comm.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not comm.launched_by_mpi() and "mpi4py" not in sys.modules  # never imported without a launcher
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    assert comm.launched_by_mpi()


def test_shard_draws_the_global_batch_numbers_and_keeps_its_rows():
    group = comm.LoopbackGroup(3)
    comm.enter(comm.Shard(comm.Loopback(group, 1), 3, 5, 7))
    try:
        mine = comm.draw_rows(np.random.default_rng(4).random, (2, 3))
        assert comm.global_rows(2) == 7 and comm.global_rows(4) == 4
        assert not comm.counts_replicated_terms()
    finally:
        comm.leave()
    np.testing.assert_array_equal(mine, np.random.default_rng(4).random((7, 3))[3:5])


def test_generator_data_and_overridden_steps_are_refused_on_several_ranks():
    """Data-parallel fit shards array batches and runs the built-in steps; anything else is a KspecError
    before any collective (so every rank raises it), never a hang or a silently unsummed gradient."""
    from kspec.errors import KspecError

    model, (x, y), _ = cases.CASES["bn_sync"](3)
    with comm.use_world(comm.Loopback(comm.LoopbackGroup(2), 1)):  # rank 1 of 2, in this thread
        with pytest.raises(KspecError, match="needs array data"):
            model.fit(((x[i:i + 8], y[i:i + 8]) for i in range(0, len(x), 8)), epochs=1, verbose=0)
        with pytest.raises(KspecError, match="needs array data"):
            model.evaluate(((x[i:i + 8], y[i:i + 8]) for i in range(0, len(x), 8)), verbose=0)
        model.train_step = lambda data: {}
        with pytest.raises(KspecError, match="built-in train_step"):
            model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model._data_parallel is None


@pytest.mark.parametrize("name", ["mlp", "masked", "bn_sync"])
@pytest.mark.parametrize("size,batch_size", [(2, 8), (3, 7)])  # 3 ranks, batch 7: the last batch of 2 rows
def test_loopback_ranks_train_as_one_process(name, size, batch_size):   # leaves one rank without rows
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an empty share must not divide by zero
        results = cases.loopback_fit(name, size, batch_size=batch_size)
    for rank_result in results[1:]:
        cases.assert_same(results[0], rank_result)


def test_local_batch_normalization_averages_moving_statistics_across_ranks():
    from kspec.layers import BatchNormalization

    original = cases.CASES["bn_sync"]

    def local_bn(seed):
        model, data, kwargs = original(seed)
        bn = [layer for layer in model.layers if isinstance(layer, BatchNormalization)][0]
        bn.synchronized = False
        return model, data, kwargs

    cases.CASES["bn_local"] = local_bn
    try:
        one, *ranks = cases.loopback_fit("bn_local", 2)
    finally:
        del cases.CASES["bn_local"]
    for r in ranks[1:]:  # every rank holds the same weights, moving statistics included
        for a, b in zip(ranks[0]["weights"], r["weights"]):
            np.testing.assert_array_equal(a, b)
    # local statistics normalize differently from one process: documented, not hidden
    assert not all(np.allclose(a, b, rtol=1e-4) for a, b in zip(one["weights"], ranks[0]["weights"]))


# ------------------------------------------------------------------------- under mpiexec

needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="mpi4py or mpiexec is not installed (pip install kspec[mpi])")


def _mpi_env():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, HERE]), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    for key in comm.LAUNCHER_VARIABLES:
        env.pop(key, None)
    return env


def _mpirun(ranks, args, timeout=120):
    return subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, "-m", "mpi4py", *args],
                          capture_output=True, text=True, timeout=timeout, env=_mpi_env(), cwd=ROOT)


@needs_mpi
@pytest.mark.parametrize("ranks,names", [(2, ["mlp", "masked", "bn_sync", "multi_output"]),
                                         (3, ["mlp", "multi_output"])])
def test_mpiexec_ranks_train_as_one_process(tmp_path, ranks, names):
    """Real processes: shuffled, unseeded dropout, validation, evaluate; one process computes the same."""
    script = os.path.join(HERE, "_distributed_cases.py")
    for name in names:
        out = str(tmp_path / name)
        proc = _mpirun(ranks, [script, name, out])
        assert proc.returncode == 0, proc.stderr[-3000:]
        one = cases.run_case(name)
        for rank in range(ranks):
            with open(f"{out}.{rank}") as f:
                cases.assert_same(one, json.load(f))


@needs_mpi
def test_a_rank_that_raises_aborts_the_job_with_its_message(tmp_path):
    proc = _mpirun(2, [os.path.join(HERE, "_distributed_cases.py"), "raise", str(tmp_path / "r")], timeout=60)
    assert proc.returncode != 0
    assert "rank 1 failed on purpose" in proc.stderr


def _history_and_weights(run_dir):
    import csv

    import h5py

    with open(os.path.join(run_dir, "history.csv")) as f:
        history = [[float(v) for v in row] for row in list(csv.reader(f))[1:]]
    weights = []
    with h5py.File(os.path.join(run_dir, "model.h5"), "r") as f:
        group = f["model_weights"]
        group.visit(lambda n: weights.append(group[n][()]) if isinstance(group[n], h5py.Dataset) else None)
    return np.asarray(history), weights


@needs_mpi
def test_kspec_train_on_two_and_three_ranks_writes_one_run_folder_like_one_process(tmp_path):
    spec = os.path.join(ROOT, "configs", "quickstart.yaml")
    common = [spec, "-q", "--set", "fit.epochs=4"]
    env = _mpi_env()
    one = subprocess.run([sys.executable, "-m", "kspec", "train", *common, "--run-dir", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "kspec", "train", *common, "--run-dir", str(tmp_path / "two"),
                          "--ranks", "2"], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    three = _mpirun(3, ["-m", "kspec", "train", *common, "--run-dir", str(tmp_path / "three")])
    for proc in (two, three):
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert len(proc.stdout.strip().splitlines()) == 1  # one JSON object for the job
    assert sorted(os.listdir(tmp_path)) == ["one", "three", "two"]  # no second folder (two-1, ...)
    for name, ranks in (("one", None), ("two", 2), ("three", 3)):
        with open(tmp_path / name / "run.json") as f:
            record = json.load(f)
        assert record["status"] == "finished" and record.get("ranks") == ranks
    reference = json.loads(one.stdout)
    history, weights = _history_and_weights(reference["run_dir"])
    for proc, name in ((two, "two"), (three, "three")):
        result = json.loads(proc.stdout)
        assert result["run_dir"] == str(tmp_path / name)
        np.testing.assert_allclose(result["metrics"]["loss"], reference["metrics"]["loss"], rtol=1e-5)
        other_history, other_weights = _history_and_weights(result["run_dir"])
        np.testing.assert_allclose(other_history, history, rtol=2e-5, atol=2e-6)
        for a, b in zip(other_weights, weights):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_ranks_option_is_refused_under_a_launcher_and_drops_from_the_command_line(monkeypatch):
    from click.testing import CliRunner

    from kspec.cli.commands import _launch
    from kspec.cli.main import cli

    env = _launch.thread_environment(4, {"OMP_NUM_THREADS": "3"})
    assert env["OMP_NUM_THREADS"] == "3" and int(env["KSPEC_NUM_THREADS"]) >= 1
    monkeypatch.setenv("PMI_SIZE", "2")
    result = CliRunner().invoke(cli, ["train", os.path.join(ROOT, "configs", "quickstart.yaml"), "--ranks", "2"])
    assert result.exit_code == 2 and "leave --ranks out" in result.output
    monkeypatch.delenv("PMI_SIZE")
    result = CliRunner().invoke(cli, ["train", "--resume", "runs/x", "--ranks", "2"])
    assert result.exit_code == 2 and "--resume RUN runs on one process" in result.output


@pytest.mark.parametrize("axes,shape", [((0,), (5, 3)), ((0, 1, 2), (2, 3, 3, 4))])
def test_synchronized_normalize_batch_gradients(axes, shape):
    """The allreduce path of normalize_batch (here a world of one rank) against finite differences."""
    from kspec.engine import Tensor, Variable, ops
    from kspec.testing import check_backward

    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    gamma, beta = Variable(rng.normal(size=shape[-1:]) + 1.5), Variable(rng.normal(size=shape[-1:]))
    one_rank = comm.SingleProcess().allreduce_small
    check_backward(lambda t: ops.normalize_batch(t, axes, gamma, beta, allreduce=one_rank)[0], [x],
                   params=[gamma, beta])
    out, mean, var = ops.normalize_batch(Tensor(x), axes, allreduce=one_rank)
    reference = ops.normalize_batch(Tensor(x), axes)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, reference[0].data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, reference[2], rtol=1e-12)
