"""Options and output helpers shared by the commands (click only; nothing heavy)."""
import json
import os
import sys

import click

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override a spec value by its dotted path, e.g. fit.epochs=3 or "
         "model.layers.0.Dense.units=64 (repeatable; the value is read as YAML).")


def _allow_code(ctx, param, value):
    if value:
        os.environ["KSPEC_ALLOW_CODE"] = "1"
    return value


allow_code_option = click.option(
    "--allow-code", is_flag=True, expose_value=False, callback=_allow_code,
    help="Let a Lambda's function be a Python reference module:function (importing it runs that "
         "module's code; also KSPEC_ALLOW_CODE=1). Off by default: a spec never runs code.")


def _set_progress(ctx, param, value):
    if value is not None:
        os.environ["KSPEC_PROGRESS"] = value  # read by kspec.models.progbar
    return value


progress_option = click.option(
    "--progress", type=click.Choice(["auto", "bar", "lines", "none"]), default=None, callback=_set_progress,
    help="How progress is shown on stderr: bar (Keras's in-place bar), lines (one line per epoch, or every "
         "10 s in a long one; no control codes), none, or auto (default: bar on a terminal, lines when "
         "stderr is a file or pipe; also $KSPEC_PROGRESS). NO_COLOR=1 drops the bar's colours.")


def echo_json(value):
    """One JSON object on stdout (NaN/inf become null)."""
    sys.stdout.write(json.dumps(value, allow_nan=False) + "\n")
    sys.stdout.flush()


def print_warnings(diagnostics):
    for d in diagnostics:
        click.echo(d.format(), err=True)
