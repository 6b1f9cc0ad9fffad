"""Delimited tables (CSV, TSV, whitespace), parsed to float32 arrays, and their labels.

Errors name the line and the column of the first bad row. JSON lines, token ids and text lines are in
:mod:`kspec.data.lines`.
"""
import csv
import io
import itertools
import warnings

import numpy as np

from kspec.backend import floatx
from kspec.data.errors import DataError

_CHUNK = 4096  # table rows converted to float32 per block (bounds the memory held as strings)


def parse_table(text, name=None, *, header=None, label_column=None, delimiter=None, classes=None,
                ext=None):
    """Parse a numeric table.

    Returns
    -------
    ndarray of shape (n, columns), float32
        Without ``label_column``.
    dict
        With it: ``{"x": (n, columns - 1) float32, "y": (n,)}`` plus ``"classes"`` when the labels
        are strings (see :func:`encode_labels`).
    """
    delim = _delimiter(text, delimiter, ext, name)
    rows = _rows(text, delim, name)
    first = next(rows, None)
    if first is None:
        raise DataError("no data rows (the file is empty)", name)
    second = next(rows, None)
    has_header = _has_header(header, first[1], second[1] if second else None, name)
    columns = [c.strip() for c in first[1]] if has_header else None
    ncols = len(first[1])
    label = _label_index(label_column, ncols, columns, name)
    if label is not None and ncols < 2:
        raise DataError("the label column is the only column: no features are left", name)
    fast = _fast_table(text, delim, first[0] if has_header else 0, ncols, label)
    if fast is not None:
        x, labels, lines = fast
        return x if label is None else _with_labels(x, labels, classes, name, lines)
    head = [r for r in (first, second) if r is not None][1 if has_header else 0:]
    x, labels, lines = _careful_table(itertools.chain(head, rows), ncols, label, delim, columns,
                                      has_header, name)
    return x if label is None else _with_labels(x, labels, classes, name, lines)


def _careful_table(rows, ncols, label, delim, columns, has_header, name):
    """Convert (line, cells) rows a block at a time, naming the line of the first bad row.

    Returns (x, labels, label line numbers).
    """
    blocks, labels, label_lines = [], [], []
    for chunk in _chunks(rows):
        for line, cells in chunk:
            if len(cells) != ncols:
                raise DataError(f"expected {ncols} columns, found {len(cells)}", name, line=line,
                                hint="every row needs the same number of fields"
                                     + ("" if delim is None else f" separated by {delim!r}"))
        if label is None:
            feats = [cells for _, cells in chunk]
        else:
            feats = [cells[:label] + cells[label + 1:] for _, cells in chunk]
            labels.extend(cells[label] for _, cells in chunk)
            label_lines.extend(line for line, _ in chunk)
        try:
            block = np.array(feats, dtype=floatx)
        except ValueError:
            _raise_bad_cell(chunk, label, columns, has_header, name)
        blocks.append(block.reshape(len(chunk), ncols - (label is not None)))
    if not blocks:
        raise DataError("no data rows below the header", name)
    x = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return x, labels, label_lines


def _with_labels(x, labels, classes, name, lines):
    y, names = encode_labels(labels, classes, name, lines)
    out = {"x": x, "y": y}
    if names is not None:
        out["classes"] = np.array(names, dtype=str)
    return out


def _fast_table(text, delim, skip, ncols, label):
    """The common case in C (np.loadtxt): no quotes, no comments, no ragged rows.

    Returns (x, labels, label line numbers), or None to take the careful path, which also finds
    the line of any error.
    """
    if '"' in text or "#" in text:
        return None
    rows = [(i, s) for i, s in enumerate(text.splitlines()[skip:], skip + 1) if s.strip()]
    if not rows:
        return None
    if delim is None:
        if any(len(s.split()) != ncols for _, s in rows):
            return None
    elif any(s.count(delim) != ncols - 1 for _, s in rows):
        return None
    feats = None if label is None else [j for j in range(ncols) if j != label]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = np.loadtxt(io.StringIO(text), delimiter=delim, skiprows=skip, usecols=feats,
                           dtype=floatx, ndmin=2, comments=None)
    except Exception:  # noqa: BLE001 - any trouble: the careful path reports it
        return None
    if len(x) != len(rows):
        return None
    if label is None:
        return x, None, None
    labels = [(s.split(delim, label + 1) if delim else s.split())[label] for _, s in rows]
    return x, labels, [i for i, _ in rows]


