"""Issue 20: bounded work and memory, non-finite numbers, integrity and validation holes (in-process)."""
import gzip
import json
import os
import shutil
import sys
import threading

import h5py
import numpy as np
import pytest
import yaml

from kspec import run
from kspec.backend import memory
from kspec.data import DataError
from kspec.io import ModelFileError
from kspec.spec import SpecError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "configs", "data")
QUICKSTART = os.path.join(REPO, "configs", "quickstart.yaml")


def spec(**changes):
    with open(QUICKSTART) as f:
        doc = yaml.safe_load(f)
    doc["data"]["train"]["path"] = os.path.join(DATA, "iris_train.csv")
    doc["data"]["test"]["path"] = os.path.join(DATA, "iris_test.csv")
    doc["fit"]["epochs"] = 2
    doc["fit"]["verbose"] = 0
    for path, value in changes.items():
        target = doc
        keys = path.split(".")
        for k in keys[:-1]:
            target = target[int(k) if k.isdigit() else k]
        target[keys[-1]] = value
    return doc


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write(tmp_path, doc, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def spec_error(config, **kwargs):
    with pytest.raises(SpecError) as info:
        run.validate(config, **kwargs)
    return info.value.format()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hardening")
    return run.train(spec(), run_dir=str(folder / "iris"), verbose=0).run_dir


# -- bounded work ----------------------------------------------------------------------------------------
def test_huge_lambda_constant_is_refused_at_its_column(tmp_path):
    doc = spec(**{"model.layers": [{"Lambda": "x ** 10 ** 10 ** 10"}, {"Dense": 3}]})
    text = spec_error(write(tmp_path, doc))
    assert "the constant 10 ** 10000000000 is too large" in text
    line = [l for l in text.splitlines() if "error:" in l][0]
    assert line.split(":")[2] != "", "file:line:col"


@pytest.mark.parametrize("expression, message", [
    ("x * 2 ** 5000", "too large"), ("x ** 2.5 ** 1000", "overflows"), ("tile(x, 10 ** 9)", "memory budget"),
])
def test_lambda_constants_and_sizes_are_bounded(tmp_path, monkeypatch, expression, message):
    monkeypatch.setenv("KSPEC_MAX_MEMORY", "100M")
    doc = spec(**{"model.layers": [{"Lambda": expression}, {"Dense": 3}]})
    assert message in spec_error(write(tmp_path, doc))


def test_lambda_that_fits_still_works(tmp_path):
    doc = spec(**{"model.layers": [{"Lambda": "x * 10 ** 300 / 10 ** 300 + 2 ** 10"}, {"Dense": 3}]})
    assert run.validate(write(tmp_path, doc))["total_params"] == 15


def test_huge_dense_is_refused_before_allocating(tmp_path, monkeypatch):
    monkeypatch.setenv("KSPEC_MAX_MEMORY", "1G")
    text = spec_error(write(tmp_path, spec(**{"model.layers.0.Dense.units": 10**9})))
    assert "weight 'kernel' of shape (4, 1000000000) needs 16 GB" in text
    assert "--max-memory" in text and "KSPEC_MAX_MEMORY" in text


def test_weights_count_together_against_the_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("KSPEC_MAX_MEMORY", "3M")  # each kernel 2.56 MB fits, both do not
    doc = spec(**{"model.layers": [{"Dense": 800}, {"Dense": 800}, {"Dense": 3}], "model.input_shape": [800]})
    text = spec_error(write(tmp_path, doc))
    assert "dense_1" in text and "before it" in text


def test_budget_sizes_parse():
    assert memory.parse_size("16G") == 16 * 10**9 and memory.parse_size("2GiB") == 2 * 2**30
    assert memory.parse_size("500MB") == 500 * 10**6 and memory.parse_size("123") == 123
    with pytest.raises(ValueError):
        memory.parse_size("lots")
    assert memory.format_size(16e9) == "16 GB"


def test_validate_estimates_memory_and_warns_over_the_budget(tmp_path, monkeypatch):
    report = run.validate(QUICKSTART)
    assert report["memory"]["weights"] == 131 * 4
    assert report["memory"]["training"] == 131 * 4 * 4, "weights, gradients and Adam's two slots"
    assert not any("memory budget" in d.message for d in report["warnings"])
    monkeypatch.setenv("KSPEC_MAX_MEMORY", "2K")
    report = run.validate(QUICKSTART)
    assert any("training needs about" in d.message and d.line for d in report["warnings"])


def _crafted_model(src, dst, change):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        change(config["config"]["layers"])
        f.attrs["model_config"] = json.dumps(config).encode()
        del f.attrs["kspec_checksum"]  # a crafted file carries no (or a recomputed) checksum


def test_model_file_config_claiming_a_huge_layer_is_refused(trained, tmp_path):
    target = tmp_path / "m.h5"
    _crafted_model(os.path.join(trained, "model.h5"), target,
                   lambda layers: layers[1]["config"].update(units=750_000_000))
    with pytest.raises(ModelFileError, match="describes at least 12 GB of weights.*more than the file"):
        run.summary(str(target))


def test_model_file_lambda_with_a_huge_constant_is_refused(trained, tmp_path):
    target = tmp_path / "m.h5"
    _crafted_model(os.path.join(trained, "model.h5"), target, lambda layers: layers.insert(1, {
        "class_name": "Lambda", "config": {"name": "l", "function": "x ** 10 ** 10 ** 10"}}))
    with pytest.raises(ModelFileError, match="too large"):
        run.load_run(str(target))


def test_weight_dataset_declaring_more_than_it_stores_is_refused(trained, tmp_path):
    target = tmp_path / "m.h5"
    shutil.copy(os.path.join(trained, "model.h5"), target)
    with h5py.File(target, "r+") as f:
        del f.attrs["kspec_checksum"]
        name = "model_weights/dense/sequential/dense/bias"
        del f[name]
        f.create_dataset(name, shape=(16,), dtype="f4")  # declared, never written
    with pytest.raises(ModelFileError, match="declares shape .16,. .* but the file stores 0 bytes"):
        run.load_run(str(target))


def _npy_header(path, shape, body=b""):
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": shape})
        f.write(body)


def test_npy_header_claiming_a_terabyte_is_refused(trained, tmp_path):
    _npy_header(tmp_path / "x.npy", (10**11, 4), b"\0" * 64)
    loaded = run.load_run(trained, compile=False, with_spec=False)
    with pytest.raises(DataError, match=r"declares shape \(100000000000, 4\) of float32 \(1.6 TB\)"):
        run.read_input(loaded, str(tmp_path / "x.npy"))


def test_npz_member_header_is_checked(tmp_path):
    import io
    import zipfile

    from kspec.data import read_array_file
    inner = io.BytesIO()
    np.lib.format.write_array_header_1_0(inner, {"descr": "<f4", "fortran_order": False, "shape": (10**10, 4)})
    with zipfile.ZipFile(tmp_path / "x.npz", "w") as z:
        z.writestr("x.npy", inner.getvalue())
    with pytest.raises(DataError, match="declares shape"):
        read_array_file(tmp_path / "x.npz")


def test_idx_header_is_checked_against_the_file(tmp_path):
    from kspec.data import read_array_file
    (tmp_path / "x-idx3-ubyte").write_bytes(b"\0\0\x08\x03" + (10**5).to_bytes(4, "big") * 3)
    with pytest.raises(DataError, match="truncated IDX file"):
        read_array_file(tmp_path / "x-idx3-ubyte")


def test_devices_are_refused(tmp_path):
    doc = spec(**{"data.train": {"path": "/dev/zero", "format": "csv", "label_column": 0}})
    with pytest.raises(DataError, match="is a device"):
        run.train(write(tmp_path, doc), run_dir=str(tmp_path / "r"), verbose=0)
    assert not (tmp_path / "r").exists()


def test_endless_fifo_and_gzip_bomb_stop_at_the_budget(tmp_path, monkeypatch):
    from kspec.data import read_array_file
    monkeypatch.setenv("KSPEC_MAX_MEMORY", "1M")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    stop = threading.Event()

    def writer():
        try:
            with open(fifo, "wb") as f:
                while not stop.is_set():
                    f.write(b"1,2,3\n" * 10000)
        except BrokenPipeError:
            pass
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with pytest.raises(DataError, match="larger than kspec's memory budget of 1 MB"):
            read_array_file(fifo)
    finally:
        stop.set()
        thread.join()
    (tmp_path / "bomb.csv.gz").write_bytes(gzip.compress(b"0" * 5_000_000))
    with pytest.raises(DataError, match="decompressed file is larger"):
        read_array_file(tmp_path / "bomb.csv.gz")


# -- non-finite numbers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path, value, message", [
    ("compile.optimizer", {"Adam": {"learning_rate": float("nan")}}, "learning_rate must be a finite number"),
    ("compile.optimizer", {"SGD": {"learning_rate": float("inf")}}, "learning_rate must be a finite number"),
    ("compile.loss_weights", [float("nan")], "loss_weights.0 must be a finite number"),
    ("model.layers.0.Dense", {"units": 16, "kernel_regularizer": {"L2": {"l2": float("-inf")}}},
     "l2 must be a finite number, found -.inf"),
])
def test_non_finite_hyperparameters_are_spec_errors_at_their_line(tmp_path, path, value, message):
    text = spec_error(write(tmp_path, spec(**{path: value})))
    assert message in text and "spec.yaml:" in text


