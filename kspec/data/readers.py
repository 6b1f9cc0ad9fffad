"""Readers for array files and for stdin: npz, npy, CSV/TSV, HDF5, IDX, JSON lines, token ids and text.

Every failure raises :class:`~kspec.data.errors.DataError` naming the file (and line, for text).
Pickled data is never loaded (``allow_pickle=False`` everywhere).
"""
import gzip
import io
import os
import re
import stat
import struct
import zipfile
import zlib

import numpy as np

from kspec.backend import memory
from kspec.data.errors import DataError
from kspec.data.formats import EXTENSIONS, FORMATS, STREAM_FORMATS
from kspec.data.lines import parse_ids, parse_jsonl, parse_text_lines
from kspec.data.tables import parse_table

_IDX_NAME = re.compile(r"(-ubyte|\.idx\d?|-idx\d)$")
# IDX type byte -> big-endian dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_GZIP_MAGIC = b"\x1f\x8b"
_PICKLE_HINT = ("kspec never loads pickled objects; save a numeric array, "
                "e.g. np.save(path, x.astype('float32'))")


# ---------------------------------------------------------------------------------------------- API

def read_array_file(path, key=None, *, header=None, label_column=None, delimiter=None, fmt=None,
                    classes=None):
    """Read an array file.

    Parameters
    ----------
    path : str or PathLike
    key : str, optional
        The array in an .npz or the dataset path in an HDF5 file. Without it, every array is returned.
    header : bool or "auto", optional
        CSV only: whether the first row holds column names (auto: it does when it is non-numeric).
    label_column : int or str, optional
        CSV only: the column (0-based index, negative allowed, or header name) that holds the labels.
    delimiter : str, optional
        CSV only; default "," (tab for .tsv; for .txt, sniffed from the first row, whitespace if neither).
    fmt : str, optional
        One of :data:`~kspec.data.formats.FORMATS`; overrides the format found from the file name.
    classes : sequence of str, optional
        Known class names for string labels (from the training split), so that every split maps
        names to the same indices.

    Returns
    -------
    ndarray, or dict of str to ndarray
        One array for .npy, IDX, a CSV without label column, a keyed .npz/HDF5 read, JSON lines of
        lists, token ids (a ragged (n,) object array of int64 arrays) or text (an (n,) object array
        of str). A dict for an unkeyed .npz/HDF5 read, JSON lines of objects, and a CSV with a label
        column: ``{"x": (n, features) float32, "y": (n,) labels}`` plus ``"classes"`` (str array)
        when the labels are strings. Arrays read from IDX files are read-only.
    """
    name = str(path)
    fmt, gz = _detect(name, fmt)
    if not os.path.exists(name):
        raise DataError("file not found", name,
                        hint="paths in a spec are relative to the spec file's folder")
    if os.path.isdir(name):
        raise DataError("is a folder, not a file", name)
    if fmt == "h5":
        return _read_h5(name, key)
    data = read_bytes(name, gz)
    return _decode(data, fmt, name, key=key, header=header, label_column=label_column,
                   delimiter=delimiter, classes=classes, ext=_inner_ext(name))


def read_stream(stream, fmt=None, *, key=None, header=None, label_column=None, delimiter=None,
                classes=None, name="<stdin>"):
    """Read arrays from a stream (stdin): one of :data:`~kspec.data.formats.STREAM_FORMATS`.

    ``stream`` is a binary stream (``sys.stdin.buffer``, ``io.BytesIO``); a text stream with a
    ``.buffer`` is read through it. Without ``fmt`` the format is sniffed from the first bytes.
    ``jsonl`` is one JSON list per line (one sample), or one object per line mapping input names to
    lists (multi-input models; returns a dict). Returns what :func:`read_array_file` returns.
    """
    source = getattr(stream, "buffer", stream)
    data = read_capped(source, name)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, name)
    if fmt is None:
        fmt = sniff_format(data)
    if fmt not in STREAM_FORMATS:
        raise DataError(f"unknown input format {fmt!r}", name,
                        hint=f"use one of {', '.join(STREAM_FORMATS)}")
    return _decode(data, fmt, name, key=key, header=header, label_column=label_column,
                   delimiter=delimiter, classes=classes, ext=None)


