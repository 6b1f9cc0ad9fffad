"""The data file formats: the one table that the readers, the spec validator, the JSON Schema, the docs
and ``kspec predict --input-format`` read. Plain Python (no NumPy), so the command line can import it
without slowing ``--help``.
"""
import os

# name -> what it holds
FORMATS = {
    "npz": "NumPy .npz archive; x/y name its arrays",
    "npy": "one NumPy .npy array",
    "csv": "a numeric table (.csv, .tsv, .txt): header, label_column and delimiter options",
    "h5": "HDF5 file; x/y name its datasets",
    "idx": "IDX file (the MNIST format), gzipped or not",
    "jsonl": "JSON lines: a list of numbers per sample, or an object per sample whose fields x/y name "
             "(lists of numbers, text strings, labels)",
    "sequences": "token ids, one sequence per line: integers separated by spaces or commas, or JSON "
                 "lines of integer lists; the lengths may differ",
    "text": "raw text, one sample per line",
}
# Readable from stdin (no file name to tell the format; sniffed from the bytes).
STREAM_FORMATS = ("npy", "npz", "csv", "jsonl", "sequences", "text")
# What a pipeline's first step takes in: token-id sequences or raw text (see ``Step.reads``).
LINE_FORMATS = ("sequences", "text")

EXTENSIONS = {
    ".npz": "npz", ".npy": "npy", ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".h5": "h5", ".hdf5": "h5", ".idx": "idx", ".jsonl": "jsonl", ".ndjson": "jsonl",
}


def line_format(found, reads, name=None):
    """The format to read x with when the x pipeline starts with a step that ``reads`` token ids
    ("sequences", ``pad_sequences``) or raw text ("text", ``text_vectorize``).

    ``found`` is the format from the file name (or sniffed from stdin; None when the name says
    nothing). A ``.txt`` file, stdin text and an unknown name become ``reads``; JSON lines stay
    JSON lines, read as token ids for "sequences" (so lists may differ in length). ``.csv``,
    ``.tsv`` and binary formats keep their format.
    """
    if reads not in LINE_FORMATS:
        return found
    if found is None:
        return reads
    if found == "jsonl":
        return "sequences" if reads == "sequences" else found
    ext = os.path.splitext(str(name).lower().removesuffix(".gz"))[1] if name else None
    if found == "csv" and ext in (None, "", ".txt"):
        return reads
    return found


def merge_reads(reads):
    """One ``reads`` for a file that holds several inputs (``reads`` maps input names to kinds):
    "sequences" when any input takes token ids, else "text" when any takes text, else None."""
    if not isinstance(reads, dict):
        return reads
    kinds = set(reads.values())
    return next((k for k in LINE_FORMATS if k in kinds), None)
