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


def _device(ctx, param, value):
    if ctx.resilient_parsing:
        return value
    from kspec import run
    if run.use_device(value) == "gpu":
        click.echo("kspec: the engine runs on the GPU (CuPy)", err=True)
    return value


device_option = click.option(
    "--device", type=click.Choice(["cpu", "gpu", "auto"], case_sensitive=False), default="cpu",
    envvar="KSPEC_DEVICE", show_default=True, show_envvar=True, expose_value=False, callback=_device,
    help="Where the engine runs: cpu (NumPy), gpu (CuPy on an NVIDIA GPU: pip install 'kspec[gpu]'; an "
         "error, never a fallback, when CuPy or the GPU is missing) or auto (the GPU when CuPy finds one).")


def echo_json(value):
    """One JSON object on stdout (NaN/inf become null)."""
    sys.stdout.write(json.dumps(value, allow_nan=False) + "\n")
    sys.stdout.flush()


def print_warnings(diagnostics):
    for d in diagnostics:
        click.echo(d.format(), err=True)
