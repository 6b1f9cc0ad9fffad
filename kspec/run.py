"""A run as Python functions: train, evaluate, predict, summary and validate.

This is kspec's Python API and what the command line calls; nothing here writes to stdout (progress
and warnings go to the ``stream`` the caller hands in, stderr by default).

    result = train("configs/quickstart.yaml", overrides=["fit.epochs=5"])
    evaluate(result.run_dir)                    # {"accuracy": ..., "loss": ...} on the test split
    predict(result.run_dir, rows)               # (n, classes) probabilities

A run folder holds ``model.h5`` (Keras legacy HDF5; kspec's resolved spec and the preprocessing state
are stored inside it too, so the model file alone is enough), ``config.yaml`` (the resolved spec, every
default filled in), ``preprocessing.json``, ``history.csv`` and ``metrics.json`` (when the spec has a
test split).
"""
import csv
import json
import math
import os
import shutil
import sys
from typing import NamedTuple

MODEL_FILE = "model.h5"
CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
PREPROCESSING_FILE = "preprocessing.json"
RUNS_DIR = "runs"
SPEC_FORMAT = "kspec-run/1"  # the layout of the spec stored in model.h5


class RunResult(NamedTuple):
    """What :func:`train` returns: the run folder, the history (key -> list of epoch values) and the
    test metrics (empty when the spec has no test split)."""

    run_dir: str
    history: dict
    metrics: dict

    @property
    def last_epoch(self):
        """The last epoch's value of each history key."""
        return {k: v[-1] for k, v in self.history.items() if v}


class LoadedRun:
    """A trained model with what came with it: ``model``, ``spec`` (resolved, or None),
    ``preprocessor``, ``classes`` (label names or None), ``model_path``, ``folder``, ``doc``."""

    def __init__(self, model, spec, preprocessor, model_path, doc=None, stored=None):
        self.model, self.spec, self.preprocessor = model, spec, preprocessor
        self.model_path = model_path
        self.folder = os.path.dirname(os.path.abspath(model_path))
        self.doc = doc
        self.stored = stored  # what kspec stored in the model file: {"spec", "preprocessing"} or None

    @property
    def label_column(self):
        """The training source's label column (a CSV option), from the spec stored with the model."""
        spec = self.spec or (self.stored or {}).get("spec") or {}
        train = (spec.get("data") or {}).get("train")
        return train.get("label_column") if isinstance(train, dict) else None

    @property
    def classes(self):
        return None if self.preprocessor is None else self.preprocessor.classes


# ------------------------------------------------------------------------------------------- specs

def load_spec(config, overrides=()):
    """``(doc, spec)``: load a spec (a file path, a dict or a SpecDocument), apply ``--set``
    overrides and resolve it. Raises SpecError listing every problem."""
    from kspec.spec import SpecDocument, apply_overrides, from_dict, load_file, resolve

    if isinstance(config, SpecDocument):
        doc = config
    elif isinstance(config, dict):
        doc = from_dict(config, base_dir=os.getcwd())
    else:
        doc = load_file(os.fspath(config))
    apply_overrides(doc, overrides)
    return doc, resolve(doc)


def build(config, overrides=()):
    """``(doc, spec, model)``: the compiled model of a spec, built without reading any data."""
    from kspec.spec import build_model, compile_model

    doc, spec = load_spec(config, overrides)
    model = build_model(spec, doc)
    compile_model(model, spec, doc)
    return doc, spec, model


# ------------------------------------------------------------------------------------------- train

