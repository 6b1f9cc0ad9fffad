"""One split of a spec's ``data`` section, read to raw arrays."""
import os

import numpy as np

from kspec.data.datasets import class_names, load_dataset
from kspec.data.errors import DataError
from kspec.data.formats import LINE_FORMATS, line_format, merge_reads
from kspec.data.readers import detect_format, read_array_file
from kspec.data.tables import encode_labels

# The keys a data entry may have.
SOURCE_KEYS = ("dataset", "split", "path", "x", "y", "header", "label_column", "delimiter", "format", "classes",
               "limit_per_class", "relabel")
_KEYED = ("npz", "h5")  # formats that hold named arrays


class Split(tuple):
    """``(x, y)`` of one split, plus ``classes``: the label names (list of str), or None.

    Unpacks like a tuple: ``x, y = load_split(...)``.
    """

    def __new__(cls, x, y, classes=None):
        self = super().__new__(cls, (x, y))
        self.classes = classes
        return self

    @property
    def x(self):
        return self[0]

    @property
    def y(self):
        return self[1]


def load_split(source, base_dir=".", *, classes=None, reads=None):
    """Read the raw arrays of one data entry of a spec.

    Parameters
    ----------
    source : dict
        ``{dataset: mnist | fashion_mnist, split: train | test}``; or ``{path: FILE, x: KEY,
        y: KEY, header: ..., label_column: ..., delimiter: ..., format: ...}`` where x/y pick
        arrays from .npz/.h5 files (default ``"x"``/``"y"``; a dict of input names to keys gives a
        dict of arrays, for multi-input models; for y, of output names, for multi-output models);
        or ``{x: FILE, y: FILE}`` with one file each. ``format`` (one of
        :data:`~kspec.data.formats.FORMATS`) overrides the format found from the file name; the
        ``sequences`` and ``text`` formats describe x, and a y file of text beside them holds one
        label per line (numbers, or class names).
    base_dir : str
        The folder that relative paths start from (the spec file's folder).
    classes : list of str, optional
        The training split's class names, so string labels of every split map alike.
    reads : str or dict, optional
        What the x pipeline's first step takes (:attr:`Preprocessor.reads`): "sequences" or "text"
        (or a dict input name -> kind). Without ``format``, x files are then read as token ids or
        text lines where their name allows (see :func:`~kspec.data.formats.line_format`).

    Returns
    -------
    Split
        ``(x, y)``: x an ndarray of shape (n, ...) or a dict of them; y of shape (n, ...) or None
        when the entry has no labels. ``.classes`` names the labels where known.
    """
    if not isinstance(source, dict):
        raise DataError(f"a data entry must be a mapping, got {source!r}",
                        hint="e.g. {dataset: mnist, split: train} or {path: data.npz}")
    unknown = sorted(set(source) - set(SOURCE_KEYS))
    if unknown:
        raise DataError(f"unknown keys {unknown} in a data entry",
                        hint=f"use {', '.join(SOURCE_KEYS)}")
    if "dataset" in source:
        if "split" not in source:
            raise DataError(f"dataset {source['dataset']} needs a split", hint="add split: train or test")
        x, y = load_dataset(source["dataset"], source["split"])
        return select_classes(Split(x, y, class_names(source["dataset"])), source)
    opts = {k: source[k] for k in ("header", "label_column", "delimiter") if k in source}
    fmt = source.get("format")
    reads = None if opts else reads  # table options describe a table, whatever the steps take
    if "path" in source:
        x, y, found = _from_file(_resolve(base_dir, source["path"]), source.get("x"),
                                 source.get("y"), fmt, opts, classes, merge_reads(reads))
    elif "x" in source:
        formats = {}  # input name -> the x file's format

        def read_x(name, p):
            path = _resolve(base_dir, p)
            formats[name] = fmt or line_format(detect_format(path, required=not _kind(reads, name)),
                                               _kind(reads, name), path)
            return _single(path, formats[name], opts, classes)

        x = _each_named(source["x"], read_x)
        lines = any(f in LINE_FORMATS for f in formats.values())
        y = None if source.get("y") is None else _each(
            source["y"], lambda p: _single(_resolve(base_dir, p), _y_format(p, fmt, lines), opts, classes))
        found = None
    else:
        raise DataError("a data entry needs dataset, path, or x (a file)",
                        hint="e.g. {path: data/iris.csv, label_column: species}")
    y, found = _labels(y, found, classes)
    _check(x, y)
    return select_classes(Split(x, y, found), source)