def detect_format(path, fmt=None, required=True):
    """The format of a file from its name (``fmt`` overrides): one of :data:`FORMATS`. A name that
    says nothing raises DataError, or gives None when not ``required``."""
    return _detect(str(path), fmt, required)[0]


def sniff_format(data):
    """The format of raw bytes: npy, npz (zip), jsonl (starts with [ or {) or csv."""
    if data.startswith(_NPY_MAGIC):
        return "npy"
    if data.startswith(_ZIP_MAGIC):
        return "npz"
    head = data.lstrip()[:1]
    return "jsonl" if head in (b"[", b"{") else "csv"


def parse_idx(data, name=None):
    """Decode the bytes of an IDX file (the MNIST format) to an array.

    Checks the magic number (two zero bytes, a type byte, the number of dimensions) and that the
    file length matches the declared shape. A uint8 file gives a read-only view of ``data``.
    """
    if not data:
        raise DataError("not an IDX file: the file is empty", name)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES or data[3] == 0:
        raise DataError(f"not an IDX file: bad magic number 0x{data[:4].hex()}", name,
                        hint="IDX files start with 0x0000, a type byte 0x08-0x0E and the number "
                             "of dimensions; a gzipped file needs a .gz name")
    ndim = data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise DataError(f"truncated IDX file: the header needs {start} bytes, the file has "
                        f"{len(data)}", name, hint="download the file again")
    shape = struct.unpack(f">{ndim}I", data[4:start])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    count = 1
    for n in shape:
        count *= n
    expected = start + count * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "corrupt"
        raise DataError(f"{what} IDX file: the header declares shape {tuple(shape)} of "
                        f"{dtype.name} ({expected} bytes) but the file has {len(data)} bytes",
                        name, hint="download the file again")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=start).reshape(shape)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


# ------------------------------------------------------------------------------------ internals

def _inner_ext(name):
    base = name.lower()
    if base.endswith(".gz"):
        base = base[:-3]
    return os.path.splitext(base)[1]


def _detect(name, fmt, required=True):
    """(format, gzipped) of a file name, or the ``fmt`` override."""
    gz = name.lower().endswith(".gz")
    if fmt is not None:
        if fmt not in FORMATS:
            raise DataError(f"unknown file format {fmt!r}", name,
                            hint=f"use one of {', '.join(FORMATS)}")
        return fmt, gz
    base = os.path.basename(name.lower())
    if gz:
        base = base[:-3]
    if _IDX_NAME.search(base):
        return "idx", gz
    found = EXTENSIONS.get(os.path.splitext(base)[1])
    if found is None:
        if not required:
            return None, gz
        raise DataError("unknown file type", name,
                        hint="use .npz, .npy, .csv, .tsv, .txt, .h5, .hdf5, .jsonl or an IDX file "
                             "(*-ubyte[.gz], .idx), or set the format explicitly "
                             f"({', '.join(FORMATS)})")
    if gz and found in ("h5", "npz"):
        raise DataError(f"a gzipped .{found} file cannot be read", name, hint="gunzip it first")
    return found, gz


