"""Options and output helpers shared by the commands (click only; nothing heavy)."""
import json
import sys

import click

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override a spec value by its dotted path, e.g. fit.epochs=3 or "
         "model.layers.0.Dense.units=64 (repeatable; the value is read as YAML).")


def echo_json(value):
    """One JSON object on stdout (NaN/inf become null)."""
    sys.stdout.write(json.dumps(value, allow_nan=False) + "\n")
    sys.stdout.flush()


def print_warnings(diagnostics):
    for d in diagnostics:
        click.echo(d.format(), err=True)
