"""HDF5 plumbing shared by the model-file formats: opening with clear errors, atomic writes, and Keras's
string-attribute conventions (reference §7a "Attribute string types").

Keras 3 writes string lists as variable-length ASCII (``bytes``), single texts such as ``keras_version`` at
the root as variable-length UTF-8 (``str``), and an empty list as a float64 array of shape (0,). Keras 2
files written with h5py 2 hold fixed-length byte strings. Readers here accept all of these.
"""
import contextlib
import io
import json
import os
import re
import secrets
import signal

import h5py
import numpy as np

from kspec.backend import memory
from kspec.io.errors import ModelFileError
from kspec.errors import KspecError

# HDF5 object headers hold at most this many bytes of attributes; Keras splits longer string lists into
# ``name0``, ``name1``, ... (``HDF5_OBJECT_HEADER_LIMIT`` in Keras).
HEADER_LIMIT = 64512

# Errors h5py raises for unreadable, truncated or damaged files and objects.
H5_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError)


def kspec_version():
    """kspec's version: the installed distribution's, else the source tree's ``__version__``."""
    from importlib import metadata
    try:
        return metadata.version("kspec")
    except metadata.PackageNotFoundError:
        import kspec
        return getattr(kspec, "__version__", "unknown")


@contextlib.contextmanager
def open_for_reading(path):
    """Open ``path`` read-only; h5py's errors (missing file, not HDF5, truncated) become ModelFileError,
    also for reads inside the ``with`` block."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError("no such file", path)
    if os.path.isdir(path):
        raise ModelFileError("is a folder, not a model file", path,
                             hint="give the .h5 or .weights.h5 file inside it")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(f"not a readable HDF5 file ({_short(exc)})", path,
                             hint="the file may be truncated, damaged or of another format") from None
    try:
        with deferred_interrupts(), f:
            yield f
    except KspecError:
        raise  # already a clear error (a model-file error, user code refused or failing, a budget)
    except H5_ERRORS as exc:
        raise ModelFileError(f"damaged HDF5 file ({_short(exc)})", path) from None


@contextlib.contextmanager
def atomic_h5(path):
    """Yield an h5py File that replaces ``path`` only once it is completely written.

    The file is written to a temporary name in the same folder, flushed to disk, then moved over ``path``
    with ``os.replace``: an interrupted or failed save leaves no partial file, and an existing file stays
    as it was.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise ModelFileError(f"cannot create the folder ({_short(exc)})", path) from None
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        with deferred_interrupts() as interrupted:
            # HDF5 builds the file in memory: a failing disk then meets Python's file writes (a clean
            # OSError), never HDF5's, which fail inside h5py's object cleanup and can crash the process
            image = io.BytesIO()
            with h5py.File(image, "w") as f:
                yield f
            interrupted.check()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask-respecting mode
            with os.fdopen(fd, "wb") as out:
                out.write(image.getbuffer())
                out.flush()
                os.fsync(out.fileno())
            del image
            interrupted.check()
            os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(exc, OSError):
            raise ModelFileError(f"cannot write the file ({_write_reason(exc)})", path) from None
        raise


def _write_reason(exc):
    """"No space left on device" rather than h5py's page of HDF5 internals."""
    errno_ = getattr(exc, "errno", None)
    if errno_:
        return os.strerror(errno_)
    match = re.search(r"error message = '([^']*)'", str(exc))
    return match.group(1) if match else _short(exc)


class _Interrupts:
    """Ctrl-C inside an HDF5 write or read is recorded, not raised inside h5py (which can swallow it while
    freeing objects); :meth:`check` raises it at the next safe point, and the block raises it at its end."""

    def __init__(self):
        self.pending = False

    def handler(self, signum, frame):
        self.pending = True

    def check(self):
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


_active = []


@contextlib.contextmanager
def deferred_interrupts():
    state = _Interrupts()
    try:
        previous = signal.signal(signal.SIGINT, state.handler) \
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler else None
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    _active.append(state)
    try:
        yield state
    finally:
        _active.pop()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    state.check()


def interruption_point():
    """Raise a Ctrl-C recorded by :func:`deferred_interrupts` (between datasets)."""
    if _active:
        _active[-1].check()


def _short(exc):
    """The first line of an exception message."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- string attributes -------------------------------------------------------------------------------------
def to_text(value):
    """An attribute value as ``str``: bytes (fixed or vlen) are decoded, numpy scalars unwrapped."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf8")
    return str(value)


def read_strings(group, name):
    """A list attribute written by :func:`write_strings` (or by Keras 2/3), as a list of ``str``.

    Accepts vlen or fixed-length, bytes or str, the float64 empty array, and chunked ``name0, name1, ...``.
    """
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks, i = [], 0
        while f"{name}{i}" in group.attrs:
            chunks.append(group.attrs[f"{name}{i}"])
            i += 1
    out = []
    for chunk in chunks:
        values = np.atleast_1d(np.asarray(chunk))
        if values.size and values.dtype.kind not in "SUO":
            raise ModelFileError(f"attribute {name!r} of {group.name} is not a list of strings")
        out += [to_text(v) for v in values]
    return out


