"""``kspec evaluate RUN|MODEL.h5``: loss and metrics as JSON."""
import sys

import click

from kspec.cli.commands._common import allow_code_option, echo_json, max_memory_option, progress_option, set_option
from kspec.cli.commands._complete import complete_runs_and_files


@click.command("evaluate", short_help="Loss and metrics of a trained model, as JSON.", epilog="""\b
Examples:
  kspec evaluate runs/iris
  kspec evaluate runs/iris/model.h5 --data configs/data/iris_test.csv
  kspec evaluate runs/fashion_mlp --data split=train     # the same as --set data.test.split=train
  kspec evaluate runs/iris --confusion                   # and the confusion matrix, as text
  kspec evaluate runs/iris --confusion --json | jq .confusion_matrix.matrix""")
@click.argument("target", metavar="RUN|MODEL.h5", shell_complete=complete_runs_and_files)
@click.option("--data", "data", metavar="FILE|KEY=VALUE", multiple=True,
              help="Evaluate on this data file (read with the options of the spec's test split, "
                   "e.g. its label column) instead of the test split; KEY=VALUE changes a key of "
                   "the test split's entry, e.g. --data split=train (repeatable).")
@set_option
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size (default: the spec's).")
@click.option("--verbose", "-v", is_flag=True, help="Show a progress bar on stderr.")
@click.option("--confusion", is_flag=True,
              help="Also print the confusion matrix of a classifier (rows: true classes, columns: "
                   "predicted; class names where the run has them) as text, or in the JSON with --json.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON output (the default without --confusion); with --confusion the object gains "
                   "confusion_matrix: {classes, matrix, samples, accuracy}.")
@progress_option
@allow_code_option
@max_memory_option
def command(target, data, overrides, batch_size, verbose, progress, confusion, as_json):
    """Evaluate a trained model on the spec's test split (or on --data) and print the loss and
    metrics as one JSON object on stdout."""
    from kspec import run

    verbose = 1 if (verbose or progress in ("bar", "lines")) and progress != "none" else 0
    if confusion:
        from kspec.workbench.confusion import evaluate_with_confusion, format_confusion

        metrics, matrix = evaluate_with_confusion(target, data=list(data) or None, overrides=overrides,
                                                  batch_size=batch_size, verbose=verbose, stream=sys.stderr)
        if as_json:
            echo_json({**metrics, "confusion_matrix": matrix})
        else:
            click.echo("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()))
            click.echo(format_confusion(matrix))
        return
    metrics = run.evaluate(target, data=list(data) or None, overrides=overrides, batch_size=batch_size,
                           verbose=verbose, stream=sys.stderr)
    echo_json(metrics)
