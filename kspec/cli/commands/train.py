"""``kspec train CONFIG``: train a spec and write a run folder."""
import sys

import click

from kspec.cli.commands._common import allow_code_option, device_option, echo_json, set_option


@click.command("train", short_help="Train a spec and write a run folder.", epilog="""\b
Examples:
  kspec train configs/quickstart.yaml
  kspec train configs/fashion_mlp.yaml --set fit.epochs=3 --run-dir runs/fmnist3
  kspec train configs/quickstart.yaml -q | jq .metrics.accuracy
  kspec train configs/fashion_cnn.yaml --device gpu      # CuPy on an NVIDIA GPU (pip install 'kspec[gpu]')""")
@click.argument("config", metavar="CONFIG")
@click.option("--run-dir", metavar="DIR",
              help="The run folder (default runs/<name>). An existing folder is never overwritten: "
                   "-1, -2, ... is added.")
@set_option
@click.option("--init-weights", metavar="FILE",
              help="Start from the weights in FILE (.h5 or .weights.h5) instead of model.weights.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (fit verbose 0).")
@allow_code_option
@device_option
def command(config, run_dir, overrides, init_weights, quiet):
    """Train the model that CONFIG describes.

    Writes a run folder holding model.h5, config.yaml (the resolved spec), preprocessing.json,
    history.csv and metrics.json (evaluation on the test split, when the spec has one). Prints one
    JSON object on stdout: {"run_dir", "metrics", "history" (the last epoch)}. Progress goes to stderr.
    """
    from kspec import run

    result = run.train(config, run_dir=run_dir, overrides=overrides, init_weights=init_weights,
                       verbose=0 if quiet else None, stream=sys.stderr)
    echo_json({"run_dir": result.run_dir, "metrics": run.jsonable(result.metrics),
               "history": run.jsonable(result.last_epoch)})
