"""A run as Python functions: train, evaluate, predict, summary and validate.

This is kspec's Python API and what the command line calls; nothing here writes to stdout (progress
and warnings go to the ``stream`` the caller hands in, stderr by default).

    result = train("configs/quickstart.yaml", overrides=["fit.epochs=5"])
    evaluate(result.run_dir)                    # {"accuracy": ..., "loss": ...} on the test split
    predict(result.run_dir, rows)               # (n, classes) probabilities

What a run folder holds, and how it is written and read back, is in :mod:`kspec.run_files`.
"""
import contextlib
import math
import os
import shutil
import sys
from typing import NamedTuple

from kspec.run_files import (HISTORY_FILE, METRICS_FILE, PREPROCESSING_FILE, LoadedRun,
                             is_model_target, jsonable, load_run, new_run_dir, read_input,
                             save_run_model, write_config, write_history, write_json)

__all__ = ["train", "evaluate", "evaluation_inputs", "predict", "summary", "validate", "load_run", "read_input", "to_classes",
           "load_spec", "build", "load_data", "check_inputs", "RunResult", "LoadedRun", "jsonable"]


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

def train(config, run_dir=None, overrides=(), init_weights=None, verbose=None, stream=None, callbacks=()):
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
    callbacks : iterable of Callback, optional
        Python callback objects called after the spec's own (e.g. a sweep's pruning callback).

    Returns
    -------
    RunResult
    """
    from kspec.spec import build_model, compile_model
    from kspec.spec.compiler import fit_arguments, make_callbacks

    from kspec.backend import comm

    stream = sys.stderr if stream is None else stream
    world = comm.world()  # under mpiexec: every rank trains, rank 0 alone writes (README "Several processes")
    doc, spec = load_spec(config, overrides)
    if spec["seed"] is None:
        spec["seed"] = world.bcast(int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF)
    model = build_model(spec, doc)
    compile_model(model, spec, doc)
    weights = os.path.abspath(init_weights) if init_weights else spec["model"].get("weights")
    if init_weights:
        spec["model"]["weights"] = weights
    if weights:
        from kspec.io import load_weights
        with _located(doc, ("model", "weights") if not init_weights else None):
            load_weights(model, weights)
    make_callbacks(spec, doc)  # checked before any data is read
    preprocessor, splits = load_data(spec, doc)
    from kspec.spec.consistency import check_data
    check_data(model, spec, doc, splits)  # shapes, dtypes, NaN/inf, label range: before any file is written
    writes = world.rank == 0
    if writes:
        _print_warnings(doc, stream)
    folder = world.bcast(new_run_dir(run_dir, spec["name"]) if writes else None)
    # TODO(run.json): record "ranks": world.size in run.json once the lifecycle branch writes it.
    saved = False
    try:
        if writes:
            write_config(spec, folder, doc)
        # file arguments go in the run folder; the caller's callbacks come after the spec's
        callbacks = _writing_rank_only(make_callbacks(spec, doc, run_dir=folder), writes) + list(callbacks)
        x, y = splits["train"]
        fit_args = fit_arguments(spec, verbose)
        if "validation" in splits:
            fit_args["validation_data"] = splits["validation"]
        history = model.fit(x, y, callbacks=callbacks, stream=stream, **fit_args)
        if writes:
            save_run_model(model, spec, preprocessor, folder)
            saved = True
            write_json(os.path.join(folder, PREPROCESSING_FILE), preprocessor.state())
            write_history(history, os.path.join(folder, HISTORY_FILE))
        metrics = {}
        if "test" in splits:
            xt, yt = splits["test"]
            metrics = model.evaluate(xt, yt, batch_size=spec["fit"].get("batch_size"), verbose=0,
                                     return_dict=True)
            if writes:
                write_json(os.path.join(folder, METRICS_FILE), jsonable(metrics))
    except BaseException:
        if writes and not saved:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return RunResult(folder, {k: list(v) for k, v in history.history.items()}, metrics)


def _writing_rank_only(callbacks, writes):
    """The spec's callbacks for this rank: ranks other than 0 drop those that write files (their logs
    equal rank 0's, so the deciding ones, EarlyStopping or ReduceLROnPlateau, stay on every rank)."""
    if writes:
        return callbacks
    from kspec.models.callbacks import CSVLogger
    from kspec.models.monitor_callbacks import ModelCheckpoint

    return [cb for cb in callbacks if not isinstance(cb, (CSVLogger, ModelCheckpoint))]


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
    preprocessor = Preprocessor(data.get("x"), data.get("y"))
    reads = preprocessor.reads  # token ids or text: how x files are read
    with _located(doc, ("data", "train")):
        train_split = load_split(data["train"], base_dir, reads=reads)
        if train_split.y is None:
            raise DataError("data.train has no labels (y)",
                            hint="name the label column (label_column: ...), the y array or JSON field "
                                 "(y: KEY), or give x and y as two files: {x: FILE, y: FILE}")
    with _located(doc, ("data", "train")):
        splits = {"train": preprocessor.fit_transform(train_split.x, train_split.y,
                                                      classes=train_split.classes)}
    for name in ("validation", "test"):
        if data.get(name) is not None:
            with _located(doc, ("data", name)):
                split = load_split(data[name], base_dir, classes=train_split.classes, reads=reads)
                if split.y is None:
                    raise DataError(f"data.{name} has no labels (y)")
            with _located(doc, ("data", name)):
                splits[name] = preprocessor.transform(split.x, split.y)
    return preprocessor, splits