def read_bytes(path, gz=None):
    """The bytes of a file, gunzipped when ``gz`` (default: the name ends with .gz)."""
    name = str(path)
    if gz is None:
        gz = name.lower().endswith(".gz")
    try:
        with open(name, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                raise DataError("is a device, not a data file", name,
                                hint="to read a stream, pipe it into kspec predict RUN - (or name a FIFO)")
            if stat.S_ISREG(mode):
                _check_size(os.fstat(f.fileno()).st_size, name, "the file")
                data = f.read()
            else:  # a FIFO or socket: read up to the budget
                data = read_capped(f, name)
    except OSError as e:
        raise DataError(f"cannot read the file: {e.strerror or e}", name) from None
    return _gunzip(data, name) if gz else data


_CHUNK = 1 << 24


def read_capped(source, name, what="the input"):
    """All bytes of a binary stream (a file, pipe, FIFO or device), refused with a DataError once they
    pass the memory budget: ``/dev/zero`` or an endless pipe cannot exhaust memory."""
    limit = memory.budget()
    data = source.read(min(_CHUNK, limit + 1))
    if isinstance(data, str) or len(data) < min(_CHUNK, limit + 1):
        return data
    data = bytearray(data)  # grows in place: no second copy when the chunks are joined
    while len(data) <= limit:
        chunk = source.read(min(_CHUNK, limit + 1 - len(data)))
        if not chunk:
            return data
        data += chunk
    raise DataError(f"{what} is larger than kspec's memory budget of {memory.format_size(limit)} "
                    f"(a device or a pipe that does not end?)", name, hint=memory.HINT)


def _check_size(nbytes, name, what):
    try:
        memory.check(nbytes, what)
    except memory.MemoryBudgetError as e:
        raise DataError(str(e), name) from None


def _gunzip(data, name):
    if not data.startswith(_GZIP_MAGIC):
        raise DataError("not a gzip file (no gzip header)", name,
                        hint="remove the .gz suffix if the file is not compressed")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            return read_capped(f, name, "the decompressed file")
    except EOFError:
        raise DataError("truncated gzip file: the compressed data ends early", name,
                        hint="download the file again") from None
    except (OSError, zlib.error) as e:
        raise DataError(f"corrupt gzip file: {e}", name, hint="download the file again") from None


def _decode(data, fmt, name, *, key, header, label_column, delimiter, classes, ext):
    if fmt == "npz":
        return _read_npz(data, key, name)
    if fmt == "npy":
        return _read_npy(data, name)
    if fmt == "idx":
        return parse_idx(data, name)
    text = _text(data, name)
    if fmt == "jsonl":
        return parse_jsonl(text, name)
    if fmt == "sequences":
        return parse_ids(text, name)
    if fmt == "text":
        return parse_text_lines(text, name)
    return parse_table(text, name, header=header, label_column=label_column, delimiter=delimiter,
                       classes=classes, ext=ext)


def _text(data, name):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text (byte {e.start})", name,
                        hint="is this a binary file? set the format explicitly") from None


def _npy_header(fp, available, name):
    """Check an .npy header: the array it declares must fit in the ``available`` bytes after it and in
    the memory budget, before NumPy allocates it (a 200-byte file may claim a terabyte)."""
    start = fp.tell()
    try:
        version = np.lib.format.read_magic(fp)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read(fp)
    except Exception as e:  # noqa: BLE001 - NumPy's header parser raises many types (TokenError, ...)
        raise DataError(f"truncated or corrupt .npy header: {e}", name, hint="write the file again") from None
    if dtype.hasobject:
        raise DataError("the array holds pickled Python objects (dtype=object)", name, hint=_PICKLE_HINT)
    need = memory.nbytes(shape, dtype.itemsize)
    have = available - (fp.tell() - start)
    if need > have:
        raise DataError(f"truncated or corrupt .npy file: the header declares shape {tuple(shape)} of "
                        f"{dtype} ({memory.format_size(need)}) but only {memory.format_size(max(have, 0))} "
                        f"follow it", name, hint="write the file again")
    fp.seek(start)
    _check_size(need, name, f"an array of shape {tuple(shape)} ({dtype})")


def _read_npy(data, name):
    if not data.startswith(_NPY_MAGIC):
        raise DataError("not an .npy file (no NumPy header)", name)
    _npy_header(io.BytesIO(data), len(data), name)
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e) or "Object arrays" in str(e):
            raise DataError("the array holds pickled Python objects (dtype=object)", name,
                            hint=_PICKLE_HINT) from None
        raise DataError(f"truncated or corrupt .npy file: {e}", name,
                        hint="write the file again") from None
    except (OSError, EOFError) as e:
        raise DataError(f"truncated or corrupt .npy file: {e}", name,
                        hint="write the file again") from None


