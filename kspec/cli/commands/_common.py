"""Options and output helpers shared by the commands (click only; nothing heavy)."""
import contextlib
import json
import os
import sys

import click

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override a spec value by its dotted path, e.g. fit.epochs=3 or "
         "model.layers.0.Dense.units=64 (repeatable; the value is read as YAML).")


def _set_env(ctx, name, value):
    """Set an environment variable for the command (commands read switches from there), restored when the
    command ends, so a Python caller (or a test) running several commands does not inherit it."""
    old = os.environ.get(name)
    os.environ[name] = value

    def restore():
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
    ctx.call_on_close(restore)


def _allow_code(ctx, param, value):
    if value:  # for this command only: the scope ends with it
        from kspec.user_code import allow_code
        ctx.with_resource(allow_code(True))
    return value


allow_code_option = click.option(
    "--allow-code", is_flag=True, expose_value=False, callback=_allow_code,
    help="Let the spec or model file name your own Python code as module:Name (layers, losses, metrics, "
         "callbacks, model classes, Lambda functions, ...): importing a module runs its code. Off by "
         "default (KSPEC_ALLOW_CODE=1 changes the default): without it nothing of yours is imported.")


def _set_progress(ctx, param, value):
    if value is not None:
        os.environ["KSPEC_PROGRESS"] = value  # read by kspec.models.progbar
    return value


progress_option = click.option(
    "--progress", type=click.Choice(["auto", "bar", "lines", "none"]), default=None, callback=_set_progress,
    help="How progress is shown on stderr: bar (Keras's in-place bar), lines (one line per epoch, or every "
         "10 s in a long one; no control codes), none, or auto (default: bar on a terminal, lines when "
         "stderr is a file or pipe; also $KSPEC_PROGRESS). NO_COLOR=1 drops the bar's colours.")


def _max_memory(ctx, param, value):
    if value is not None:
        from kspec.backend.memory import ENV, parse_size
        try:
            parse_size(value)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
        _set_env(ctx, ENV, value)
    return value


max_memory_option = click.option(
    "--max-memory", metavar="SIZE", expose_value=False, callback=_max_memory,
    help="Memory budget for sizes that come from a spec or file (layer weights, array headers, "
         "streams), checked before allocating, e.g. 16G (also KSPEC_MAX_MEMORY; default: half the "
         "machine's memory, at most 8 GB).")


def echo_json(value):
    """One JSON object on stdout (NaN/inf become null)."""
    with results_to_stdout():
        sys.stdout.write(json.dumps(value, allow_nan=False) + "\n")
        sys.stdout.flush()


@contextlib.contextmanager
def results_to_stdout():
    """Name stdout in the error when results cannot be written (closed, full disk); a reader that went
    away stays a BrokenPipeError (exit 141)."""
    from kspec.cli.streams import stdout_errors
    try:
        yield
    except OSError as e:
        raise stdout_errors(e) from None


def print_warnings(diagnostics):
    for d in diagnostics:
        click.echo(d.format(), err=True)