def write_strings(group, name, strings):
    """Store a list of strings as Keras 3 does: vlen ASCII bytes, float64[0] when empty, split into
    ``name0, name1, ...`` when it would overflow the object header."""
    data = [s.encode("utf8") for s in strings]
    if not data:
        group.attrs[name] = np.zeros((0,), dtype=np.float64)
        return
    if any(len(s) > HEADER_LIMIT for s in data):
        raise ModelFileError(f"a name in {name!r} is longer than {HEADER_LIMIT} bytes")
    fixed = np.asarray(data)  # Keras measures the size of the fixed-length array
    chunks = 1
    while any(c.nbytes > HEADER_LIMIT for c in np.array_split(fixed, chunks)):
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
        return
    for i, part in enumerate(np.array_split(np.arange(len(data)), chunks)):
        group.attrs[f"{name}{i}"] = [data[j] for j in part]


def read_text_attr(group, name):
    """A single text attribute as ``str``, or None when absent."""
    if name not in group.attrs:
        return None
    return to_text(group.attrs[name])


def read_json_attr(group, name, path):
    """A JSON attribute (``model_config``, ``training_config``), decoded; None when absent."""
    text = read_text_attr(group, name)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ModelFileError(f"attribute {name!r} is not valid JSON ({exc})", path) from None


def json_bytes(value, what, path):
    """JSON text as ASCII bytes, as Keras writes ``model_config`` and ``training_config``."""
    try:
        return json.dumps(value, default=json_default).encode("utf8")
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"cannot write the {what} as JSON ({exc})", path) from None


def json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


# -- integrity -----------------------------------------------------------------------------------------------
CHECKSUM_ATTR = "kspec_checksum"


def content_digest(f):
    """SHA-256 over a file's root attributes (configs, kspec's spec and preprocessing state) and every
    dataset's path, dtype and shape. With the fletcher32 checksums of the data it covers everything that
    shapes a prediction, so a damaged kspec file is refused instead of predicting something else."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(k for k in f.attrs if k != CHECKSUM_ATTR):
        digest.update(f"{name}={to_text(f.attrs[name])}\0".encode("utf8", "surrogateescape"))
    entries = []
    f.visititems(lambda path, obj: entries.append(f"{path}:{obj.dtype.str}:{obj.shape}")
                 if isinstance(obj, h5py.Dataset) else None)
    digest.update("\0".join(entries).encode("utf8", "surrogateescape"))
    return digest.hexdigest()


def write_checksum(f):
    f.attrs[CHECKSUM_ATTR] = content_digest(f)


def verify_checksum(f, path):
    """Raise ModelFileError when a kspec file's checksum does not match; files without one (Keras's, older
    kspec's) are not checked."""
    if CHECKSUM_ATTR not in f.attrs:
        return
    try:
        stored = to_text(f.attrs[CHECKSUM_ATTR])
    except (UnicodeDecodeError, TypeError, ValueError):
        stored = None
    if stored != content_digest(f):
        raise ModelFileError("the file does not match its checksum (kspec_checksum): it is damaged", path,
                             hint="train again or restore the file from a copy")


# -- datasets ------------------------------------------------------------------------------------------------
def write_array(group, name, value):
    """A dataset at the relative path ``name`` (``/`` creates nested groups), with a fletcher32 checksum
    when HDF5 allows one (it needs chunks: not for scalars or empty arrays). Keras and h5py read such
    datasets like plain ones; a damaged one fails its checksum on read instead of giving other numbers."""
    interruption_point()
    value = np.asarray(value)
    checked = value.ndim > 0 and value.size > 0
    chunks = (value.shape if value.nbytes < 2**30 else True) if checked else None
    group.create_dataset(name, data=value, fletcher32=checked, chunks=chunks)


def read_dataset(obj, path):
    """All of an h5py dataset, after checking its declared size against the memory budget and against
    what the file stores (a crafted header cannot make kspec allocate more than the file holds)."""
    shape = obj.shape
    if shape is None:
        raise ModelFileError(f"dataset {obj.name} has no shape (an empty dataspace)", path)
    declared = memory.nbytes(shape, obj.dtype.itemsize)
    try:
        memory.check(declared, f"dataset {obj.name} of shape {shape}")
    except memory.MemoryBudgetError as exc:
        raise ModelFileError(str(exc), path) from None
    stored = obj.id.get_storage_size()
    if obj.compression is None and obj.scaleoffset is None and stored < declared:
        raise ModelFileError(f"dataset {obj.name} declares shape {shape} ({memory.format_size(declared)}) "
                             f"but the file stores {memory.format_size(stored)} of it: the file is damaged "
                             f"or crafted", path)
    interruption_point()
    try:
        return obj[()]
    except OSError as exc:
        if "checksum" in str(exc).lower() or (obj.fletcher32 and "filter" in str(exc).lower()):
            raise ModelFileError(f"dataset {obj.name} fails its fletcher32 checksum: the file is damaged",
                                 path, hint="train again or restore the file from a copy") from None
        raise ModelFileError(f"cannot read dataset {obj.name} ({_short(exc)})", path) from None


def read_array(group, name, path):
    """The dataset at relative path ``name`` as a NumPy array; missing or non-dataset -> ModelFileError."""
    obj = group.get(name)
    if not isinstance(obj, h5py.Dataset):
        what = "missing" if obj is None else "not a dataset"
        raise ModelFileError(f"weight {name!r} listed in {group.name} is {what}", path)
    if obj.is_virtual or obj.external:
        raise ModelFileError(f"weight {name!r} is stored outside the file, which kspec does not read", path)
    value = read_dataset(obj, path)
    if to_text(obj.attrs.get("dtype", "")) == "bfloat16":  # Keras stores bfloat16 as raw 2-byte values
        bits = np.asarray(value).view(np.uint16).astype(np.uint32) << np.uint32(16)
        value = bits.view(np.float32)
    return value