def select_classes(split, source):
    """The samples of some classes only, and at most ``limit_per_class`` of each (the first ones, in file
    order): a data entry's ``classes: [0, 1, 2]`` (label ids, or names where the labels have names),
    ``limit_per_class: 50`` and ``relabel: true`` (number the kept classes 0, 1, ... in the listed order,
    e.g. for a new head on another task)."""
    keep, limit, relabel = source.get("classes"), source.get("limit_per_class"), source.get("relabel", False)
    if keep is None and limit is None:
        if relabel:
            raise DataError("relabel needs classes (the classes to keep, in their new order)")
        return split
    hint = "e.g. classes: [0, 1, 2], limit_per_class: 100, relabel: true"
    if keep is not None and (not isinstance(keep, list) or not keep or not all(
            isinstance(c, (int, str)) and not isinstance(c, bool) for c in keep) or len(set(keep)) != len(keep)):
        raise DataError(f"classes must be a non-empty list of distinct label ids or names, found {keep!r}", hint=hint)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"limit_per_class must be a positive integer, found {limit!r}", hint=hint)
    if not isinstance(relabel, bool):
        raise DataError(f"relabel must be true or false, found {relabel!r}", hint=hint)
    x, y = split
    names = split.classes
    labels = None if y is None or isinstance(y, dict) else np.asarray(y)
    if labels is not None and labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels is None or labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError("selecting by class needs one integer class label per sample",
                        hint="classes/limit_per_class work on class labels (before the y steps, e.g. one_hot)")
    ids = sorted(set(labels.tolist())) if keep is None else [_class_id(c, names) for c in keep]
    rows = []
    for c in ids:
        found = np.flatnonzero(labels == c)
        if not len(found):
            raise DataError(f"class {c!r} has no samples in this data", hint=f"its labels are {sorted(set(labels.tolist()))}")
        rows.append(found if limit is None else found[:limit])
    rows = np.sort(np.concatenate(rows))
    x = {k: v[rows] for k, v in x.items()} if isinstance(x, dict) else x[rows]
    y = labels[rows]
    if relabel:
        y = np.searchsorted(np.asarray(ids)[np.argsort(ids)], y)
        y = np.argsort(ids)[y].astype(labels.dtype)
        names = [names[c] if names is not None and 0 <= c < len(names) else str(c) for c in ids]
    return Split(x, y, names)


def _class_id(value, names):
    if isinstance(value, int):
        return value
    if names is not None and value in names:
        return names.index(value)
    raise DataError(f"unknown class {value!r}" + (f"; the classes are {names}" if names else ""),
                    hint="give label ids (integers) or the class names")


def pick_array(data, key=None, name=None):
    """The x array of what a reader returned: ``data`` itself when it is an array; else
    ``data[key]``, ``data["x"]``, or the only array. Raises DataError listing the keys otherwise."""
    if not isinstance(data, dict):
        return data
    if key is not None:
        if key not in data:
            raise DataError(f"no array named {key!r}; found {sorted(data)}", name)
        return data[key]
    if "x" in data:
        return data["x"]
    if len(data) == 1:
        return next(iter(data.values()))
    raise DataError(f"holds several arrays {sorted(data)}; say which is the input", name,
                    hint="name the key (x: KEY in the spec)")


def _resolve(base_dir, path):
    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"a path must be a string, got {path!r}")
    return os.path.join(base_dir or ".", os.path.expanduser(str(path)))


def _each(spec, fn):
    return {k: fn(v) for k, v in spec.items()} if isinstance(spec, dict) else fn(spec)


def _each_named(spec, fn):
    return {k: fn(k, v) for k, v in spec.items()} if isinstance(spec, dict) else fn(None, spec)


def _kind(reads, name):
    return reads.get(name) if isinstance(reads, dict) else reads


