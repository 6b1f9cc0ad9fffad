"""A run as Python functions: train, evaluate, predict, summary and validate.

This is kspec's Python API and what the command line calls; nothing here writes to stdout (progress
and warnings go to the ``stream`` the caller hands in, stderr by default).

    result = train("configs/quickstart.yaml", overrides=["fit.epochs=5"])
    evaluate(result.run_dir)                    # {"accuracy": ..., "loss": ...} on the test split
    predict(result.run_dir, rows)               # (n, classes) probabilities

What a run folder holds, and how it is written and read back, is in :mod:`kspec.run_files`.
"""
import contextlib
import functools
import inspect
import math
import os
import sys
from typing import NamedTuple

from kspec.errors import KspecError
from kspec.run_files import (LoadedRun, is_model_target, jsonable, load_run, new_run_dir, read_input)

__all__ = ["train", "evaluate", "evaluation_inputs", "predict", "export", "summary", "validate", "load_run", "read_input",
           "to_classes", "load_spec", "build", "load_data", "check_inputs", "check_finite", "non_finite_rows",
           "RunResult", "LoadedRun", "jsonable"]


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

def _code_scoped(fn):
    """Give ``fn`` an ``allow_code`` keyword: True lets the spec or model file name user code
    (``module:Name``), False refuses it, None (the default) keeps the outer setting (``KSPEC_ALLOW_CODE``,
    or the ``--allow-code`` flag of the command)."""
    from kspec import user_code

    @functools.wraps(fn)
    def scoped(*args, allow_code=None, **kwargs):
        with user_code.allow_code(allow_code):
            return fn(*args, **kwargs)

    params = list(inspect.signature(fn).parameters.values())
    scoped.__signature__ = inspect.signature(fn).replace(
        parameters=params + [inspect.Parameter("allow_code", inspect.Parameter.KEYWORD_ONLY, default=None)])
    return scoped


def use_device(device=None):
    """Run the engine on "cpu" (NumPy), "gpu" (CuPy) or "auto"; None reads ``KSPEC_DEVICE``. Asking for a GPU
    that isn't there raises ``backend.DeviceError`` (a ValueError). Returns "cpu" or "gpu"."""
    from kspec import backend
    return backend.use_device(device)


def load_spec(config, overrides=()):
    """``(doc, spec)``: load a spec (a file path, a dict or a SpecDocument), apply ``--set``
    overrides and resolve it. Raises SpecError listing every problem."""
    from kspec.spec import SpecDocument, apply_overrides, from_dict, load_file, resolve
    from kspec.user_code import CodeDirs

    if isinstance(config, SpecDocument):
        doc = config
    elif isinstance(config, dict):
        doc = from_dict(config, base_dir=os.getcwd())
    else:
        doc = load_file(os.fspath(config))
    apply_overrides(doc, overrides)
    with CodeDirs(doc.base_dir):  # user modules (module:Name) are found beside the spec first
        return doc, resolve(doc)


def build(config, overrides=()):
    """``(doc, spec, model)``: the compiled model of a spec, built without reading any data."""
    from kspec.spec import build_model, compile_model

    doc, spec = load_spec(config, overrides)
    model = build_model(spec, doc)
    compile_model(model, spec, doc)
    return doc, spec, model


# ------------------------------------------------------------------------------------------- train