def train(config, run_dir=None, overrides=(), init_weights=None, verbose=None, stream=None):
    """Train the model a spec describes and write a run folder.

    Parameters
    ----------
    config : str, PathLike, dict or SpecDocument
        The spec. A dict's relative paths start at the current folder.
    run_dir : str, optional
        The run folder; default ``runs/<name>``. An existing folder is never overwritten: ``-1``,
        ``-2``, ... is added. The folder is created only when training starts, and removed again if
        training fails before the model is saved.
    overrides : iterable of str
        ``--set`` overrides, ``"fit.epochs=3"``.
    init_weights : str, optional
        A weights file to start from (replaces ``model.weights``).
    verbose : int, optional
        Overrides ``fit.verbose`` (0 = silent).
    stream : text stream, optional
        Where progress and warnings go (default stderr).

    Returns
    -------
    RunResult
    """
    from kspec.spec import build_model, compile_model
    from kspec.spec.compiler import fit_arguments, make_callbacks

    stream = sys.stderr if stream is None else stream
    doc, spec = load_spec(config, overrides)
    if spec["seed"] is None:
        spec["seed"] = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
    model = build_model(spec, doc)
    compile_model(model, spec, doc)
    weights = os.path.abspath(init_weights) if init_weights else spec["model"].get("weights")
    if init_weights:
        spec["model"]["weights"] = weights
    if weights:
        from kspec.io import load_weights
        load_weights(model, weights)
    callbacks = make_callbacks(spec, doc)
    preprocessor, splits = load_data(spec, doc)
    check_inputs(model, splits)
    _print_warnings(doc, stream)

    folder = new_run_dir(run_dir, spec["name"])
    saved = False
    try:
        write_config(spec, folder, doc)
        x, y = splits["train"]
        fit_args = fit_arguments(spec, verbose)
        if "validation" in splits:
            fit_args["validation_data"] = splits["validation"]
        history = model.fit(x, y, callbacks=callbacks, stream=stream, **fit_args)
        save_run_model(model, spec, preprocessor, folder)
        saved = True
        _write_json(os.path.join(folder, PREPROCESSING_FILE), preprocessor.state())
        write_history(history, os.path.join(folder, HISTORY_FILE))
        metrics = {}
        if "test" in splits:
            xt, yt = splits["test"]
            metrics = model.evaluate(xt, yt, batch_size=spec["fit"].get("batch_size"), verbose=0,
                                     return_dict=True)
            _write_json(os.path.join(folder, METRICS_FILE), _jsonable(metrics))
    except BaseException:
        if not saved:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return RunResult(folder, {k: list(v) for k, v in history.history.items()}, metrics)


def load_data(spec, doc=None):
    """``(preprocessor, splits)``: read the spec's splits, fit the preprocessing on the training split
    and apply it to every split. ``splits`` maps train/validation/test to ``(x, y)``."""
    from kspec.data import DataError, Preprocessor, load_split
    from kspec.spec import SpecError

    data = spec.get("data") or {}
    base_dir = doc.base_dir if doc is not None else os.getcwd()
    if data.get("train") is None:
        where = ("data",) if doc is not None and "data" in (doc.data or {}) else ()
        message = "data: missing key 'train' (the training split)"
        hint = "e.g. data: {train: {path: data/train.csv, label_column: label}}"
        if doc is None:
            raise SpecError(_plain_diagnostic(message, hint))
        raise SpecError(doc.diagnostic(where, message, hint=hint, key=bool(where)))
    train_split = load_split(data["train"], base_dir)
    if train_split.y is None:
        raise DataError("data.train has no labels (y)",
                        hint="name the label column (label_column: ...) or the y array (y: KEY)")
    preprocessor = Preprocessor(data.get("x"), data.get("y"), classes=train_split.classes)
    splits = {"train": preprocessor.fit_transform(train_split.x, train_split.y,
                                                  classes=train_split.classes)}
    for name in ("validation", "test"):
        if data.get(name) is not None:
            split = load_split(data[name], base_dir, classes=train_split.classes)
            if split.y is None:
                raise DataError(f"data.{name} has no labels (y)")
            splits[name] = preprocessor.transform(split.x, split.y)
    return preprocessor, splits


def check_inputs(model, splits):
    """Each split's samples must have the shape the model takes (after preprocessing)."""
    from kspec.data import DataError

    want = getattr(model, "input_shape", None)
    if want is None:
        return
    for name, (x, _) in splits.items():
        if isinstance(x, dict):
            continue
        got = tuple(x.shape[1:])
        if len(got) != len(want) - 1 or any(w is not None and w != g for w, g in zip(want[1:], got)):
            hint = None
            if len(want) == 2 and math.prod(got) == want[1]:
                hint = f"add {{reshape: [{want[1]}]}} to data.x"
            raise DataError(f"data.{name}: the samples have shape {list(got)} after preprocessing, "
                            f"but the model takes {list(want[1:])}", hint=hint)


