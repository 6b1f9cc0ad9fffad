"""``kspec predict RUN|MODEL.h5 [INPUT|-]``: predictions on stdout, for pipelines."""
import sys

import click

from kspec.cli.commands._common import allow_code_option, max_memory_option, progress_option, results_to_stdout
from kspec.cli.commands._complete import complete_runs_and_files
from kspec.data.formats import STREAM_FORMATS

OUTPUT_FORMATS = ("csv", "npy", "npz", "jsonl")


@click.command("predict", short_help="Predictions for samples from a file or stdin.", epilog="""\b
Examples:
  kspec predict runs/iris rows.csv
  cat rows.csv | kspec predict runs/iris - --classes | sort | uniq -c
  kspec predict runs/fashion_mlp images.npy --output-format npy > probs.npy
  kspec predict runs/iris_siamese pairs.npz           # arrays named after the inputs (left, right)
  echo '{"left": [5.1, 3.5, 1.4, 0.2], "right": [6.3, 3.3, 6.0, 2.5]}' | kspec predict runs/iris_siamese -
  echo "the match went to extra time" | kspec predict runs/topics - --classes   # raw text lines

\b
Several inputs: an .npz or .h5 file holds one array per input, named after the input (or by the
key the spec's data.x mapping gave it); JSON lines are objects {"input": [...], ...}.
Several outputs: csv has a header row naming the columns <output>_<i> (<output> with --classes);
jsonl prints one object per line keyed by output name; npz holds one array per output.
Text and token ids: a run whose data.x starts with text_vectorize reads raw text, one sample per
line; one that starts with pad_sequences reads token ids, one sequence per line ("4 18 7" or
[4, 18, 7], any length), from stdin and .txt files (the run keeps the vocabulary and maxlen).""")
@click.argument("target", metavar="RUN|MODEL.h5", shell_complete=complete_runs_and_files)
@click.argument("input_path", metavar="[INPUT|-]", required=False, default="-")
@click.option("--input-format", type=click.Choice(STREAM_FORMATS),
              help="Format of INPUT (default: from the file name and the run's steps; sniffed on stdin).")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="csv", show_default=True,
              help="csv: one row per sample; jsonl: one JSON list (or object, for several outputs) per "
                   "line; npy: one NumPy array (one output only); npz: arrays named by output.")
@click.option("--classes", "as_classes", is_flag=True,
              help="Print the predicted class of each output instead of the outputs: argmax, or "
                   "p > 0.5 for one unit; the class name where the run knows the names (a single-output "
                   "model trained on named labels), else the index.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size (default 32).")
@click.option("--strict", is_flag=True,
              help="Exit with status 1 when a prediction is NaN or infinite (the model overflows on those "
                   "samples; they are listed on stderr either way, and the predictions are still written).")
@progress_option
@allow_code_option
@max_memory_option
def command(target, input_path, input_format, output_format, as_classes, batch_size, strict, progress):
    """Predict with a trained model. Reads samples from INPUT or stdin (-), applies the run's input
    preprocessing, and writes one prediction per sample to stdout.
    """
    from kspec import run

    loaded = run.load_run(target, compile=False, with_spec=False)
    names = loaded.output_names
    if output_format == "npy" and len(names) > 1:
        raise click.UsageError(f"the model has {len(names)} outputs {names}; npy holds one array: "
                               "use --output-format npz (one array per output), csv or jsonl")
    x = run.read_input(loaded, input_path, input_format)
    outputs = run.predict(loaded, x, batch_size=batch_size, verbose=1 if progress in ("bar", "lines") else 0,
                          stream=sys.stderr)  # silent unless asked: predict feeds pipelines
    bad = run.non_finite_rows(outputs)
    if bad:
        n = len(outputs[0] if len(names) > 1 else outputs)
        shown = ", ".join(map(str, bad[:20])) + (f", ... ({len(bad) - 20} more)" if len(bad) > 20 else "")
        click.echo(f"kspec: warning: {len(bad)} of {n} predictions are NaN or infinite (the model overflows): "
                   f"samples {shown} (0-based)", err=True)
    outputs = dict(zip(names, outputs if len(names) > 1 else [outputs]))
    with results_to_stdout():
        if as_classes:
            class_names = loaded.classes if len(names) == 1 else None  # the run's labels are one output's
            outputs = {name: _class_values(run.to_classes(p), class_names) for name, p in outputs.items()}
            write_classes(outputs, output_format, sys.stdout)
        else:
            write_outputs(outputs, output_format, sys.stdout)
    if bad and strict:
        raise click.exceptions.Exit(1)


