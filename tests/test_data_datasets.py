"""Built-in datasets: the search order, the not-found message, and the real Fashion-MNIST."""
import gzip
import os
import struct

import numpy as np
import pytest

from kspec.data import DataError, load_dataset, load_split

DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def idx(arr):
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def small(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def write_idx_folder(folder, gz=True, sizes=(5, 3)):
    """The four IDX files of a tiny dataset; returns {split: (x, y)}."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for seed, (split, names) in enumerate(FILES.items()):
        x, y = small(sizes[seed], seed)
        for name, arr in zip(names, (x, y)):
            data = idx(arr)
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
        out[split] = (x, y)
    return out


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No KSPEC_DATA, and a Keras cache (KERAS_HOME) in an empty folder."""
    monkeypatch.delenv("KSPEC_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path


@pytest.mark.parametrize("gz", [True, False])
def test_kspec_data_idx_files_win(no_data, monkeypatch, gz):
    want = write_idx_folder(no_data / "root" / "fashion_mnist", gz=gz)
    monkeypatch.setenv("KSPEC_DATA", str(no_data / "root"))
    for split in ("train", "test"):
        x, y = load_dataset("fashion_mnist", split)
        assert x.dtype == np.uint8 and y.dtype == np.uint8 and x.shape[1:] == (28, 28)
        np.testing.assert_array_equal(x, want[split][0])
        np.testing.assert_array_equal(y, want[split][1])


def test_kspec_data_npz_and_keras_cache_npz(no_data, monkeypatch):
    (x, y), (xt, yt) = small(4, 0), small(2, 1)
    folder = no_data / "root" / "mnist"
    folder.mkdir(parents=True)
    np.savez(folder / "mnist.npz", x_train=x, y_train=y, x_test=xt, y_test=yt)
    monkeypatch.setenv("KSPEC_DATA", str(no_data / "root"))
    np.testing.assert_array_equal(load_dataset("mnist", "test")[0], xt)
    # Keras's cache, after KSPEC_DATA finds nothing
    monkeypatch.setenv("KSPEC_DATA", str(no_data / "elsewhere"))
    cache = no_data / "keras" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "mnist.npz", x_train=x[:3], y_train=y[:3], x_test=xt, y_test=yt)
    got, labels = load_dataset("mnist", "train")
    np.testing.assert_array_equal(got, x[:3])
    np.testing.assert_array_equal(labels, y[:3])


def test_keras_cache_fashion_folder(no_data):
    want = write_idx_folder(no_data / "keras" / "datasets" / "fashion-mnist", sizes=(2, 2))
    np.testing.assert_array_equal(load_dataset("fashion-mnist", "train")[1], want["train"][1])


def test_arrays_are_cached_read_only_views(no_data, monkeypatch):
    write_idx_folder(no_data / "root" / "mnist")
    monkeypatch.setenv("KSPEC_DATA", str(no_data / "root"))
    a, _ = load_dataset("mnist", "train")
    b, _ = load_dataset("mnist", "train")
    assert a is not b and np.shares_memory(a, b)
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0, 0, 0] = 1


@pytest.mark.skipif(os.path.isdir("/usr/share/datasets/mnist"),
                    reason="a system MNIST is installed, so mnist is never missing here")
def test_not_found_lists_every_place_and_how_to_get_it(no_data):
    with pytest.raises(DataError) as e:
        load_dataset("mnist", "train")
    msg = str(e.value)
    for place in ("KSPEC_DATA", os.path.join(str(no_data), "keras", "datasets", "mnist.npz"),
                  "/usr/share/datasets/mnist", "mnist.npz", "train-images-idx3-ubyte.gz"):
        assert place in msg


def test_not_found_for_fashion_names_the_debian_package(no_data, monkeypatch):
    import kspec.data.datasets as datasets

    monkeypatch.setitem(datasets.DATASETS["fashion_mnist"], "system", str(no_data / "none"))
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion_mnist", "test")


def test_corrupt_file_is_an_error_not_a_fall_through(no_data, monkeypatch):
    folder = no_data / "root" / "fashion_mnist"
    write_idx_folder(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx(np.zeros(7, np.uint8))))
    monkeypatch.setenv("KSPEC_DATA", str(no_data / "root"))
    with pytest.raises(DataError, match="expected 3 labels") as e:
        load_dataset("fashion_mnist", "test")
    assert "t10k-labels" in e.value.path


def test_unknown_dataset_and_split():
    with pytest.raises(DataError, match="unknown dataset 'cifar10'"):
        load_dataset("cifar10", "train")
    with pytest.raises(DataError, match="unknown split 'val'"):
        load_dataset("mnist", "val")
    with pytest.raises(DataError, match="needs a split"):
        load_split({"dataset": "mnist"})


@pytest.mark.skipif(not os.path.isfile(os.path.join(DEBIAN_FASHION, "train-images-idx3-ubyte.gz")),
                    reason="Debian's dataset-fashion-mnist is not installed "
                           "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_debian_package(no_data):
    (x, y), (xt, yt) = load_dataset("fashion_mnist", "train"), load_dataset("fashion_mnist", "test")
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert y.shape == (60000,) and yt.shape == (10000,)
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), [6000] * 10)
    split = load_split({"dataset": "fashion_mnist", "split": "test"})
    assert split.classes[0] == "T-shirt/top" and np.shares_memory(split.x, xt)