def new_run_dir(run_dir, name):
    """Create and return a fresh run folder: ``run_dir`` (default ``runs/<name>``), or the first of
    ``-1``, ``-2``, ... that does not exist yet."""
    base = os.path.normpath(run_dir if run_dir else os.path.join(RUNS_DIR, name))
    parent = os.path.dirname(os.path.abspath(base))
    os.makedirs(parent, exist_ok=True)
    candidate, n = base, 0
    while True:
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            n += 1
            candidate = f"{base}-{n}"


def write_config(spec, folder, doc=None):
    """The resolved spec as ``config.yaml``, with paths relative to the run folder."""
    from kspec.spec.writer import dump, rebase_paths

    source = f" from {doc.file}" if doc is not None and doc.file not in ("<dict>", "<string>") else ""
    from kspec import __version__
    header = f"resolved by kspec {__version__}{source}: every default filled in"
    path = os.path.join(folder, CONFIG_FILE)
    _write_text(path, dump(rebase_paths(spec, folder), header=header))
    return path


def save_run_model(model, spec, preprocessor, folder, filename=MODEL_FILE):
    """``model.h5`` with the spec and preprocessing state stored inside (paths relative to it)."""
    from kspec.io import save_model
    from kspec.spec.writer import rebase_paths

    stored = {"format": SPEC_FORMAT, "spec": rebase_paths(spec, folder),
              "preprocessing": None if preprocessor is None else preprocessor.state()}
    path = os.path.join(folder, filename)
    save_model(model, path, spec=stored)
    return path


def write_history(history, path):
    """``history.csv``: one row per epoch, ``epoch`` first, then the keys in Keras's order."""
    keys = list(history.history)
    rows = zip(history.epoch, *(history.history[k] for k in keys))
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch"] + keys)
        for row in rows:
            writer.writerow([row[0]] + [_csv_number(v) for v in row[1:]])
    os.replace(tmp, path)


# ---------------------------------------------------------------------- evaluate / predict / load

def load_run(target, compile=True, with_spec=True):
    """A :class:`LoadedRun` from a run folder or a model file (``.h5``).

    The spec and preprocessing come from the run folder's ``config.yaml`` and ``preprocessing.json``
    when present, else from what kspec stored inside the model file.
    """
    from kspec.io import ModelFileError, load_model_and_spec

    target = os.fspath(target)
    folder = target if os.path.isdir(target) else None
    model_path = os.path.join(target, MODEL_FILE) if folder else target
    if folder and not os.path.isfile(model_path):
        raise ModelFileError(f"no {MODEL_FILE} in the run folder", folder,
                             hint="is this a finished run? a failed run leaves no folder")
    model, stored = load_model_and_spec(model_path, compile=compile)
    stored = stored if isinstance(stored, dict) else None
    if stored is not None and stored.get("format") != SPEC_FORMAT:
        stored = {"spec": stored, "preprocessing": None}
    model_dir = os.path.dirname(os.path.abspath(model_path))
    preprocessor = _load_preprocessor(model_dir if folder else None, stored)
    doc = spec = None
    if with_spec:
        doc, spec = _stored_spec(folder, model_dir, stored)
    return LoadedRun(model, spec, preprocessor, model_path, doc, stored)


