"""Fuzz and attack harness: hostile specs, model files and data files must end cleanly.

Hypothesis mutates every shipped config (configs/*.yaml), a trained model file (truncation, bit flips,
crafted shapes and configs) and .npy/CSV inputs. Each case runs the kspec command line in a worker
process whose address space is limited (1 GiB beyond its start-up size) and is killed when a case takes
more than 10 s. A case passes when kspec exits 0, 1 or 2 with no traceback and no "unexpected" error.

Profiles: the fast one runs in CI (a few dozen cases per target); ``KSPEC_FUZZ=long`` runs thousands
(by hand: ``KSPEC_FUZZ=long python -m pytest tests/test_fuzz_attack.py -q -s`` prints the counts).
"""
import copy
import json
import math
import os
import select
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(f for f in os.listdir(os.path.join(ROOT, "configs")) if f.endswith(".yaml"))
LONG = os.environ.get("KSPEC_FUZZ") == "long"
EXAMPLES = {"config": 2000, "model": 1000, "input": 1000} if LONG else {"config": 40, "model": 30, "input": 30}
CASE_TIMEOUT = 10.0
STATS = {}

FUZZ = settings(max_examples=1, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _seeded(chunk):
    """CI runs the same cases every time (a seed per chunk); the long profile draws new ones."""
    return (lambda f: f) if LONG else seed(20261207 + chunk)


class Worker:
    """The worker process (tests/_fuzz_worker.py); restarted after a hang or a crash."""

    def __init__(self):
        self.proc = None
        self.grace = 20.0  # the worker's start-up (imports) counts against the first case only

    def start(self):
        self.grace = 20.0
        env = dict(os.environ, PYTHONPATH=ROOT, KSPEC_DEBUG="")
        env.pop("KSPEC_MAX_MEMORY", None)
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "_fuzz_worker.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True)

    def run(self, argv, stdin=None):
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.proc.stdin.write(json.dumps({"argv": argv, "stdin": stdin}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], CASE_TIMEOUT + self.grace)
        if not ready:
            self.stop()
            return {"rc": "hang", "stderr": f"no answer within {CASE_TIMEOUT} s"}
        line = self.proc.stdout.readline()
        self.grace = 2.0
        if not line:
            err = self.proc.stderr.read()[-2000:]
            self.stop()
            return {"rc": "crash", "stderr": err}
        return json.loads(line)

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                pipe.close()
            self.proc = None


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()
    if STATS:
        print("\nfuzz:", json.dumps(STATS, sort_keys=True))


def check(worker, argv, what, stdin=None):
    result = worker.run(argv, stdin)
    stats = STATS.setdefault(what, {"cases": 0, "exit": {}, "max_seconds": 0.0})
    stats["cases"] += 1
    stats["exit"][str(result["rc"])] = stats["exit"].get(str(result["rc"]), 0) + 1
    stats["max_cpu_seconds"] = round(max(stats.get("max_cpu_seconds", 0.0), result.get("cpu", 0.0)), 3)
    if result.get("seconds", 0.0) > stats["max_seconds"]:
        stats["max_seconds"] = round(result["seconds"], 3)
        stats["slowest"] = argv[0] + " " + os.path.basename(argv[1]) + f" ({result['rc']})"
    text = result["stderr"]
    assert "out of memory" not in text, f"{what}: an allocation escaped the memory budget: {argv}\n{text}"
    assert result["rc"] in (0, 1, 2), f"{what}: exit {result['rc']} for {argv}\n{text}"
    # CPU time, which a busy machine does not inflate; a real hang is caught by the wall-clock limit
    assert result.get("cpu", 0) < CASE_TIMEOUT, f"{what}: {result['cpu']:.1f} s of CPU for {argv}"
    assert "Traceback" not in text and "error: unexpected " not in text, f"{what}: {argv}\n{text}"
    if result["rc"]:
        assert text.strip(), f"{what}: exit {result['rc']} without a message for {argv}"
    return result


# -- hostile values --------------------------------------------------------------------------------------
HOSTILE = st.sampled_from([
    None, True, 0, -1, 1, 2**31, 10**9, 10**12, 2**64, -(2**63), 1e308, -1e308, math.nan, math.inf,
    -math.inf, 1e-320, "", " ", "x", "nan", "inf", "1e999", "x ** 10 ** 10 ** 10", "os:system", "../" * 20,
    "/dev/zero", "/dev/stdin", "\x00", "é" * 50, [], [None], [10**9, 10**9], [-1], {}, {None: "x"},
    {"a": {"b": {"c": {}}}}, [[[[[]]]]], "A" * 5000,
])


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _set(doc, path, value):
    if not path:
        return value
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return doc


def _delete(doc, path):
    if not path:
        return doc
    target = doc
    for p in path[:-1]:
        target = target[p]
    del target[path[-1]]
    return doc


@st.composite
def mutated_config(draw):
    name = draw(st.sampled_from(CONFIGS))
    with open(os.path.join(ROOT, "configs", name), encoding="utf-8") as f:
        text = f.read()
    kind = draw(st.sampled_from(["value", "value", "value", "delete", "text"]))
    if kind == "text":
        data = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(["flip", "cut", "insert"]))
            pos = draw(st.integers(0, max(len(data) - 1, 0)))
            if op == "flip" and data:
                data[pos] ^= 1 << draw(st.integers(0, 7))
            elif op == "cut":
                del data[pos:]
            else:
                data[pos:pos] = draw(st.sampled_from([b"\n- ", b": ", b"[", b"{", b"&a ", b"*a", b"!!python/object ",
                                                      b"\t", b"\xff", b"999999999999999999999"]))
        return name, bytes(data)
    doc = yaml.safe_load(text)
    paths = list(_paths(doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        if kind == "delete" and path:
            doc = _delete(doc, path)
        else:
            doc = _set(doc, path, copy.deepcopy(draw(HOSTILE)))
    return name, yaml.safe_dump(doc, allow_unicode=True).encode()


@pytest.mark.parametrize("chunk", range(4))
def test_mutated_configs_end_cleanly(worker, tmp_path, chunk):
    os.symlink(os.path.join(ROOT, "configs", "data"), tmp_path / "data")

    @settings(FUZZ, max_examples=EXAMPLES["config"] // 4)
    @_seeded(chunk)
    @given(mutated_config())
    def run(case):
        name, data = case
        path = tmp_path / name
        path.write_bytes(data)
        argv = ["validate", str(path)]
        if "iris" in data.decode("utf-8", "replace") or name in ("quickstart.yaml", "two_input.yaml", "siamese.yaml"):
            argv.append("--data")
        check(worker, argv, "config")
    run()


# -- model files -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from kspec import run

    folder = tmp_path_factory.mktemp("fuzzrun")
    cwd = os.getcwd()
    os.chdir(os.path.join(ROOT, "configs"))
    try:
        result = run.train("quickstart.yaml", run_dir=str(folder / "iris"), overrides=["fit.epochs=2"], verbose=0)
    finally:
        os.chdir(cwd)
    rows = np.loadtxt(os.path.join(ROOT, "configs", "data", "iris_test.csv"), delimiter=",", skiprows=1,
                      usecols=range(4), dtype=np.float32)
    np.savetxt(folder / "rows.csv", rows, delimiter=",")
    return result.run_dir, str(folder / "rows.csv")


def _craft(draw, source, target):
    import h5py

    shutil.copy(source, target)
    with h5py.File(target, "r+") as f:
        if draw(st.booleans()):
            del f.attrs["kspec_checksum"]  # as if written by another tool: no checksum to stop it
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
        layer = draw(st.sampled_from(layers))
        key = draw(st.sampled_from(sorted(layer["config"])))
        layer["config"][key] = draw(st.one_of(HOSTILE, st.integers(-5, 10**10)))
        if draw(st.booleans()):
            layers.insert(draw(st.integers(0, len(layers))), draw(st.sampled_from([
                {"class_name": "Lambda", "config": {"name": "l", "function": "x ** 10 ** 10 ** 10"}},
                {"class_name": "Lambda", "config": {"name": "l", "function": "os:system"}},
                {"class_name": "Dense", "config": {"name": "big", "units": 10**9}},
                {"class_name": "Embedding", "config": {"name": "e", "input_dim": 10**9, "output_dim": 10**3}},
                {"class_name": "Lambda", "config": {"name": "l", "function": {
                    "class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None}}}},
            ])))
        f.attrs["model_config"] = json.dumps(config).encode()
        if draw(st.booleans()):
            name = draw(st.sampled_from(sorted(_datasets(f))))
            data = f[name][()]
            del f[name]
            shape = draw(st.sampled_from([(10**6, 10**6), (0,), (2**31,), data.shape[::-1], ()]))
            f.create_dataset(name, shape=shape, dtype=data.dtype)  # declared, never written


def _datasets(f):
    import h5py
    found = []
    f.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) else None)
    return found


@pytest.mark.parametrize("chunk", range(3))
def test_damaged_and_crafted_model_files_end_cleanly(worker, trained, tmp_path, chunk):
    run_dir, rows = trained
    source = os.path.join(run_dir, "model.h5")
    with open(source, "rb") as f:
        original = f.read()

    @settings(FUZZ, max_examples=EXAMPLES["model"] // 3)
    @_seeded(chunk)
    @given(st.data())
    def run(data):
        draw = data.draw
        target = tmp_path / "model.h5"
        kind = draw(st.sampled_from(["flip", "flip", "truncate", "craft"]))
        if kind == "craft":
            _craft(draw, source, target)
        else:
            b = bytearray(original)
            if kind == "truncate":
                del b[draw(st.integers(0, len(b) - 1)):]
            else:
                for _ in range(draw(st.integers(1, 8))):
                    b[draw(st.integers(0, len(b) - 1))] ^= 1 << draw(st.integers(0, 7))
            target.write_bytes(bytes(b))
        command = draw(st.sampled_from([["predict", str(target), rows], ["summary", str(target)],
                                        ["predict", str(target), rows, "--output-format", "npy"]]))
        result = check(worker, command, "model")
        if kind == "flip" and result["rc"] == 0 and command[0] == "predict":
            STATS["model"]["flips_loaded"] = STATS["model"].get("flips_loaded", 0) + 1
    run()


def test_bit_flips_never_change_predictions_silently(trained, tmp_path):
    """A kspec model file with any bit flipped either predicts exactly as before or is refused."""
    from kspec import run

    run_dir, rows = trained
    source = os.path.join(run_dir, "model.h5")
    with open(source, "rb") as f:
        original = f.read()
    x = np.loadtxt(rows, delimiter=",", dtype=np.float32)
    expected = run.predict(source, x)
    rng = np.random.default_rng(0)
    refused = same = 0
    for _ in range(400 if LONG else 60):
        b = bytearray(original)
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        (tmp_path / "m.h5").write_bytes(bytes(b))
        try:
            got = run.predict(str(tmp_path / "m.h5"), x)
        except Exception as e:  # noqa: BLE001 - every refusal must be one of kspec's clear errors
            assert type(e).__name__ in ("ModelFileError", "DataError"), repr(e)
            refused += 1
            continue
        np.testing.assert_array_equal(got, expected)
        same += 1
    STATS["bit_flips"] = {"refused": refused, "identical": same}


# -- data inputs -----------------------------------------------------------------------------------------
@st.composite
def hostile_input(draw):
    kind = draw(st.sampled_from(["npy_header", "npy_flip", "csv", "npz"]))
    if kind in ("npy_header", "npy_flip"):
        import io
        buf = io.BytesIO()
        shape = draw(st.sampled_from([(10**11, 4), (2**62, 2), (4,), (0, 4), (3, 4), (3, 4, 5), (10**6, 10**6)]))
        dtype = draw(st.sampled_from(["<f4", "<f8", "<i8", "|u1", "<c8", "|b1", "<U3", "|O"]))
        np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
        body = draw(st.binary(max_size=200))
        data = bytearray(buf.getvalue() + body)
        if kind == "npy_flip":
            for _ in range(draw(st.integers(1, 6))):
                data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        return "in.npy", bytes(data)
    if kind == "npz":
        import io
        import zipfile
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            inner = io.BytesIO()
            np.lib.format.write_array_header_1_0(inner, {"descr": "<f4", "fortran_order": False,
                                                         "shape": draw(st.sampled_from([(10**10, 4), (2, 4)]))})
            z.writestr("x.npy", inner.getvalue() + draw(st.binary(max_size=64)))
        return "in.npz", buf.getvalue()
    cell = st.sampled_from(["1", "-0", "nan", "inf", "-inf", "1e39", "1e-50", "x", "", " ", '"', "1,2", "𝟙",
                            "99999999999999999999999", "0x10", "\x00"])
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=7), min_size=0, max_size=6))
    return "in.csv", "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("chunk", range(3))
def test_hostile_inputs_end_cleanly(worker, trained, tmp_path, chunk):
    run_dir, _ = trained

    @settings(FUZZ, max_examples=EXAMPLES["input"] // 3)
    @_seeded(chunk)
    @given(hostile_input(), st.sampled_from(["file", "stdin"]))
    def run(case, how):
        name, data = case
        path = tmp_path / name
        path.write_bytes(data)
        if how == "file":
            check(worker, ["predict", run_dir, str(path)], "input")
        else:
            check(worker, ["predict", run_dir, "-"], "input", stdin=str(path))
    run()