def test_predict_and_evaluate_refuse_non_finite_inputs(trained, tmp_path):
    x = np.ones((3, 4), np.float32)
    x[2, 1] = np.nan
    with pytest.raises(DataError, match=r"1 NaN value in 1 sample \(first: sample 2, column 1\)"):
        run.predict(trained, x)
    rows = read(os.path.join(DATA, "iris_test.csv")).splitlines()
    rows[3] = "inf," + rows[3].split(",", 1)[1]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match="the evaluation data: 1 inf value"):
        run.evaluate(trained, data=str(tmp_path / "t.csv"))


def test_diverged_weights_are_not_saved_and_not_loaded(trained, tmp_path, monkeypatch):
    from kspec.models import Sequential
    real_fit = Sequential.fit

    def diverging_fit(self, *args, **kwargs):
        history = real_fit(self, *args, **kwargs)
        self.layers[0].weights[0].assign(np.full(self.layers[0].weights[0].shape, np.nan, np.float32))
        return history
    monkeypatch.setattr(Sequential, "fit", diverging_fit)
    with pytest.raises(ModelFileError, match="not saved: the weights hold NaN or inf values"):
        run.train(spec(), run_dir=str(tmp_path / "nan"), verbose=0)
    with open(tmp_path / "nan" / "run.json") as handle:  # kept (epochs ended) as a failed run, never finished
        assert json.load(handle)["status"] == "failed"
    monkeypatch.undo()
    loaded = run.load_run(trained)
    loaded.model.layers[0].weights[0].assign(np.full(loaded.model.layers[0].weights[0].shape, np.inf, np.float32))
    from kspec.io import save_model
    save_model(loaded.model, tmp_path / "inf.h5")
    with pytest.raises(ModelFileError, match="cannot use this model: the weights hold NaN or inf"):
        run.load_run(str(tmp_path / "inf.h5"))
    assert "Total params" in run.summary(str(tmp_path / "inf.h5")), "summary still shows it"


