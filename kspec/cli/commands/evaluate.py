"""``kspec evaluate RUN|MODEL.h5``: loss and metrics as JSON."""
import sys

import click

from kspec.cli.commands._common import allow_code_option, device_option, echo_json, set_option


@click.command("evaluate", short_help="Loss and metrics of a trained model, as JSON.", epilog="""\b
Examples:
  kspec evaluate runs/iris
  kspec evaluate runs/iris/model.h5 --data configs/data/iris_test.csv
  kspec evaluate runs/fashion_mlp --data split=train     # the same as --set data.test.split=train""")
@click.argument("target", metavar="RUN|MODEL.h5")
@click.option("--data", "data", metavar="FILE|KEY=VALUE", multiple=True,
              help="Evaluate on this data file (read with the options of the spec's test split, "
                   "e.g. its label column) instead of the test split; KEY=VALUE changes a key of "
                   "the test split's entry, e.g. --data split=train (repeatable).")
@set_option
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size (default: the spec's).")
@click.option("--verbose", "-v", is_flag=True, help="Show a progress bar on stderr.")
@allow_code_option
@device_option
def command(target, data, overrides, batch_size, verbose):
    """Evaluate a trained model on the spec's test split (or on --data) and print the loss and
    metrics as one JSON object on stdout."""
    from kspec import run

    metrics = run.evaluate(target, data=list(data) or None, overrides=overrides, batch_size=batch_size,
                           verbose=1 if verbose else 0, stream=sys.stderr)
    echo_json(metrics)