@_code_scoped
def train(config=None, run_dir=None, overrides=(), init_weights=None, verbose=None, stream=None,
          resume=False, checkpoint_every=None, callbacks=()):
    """Train the model a spec describes and write a run folder.

    Parameters
    ----------
    config : str, PathLike, dict or SpecDocument
        The spec. A dict's relative paths start at the current folder. With ``resume``, a run folder.
    run_dir : str, optional
        The run folder; default ``runs/<name>``. An existing folder is never overwritten: ``-1``,
        ``-2``, ... is added.
    overrides : iterable of str
        ``--set`` overrides, ``"fit.epochs=3"``.
    init_weights : str, optional
        A weights file to start from (replaces ``model.weights``).
    verbose : int, optional
        Overrides ``fit.verbose`` (0 = silent).
    stream : text stream, optional
        Where progress and warnings go (default stderr).
    resume : bool
        Continue the run folder ``config`` (or ``run_dir``) from its last checkpoint, with the spec saved
        in it; the result is the very one of an uninterrupted run. Overrides that change the spec are
        refused. A finished run is returned as it is.
    checkpoint_every : int, optional
        Also checkpoint every this many batches (a checkpoint is always written at each epoch's end).
    callbacks : iterable of Callback, optional
        Python callback objects called after the spec's own (e.g. a sweep's pruning callback).

    Returns
    -------
    RunResult

    The folder's life (lock, ``run.json``, checkpoints, Ctrl-C/SIGTERM, NaN stops) is described in
    :mod:`kspec.run_lifecycle`. Ctrl-C and SIGTERM raise KeyboardInterrupt after the folder is made
    resumable; a NaN or inf raises :class:`kspec.models.nan_guard.NonFiniteError`.
    """
    from kspec import run_lifecycle as life
    from kspec.spec import build_model, compile_model
    from kspec.spec.compiler import make_callbacks

    from kspec.backend import comm

    stream = sys.stderr if stream is None else stream
    world = comm.world()  # under mpiexec: every rank trains, rank 0 alone writes (README "Several processes")
    record = None
    if resume:
        if world.size > 1:
            raise KspecError("--resume runs on one process, not under mpiexec",
                             hint=f"kspec train --resume {config or run_dir}")
        folder, doc, spec, record = _open_resume(config, run_dir, overrides, init_weights)
        if record is not None and record.get("status") in ("finished", "early_stopped"):
            stream.write(f"{folder}: the run is finished ({record['status']}, {record.get('epochs_done')} "
                         f"epochs); nothing to resume\n")
            return life.finished_result(folder, RunResult)
        if spec.get("stages"):
            from kspec.spec import SpecError
            raise SpecError(_plain_diagnostic(f"--resume: {folder} has stages, which kspec does not resume yet",
                                              hint="train it anew"))
    else:
        doc, spec = load_spec(config, overrides)
        if spec["seed"] is None:
            spec["seed"] = world.bcast(int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF)
        if world.size > 1 and spec.get("stages"):
            raise KspecError("fine-tuning stages run on one process, not under mpiexec",
                             hint="train the stages without --ranks/mpiexec")
    model = build_model(spec, doc)
    compile_model(model, spec, doc)
    if init_weights:
        spec["model"]["weights"] = {"path": os.path.abspath(init_weights), "by_name": False,
                                    "skip_mismatch": False}
    loaded = ()
    if spec["model"].get("weights"):
        with _located(doc, ("model", "weights") if not init_weights else None):
            quiet = (verbose if verbose is not None else spec["fit"].get("verbose", 1)) == 0
            loaded = _load_initial_weights(model, spec["model"]["weights"], stream, not quiet)
    make_callbacks(spec, doc)  # checked before any data is read
    if spec.get("stages"):
        from kspec.spec.transfer import check_stages
        check_stages(model, spec, doc)
    preprocessor, splits = load_data(spec, doc)
    from kspec.spec.consistency import check_data
    check_data(model, spec, doc, splits)  # shapes, dtypes, NaN/inf, label range: before any file is written
    from kspec.spec.transfer import adapt_layers
    with _located(doc, ("data", "train")):
        adapt_layers(model, splits["train"][0], skip=loaded)  # Normalization: statistics of the training split
    from kspec.run_session import run_training, run_training_unwritten
    if world.rank:  # data-parallel: ranks other than 0 train alike and write nothing
        folder = world.bcast(None)
        return run_training_unwritten(model, spec, doc, splits, folder, verbose, checkpoint_every,
                                      RunResult, callbacks)
    _print_warnings(doc, stream)

    folder = folder if resume else new_run_dir(run_dir, spec["name"])
    folder = world.bcast(folder)
    life.acquire_lock(folder)
    session = life.RunRecord(folder, life.session_record(record, spec, doc))
    if world.size > 1:
        session.record["ranks"] = world.size
    return run_training(model, spec, doc, preprocessor, splits, folder, session, stream, verbose,
                        checkpoint_every, fresh=not resume, result_type=RunResult, extra_callbacks=callbacks)