def test_non_finite_rows_are_found():
    p = np.zeros((4, 3), np.float32)
    p[1, 2], p[3, 0] = np.nan, np.inf
    assert run.non_finite_rows(p) == [1, 3]
    assert run.non_finite_rows([p[:, :1], p[:, 1:]]) == [1, 3]


# -- integrity -------------------------------------------------------------------------------------------
def test_weight_datasets_carry_fletcher32_and_the_file_a_checksum(trained):
    with h5py.File(os.path.join(trained, "model.h5"), "r") as f:
        kernel = f["model_weights/dense/sequential/dense/kernel"]
        assert kernel.fletcher32 and kernel.chunks == kernel.shape
        assert len(f.attrs["kspec_checksum"]) == 64


def _flip(path, offset, bit=0):
    data = bytearray(read(path, "rb"))
    data[offset] ^= 1 << bit
    with open(path, "wb") as f:
        f.write(bytes(data))


def test_damaged_weights_fail_their_checksum_naming_the_dataset(trained, tmp_path):
    target = tmp_path / "m.h5"
    shutil.copy(os.path.join(trained, "model.h5"), target)
    with h5py.File(target, "r") as f:
        offset = f["model_weights/dense/sequential/dense/kernel"].id.get_chunk_info(0).byte_offset
    _flip(target, offset + 5)
    with pytest.raises(ModelFileError, match="dataset /model_weights/dense/sequential/dense/kernel fails its "
                                             "fletcher32 checksum"):
        run.load_run(str(target))