def evaluate(target, data=None, overrides=(), batch_size=None, verbose=0, stream=None):
    """Loss and metrics of a trained model (run folder or ``.h5``) as a dict.

    ``data`` is None (the spec's test split), a data file path (read with the options of the spec's
    test or training source, e.g. its label column) or a data entry dict. ``overrides`` are ``--set``
    overrides of the stored spec, e.g. ``data.test.split=train``.
    """
    from kspec.data import load_split
    from kspec.spec import SpecError

    run = load_run(target)
    spec, doc = run.spec, run.doc
    if overrides:
        if spec is None:
            raise SpecError(_plain_diagnostic(f"{run.model_path}: holds no kspec spec to override"))
        from kspec.spec import apply_overrides, resolve
        doc.check_files = False
        apply_overrides(doc, overrides)
        spec = resolve(doc)
    source, base_dir = _evaluation_source(run, spec, doc, data)
    split = load_split(source, base_dir, classes=run.classes)
    if split.y is None:
        from kspec.data import DataError
        raise DataError("the evaluation data has no labels (y)",
                        hint="name the label column (label_column) or the y array")
    pre = run.preprocessor
    x, y = pre.transform(split.x, split.y) if pre is not None else (split.x, split.y)
    check_inputs(run.model, {"evaluation": (x, y)})
    model = run.model
    if not model.compiled:
        if spec is None:
            from kspec.io import ModelFileError
            raise ModelFileError("the model file has no training_config and no kspec spec, so its loss "
                                 "is unknown", run.model_path)
        from kspec.spec import compile_model
        compile_model(model, spec, doc)
    if batch_size is None and spec is not None:
        batch_size = spec["fit"].get("batch_size")
    logs = model.evaluate(x, y, batch_size=batch_size, verbose=verbose, return_dict=True,
                          stream=stream or sys.stderr)
    return _jsonable(logs)


def predict(target, x, batch_size=None):
    """Predictions of a trained model (a run folder, an ``.h5`` path or a :class:`LoadedRun`) for raw
    input ``x`` (an array or a dict of arrays): the run's input preprocessing is applied first.

    Returns an ndarray of shape (n, ...) (a list of them for several outputs).
    """
    run = target if isinstance(target, LoadedRun) else load_run(target, compile=False,
                                                                with_spec=False)
    if run.preprocessor is not None:
        x = run.preprocessor.transform_x(x)
    check_inputs(run.model, {"input": (x, None)})
    return run.model.predict(x, batch_size=batch_size, verbose=0)


def read_input(run, source="-", fmt=None, stdin=None):
    """Predict input from a file path or ``-`` (stdin): an array, or a dict of arrays.

    A CSV that still holds the training data's label column (found by its header name, or by having
    one column more than the model takes) has that column dropped, so labelled rows can be piped in.
    """
    import io

    from kspec.data import detect_format, pick_array, read_array_file, read_stream
    from kspec.data.readers import sniff_format

    if source == "-":
        name = "<stdin>"
        stream = stdin if stdin is not None else sys.stdin.buffer
        raw = getattr(stream, "buffer", stream).read()
        raw = raw.encode("utf-8") if isinstance(raw, str) else raw
        fmt = fmt or sniff_format(raw)
        options = _label_option(run, raw) if fmt == "csv" else {}
        data = read_stream(io.BytesIO(raw), fmt, name=name, **options)
    else:
        name = os.fspath(source)
        fmt = detect_format(name, fmt)
        options = {}
        if fmt == "csv" and os.path.isfile(name) and not name.endswith(".gz"):
            with open(name, "rb") as f:
                options = _label_option(run, f.read(4096))
        data = read_array_file(name, fmt=fmt, **options)
    return pick_array(data, None, name)


def _label_option(run, raw):
    """``{"label_column": ...}`` when a CSV's first row shows it holds the training label column."""
    label = run.label_column
    if label is None:
        return {}
    text = raw[:4096].decode("utf-8", "replace").lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip() and not line.startswith("#")), "")
    cells = [c.strip() for c in first.split("," if "," in first else None)]
    if isinstance(label, str) and label in cells:
        return {"label_column": label, "header": True}
    shape = getattr(run.model, "input_shape", None)
    if shape is None or len(shape) != 2 or len(cells) != (shape[1] or -1) + 1:
        return {}
    if isinstance(label, int):
        return {"label_column": label}
    text_cells = [i for i, c in enumerate(cells) if not _is_number(c)]
    return {"label_column": text_cells[0], "header": False} if len(text_cells) == 1 else {}


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_classes(probabilities):
    """Class ids from model outputs: argmax over the last axis, or ``p > 0.5`` for one unit."""
    import numpy as np

    p = np.asarray(probabilities)
    if p.ndim >= 2 and p.shape[-1] > 1:
        return p.argmax(axis=-1)
    return (p.reshape(p.shape[0], -1)[:, 0] > 0.5).astype(np.int64)


