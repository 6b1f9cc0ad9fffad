"""A run folder on disk: creating it, writing its files, and loading a trained run back.

A run folder holds ``model.h5`` (Keras legacy HDF5; kspec's resolved spec and the preprocessing state
are stored inside it too, so the model file alone is enough for predict), ``config.yaml`` (the resolved
spec, every default filled in, paths relative to the folder), ``preprocessing.json``, ``history.csv``,
``metrics.json`` and ``run.json`` (the run's record; while it trains also ``checkpoint.npz`` and
``train.lock``: see :mod:`kspec.run_lifecycle`). Files are written to a temporary name and renamed, so
none is ever half written. An unfinished run's ``model.h5`` is its last completed epoch's.
"""
import contextlib
import csv
import json
import math
import os
import sys
import warnings

MODEL_FILE = "model.h5"
CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
PREPROCESSING_FILE = "preprocessing.json"
CODE_DIR = "code"  # copies of the user modules a run's spec names (module:Name)
RUNS_DIR = "runs"
SPEC_FORMAT = "kspec-run/1"  # the layout of the spec stored in model.h5


class LoadedRun:
    """A trained model with what came with it: ``model``, ``spec`` (resolved, or None),
    ``preprocessor``, ``classes`` (label names or None), ``model_path``, ``folder``, ``doc``."""

    def __init__(self, model, spec, preprocessor, model_path, doc=None, stored=None):
        self.model, self.spec, self.preprocessor = model, spec, preprocessor
        self.model_path = model_path
        self.folder = os.path.dirname(os.path.abspath(model_path))
        self.doc = doc
        self.stored = stored  # what kspec stored in the model file: {"spec", "preprocessing"} or None
        self.unfinished = None  # (state, kept) of an unfinished run folder (run_lifecycle.describe_unfinished)

    @property
    def label_column(self):
        """The training source's label column (a CSV option), from the spec stored with the model."""
        spec = self.spec or (self.stored or {}).get("spec") or {}
        train = (spec.get("data") or {}).get("train")
        return train.get("label_column") if isinstance(train, dict) else None

    @property
    def classes(self):
        return None if self.preprocessor is None else self.preprocessor.classes

    @property
    def x_keys(self):
        """The training source's ``x``: the array key (str), a mapping input name -> key (dict), or
        None; read from the spec stored with the model, without resolving it."""
        spec = self.spec or (self.stored or {}).get("spec") or {}
        train = (spec.get("data") or {}).get("train")
        return train.get("x") if isinstance(train, dict) else None

    @property
    def input_names(self):
        """The model's input names (a graph model's ``Input`` names; one name for a Sequential model)."""
        names = getattr(self.model, "input_names", None)
        if names:
            return list(names)
        layer = getattr(self.model, "input_layer", None)
        return [layer.name] if layer is not None else ["input"]

    @property
    def output_names(self):
        return list(self.model.output_names)


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