def encode_labels(values, classes=None, name=None, lines=None):
    """Labels from strings (or a str array).

    Numbers stay numbers: int64 when all are whole, float32 otherwise. Names map to indices into
    ``classes``, or into the sorted distinct names when ``classes`` is None.

    Returns
    -------
    y : ndarray of shape (n,)
    classes : list of str, or None for numeric labels
    """
    values = [str(v).strip() for v in values]
    if classes is None:
        try:
            nums = np.array(values, dtype=np.float64)
        except ValueError:
            classes = sorted(set(values))
        else:
            whole = np.all(np.isfinite(nums)) and np.all(nums == np.round(nums))
            return (nums.astype(np.int64) if whole else nums.astype(floatx)), None
    classes = [str(c) for c in classes]
    index = {c: i for i, c in enumerate(classes)}
    y = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        if v not in index:
            raise DataError(f"unknown class {v!r}; the known classes are {classes}", name,
                            line=lines[i] if lines else None,
                            hint="every split must use the training split's class names")
        y[i] = index[v]
    return y, classes


# --------------------------------------------------------------------------------------- tables

def _delimiter(text, delimiter, ext, name):
    """A one-character delimiter, or None for runs of whitespace."""
    if delimiter is not None:
        if delimiter in ("whitespace", " "):
            return None
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise DataError(f"delimiter must be one character, 'tab' or 'whitespace', got "
                            f"{delimiter!r}", name)
        return delimiter
    if ext == ".csv":
        return ","
    if ext == ".tsv":
        return "\t"
    for line in text.splitlines():  # sniff the first real row (.txt, stdin)
        s = line.strip()
        if s and not s.startswith("#"):
            return "," if "," in s else "\t" if "\t" in s else None
    return ","


def _rows(text, delim, name):
    """Yield (line number, cells) for each row that is not blank or a # comment."""
    if delim is None:
        for i, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if s and not s.startswith("#"):
                yield i, s.split()
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if cells[0].lstrip().startswith("#"):
                continue
            yield reader.line_num, cells
    except csv.Error as e:
        raise DataError(f"malformed row: {e}", name, line=reader.line_num) from None


def _chunks(rows):
    while True:
        chunk = list(itertools.islice(rows, _CHUNK))
        if not chunk:
            return
        yield chunk


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _has_header(header, row0, row1, name):
    """Whether row0 is a header. Auto: some non-numeric cell of row0 sits over a numeric cell of
    row1 (or, for a one-row file, every cell of row0 is non-numeric)."""
    if isinstance(header, bool):
        return header
    if header not in (None, "auto"):
        raise DataError(f"header must be true, false or auto, got {header!r}", name)
    text0 = [not _is_number(c) for c in row0]
    if not any(text0):
        return False
    if row1 is None:
        return all(text0)
    return any(t and j < len(row1) and _is_number(row1[j]) for j, t in enumerate(text0))


def _label_index(label_column, ncols, columns, name):
    if label_column is None:
        return None
    if isinstance(label_column, str) and columns is None and label_column.lstrip("-").isdigit():
        label_column = int(label_column)
    if isinstance(label_column, bool) or not isinstance(label_column, (int, str)):
        raise DataError(f"label_column must be a column index or name, got {label_column!r}", name)
    if isinstance(label_column, int):
        if not -ncols <= label_column < ncols:
            raise DataError(f"label_column {label_column} is out of range: the file has {ncols} "
                            "columns", name)
        return label_column % ncols
    if columns is None:
        raise DataError(f"label_column {label_column!r} names a column, but the file has no "
                        "header row", name, hint="set header: true, or give the column's index")
    if label_column not in columns:
        raise DataError(f"no column named {label_column!r}; the header has {columns}", name)
    return columns.index(label_column)


def _raise_bad_cell(chunk, label, columns, has_header, name):
    for line, cells in chunk:
        for j, cell in enumerate(cells):
            if j == label or _is_number(cell):
                continue
            col = f"column {j + 1}" + (f" ({columns[j]!r})" if columns else "")
            what = "an empty cell" if not cell.strip() else f"{cell.strip()!r} is not a number"
            if label is None:
                which = columns[j] if columns else j
                hint = f"if this column holds class names, set label_column: {which}"
                if not has_header:
                    hint += "; if the first row holds column names, set header: true"
            else:
                hint = "only the label column may hold text"
            raise DataError(f"{col}: {what}", name, line=line, hint=hint)
    raise DataError("a cell is not a number", name)