# ------------------------------------------------------------------------------ summary / validate

def summary(target, overrides=()):
    """Keras's summary table of a spec, run folder or model file, as text (no data is read)."""
    from kspec.models.summary import format_summary

    return format_summary(_model_of(target, overrides))


def validate(config, overrides=()):
    """Check a spec without reading data. Returns a report dict: ``name``, ``layers`` (name, class,
    output shape, params), ``total_params``, ``trainable_params`` and ``warnings`` (Diagnostics).
    Raises SpecError when the spec has errors."""
    doc, spec, model = build(config, overrides)
    layers = [{"name": layer.name, "class": type(layer).__name__,
               "output_shape": list(layer.output_shape) if layer.output_shape is not None else None,
               "params": layer.count_params()} for layer in model.layers]
    trainable = int(sum(w.size for w in model.trainable_weights))
    return {"name": spec["name"], "input_shape": list(model.input_shape[1:]), "layers": layers,
            "total_params": model.count_params(), "trainable_params": trainable,
            "warnings": list(doc.warnings), "spec": spec}


def is_model_target(target):
    """Whether a command target is a run folder or a model file (rather than a spec)."""
    target = os.fspath(target)
    return os.path.isdir(target) or target.lower().endswith((".h5", ".hdf5", ".keras"))


# ------------------------------------------------------------------------------------------ helpers

def _model_of(target, overrides=()):
    if is_model_target(target):
        return load_run(target, compile=False, with_spec=False).model
    return build(target, overrides)[2]


def _stored_spec(folder, model_dir, stored):
    from kspec.spec import from_dict, load_file, resolve

    doc = None
    if folder and os.path.isfile(os.path.join(folder, CONFIG_FILE)):
        doc = load_file(os.path.join(folder, CONFIG_FILE))
    elif stored is not None and isinstance(stored.get("spec"), dict):
        doc = from_dict(stored["spec"], base_dir=model_dir, file=f"{model_dir}/{MODEL_FILE}:kspec_spec")
    if doc is None:
        return None, None
    doc.check_files = False
    return doc, resolve(doc)


def _load_preprocessor(folder, stored):
    from kspec.data import Preprocessor

    state = None
    path = os.path.join(folder, PREPROCESSING_FILE) if folder else None
    if path and os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    elif stored is not None:
        state = stored.get("preprocessing")
    return Preprocessor.from_state(state) if state else Preprocessor()


def _evaluation_source(run, spec, doc, data):
    from kspec.data import DataError

    base_dir = doc.base_dir if doc is not None else run.folder
    spec_data = (spec or {}).get("data") or {}
    if data is None:
        if spec_data.get("test") is None:
            raise DataError("the run's spec has no test split",
                            hint="give the data to evaluate on: --data FILE")
        return spec_data["test"], base_dir
    if isinstance(data, dict):
        return data, os.getcwd()
    path = os.path.abspath(os.fspath(data))
    template = spec_data.get("test") or spec_data.get("train") or {}
    if "dataset" in template or "path" not in template:
        return {"path": path}, os.getcwd()
    source = {k: v for k, v in template.items() if k != "path"}
    source["path"] = path
    return source, os.getcwd()


def _print_warnings(doc, stream):
    for d in doc.warnings:
        stream.write(d.format() + "\n")
    if doc.warnings:
        stream.flush()


def _plain_diagnostic(message, hint=None):
    from kspec.spec import Diagnostic
    return Diagnostic("<spec>", None, None, message, hint=hint)


def _jsonable(value):
    """Floats for JSON: NaN and infinities become None (JSON has no such numbers)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _csv_number(v):
    return repr(float(v)) if isinstance(v, (int, float)) or hasattr(v, "item") else v


def _write_json(path, value):
    _write_text(path, json.dumps(_jsonable(value), indent=2) + "\n")


def _write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