def write_code(spec, folder):
    """Copy every user module the spec names (``module:Name``) into ``folder/code``, so the run can be
    evaluated and predicted after the original files move or change. Installed packages are not copied.
    Returns the copied module names."""
    import shutil

    from kspec import user_code

    loaded = user_code.loaded_modules()
    copied = []
    for module in sorted({ref.split(":")[0] for ref in user_code.references_in(spec)}):
        path = loaded.get(module)
        if not path or not os.path.isfile(path) or user_code.is_installed(path):
            continue
        parts = module.split(".")
        source = path
        for _ in parts[1:] if os.path.basename(path) != "__init__.py" else parts:
            source = os.path.dirname(source)  # a package: copy its top-level folder
        target = os.path.join(folder, CODE_DIR, os.path.basename(source))
        os.makedirs(os.path.join(folder, CODE_DIR), exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
        copied.append(module)
    return copied


def write_history(history, path):
    """``history.csv``: one row per epoch, ``epoch`` first, then the keys in Keras's order. Given a list
    of histories (a spec's first fit, then its ``stages``), every epoch of every stage in order, numbered
    on, with a ``stage`` column (0 for the first fit)."""
    histories = history if isinstance(history, list) else [history]
    keys = list(dict.fromkeys(k for h in histories for k in h.history))
    staged = isinstance(history, list)
    with _replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch"] + (["stage"] if staged else []) + keys)
        n = 0
        for stage, h in enumerate(histories):
            for i, epoch in enumerate(h.epoch):
                values = [h.history[k][i] if k in h.history else "" for k in keys]
                writer.writerow([n if staged else epoch] + ([stage] if staged else [])
                                + [_csv_number(v) for v in values])
                n += 1


def non_finite_weights(model):
    """``"layer 'dense' weight 'kernel'"`` texts for every weight holding NaN or inf."""
    import numpy as np

    from kspec import backend
    return [f"layer {layer.name!r} weight {w.name!r}" for layer in model.layers for w in layer.weights
            if not np.isfinite(backend.to_numpy(w.data)).all()]


def check_finite_weights(model, path, when):
    """Raise ModelFileError when a model's weights hold NaN or inf (training diverged)."""
    from kspec.io import ModelFileError

    bad = non_finite_weights(model)
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise ModelFileError(f"{when}: the weights hold NaN or inf values ({bad[0]}{more}), so training "
                             f"diverged and the model predicts nothing useful", path,
                             hint="train again with a lower learning rate, clipnorm, or cleaner data; "
                                  "TerminateOnNaN stops such a run early")


def load_run(target, compile=True, with_spec=True, finite=True):
    """A :class:`LoadedRun` from a run folder or a model file (``.h5``).

    The spec and preprocessing come from the run folder's ``config.yaml`` and ``preprocessing.json``
    when present, else from what kspec stored inside the model file. With ``finite``, a model whose
    weights hold NaN or inf is refused (ModelFileError).
    """
    from kspec.io import ModelFileError, load_model_and_spec

    target = os.fspath(target)
    folder = target if os.path.isdir(target) else None
    model_path = os.path.join(target, MODEL_FILE) if folder else target
    unfinished = None
    if folder:
        from kspec.run_lifecycle import describe_unfinished
        unfinished = describe_unfinished(folder)
    if folder and not os.path.isfile(model_path):
        if unfinished:
            raise ModelFileError(f"the run is unfinished ({unfinished[0]}): no epoch has ended, so there is "
                                 f"no {MODEL_FILE} yet", folder, hint=f"kspec train --resume {folder}")
        raise ModelFileError(f"no {MODEL_FILE} in the run folder", folder,
                             hint="is this a run folder that kspec train wrote (runs/NAME)? A training "
                                  "killed as it started leaves a folder without run.json: train again")
    from kspec.user_code import CodeDirs

    with warnings.catch_warnings(), CodeDirs(os.path.join(os.path.dirname(os.path.abspath(model_path)), CODE_DIR)):
        # Keras 2 optimizer arguments (lr, decay) warned when the run was trained; not again here
        warnings.simplefilter("ignore", DeprecationWarning)
        model, stored = load_model_and_spec(model_path, compile=compile)
    if finite:
        check_finite_weights(model, model_path, "cannot use this model")
    stored = stored if isinstance(stored, dict) else None
    if stored is not None and stored.get("format") != SPEC_FORMAT:
        stored = {"spec": stored, "preprocessing": None}
    model_dir = os.path.dirname(os.path.abspath(model_path))
    preprocessor = _load_preprocessor(model_dir if folder else None, stored)
    doc = spec = None
    if with_spec:
        from kspec.user_code import CodeDirs
        with CodeDirs(os.path.join(model_dir, CODE_DIR)):  # the run's copy of the user code it names
            doc, spec = _stored_spec(folder, model_dir, stored)
            if spec is not None and (spec.get("model") or {}).get("class"):
                model = _as_user_class(model, spec, doc, compile)
    loaded = LoadedRun(model, spec, preprocessor, model_path, doc, stored)
    loaded.unfinished = unfinished
    return loaded


def _as_user_class(model, spec, doc, compile):
    """The run's model rebuilt as the spec's ``model.class`` (so its test_step drives evaluate), with the
    trained weights of the model file (a model file names the Keras base class, as Keras writes it)."""
    from kspec.spec import build_model, compile_model

    rebuilt = build_model(spec, doc)
    if compile:
        compile_model(rebuilt, spec, doc)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def read_input(run, source="-", fmt=None, stdin=None):
    """Predict input from a file path or ``-`` (stdin): an array, or a dict input name -> array for a
    model with several inputs.

    A file of named arrays (.npz, .h5, or JSON lines of objects such as ``{"left": [...], "right":
    [...]}``) gives each model input the array named like the input, else the one that the spec's
    ``x: {input: key}`` mapping names; a single-input model takes the spec's ``x`` key, ``x``, its
    input's name or the only array. A CSV that still holds the training data's label column (found
    by its header name, or by having one column more than the model takes) has that column dropped,
    so labelled rows can be piped in.

    A run whose x steps start with ``text_vectorize`` reads raw text, one sample per line, and one that
    starts with ``pad_sequences`` reads token ids, one sequence per line (JSON lists or ids separated
    by spaces or commas, of any length), from stdin, ``.txt`` files and files of other names;
    ``.jsonl``, ``.npz`` and the other formats keep their meaning.
    """
    import io

    from kspec.data import DataError, detect_format, read_array_file, read_stream
    from kspec.data.formats import line_format, merge_reads
    from kspec.data.readers import read_capped, sniff_format

    reads = merge_reads(run.preprocessor.reads) if run.preprocessor is not None else None
    if source == "-":
        name = "<stdin>"
        stream = stdin if stdin is not None else sys.stdin
        if stream is None or getattr(stream, "closed", False):
            raise DataError("standard input is closed, so there is nothing to predict", name,
                            hint="give an INPUT file, or pipe the samples in: ... | kspec predict RUN -")
        try:
            raw = read_capped(getattr(stream, "buffer", stream), name)
        except OSError as e:
            raise DataError(f"cannot read standard input: {e.strerror or e}", name) from None
        raw = raw.encode("utf-8") if isinstance(raw, str) else raw
        if fmt is None:
            found = sniff_format(raw)
            fmt = found if found in ("npy", "npz") else reads or found
        options = _label_option(run, raw) if fmt == "csv" else {}
        data = read_stream(io.BytesIO(raw), fmt, name=name, **options)
    else:
        name = os.fspath(source)
        fmt = fmt or line_format(detect_format(name, required=not reads), reads, name)
        options = {}
        if fmt == "csv" and os.path.isfile(name) and not name.endswith(".gz"):
            with open(name, "rb") as f:
                options = _label_option(run, f.read(4096))
        data = read_array_file(name, fmt=fmt, **options)
    return pick_inputs(run, data, name)


def pick_inputs(run, data, name=None):
    """The model's input(s) from what a reader returned (an array, or a dict of named arrays)."""
    from kspec.data import DataError, pick_array

    inputs = run.input_names
    keys = run.x_keys
    if len(inputs) == 1:
        if isinstance(data, dict):
            key = keys.get(inputs[0]) if isinstance(keys, dict) else keys
            for candidate in (key, "x", inputs[0]):
                if isinstance(candidate, str) and candidate in data:
                    return data[candidate]
        return pick_array(data, None, name)
    example = "{" + ", ".join(f'"{n}": [...]' for n in inputs) + "}"
    if not isinstance(data, dict):
        raise DataError(f"the model takes {len(inputs)} inputs {inputs}, but this input is a single array",
                        name, hint=f"give an .npz or .h5 file with one array per input, or JSON lines of "
                                   f"objects like {example}")
    keys = keys if isinstance(keys, dict) else {}
    picked, missing = {}, []
    for input_name in inputs:
        key = input_name if input_name in data else keys.get(input_name)
        if isinstance(key, str) and key in data:
            picked[input_name] = data[key]
        else:
            missing.append(input_name if key in (None, input_name) else f"{input_name} (key {key!r})")
    if missing:
        raise DataError(f"no array for model input(s) {', '.join(missing)}; found {sorted(data)}", name,
                        hint=f"name the arrays after the inputs {inputs} (npz keys, h5 datasets or JSON "
                             f"keys, e.g. {example})")
    return picked


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
    if not isinstance(shape, tuple) or len(shape) != 2 or len(cells) != (shape[1] or -1) + 1:
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


def is_model_target(target):
    """Whether a command target is a run folder or a model file (rather than a spec)."""
    target = os.fspath(target)
    return os.path.isdir(target) or target.lower().endswith((".h5", ".hdf5", ".keras"))


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
    """The preprocessing state kspec stored in the model file (covered by its checksum), else the run
    folder's ``preprocessing.json``; a damaged one is a DataError naming it."""
    from kspec.data import DataError, Preprocessor

    state = stored.get("preprocessing") if stored is not None else None
    path = os.path.join(folder, PREPROCESSING_FILE) if folder else None
    name = path
    if not state and path and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
        except (ValueError, UnicodeDecodeError) as e:
            raise DataError(f"damaged: not valid JSON ({e})", path,
                            hint="train again, or restore the file from a copy") from None
        except OSError as e:
            raise DataError(f"cannot read the file: {e.strerror or e}", path) from None
    elif state:
        name = "the preprocessing state stored in the model file"
    if not state:
        return Preprocessor()
    try:
        if not isinstance(state, dict):
            raise TypeError(f"a {type(state).__name__}, not an object")
        return Preprocessor.from_state(state)
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - any damage in the state is the same user-facing problem
        raise DataError(f"damaged: not a kspec preprocessing state ({type(e).__name__}: {e})", name,
                        hint="train again, or restore the file from a copy") from None


def jsonable(value):
    """Floats for JSON: NaN and infinities become None (JSON has no such numbers)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _csv_number(v):
    return repr(float(v)) if isinstance(v, (int, float)) or hasattr(v, "item") else v


def write_json(path, value):
    _write_text(path, json.dumps(jsonable(value), indent=2) + "\n")


def _write_text(path, text):
    with _replacing(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


@contextlib.contextmanager
def _replacing(path):
    """A temporary name for ``path``, moved over it once the block succeeds; on any failure (a full
    disk, Ctrl-C) the temporary file is removed and the error names ``path``."""
    tmp = path + ".tmp"
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError) and not isinstance(e, BrokenPipeError):
            raise OSError(e.errno, f"cannot write the file ({e.strerror or e})", path) from None
        raise