def _open_resume(config, run_dir, overrides, init_weights):
    """``(folder, doc, spec, record)`` of a run to resume; refuses a spec that differs from the run's."""
    from kspec.run_files import CONFIG_FILE
    from kspec.spec import SpecError, apply_overrides, load_file, resolve
    from kspec.spec.writer import rebase_paths
    from kspec.run_lifecycle import read_record, spec_differences

    if init_weights:
        raise SpecError(_plain_diagnostic("--init-weights cannot be used with --resume",
                                          hint="a resumed run starts from its checkpoint"))
    given_spec = None
    if isinstance(config, (str, os.PathLike)) and os.path.isdir(config):
        folder = os.fspath(config)
    elif run_dir is not None:
        folder, given_spec = run_dir, config
    elif config is not None:
        given_spec = config
        folder = os.path.join("runs", load_spec(config)[1]["name"])
    else:
        raise SpecError(_plain_diagnostic("--resume needs a run folder", hint="kspec train --resume runs/NAME"))
    folder = os.path.normpath(folder)
    path = os.path.join(folder, CONFIG_FILE)
    if not os.path.isfile(path):
        from kspec.io import ModelFileError
        raise ModelFileError(f"not a run folder (no {CONFIG_FILE})", folder,
                             hint="give the folder that kspec train wrote, e.g. runs/NAME")
    record = read_record(folder)
    if record is not None and record.get("status") == "stopped_on_nan":
        raise KspecError(f"{folder}: the run stopped on a NaN ({record.get('message')}); resuming would meet "
                         "it again: change the spec (e.g. a smaller learning rate) and train anew")
    doc = load_file(path)
    stored = resolve(doc)
    apply_overrides(doc, overrides)
    spec = resolve(doc)
    changed = spec_differences(stored, spec)
    if given_spec is not None:
        _, other = load_spec(given_spec, overrides)
        if other["seed"] is None:
            other["seed"] = stored["seed"]
        changed += spec_differences(rebase_paths(stored, folder), rebase_paths(other, folder))
    if changed:
        raise SpecError(_plain_diagnostic(
            f"--resume: the spec differs from the run's in {', '.join(sorted(set(changed)))}",
            hint=f"a resumed run keeps its spec ({path}); train anew to change it"))
    return folder, doc, spec, record


