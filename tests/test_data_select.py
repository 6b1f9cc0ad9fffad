"""Selecting samples by class in a data entry: ``classes``, ``limit_per_class`` and ``relabel``."""
import numpy as np
import pytest

from kspec.data import DataError
from kspec.data.splits import Split, select_classes

Y = np.array([3, 1, 2, 3, 1, 0, 3, 2, 1, 0])
X = np.arange(10 * 2).reshape(10, 2)
NAMES = ["zero", "one", "two", "three"]


def select(**keys):
    return select_classes(Split(X, Y, NAMES), keys)


def test_classes_keep_file_order():
    x, y = sel = select(classes=[3, 1])
    np.testing.assert_array_equal(y, [3, 1, 3, 1, 3, 1])
    np.testing.assert_array_equal(x[:, 0] // 2, [0, 1, 3, 4, 6, 8], err_msg="rows follow their labels, in file order")
    assert sel.classes == NAMES, "without relabel, the labels and their names are unchanged"


def test_limit_per_class_takes_the_first_samples_of_each():
    _, y = select(limit_per_class=1)
    np.testing.assert_array_equal(y, [3, 1, 2, 0])
    x, y = select(classes=["three", "two"], limit_per_class=2)
    np.testing.assert_array_equal(x[:, 0] // 2, [0, 2, 3, 7])


def test_relabel_numbers_the_kept_classes_in_listed_order():
    x, y = sel = select(classes=[3, 0], relabel=True)
    np.testing.assert_array_equal(y, [0, 0, 1, 0, 1])
    assert sel.classes == ["three", "zero"]


def test_dict_inputs_are_selected_together():
    sel = select_classes(Split({"a": X, "b": X * 10}, Y, None), {"classes": [0]})
    np.testing.assert_array_equal(sel[0]["b"], sel[0]["a"] * 10)
    assert sel[0]["a"].shape == (2, 2)


@pytest.mark.parametrize("keys, words", [
    ({"classes": []}, "non-empty list"),
    ({"classes": [1, 1]}, "distinct"),
    ({"classes": [7]}, "class 7 has no samples"),
    ({"classes": ["four"]}, "unknown class 'four'"),
    ({"limit_per_class": 0}, "positive integer"),
    ({"relabel": True}, "relabel needs classes"),
    ({"classes": [1], "relabel": "yes"}, "true or false"),
], ids=["empty", "repeated", "absent", "unknown-name", "limit", "relabel-alone", "relabel-type"])
def test_misuse_is_a_clear_data_error(keys, words):
    with pytest.raises(DataError, match=words):
        select(**keys)


def test_one_hot_labels_are_refused():
    with pytest.raises(DataError, match="one integer class label per sample"):
        select_classes(Split(X, np.eye(4)[Y], None), {"classes": [1]})