def _y_format(path, fmt, lines):
    """A y file's format: the entry's, except beside token ids or text, where a text file (.txt, .csv)
    holds one label per line."""
    if not lines or (fmt is not None and fmt not in LINE_FORMATS):
        return fmt
    found = detect_format(path, required=False)
    return "text" if found in (None, "csv") else found


def _from_file(path, xkey, ykey, fmt, opts, classes, reads=None):
    """(x, y, classes) from one file."""
    fmt = fmt or line_format(detect_format(path, required=not reads), reads, path)
    if fmt in _KEYED and (xkey is not None):
        x = _each(xkey, lambda k: read_array_file(path, k, fmt=fmt))
        y = None if ykey is None else _each(ykey, lambda k: read_array_file(path, k, fmt=fmt))
        return x, y, _stored_classes(path, fmt, y)
    data = read_array_file(path, fmt=fmt, classes=classes, **opts)
    if not isinstance(data, dict):
        if xkey is not None or ykey is not None:
            raise DataError(f"x/y keys pick arrays from .npz or .h5 files or fields of JSON lines objects; "
                            f"this {fmt} file holds one array", path,
                            hint="drop x/y, or give x and y as two files: {x: FILE, y: FILE}")
        return data, None, None
    found = data.get("classes")
    found = None if found is None else [str(c) for c in found]
    x = _each(xkey, lambda k: pick_array(data, k, path)) if xkey is not None else \
        pick_array({k: v for k, v in data.items() if k not in ("y", "classes")}, None, path)
    if ykey is not None:
        y = _each(ykey, lambda k: pick_array(data, k, path))
    else:
        y = data.get("y")
    return x, y, found


def _single(path, fmt, opts, classes):
    data = read_array_file(path, fmt=fmt, classes=classes, **opts)
    return pick_array(data, None, path)


def _stored_classes(path, fmt, y):
    """The label names an .npz/.h5 keeps beside integer labels in a ``classes`` array, or None."""
    if y is None or isinstance(y, dict) or y.dtype.kind not in "iu":
        return None
    if fmt == "h5":
        import h5py
        with h5py.File(path, "r") as f:
            stored = f["classes"][()] if isinstance(f.get("classes"), h5py.Dataset) else None
    else:
        try:
            stored = read_array_file(path, "classes", fmt=fmt)
        except DataError:
            stored = None
    if stored is None:
        return None
    names = [c.decode() if isinstance(c, bytes) else str(c) for c in np.asarray(stored).ravel()]
    if y.size and (y.min() < 0 or y.max() >= len(names)):
        raise DataError(f"the labels run from {y.min()} to {y.max()}, but 'classes' names {len(names)} classes",
                        path, hint="store one name per class id in 'classes', or drop it")
    return names


def _labels(y, found, classes):
    """String labels (from an .npz, JSON lines or a text file) become class indices."""
    if y is not None and not isinstance(y, dict) and (y.dtype.kind in "US" or _is_text(y)):
        y, found = encode_labels(y.ravel(), classes)
    return y, found if found is not None else (None if classes is None else list(classes))


def _is_text(a):
    return a.dtype == object and a.ndim == 1 and all(isinstance(v, str) for v in a)


def _check(x, y):
    arrays = x if isinstance(x, dict) else {"x": x}
    if y is not None:  # a dict for a model with several outputs
        arrays = {**arrays, **({f"y.{k}": v for k, v in y.items()} if isinstance(y, dict) else {"y": y})}
    lengths = {}
    for k, a in arrays.items():
        kinds = "biuf" if k.startswith("y") else "biufUO"  # x may be text or ragged ids (sequence steps)
        if not isinstance(a, np.ndarray) or a.dtype.kind not in kinds:
            raise DataError(f"{k} is not a numeric array (dtype {getattr(a, 'dtype', type(a))})")
        if a.ndim == 0:
            raise DataError(f"{k} is a scalar, not an array of samples")
        lengths[k] = len(a)
    if len(set(lengths.values())) > 1:
        raise DataError("the arrays have different numbers of samples: "
                        + ", ".join(f"{k} {n}" for k, n in lengths.items()))