def _load_initial_weights(model, entry, stream, report):
    """``model.weights`` (``{path, by_name, skip_mismatch}``): load, then report on ``stream`` which
    layers took weights from the file and which were skipped (always shown) or kept (when ``report``)."""
    import warnings

    from kspec.io import ModelFileWarning, load_weights

    path = entry["path"] if isinstance(entry, dict) else entry
    options = entry if isinstance(entry, dict) else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelFileWarning)
        done = load_weights(model, path, by_name=options.get("by_name", False),
                            skip_mismatch=options.get("skip_mismatch", False))
    skipped = [str(w.message).removeprefix(f"{path}: ").removesuffix("; skipped")
               for w in caught if issubclass(w.category, ModelFileWarning)]
    for w in caught:
        if not issubclass(w.category, ModelFileWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    lines = done.lines(path) if report or done.kept or done.partial else []
    lines += [f"  skipped: {message}" for message in skipped]
    if lines:
        stream.write("".join(f"kspec: {line}\n" for line in lines))
        stream.flush()
    return done.loaded


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
    raw = {"train": train_split}
    for name in ("validation", "test"):
        if data.get(name) is not None:
            with _located(doc, ("data", name)):
                raw[name] = load_split(data[name], base_dir, classes=train_split.classes, reads=reads)
                if raw[name].y is None:
                    raise DataError(f"data.{name} has no labels (y)")
    from kspec.spec.consistency import check_raw_inputs
    check_raw_inputs(doc, {name: split.x for name, split in raw.items()})  # NaN before standardize spreads it
    with _located(doc, ("data", "train")):
        splits = {"train": preprocessor.fit_transform(train_split.x, train_split.y,
                                                      classes=train_split.classes)}
    for name in ("validation", "test"):
        if name in raw:
            with _located(doc, ("data", name)):
                splits[name] = preprocessor.transform(raw[name].x, raw[name].y)
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

@_code_scoped
def evaluate(target, data=None, overrides=(), batch_size=None, verbose=0, stream=None):
    """Loss and metrics of a trained model (run folder or ``.h5``) as a dict.

    ``data`` is None (the spec's test split), a data file path (read with the options of the spec's
    test or training source, e.g. its label column) or a data entry dict. ``overrides`` are ``--set``
    overrides of the stored spec, e.g. ``data.test.split=train``.
    """
    run, x, y, batch_size = evaluation_inputs(target, data, overrides, batch_size, stream=stream)
    logs = run.model.evaluate(x, y, batch_size=batch_size, verbose=verbose, return_dict=True,
                              stream=stream or sys.stderr)
    return jsonable(logs)


@_code_scoped
def evaluation_inputs(target, data=None, overrides=(), batch_size=None, stream=None):
    """``(run, x, y, batch_size)``: what :func:`evaluate` runs the model on (the arguments are its own;
    ``stream`` gets the note that a run is unfinished): the loaded run with its model compiled, the
    preprocessed data and the batch size."""
    from kspec.data import load_split
    from kspec.spec import SpecError

    run = load_run(target)
    _note_unfinished(run, stream or sys.stderr)
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
    check_finite(split.x, "the evaluation data")
    import numpy as np
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked just below
        x, y = pre.transform(split.x, split.y) if pre is not None else (split.x, split.y)
    check_finite(x, "the evaluation data after preprocessing")
    check_finite(y, "the evaluation labels")
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


@_code_scoped
def predict(target, x, batch_size=None, verbose=0, stream=None):
    """Predictions of a trained model (a run folder, an ``.h5`` path or a :class:`LoadedRun`) for raw
    input ``x``: an array, or for a model with several inputs a dict input name -> array (or a list in
    input order). The run's input preprocessing is applied first.

    Returns an ndarray of shape (n, ...), or a list of them (in ``model.output_names`` order) for a
    model with several outputs. ``verbose=1`` shows progress on ``stream`` (stderr by default).
    """
    run = target if isinstance(target, LoadedRun) else load_run(target, compile=False,
                                                                with_spec=False)
    _note_unfinished(run, None)
    names = run.input_names
    if isinstance(x, (list, tuple)) and len(names) > 1:
        x = dict(zip(names, x))
    pre = run.preprocessor
    if not isinstance(x, dict) and len(names) == 1 and pre is not None and pre.x.named:
        x = {names[0]: x}  # the spec named its one input's steps: x: {input: [steps]}
    check_finite(x, "the input")
    import numpy as np
    if pre is not None:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked just below
            x = pre.transform_x(x)
        check_finite(x, "the input after preprocessing")
    check_inputs(run.model, {"input": (x, None)})
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # the caller checks the outputs
        return run.model.predict(x, batch_size=batch_size, verbose=verbose, stream=stream)


def check_finite(x, what):
    """Raise DataError when an input array (or dict/list of them) holds NaN or inf, as train refuses
    such data: the count, and the first sample and column."""
    from kspec.data import DataError
    from kspec.data.finite import non_finite_message

    arrays = x.items() if isinstance(x, dict) else enumerate(x) if isinstance(x, (list, tuple)) else [(None, x)]
    for name, arr in arrays:
        message = non_finite_message(arr) if getattr(arr, "dtype", None) is not None else None
        if message:
            named = f" (input {name!r})" if isinstance(name, str) else ""
            raise DataError(f"{what}{named}: {message}", hint="clean the data, or drop those rows")


def non_finite_rows(outputs):
    """Sample indices whose prediction (in any output) holds NaN or inf."""
    import numpy as np

    rows = None
    for p in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
        p = np.asarray(p)
        if p.dtype.kind not in "fc" or not p.size:
            continue
        bad = ~np.isfinite(p.reshape(len(p), -1)).all(axis=1)
        rows = bad if rows is None else rows | bad
    return [] if rows is None else np.flatnonzero(rows).tolist()


def export(target, path, overwrite=False):
    """Write a trained model (a run folder or a model file) as ``path``: Keras 3's native ``.keras`` or a
    legacy whole-model ``.h5``, both loadable by Keras with compile. The run's spec and preprocessing
    state go inside too (paths relative to the new file), so the file alone serves predict and evaluate.
    Returns ``path``."""
    from kspec.io import ModelFileError

    path = os.fspath(path)
    if not path.lower().endswith((".keras", ".h5", ".hdf5")):
        raise ModelFileError("unknown model file type", path,
                             hint="name it *.keras (Keras 3's native format) or *.h5 (legacy HDF5)")
    if os.path.exists(path) and not overwrite:
        raise ModelFileError("exists already", path, hint="choose another name, or overwrite it with --force")
    if os.path.isdir(path):
        raise ModelFileError("is a folder", path)
    from kspec.run_files import save_run_model

    run = load_run(target)
    folder, filename = os.path.split(os.path.abspath(path))
    if run.spec is None:
        from kspec.io import save_model
        save_model(run.model, path)
    else:
        save_run_model(run.model, run.spec, run.preprocessor, folder, filename)
    return path


def to_classes(probabilities):
    """Class ids from model outputs: argmax over the last axis, or ``p > 0.5`` for one unit."""
    import numpy as np

    p = np.asarray(probabilities)
    if p.ndim >= 2 and p.shape[-1] > 1:
        return p.argmax(axis=-1)
    return (p.reshape(p.shape[0], -1)[:, 0] > 0.5).astype(np.int64)


# ------------------------------------------------------------------------------ summary / validate

@_code_scoped
def summary(target, overrides=()):
    """Keras's summary table of a spec, run folder or model file, as text (no data is read)."""
    from kspec.models.summary import format_summary

    return format_summary(_model_of(target, overrides))


@_code_scoped
def validate(config, overrides=(), data=False):
    """Check a spec without reading data (with ``data``, also read the data and check it against the
    model). Returns a report dict: ``name``, ``layers`` (name, class, output shape, params),
    ``total_params``, ``trainable_params`` and ``warnings`` (Diagnostics).
    Raises SpecError when the spec has errors (DataError when the data cannot be read)."""
    doc, spec, model = build(config, overrides)
    from kspec.spec.compiler import make_callbacks
    make_callbacks(spec, doc)
    if spec.get("stages"):
        from kspec.spec.transfer import check_stages
        check_stages(model, spec, doc)
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
    estimate = memory_estimate(model, spec)
    _warn_memory(estimate, spec, doc)
    shapes = model.input_shape
    several = isinstance(shapes, list) or any(isinstance(d, (tuple, list)) for d in shapes)
    input_shape = [list(s[1:]) for s in shapes] if several else list(shapes[1:])
    return {"name": spec["name"], "input_shape": input_shape, "layers": layers,
            "total_params": model.count_params(), "trainable_params": trainable,
            "memory": estimate, "warnings": list(doc.warnings), "spec": spec, "data": checked}


def memory_estimate(model, spec):
    """Bytes a spec's training needs, roughly: ``weights``; ``training`` (weights, gradients and the
    optimizer's slots); ``activations_per_batch`` (every layer's output and its gradient for one batch
    of ``fit.batch_size``)."""
    weights = sum(int(w.size) * w.data.dtype.itemsize for w in model.weights)
    trainable = sum(int(w.size) * w.data.dtype.itemsize for w in model.trainable_weights)
    batch = int(spec["fit"].get("batch_size") or 32)
    outputs = 0
    for layer in model.layers:
        shapes = layer.output_shape
        shapes = shapes if isinstance(shapes, list) else [shapes]
        for shape in shapes:
            if isinstance(shape, (tuple, list)) and all(isinstance(d, int) for d in shape[1:]):
                outputs += math.prod(shape[1:]) * 4  # Python ints: a crafted 2**64 cannot overflow
    return {"weights": weights, "training": weights + trainable * (1 + _slots_per_weight(model)),
            "activations_per_batch": 2 * batch * outputs, "batch_size": batch}


def _slots_per_weight(model):
    """How many arrays the compiled optimizer keeps per trainable weight (built on a stand-in)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return 0
    try:
        from kspec.engine import Variable
        probe = type(optimizer).from_config(optimizer.get_config())
        import numpy as np
        probe.build([Variable(np.zeros(1, np.float32), name="probe")])
        return len(probe._slots)
    except Exception:  # noqa: BLE001 - an estimate: assume Adam's two slots
        return 2


def _warn_memory(estimate, spec, doc):
    from kspec.backend import memory

    need = estimate["training"] + estimate["activations_per_batch"]
    if need <= memory.budget() or doc is None:
        return
    where = ("fit", "batch_size") if estimate["activations_per_batch"] > estimate["training"] \
        and spec["fit"].get("batch_size") else ("model",)
    doc.warnings.append(doc.diagnostic(
        where, f"training needs about {memory.format_size(need)} ({memory.format_size(estimate['training'])} "
               f"for weights, gradients and optimizer slots; {memory.format_size(estimate['activations_per_batch'])} "
               f"of activations per batch of {estimate['batch_size']}), over the memory budget of "
               f"{memory.format_size(memory.budget())}",
        hint=f"a smaller model or batch_size, or {memory.HINT}", severity="warning"))


# ------------------------------------------------------------------------------------------ helpers

def _model_of(target, overrides=()):
    if is_model_target(target):
        return load_run(target, compile=False, with_spec=False, finite=False).model
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
                and isinstance(e, KspecError):
            e.spec_location = doc.where(path)
        raise


def _note_unfinished(run, stream):
    if run.unfinished:
        stream = stream or sys.stderr
        state, kept = run.unfinished
        stream.write(f"kspec: note: {run.folder}: the run is unfinished ({state}); using {kept}\n")
        stream.flush()


def _print_warnings(doc, stream):
    for d in doc.warnings:
        stream.write(d.format() + "\n")
    if doc.warnings:
        stream.flush()


def _plain_diagnostic(message, hint=None):
    from kspec.spec import Diagnostic
    return Diagnostic("<spec>", None, None, message, hint=hint)


