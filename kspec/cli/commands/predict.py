"""``kspec predict RUN|MODEL.h5 [INPUT|-]``: predictions on stdout, for pipelines."""
import sys

import click

INPUT_FORMATS = ("npy", "npz", "csv", "jsonl")
OUTPUT_FORMATS = ("csv", "npy", "jsonl")


@click.command("predict", short_help="Predictions for samples from a file or stdin.", epilog="""\b
Examples:
  kspec predict runs/iris rows.csv
  cat rows.csv | kspec predict runs/iris - --classes | sort | uniq -c
  kspec predict runs/fashion_mlp images.npy --output-format npy > probs.npy""")
@click.argument("target", metavar="RUN|MODEL.h5")
@click.argument("input_path", metavar="[INPUT|-]", required=False, default="-")
@click.option("--input-format", type=click.Choice(INPUT_FORMATS),
              help="Format of INPUT (default: from the file name; sniffed on stdin).")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="csv", show_default=True,
              help="csv: one row per sample; jsonl: one JSON list per line; npy: a NumPy array.")
@click.option("--classes", "as_classes", is_flag=True,
              help="Print the predicted class (its name when the run knows the class names, else its "
                   "index) instead of the outputs.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size (default 32).")
def command(target, input_path, input_format, output_format, as_classes, batch_size):
    """Predict with a trained model. Reads samples from INPUT or stdin (-), applies the run's input
    preprocessing, and writes one prediction per sample to stdout.
    """
    from kspec import run

    loaded = run.load_run(target, compile=False, with_spec=False)
    x = run.read_input(loaded, input_path, input_format)
    outputs = run.predict(loaded, x, batch_size=batch_size)
    if isinstance(outputs, list):
        import numpy as np
        outputs = np.concatenate([o.reshape(len(o), -1) for o in outputs], axis=-1)
    if as_classes:
        ids = run.to_classes(outputs)
        names = loaded.classes
        if names is not None and len(names) > int(ids.max(initial=0)):
            values = [names[i] for i in ids]
        else:
            values = ids
        write_classes(values, output_format, sys.stdout)
    else:
        write_outputs(outputs, output_format, sys.stdout)


def write_outputs(outputs, fmt, stream):
    """Model outputs (n, ...) as csv rows, JSON lists or one .npy array (each sample flattened for
    text formats). Floats print in the shortest form that reads back to the same float32."""
    import numpy as np

    if fmt == "npy":
        stream.flush()
        np.save(stream.buffer, outputs)
        stream.buffer.flush()
        return
    flat = np.asarray(outputs).reshape(len(outputs), -1)
    text = flat.astype(str)
    if fmt == "csv":
        lines = [",".join(row) for row in text]
    else:
        lines = ["[" + ", ".join(row) + "]" for row in np.char.replace(text, "nan", "NaN")]
    stream.write("\n".join(lines) + ("\n" if lines else ""))
    stream.flush()


def write_classes(values, fmt, stream):
    """One class per sample: a name or an index per line (csv), JSON values (jsonl) or an array."""
    import json

    import numpy as np

    if fmt == "npy":
        stream.flush()
        np.save(stream.buffer, np.asarray(values))
        stream.buffer.flush()
        return
    if fmt == "jsonl":
        lines = [json.dumps(v if isinstance(v, str) else int(v)) for v in values]
    else:
        lines = [str(v) if not isinstance(v, str) or "," not in v else json.dumps(v) for v in values]
    stream.write("\n".join(lines) + ("\n" if lines else ""))
    stream.flush()