def test_damaged_attributes_fail_the_file_checksum(trained, tmp_path):
    target = tmp_path / "m.h5"
    shutil.copy(os.path.join(trained, "model.h5"), target)
    data = read(target, "rb")
    _flip(target, data.index(b'"mean": [') + 12)  # a digit of the stored standardize mean
    with pytest.raises(ModelFileError, match="does not match its checksum"):
        run.load_run(str(target))


def test_keras_files_without_checksums_load():
    model, _ = __import__("kspec.io", fromlist=["x"]).load_model_and_spec(
        os.path.join(REPO, "tests", "fixtures", "functional_keras.h5"), compile=False)
    assert model.count_params() > 0


# -- validation holes ------------------------------------------------------------------------------------
def test_seed_out_of_range_and_null_loss_name_their_line(tmp_path):
    assert "spec.yaml:" in spec_error(write(tmp_path, spec(seed=2**64)))
    assert "seed must be an integer from 0 to 4294967295" in spec_error(write(tmp_path, spec(seed=2**64)))
    text = spec_error(write(tmp_path, spec(**{"compile.loss": None})))
    assert "loss is null" in text and "spec.yaml:" in text


def test_empty_loss_mapping_of_a_graph_model_is_a_spec_error(tmp_path):
    with open(os.path.join(REPO, "configs", "two_input.yaml")) as f:
        doc = yaml.safe_load(f)
    doc["compile"]["loss"] = {}
    doc["data"] = {}
    assert "a loss is a name or {ClassName: {arguments}}" in spec_error(write(tmp_path, doc))


def test_source_key_mappings_need_string_names(tmp_path):
    doc = spec(**{"data.test": {"path": os.path.join(DATA, "iris_test.csv"), "x": {None: "source"}}})
    assert "data.test.x: the names in this mapping are the model's input names" in \
        spec_error(write(tmp_path, doc))


def test_one_nan_cell_is_reported_as_read_and_only_in_its_split(tmp_path):
    rows = read(os.path.join(DATA, "iris_train.csv")).splitlines()
    cells = rows[5].split(",")
    cells[1] = "nan"
    rows[5] = ",".join(cells)
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    doc = spec(**{"data.train.path": str(tmp_path / "train.csv")})
    text = spec_error(write(tmp_path, doc), data=True)
    assert "data.train: 1 NaN value in 1 sample (first: sample 4, column 1) in the inputs as read" in text
    assert "data.test" not in text, "the clean test split is not blamed"


def test_model_file_references_need_allow_code(trained, tmp_path, monkeypatch):
    (tmp_path / "kspec_probe_mod.py").write_text(
        "import os\nos.environ['KSPEC_PROBE_IMPORTED'] = '1'\n\ndef double(x):\n    return x * 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("KSPEC_PROBE_IMPORTED", raising=False)
    target = tmp_path / "m.h5"
    _crafted_model(os.path.join(trained, "model.h5"), target, lambda layers: layers.insert(1, {
        "class_name": "Lambda", "config": {"name": "l", "function": "kspec_probe_mod:double"}}))
    monkeypatch.delenv("KSPEC_ALLOW_CODE", raising=False)
    from kspec.user_code import UserCodeError
    with pytest.raises(UserCodeError, match="--allow-code") as info:  # refused: a usage error, exit 2
        run.load_run(str(target))
    assert info.value.exit_code == 2
    assert "KSPEC_PROBE_IMPORTED" not in os.environ and "kspec_probe_mod" not in sys.modules
    monkeypatch.setenv("KSPEC_ALLOW_CODE", "1")
    run.load_run(str(target), with_spec=False)
    assert os.environ.get("KSPEC_PROBE_IMPORTED") == "1", "--allow-code imports the named module"
    sys.modules.pop("kspec_probe_mod", None)
