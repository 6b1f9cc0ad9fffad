"""Inputs of one sample per line: JSON lines, token-id sequences and raw text.

- :func:`parse_jsonl`: a list of numbers per line (float32), or an object per line whose fields become
  arrays: lists of numbers (float32), text strings (str), whole-number scalars (int64 labels). With
  ``ids`` (the ``sequences`` format), integer lists are token ids and may differ in length.
- :func:`parse_ids`: integer ids separated by spaces or commas, one sequence per line (or JSON lines).
- :func:`parse_text_lines`: one text sample per line.

Token ids come as a ragged (n,) object array of int64 arrays (:func:`as_ragged`); blank lines are skipped;
errors name the line.
"""
import json
import re

import numpy as np

from kspec.backend import floatx
from kspec.data.errors import DataError

_ID_SEPARATORS = re.compile(r"[\s,]+")
_IDS_HINT = "one sequence per line: integer ids separated by spaces or commas, e.g. 4 18 7"


def as_ragged(seqs):
    """A list of 1-D arrays as an object array of shape (n,) (never a 2-D array, even when equal length)."""
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = np.asarray(s)
    return out


def parse_jsonl(text, name=None, *, ids=False):
    """Parse JSON lines.

    Returns
    -------
    ndarray of shape (n, ...), or dict of field name to such arrays (a line is an object)
        Lists of numbers: float32 of one shape. Strings: an object array of str. Whole-number
        scalars: int64. With ``ids``, lists of integers: int64 token ids, ragged ((n,) object array)
        for top-level lists and for fields whose lengths differ.
    """
    rows, lines = [], []
    for i, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s:
            continue
        try:
            value = json.loads(s)
        except json.JSONDecodeError as e:
            raise DataError(f"not valid JSON: {e.msg} (column {e.colno})", name, line=i) from None
        if isinstance(value, dict) and not value:
            raise DataError("an empty JSON object", name, line=i)
        if rows:
            _check_like(rows[0], lines[0], value, i, name)
        rows.append(value)
        lines.append(i)
    if not rows:
        raise DataError("no data lines (the input is empty)", name)
    if isinstance(rows[0], dict):
        return {k: _column([r[k] for r in rows], lines, name, k, ids) for k in rows[0]}
    return _column(rows, lines, name, None, ids)


def parse_ids(text, name=None):
    """Token-id sequences, one per line -> ragged (n,) object array of int64 arrays. Text that starts
    with ``[`` or ``{`` is JSON lines (:func:`parse_jsonl` with ``ids``)."""
    if text.lstrip()[:1] in ("[", "{"):
        return parse_jsonl(text, name, ids=True)
    seqs = []
    for i, raw in enumerate(text.splitlines(), 1):
        cells = [c for c in _ID_SEPARATORS.split(raw) if c]
        if not cells:
            continue
        try:
            seqs.append(np.array([int(c) for c in cells], dtype=np.int64))
        except ValueError:
            bad = next(c for c in cells if not _is_int(c))
            raise DataError(f"{bad!r} is not an integer id", name, line=i, hint=_IDS_HINT) from None
        except OverflowError:
            raise DataError("an id is out of the int64 range", name, line=i) from None
    if not seqs:
        raise DataError("no data lines (the input is empty)", name)
    return as_ragged(seqs)


def parse_text_lines(text, name=None):
    """One text sample per line (blank lines skipped) -> (n,) object array of str."""
    samples = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not samples:
        raise DataError("no text lines (the input is empty)", name)
    out = np.empty(len(samples), dtype=object)
    out[:] = samples
    return out


# ------------------------------------------------------------------------------------------ internals

def _column(values, lines, name, key, ids):
    """One field (or the whole line) of every sample, as one array."""
    where = f"field {key!r}: " if key is not None else ""
    flat = [_flat_ints(v) for v in values]
    if ids and key is None and not all(flat):  # the sequences format: every line is a list of ids
        raise DataError("expected a JSON list of integer ids", name, line=lines[flat.index(False)],
                        hint="one sequence per line, e.g. [4, 18, 7]")
    text = [isinstance(v, str) for v in values]
    if any(text):
        j = text.index(not text[0]) if not all(text) else None
        if j is not None:
            raise DataError(f"{where}expected {'text' if text[0] else 'numbers'} like line {lines[0]}, found "
                            f"{_describe(values[j])}", name, line=lines[j])
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    for v, line in zip(values, lines):
        if not _all_numbers(v):
            raise DataError(f"{where}expected a number, a (nested) list of numbers or a string", name,
                            line=line, hint="each line is one sample, e.g. [5.1, 3.5, 1.4, 0.2]")
    if ids and all(flat):
        try:
            seqs = [np.array(v, dtype=np.int64) for v in values]
        except OverflowError:
            raise DataError(f"{where}an id is out of the int64 range", name) from None
        if key is None or len({len(s) for s in seqs}) > 1:
            return as_ragged(seqs)
        return np.stack(seqs)
    arrays = [_json_array(v, name, line, where) for v, line in zip(values, lines)]
    for a, line in zip(arrays, lines):
        if a.shape != arrays[0].shape:
            hint = ("token ids of different lengths? read them with format: sequences (predict: "
                    "--input-format sequences)") if all(flat) else None
            raise DataError(f"{where}expected shape {list(arrays[0].shape)} like line {lines[0]}, found "
                            f"{list(a.shape)}", name, line=line, hint=hint)
    if all(isinstance(v, int) for v in values):  # whole-number scalars: labels stay integers
        return np.asarray(values, dtype=np.int64)
    return np.stack(arrays)


def _json_array(value, name, line, where):
    try:
        return np.asarray(value, dtype=floatx)
    except ValueError:
        raise DataError(f"{where}ragged nested lists", name, line=line) from None


def _all_numbers(value):
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
    return True


def _flat_ints(value):
    return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def _is_int(text):
    try:
        int(text)
    except ValueError:
        return False
    return True


def _describe(value):
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list) else "a number"


def _check_like(first, first_line, value, line, name):
    """Every line is an object with the same fields as the first, or none is."""
    if isinstance(first, dict) != isinstance(value, dict):
        raise DataError(f"mixes objects and other JSON values: line {first_line} is {_describe(first)}",
                        name, line=line)
    if isinstance(first, dict) and set(first) != set(value):
        raise DataError(f"expected the inputs (fields) {sorted(first)} like line {first_line}, found "
                        f"{sorted(value)}", name, line=line)