def check_inputs(model, splits):
    """Each split's samples must have the shape the model takes (after preprocessing); x is an array,
    or a dict input name -> array for a graph model."""
    from kspec.data import DataError

    want = getattr(model, "input_shape", None)
    if want is None:
        return
    names = list(getattr(model, "input_names", None) or ["input"])
    wants = dict(zip(names, want if isinstance(want, list) else [want]))
    for split, (x, _) in splits.items():
        if isinstance(x, dict):
            arrays = {n: x[n] for n in names if n in x}
        elif len(wants) == 1:
            arrays = {names[0]: x}
        else:
            continue  # a list in input order: the model checks it
        for name, array in arrays.items():
            shape = wants[name]
            got = tuple(getattr(array, "shape", ())[1:])
            if len(got) != len(shape) - 1 or any(w is not None and w != g for w, g in zip(shape[1:], got)):
                named = f"input {name!r}" if len(wants) > 1 else ""
                what = f"data.{split} {named}".rstrip() if split in ("train", "validation", "test") \
                    else (named or f"the {split}")
                hint = None
                if len(shape) == 2 and math.prod(got) == shape[1]:
                    hint = f"add {{reshape: [{shape[1]}]}} to data.x"
                raise DataError(f"{what}: the samples have shape {list(got)} after preprocessing, "
                                f"but the model takes {list(shape[1:])}", hint=hint)


# ---------------------------------------------------------------------- evaluate / predict / load

def evaluate(target, data=None, overrides=(), batch_size=None, verbose=0, stream=None):
    """Loss and metrics of a trained model (run folder or ``.h5``) as a dict.

    ``data`` is None (the spec's test split), a data file path (read with the options of the spec's
    test or training source, e.g. its label column) or a data entry dict. ``overrides`` are ``--set``
    overrides of the stored spec, e.g. ``data.test.split=train``.
    """
    run, x, y, batch_size = evaluation_inputs(target, data, overrides, batch_size)
    logs = run.model.evaluate(x, y, batch_size=batch_size, verbose=verbose, return_dict=True,
                              stream=stream or sys.stderr)
    return jsonable(logs)


def evaluation_inputs(target, data=None, overrides=(), batch_size=None):
    """``(run, x, y, batch_size)``: what :func:`evaluate` runs the model on (the arguments are its own):
    the loaded run with its model compiled, the preprocessed data and the batch size."""
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
    pre = run.preprocessor
    split = load_split(source, base_dir, classes=run.classes, reads=pre.reads if pre is not None else None)
    if split.y is None:
        from kspec.data import DataError
        raise DataError("the evaluation data has no labels (y)",
                        hint="name the label column (label_column) or the y array")
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
    return run, x, y, batch_size


def predict(target, x, batch_size=None, verbose=0, stream=None):
    """Predictions of a trained model (a run folder, an ``.h5`` path or a :class:`LoadedRun`) for raw
    input ``x``: an array, or for a model with several inputs a dict input name -> array (or a list in
    input order). The run's input preprocessing is applied first.

    Returns an ndarray of shape (n, ...), or a list of them (in ``model.output_names`` order) for a
    model with several outputs. ``verbose=1`` shows progress on ``stream`` (stderr by default).
    """
    run = target if isinstance(target, LoadedRun) else load_run(target, compile=False,
                                                                with_spec=False)
    names = run.input_names
    if isinstance(x, (list, tuple)) and len(names) > 1:
        x = dict(zip(names, x))
    pre = run.preprocessor
    if not isinstance(x, dict) and len(names) == 1 and pre is not None and pre.x.named:
        x = {names[0]: x}  # the spec named its one input's steps: x: {input: [steps]}
    if pre is not None:
        x = pre.transform_x(x)
    check_inputs(run.model, {"input": (x, None)})
    return run.model.predict(x, batch_size=batch_size, verbose=verbose, stream=stream)


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


