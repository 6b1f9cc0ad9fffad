"""Readers: each format round-trips, each bad file raises DataError naming the file (and line)."""
import gzip
import io
import json
import os
import struct

import h5py
import numpy as np
import pytest

from kspec.data import DataError, load_split, pick_array, read_array_file, read_stream
from kspec.data.readers import parse_idx, sniff_format

IRIS = os.path.join(os.path.dirname(__file__), os.pardir, "configs", "data", "iris.csv")


def write(path, text):
    path.write_text(text)
    return str(path)


def idx_bytes(arr, code=0x08):
    """An IDX file: magic (0, 0, type, ndim), big-endian sizes, big-endian data."""
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4"}[code]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(dtype).tobytes()


# ------------------------------------------------------------------------------------ DataError

def test_data_error_reads_path_line_message_hint():
    e = DataError("expected 5 columns, found 4", "data/iris.csv", line=7, hint="fix row 7")
    assert str(e) == "data/iris.csv: line 7: expected 5 columns, found 4 (hint: fix row 7)"
    assert (e.path, e.line, e.message, e.hint) == ("data/iris.csv", 7, "expected 5 columns, found 4",
                                                   "fix row 7")
    assert str(DataError("no data")) == "no data"


def test_missing_file_unknown_extension_and_folder(tmp_path):
    with pytest.raises(DataError, match="file not found") as e:
        read_array_file(tmp_path / "nope.npz")
    assert e.value.path.endswith("nope.npz")
    with pytest.raises(DataError, match="unknown file type"):
        read_array_file(write(tmp_path / "a.xyz", "1"))
    with pytest.raises(DataError, match="folder"):
        read_array_file(tmp_path, fmt="npy")


# ------------------------------------------------------------------------------------- npz, npy

def test_npz_round_trip_by_key_and_whole(tmp_path):
    x, y = np.arange(12, dtype=np.float32).reshape(3, 4), np.array([0, 1, 2])
    np.savez(tmp_path / "d.npz", x=x, y=y)
    np.testing.assert_array_equal(read_array_file(tmp_path / "d.npz", "x"), x)
    both = read_array_file(tmp_path / "d.npz")
    assert sorted(both) == ["x", "y"] and both["y"].dtype == y.dtype


def test_npz_missing_key_lists_the_keys(tmp_path):
    np.savez_compressed(tmp_path / "d.npz", x_train=np.zeros(2), y_train=np.zeros(2))
    with pytest.raises(DataError) as e:
        read_array_file(tmp_path / "d.npz", "x")
    msg = str(e.value)
    assert "d.npz" in msg and "'x'" in msg and "'x_train'" in msg and "'y_train'" in msg


def test_npy_round_trip(tmp_path):
    x = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = read_array_file(tmp_path / "x.npy")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x)


def test_pickled_object_arrays_are_refused(tmp_path):
    obj = np.array([{"a": 1}, None], dtype=object)
    np.save(tmp_path / "o.npy", obj, allow_pickle=True)
    np.savez(tmp_path / "o.npz", x=obj)
    for name in ("o.npy", "o.npz"):
        with pytest.raises(DataError, match="pickled") as e:
            read_array_file(tmp_path / name, "x" if name.endswith("z") else None)
        assert e.value.path.endswith(name)