def _read_npz(data, key, name):
    if not data.startswith(_ZIP_MAGIC):
        what = ("this is an .npy file, not .npz" if data.startswith(_NPY_MAGIC)
                else "not an .npz file (no zip header)")
        raise DataError(what, name, hint="np.savez writes .npz files; np.save writes .npy")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.filename.endswith(".npy"):
                    _check_size(info.file_size, name, f"array {info.filename[:-4]!r}")
                    with archive.open(info) as member:
                        _npy_header(io.BytesIO(member.read(4096)), info.file_size, name)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            files = list(npz.files)
            if key is None:
                return {k: npz[k] for k in files}
            if key not in files:
                raise DataError(f"no array named {key!r}; the file holds {_listing(files)}", name,
                                hint="set x/y to one of these keys")
            return npz[key]
    except DataError:
        raise
    except ValueError as e:
        if "pickle" in str(e) or "Object arrays" in str(e):
            raise DataError("an array holds pickled Python objects (dtype=object)", name,
                            hint=_PICKLE_HINT) from None
        raise DataError(f"truncated or corrupt .npz file: {e}", name,
                        hint="write the file again") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, zlib.error) as e:
        raise DataError(f"truncated or corrupt .npz file: {e}", name,
                        hint="write the file again") from None


def _read_h5(name, key):
    import h5py

    try:
        f = h5py.File(name, "r")
    except OSError as e:
        raise DataError(f"not a readable HDF5 file (truncated or corrupt): {_h5_reason(e)}", name,
                        hint="write or download the file again") from None
    with f:
        datasets = []
        f.visititems(lambda path, obj: datasets.append(path) if isinstance(obj, h5py.Dataset)
                     else None)
        if key is None:
            if not datasets:
                raise DataError("the HDF5 file holds no datasets", name)
            return {path: _h5_read(f[path], name) for path in datasets}
        obj = f.get(key.strip("/")) if key.strip("/") else None
        if not isinstance(obj, h5py.Dataset):
            what = "a group, not a dataset" if obj is not None else "no dataset"
            raise DataError(f"{key!r} is {what}; the file holds datasets {_listing(datasets)}",
                            name, hint="set x/y to a dataset path")
        return _h5_read(obj, name)


def _h5_read(dataset, name):
    if dataset.dtype.kind not in "biuf":
        raise DataError(f"dataset {dataset.name!r} is not numeric (dtype {dataset.dtype})", name)
    if dataset.shape is None:
        raise DataError(f"dataset {dataset.name!r} is empty (no dataspace)", name)
    need = memory.nbytes(dataset.shape, dataset.dtype.itemsize)
    _check_size(need, name, f"dataset {dataset.name!r} of shape {dataset.shape}")
    stored = dataset.id.get_storage_size()
    if dataset.compression is None and dataset.scaleoffset is None and stored < need \
            and not dataset.is_virtual and not dataset.external:
        raise DataError(f"dataset {dataset.name!r} declares shape {dataset.shape} ({memory.format_size(need)}) "
                        f"but the file stores {memory.format_size(stored)}: a damaged or crafted file", name)
    try:
        return dataset[()]
    except (OSError, ValueError, TypeError) as e:
        raise DataError(f"cannot read dataset {dataset.name!r} (truncated or corrupt file): "
                        f"{_h5_reason(e)}", name, hint="write or download the file again") from None


def _h5_reason(e):
    text = str(e)
    match = re.search(r"\(([^()]*)\)\s*$", text)  # h5py puts the useful part in parentheses
    return match.group(1) if match else text


def _listing(names, limit=20):
    shown = ", ".join(repr(n) for n in names[:limit])
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"[{shown}{more}]" if names else "nothing"


__all__ = ["read_array_file", "read_stream", "read_bytes", "detect_format", "sniff_format",
           "parse_idx", "FORMATS", "STREAM_FORMATS"]