def validate(config, overrides=(), data=False):
    """Check a spec without reading data (with ``data``, also read the data and check it against the
    model). Returns a report dict: ``name``, ``layers`` (name, class, output shape, params),
    ``total_params``, ``trainable_params`` and ``warnings`` (Diagnostics).
    Raises SpecError when the spec has errors (DataError when the data cannot be read)."""
    doc, spec, model = build(config, overrides)
    from kspec.spec.compiler import make_callbacks
    make_callbacks(spec, doc)
    checked = None
    if data:
        from kspec.spec.consistency import check_data
        _, splits = load_data(spec, doc)
        check_data(model, spec, doc, splits)
        checked = {name: int(len(x)) if not isinstance(x, dict) else int(len(next(iter(x.values()))))
                   for name, (x, _) in splits.items()}
    layers = [{"name": layer.name, "class": type(layer).__name__,
               "output_shape": list(layer.output_shape) if layer.output_shape is not None else None,
               "params": layer.count_params()} for layer in model.layers]
    trainable = int(sum(w.size for w in model.trainable_weights))
    shapes = model.input_shape
    several = isinstance(shapes, list) or any(isinstance(d, (tuple, list)) for d in shapes)
    input_shape = [list(s[1:]) for s in shapes] if several else list(shapes[1:])
    return {"name": spec["name"], "input_shape": input_shape, "layers": layers,
            "total_params": model.count_params(), "trainable_params": trainable,
            "warnings": list(doc.warnings), "spec": spec, "data": checked}


# ------------------------------------------------------------------------------------------ helpers

def _model_of(target, overrides=()):
    if is_model_target(target):
        return load_run(target, compile=False, with_spec=False).model
    return build(target, overrides)[2]


def _evaluation_source(run, spec, doc, data):
    """The data entry to evaluate on, and the folder its relative paths start from.

    ``data``: None (the spec's test split); a dict (a data entry); a file path, read with the options
    of the spec's test (or train) source; or a list of such paths and ``KEY=VALUE`` items that change
    keys of that source (``split=train``, ``label_column=4``).
    """
    from kspec.data import DataError

    base_dir = doc.base_dir if doc is not None else run.folder
    spec_data = (spec or {}).get("data") or {}
    if isinstance(data, dict):
        return data, os.getcwd()
    items = [] if data is None else [data] if isinstance(data, (str, os.PathLike)) else list(data)
    paths = [os.fspath(i) for i in items if "=" not in os.fspath(i) or os.path.exists(os.fspath(i))]
    changes = [os.fspath(i) for i in items if os.fspath(i) not in paths]
    if len(paths) > 1:
        raise DataError(f"give one data file to evaluate on, not {len(paths)}")
    template = spec_data.get("test") if not paths else (spec_data.get("test") or spec_data.get("train"))
    if template is None and not paths:
        raise DataError("the run's spec has no test split",
                        hint="give the data to evaluate on: --data FILE")
    source = dict(template or {})
    if paths:
        base_dir = os.getcwd()
        if "dataset" in source or "path" not in source:
            source = {}
        source["path"] = os.path.abspath(paths[0])
    for change in changes:
        from kspec.spec.loader import load_value
        key, raw = change.split("=", 1)
        source[key.strip()] = load_value(raw, f"--data {change}")
    return source, base_dir


@contextlib.contextmanager
def _located(doc, path):
    """Tag a DataError or ModelFileError raised inside with the spec entry it comes from
    (``spec_location``: file, line, col), so the message can name the entry's line."""
    try:
        yield
    except Exception as e:
        if doc is not None and path is not None and getattr(e, "spec_location", None) is None \
                and type(e).__name__ in ("DataError", "StepError", "ModelFileError"):
            e.spec_location = doc.where(path)
        raise


def _print_warnings(doc, stream):
    for d in doc.warnings:
        stream.write(d.format() + "\n")
    if doc.warnings:
        stream.flush()


def _plain_diagnostic(message, hint=None):
    from kspec.spec import Diagnostic
    return Diagnostic("<spec>", None, None, message, hint=hint)


