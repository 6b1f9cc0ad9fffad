"""Keras 3's native ``.keras`` file (reference §7c): a zip of three members, stored uncompressed.

::

    metadata.json     {"keras_version": "3.15.1", "date_saved": "YYYY-MM-DD@HH:MM:SS",
                       "kspec_version": ..., "kspec_spec": {...}}   (kspec's keys; Keras never reads them)
    config.json       {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}
    model.weights.h5  the .weights.h5 layout: layers/<snake_case class>[_N]/vars/0.., optimizer/vars/0..

``config.json`` is what ``keras.saving.serialize_keras_object(model)`` writes; ``compile_config`` holds the
optimizer, losses and metrics as Keras objects. Reading accepts any ``.keras`` file Keras 3 writes with the
HDF5 weights format (not the ``.npz`` one).
"""
import contextlib
import datetime
import io
import json
import os
import zipfile

import h5py

from kspec.io.errors import ModelFileError
from kspec.io.h5_legacy import KERAS_VERSION, require_built
from kspec.io.h5utils import H5_ERRORS, json_default, kspec_version
from kspec.io.keras_config import (compile_args, compile_config, dtype_policy, keras_class_name,
                                   model_from_config)

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
# The module Keras names for each model class in config.json.
_MODULES = {"Sequential": ("keras", None), "Functional": ("keras.src.models.functional", "Functional")}


def is_keras_zip(path):
    """Whether ``path`` is a zip archive (a ``.keras`` file), whatever its name."""
    try:
        return zipfile.is_zipfile(os.fspath(path))
    except OSError:
        return False


# -- saving ------------------------------------------------------------------------------------------------
def save_model(model, path, spec=None, include_optimizer=True):
    """Write ``model`` as a ``.keras`` file (atomically): config, compile configuration, weights and (when
    compiled and ``include_optimizer``) the optimizer state. ``spec`` is stored in ``metadata.json``."""
    require_built(model, path)
    config = json.dumps(model_entry(model, include_optimizer), default=json_default)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "kspec_version": kspec_version()}
    if spec is not None:
        metadata["kspec_spec"] = spec.to_dict() if hasattr(spec, "to_dict") else spec
    try:
        metadata = json.dumps(metadata, ensure_ascii=False, default=json_default)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"cannot store the spec as JSON ({exc})", path) from None
    from kspec.io import weights_h5

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        weights_h5.write_weights(model, f, include_optimizer=include_optimizer)
    with _atomic_file(path) as out, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(METADATA, metadata)
        zf.writestr(CONFIG, config)
        zf.writestr(WEIGHTS, buffer.getvalue())


def model_entry(model, include_optimizer=True):
    """``serialize_keras_object(model)``: the model's config wrapped with its class, build and compile
    configuration."""
    class_name = keras_class_name(model)
    module, registered = _MODULES.get(class_name, ("keras", None))
    config = dict(model.get_config())
    if "dtype" in config:
        config["dtype"] = dtype_policy(config["dtype"])
    shape = getattr(model, "input_shape", None)
    if class_name == "Functional":
        shape = None  # Keras writes input_shape null for graph models (their inputs say it)
    entry = {"module": module, "class_name": class_name, "config": config, "registered_name": registered,
             "build_config": {"input_shape": _shape_list(shape)}}
    compiled = compile_config(model) if include_optimizer else None
    if compiled is not None:
        entry["compile_config"] = compiled
    return entry


def _shape_list(shape):
    if shape is None:
        return None
    if isinstance(shape, list):
        return [list(s) for s in shape]
    return list(shape)


@contextlib.contextmanager
def _atomic_file(path):
    """A binary file that replaces ``path`` only when completely written (as :func:`atomic_h5`)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(exc, OSError):
            raise ModelFileError(f"cannot write the file ({exc.strerror or exc})", path) from None
        raise


# -- loading -----------------------------------------------------------------------------------------------
def load_model_and_spec(path, compile=True):
    """``(model, spec)`` from a ``.keras`` file; spec is None unless kspec stored one."""
    from kspec.io import weights_h5  # here, not at the top: kspec's .h5 files are read without it

    with open_archive(path) as zf:
        entry = _read_json(zf, CONFIG, path)
        metadata = _read_json(zf, METADATA, path) if METADATA in zf.namelist() else {}
        model = model_from_config(entry, path)
        with open_weights(zf, path) as f:
            weights_h5.load_weights(model, f, path, skip_mismatch=False, optimizer=False)
            if compile and isinstance(entry.get("compile_config"), dict) and entry["compile_config"]:
                _compile(model, entry["compile_config"], path)
                weights_h5.load_optimizer(model, f, path)
    spec = metadata.get("kspec_spec") if isinstance(metadata, dict) else None
    return model, spec


def load_model(path, compile=True):
    return load_model_and_spec(path, compile=compile)[0]


def _compile(model, config, path):
    args = compile_args(config, path)
    try:
        model.compile(**args)
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"cannot compile the model from compile_config: {exc}", path) from None


@contextlib.contextmanager
def open_archive(path):
    """The open zip archive; a missing, damaged or non-zip file raises ModelFileError."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError("no such file", path)
    try:
        zf = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"not a readable .keras (zip) file ({exc})", path,
                             hint="the file may be truncated or damaged") from None
    with zf:
        missing = [m for m in (CONFIG, WEIGHTS) if m not in zf.namelist()]
        if missing:
            extra = " (Keras's .npz weights format is not supported)" \
                if "model.weights.npz" in zf.namelist() else ""
            raise ModelFileError(f"not a Keras .keras file: no {' or '.join(missing)} in the archive{extra}",
                                 path)
        yield zf


@contextlib.contextmanager
def open_weights(zf, path):
    """``model.weights.h5`` of an open archive as an open h5py File (read into memory)."""
    try:
        data = zf.read(WEIGHTS)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read {WEIGHTS} from the archive ({exc})", path) from None
    try:
        f = h5py.File(io.BytesIO(data), "r")
    except OSError as exc:
        raise ModelFileError(f"{WEIGHTS} in the archive is not a readable HDF5 file ({exc})", path) from None
    try:
        with f:
            yield f
    except ModelFileError:
        raise
    except H5_ERRORS as exc:
        raise ModelFileError(f"damaged {WEIGHTS} in the archive ({exc})", path) from None


def _read_json(zf, name, path):
    try:
        return json.loads(zf.read(name).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{name} in the archive is not valid JSON ({exc})", path) from None