def _class_values(ids, names):
    if names is not None and len(names) > int(ids.max(initial=0)):
        return [names[i] for i in ids]
    return ids


def write_outputs(outputs, fmt, stream):
    """Model outputs ``{output name: (n, ...) array}`` as csv rows, JSON lines or .npy/.npz (each
    sample flattened for text formats). One output: csv rows without a header and JSON lists; several:
    a csv header ``<output>_<i>`` and JSON objects keyed by output name. Floats print in the shortest
    form that reads back to the same float32 (JSON spells NaN and Infinity as Python's json does)."""
    import numpy as np

    if fmt in ("npy", "npz"):
        _write_binary(outputs, fmt, stream)
        return
    n = len(next(iter(outputs.values())))
    # each sample flattened (an explicit width: reshape(0, -1) of no samples is ambiguous)
    texts = {name: np.asarray(p).reshape(n, int(np.prod(np.shape(p)[1:], dtype=int))).astype(str)
             for name, p in outputs.items()}
    several = len(outputs) > 1
    if fmt == "csv":
        header = [f"{name}_{i}" for name, t in texts.items() for i in range(t.shape[1])] if several else None
        _write_csv(header, np.concatenate(list(texts.values()), axis=1).tolist(), stream)
        return
    rows = [{name: [float(v) for v in t[r]] for name, t in texts.items()} for r in range(n)]
    _write_jsonl(rows if several else [next(iter(row.values())) for row in rows], stream)


def write_classes(classes, fmt, stream):
    """One class per sample and output (``{output name: names or ids}``): a line per sample (csv; with a
    header of output names when there are several), JSON values or objects (jsonl), or arrays."""
    import numpy as np

    if fmt in ("npy", "npz"):
        _write_binary({name: np.asarray(v) for name, v in classes.items()}, fmt, stream)
        return
    columns = {name: [v if isinstance(v, str) else int(v) for v in values] for name, values in classes.items()}
    n = len(next(iter(columns.values())))
    rows = [[values[r] for values in columns.values()] for r in range(n)]
    if fmt == "jsonl":
        _write_jsonl([dict(zip(columns, row)) for row in rows] if len(columns) > 1 else
                     [row[0] for row in rows], stream)
    else:
        _write_csv(list(columns) if len(columns) > 1 else None, rows, stream)


def _write_csv(header, rows, stream):
    """Rows through the csv module: fields with commas, quotes or newlines are quoted."""
    import csv

    writer = csv.writer(stream, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    stream.flush()


def _write_jsonl(values, stream):
    import json

    for value in values:
        stream.write(json.dumps(value) + "\n")
    stream.flush()


def _write_binary(arrays, fmt, stream):
    import numpy as np

    stream.flush()
    if fmt == "npy":
        (array,) = arrays.values()
        np.save(_Unseekable(stream.buffer), array)  # written by chunks through write(): a clean EPIPE
    else:
        import io
        buffer = io.BytesIO()  # np.savez seeks, which a pipe cannot
        np.savez(buffer, **arrays)
        stream.buffer.write(buffer.getvalue())
    stream.buffer.flush()


class _Unseekable:
    """Only ``write``: NumPy then writes an array by chunks through it instead of with fwrite (whose error
    on a broken pipe reads "N requested and 0 written")."""

    def __init__(self, raw):
        self.write = raw.write