def test_truncated_npy_and_npz(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(1000.0))
    np.savez(tmp_path / "x.npz", x=np.arange(1000.0))
    for name in ("x.npy", "x.npz"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(data[:len(data) // 2])
        with pytest.raises(DataError, match="truncated or corrupt") as e:
            read_array_file(tmp_path / name, "x" if name.endswith("z") else None)
        assert name in str(e.value)


def test_npz_that_is_not_a_zip(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"hello world")
    with pytest.raises(DataError, match="not an .npz"):
        read_array_file(tmp_path / "x.npz")


# ------------------------------------------------------------------------------------------ CSV

def test_csv_header_auto_and_label_column_by_name(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n")
    out = read_array_file(path, label_column="label")
    assert out["x"].dtype == np.float32 and out["x"].shape == (3, 2)
    np.testing.assert_array_equal(out["y"], [0, 1, 0])
    assert list(out["classes"]) == ["cat", "dog"]


def test_csv_numeric_labels_by_index_and_no_header(tmp_path):
    path = write(tmp_path / "d.csv", "0,1.5,2\n1,2.5,3\n# a comment\n\n2,3.5,4\n")
    out = read_array_file(path, label_column=0)
    np.testing.assert_array_equal(out["y"], [0, 1, 2])
    assert out["y"].dtype == np.int64 and "classes" not in out
    np.testing.assert_array_equal(out["x"], [[1.5, 2], [2.5, 3], [3.5, 4]])
    plain = read_array_file(path)
    assert plain.shape == (3, 3) and plain.dtype == np.float32


def test_csv_known_classes_map_alike_and_unknown_class_names_the_line(tmp_path):
    test = write(tmp_path / "test.csv", "x,y\n1,dog\n2,dog\n")  # no cat: dog stays 1, not 0
    out = read_array_file(test, label_column="y", classes=["cat", "dog"])
    assert out["y"].tolist() == [1, 1] and list(out["classes"]) == ["cat", "dog"]
    path = write(tmp_path / "t.csv", "x,y\n1,dog\n2,dog\n3,bird\n")
    with pytest.raises(DataError, match="unknown class 'bird'") as e:
        read_array_file(path, label_column="y", classes=["cat", "dog"])
    assert e.value.line == 4
    out = read_array_file(path, label_column="y", classes=["bird", "cat", "dog"])
    np.testing.assert_array_equal(out["y"], [2, 2, 0])


def test_csv_ragged_row_names_the_line(tmp_path):
    path = write(tmp_path / "r.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n")
    with pytest.raises(DataError) as e:
        read_array_file(path)
    assert e.value.line == 4
    assert str(e.value).startswith(f"{path}: line 4: expected 3 columns, found 2")


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    path = write(tmp_path / "n.csv", "a,b\n1,2\n3,oops\n")
    with pytest.raises(DataError) as e:
        read_array_file(path)
    assert e.value.line == 3 and "column 2 ('b')" in str(e.value) and "'oops'" in str(e.value)
    assert "label_column" in e.value.hint
    with pytest.raises(DataError, match="empty cell"):
        read_array_file(write(tmp_path / "e.csv", "1,2\n3,\n"))


def test_csv_header_options_and_errors(tmp_path):
    path = write(tmp_path / "h.csv", "1,2\n3,4\n")
    assert read_array_file(path, header=True).shape == (1, 2)
    assert read_array_file(path, header=False).shape == (2, 2)
    with pytest.raises(DataError, match="no header row"):
        read_array_file(path, label_column="b")
    with pytest.raises(DataError, match="out of range"):
        read_array_file(path, label_column=5)
    with pytest.raises(DataError, match="no column named 'z'"):
        read_array_file(write(tmp_path / "h2.csv", "a,b\n1,2\n"), label_column="z")
    with pytest.raises(DataError, match="empty"):
        read_array_file(write(tmp_path / "empty.csv", ""))
    with pytest.raises(DataError, match="no data rows below the header"):
        read_array_file(write(tmp_path / "only.csv", "a,b\n"))


def test_tsv_txt_and_gzipped_csv(tmp_path):
    assert read_array_file(write(tmp_path / "d.tsv", "a\tb\n1\t2\n")).tolist() == [[1, 2]]
    assert read_array_file(write(tmp_path / "d.txt", "1 2  3\n4 5 6\n")).shape == (2, 3)
    quoted = read_array_file(write(tmp_path / "q.csv", '"a","b"\n"1","x, y"\n'), label_column="b")
    assert quoted["x"].tolist() == [[1]] and list(quoted["classes"]) == ["x, y"]
    with gzip.open(tmp_path / "d.csv.gz", "wt") as f:
        f.write("1,2\n3,4\n")
    assert read_array_file(tmp_path / "d.csv.gz").shape == (2, 2)


def test_iris_csv_is_fishers_data():
    x, y = split = load_split({"path": "iris.csv", "label_column": "species"},
                              os.path.dirname(IRIS))
    assert x.shape == (150, 4) and x.dtype == np.float32
    assert split.classes == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(np.bincount(y), [50, 50, 50])
    np.testing.assert_allclose(x.mean(axis=0), [5.843, 3.057, 3.758, 1.199], atol=5e-4)


def test_npz_and_h5_keep_class_names_beside_integer_labels(tmp_path):
    x, y = np.zeros((3, 2), np.float32), np.array([0, 2, 1])
    np.savez(tmp_path / "a.npz", x=x, y=y, classes=np.array(["de", "es", "it"]))
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["x"], f["y"], f["classes"] = x, y, np.array([b"de", b"es", b"it"])
    for name in ("a.npz", "a.h5"):
        split = load_split({"path": name, "x": "x", "y": "y"}, str(tmp_path))
        assert split.classes == ["de", "es", "it"], name
        np.testing.assert_array_equal(split.y, y)
    np.savez(tmp_path / "plain.npz", x=x, y=y)
    assert load_split({"path": "plain.npz", "x": "x", "y": "y"}, str(tmp_path)).classes is None
    np.savez(tmp_path / "short.npz", x=x, y=y, classes=np.array(["de", "es"]))
    with pytest.raises(DataError, match="'classes' names 2 classes"):
        load_split({"path": "short.npz", "x": "x", "y": "y"}, str(tmp_path))


# ----------------------------------------------------------------------------------------- HDF5

def test_h5_round_trip_and_missing_dataset(tmp_path):
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["train/x"] = np.ones((4, 2), np.float32)
        f["train/y"] = np.arange(4)
    np.testing.assert_array_equal(read_array_file(path, "train/x"), np.ones((4, 2)))
    assert sorted(read_array_file(path)) == ["train/x", "train/y"]
    with pytest.raises(DataError, match="'train/x'") as e:
        read_array_file(path, "x")
    assert "d.h5" in str(e.value)
    with pytest.raises(DataError, match="a group"):
        read_array_file(path, "train")


def test_truncated_and_garbage_h5(tmp_path):
    path = tmp_path / "t.hdf5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(20000.0)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3])
    with pytest.raises(DataError, match="truncated or corrupt") as e:
        read_array_file(path, "x")
    assert e.value.path == str(path)
    (tmp_path / "g.h5").write_bytes(b"\0" * 100)
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        read_array_file(tmp_path / "g.h5", "x")


# ------------------------------------------------------------------------------------------ IDX

def test_idx_round_trip_gz_and_plain(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "a-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        out = read_array_file(tmp_path / name)
        assert out.dtype == np.uint8 and not out.flags.writeable
        np.testing.assert_array_equal(out, images)
    ints = np.array([[1, -2], [300000, 4]], dtype=np.int32)
    (tmp_path / "b.idx").write_bytes(idx_bytes(ints, 0x0C))
    out = read_array_file(tmp_path / "b.idx")
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, ints)


def test_idx_bad_magic_and_sizes(tmp_path):
    good = idx_bytes(np.zeros((3, 2, 2), np.uint8))
    with pytest.raises(DataError, match="bad magic number 0x0803"):
        parse_idx(b"\x08\x03" + good[2:], "f")
    with pytest.raises(DataError, match="truncated IDX file.*shape \\(3, 2, 2\\)"):
        parse_idx(good[:-1], "f")
    with pytest.raises(DataError, match="corrupt IDX file"):
        parse_idx(good + b"\0", "f")
    with pytest.raises(DataError, match="header needs 16 bytes"):
        parse_idx(good[:10], "f")
    (tmp_path / "x-idx3-ubyte").write_bytes(b"")
    with pytest.raises(DataError, match="the file is empty"):
        read_array_file(tmp_path / "x-idx3-ubyte")


def test_truncated_and_fake_gzip(tmp_path):
    data = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    (tmp_path / "t-ubyte.gz").write_bytes(data[:len(data) // 2])
    with pytest.raises(DataError, match="truncated gzip") as e:
        read_array_file(tmp_path / "t-ubyte.gz")
    assert e.value.path.endswith("t-ubyte.gz")
    (tmp_path / "f-ubyte.gz").write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="not a gzip file"):
        read_array_file(tmp_path / "f-ubyte.gz")


# --------------------------------------------------------------------------------------- stdin

def test_stream_jsonl_lists_and_objects():
    out = read_stream(io.BytesIO(b"[1, 2.5]\n\n[3, 4]\n"), "jsonl")
    assert out.dtype == np.float32 and out.tolist() == [[1, 2.5], [3, 4]]
    lines = [{"a": [1, 2], "b": 3}, {"a": [4, 5], "b": 6}]
    out = read_stream(io.BytesIO("\n".join(map(json.dumps, lines)).encode()), "jsonl")
    assert out["a"].shape == (2, 2) and out["b"].tolist() == [3, 6]


def test_stream_jsonl_errors_name_the_line():
    cases = [(b"[1,2]\n[1,2,3]\n", 2, "expected shape"), (b"[1,2]\n[1,\"a\"]\n", 2, "numbers"),
             (b"[1,2]\n[1,2\n", 2, "not valid JSON"), (b"[[1],[1,2]]\n", 1, "ragged"),
             (b"{\"a\": [1]}\n{\"b\": [1]}\n", 2, "inputs"), (b"[1]\n{\"a\": 1}\n", 2, "mixes")]
    for data, line, match in cases:
        with pytest.raises(DataError, match=match) as e:
            read_stream(io.BytesIO(data), "jsonl")
        assert e.value.line == line and e.value.path == "<stdin>"


def test_stream_csv_and_npy_and_sniffing():
    rows = b"5.1,3.5,1.4,0.2\n6.2,3.4,5.4,2.3\n"
    assert read_stream(io.BytesIO(rows), "csv").shape == (2, 4)
    buf = io.BytesIO()
    np.save(buf, np.eye(3, dtype=np.float32))
    assert read_stream(io.BytesIO(buf.getvalue()), "npy").tolist() == np.eye(3).tolist()
    assert read_stream(io.BytesIO(buf.getvalue())).shape == (3, 3)  # sniffed
    assert read_stream(io.BytesIO(gzip.compress(rows))).shape == (2, 4)  # gzipped, sniffed
    npz = io.BytesIO()
    np.savez(npz, x=np.ones(2))
    assert pick_array(read_stream(io.BytesIO(npz.getvalue()), "npz")).tolist() == [1, 1]
    assert [sniff_format(b) for b in (b"[1]", b" {\"a\":1}", b"1,2", buf.getvalue())] == \
        ["jsonl", "jsonl", "csv", "npy"]
    text = io.TextIOWrapper(io.BytesIO(b"sepal_length,b\n1,2\n"))  # like sys.stdin
    assert read_stream(text, "csv").tolist() == [[1, 2]]
    with pytest.raises(DataError, match="<stdin>: line 2: expected 2 columns"):
        read_stream(io.BytesIO(b"1,2\n3\n"), "csv")
    with pytest.raises(DataError, match="unknown input format"):
        read_stream(io.BytesIO(b""), "xml")
