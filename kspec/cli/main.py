"""The ``kspec`` command group and its error handling.

Exit codes: 0 success, 1 a runtime, data or model-file error (one clear line on stderr), 2 a usage or
spec error (every diagnostic, ``file:line:col``). No traceback is shown unless ``KSPEC_DEBUG=1``.
Only click is imported here, so ``kspec --help`` is fast; commands import the engine when they run.
"""
import os
import sys

import click

from kspec import __version__
from kspec.cli.commands import evaluate, export, predict, schema, summary, train, validate

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class KspecGroup(click.Group):
    """A click group that turns kspec's exceptions into messages and exit codes."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            _silence_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
        except KeyboardInterrupt:
            click.echo("kspec: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as e:  # noqa: BLE001 - the top of the program: every error becomes a message
            if os.environ.get("KSPEC_DEBUG") in ("1", "true", "yes"):
                raise
            ctx.exit(report(e))


def report(e):
    """Print an exception as kspec's user-facing message; returns the exit code."""
    spec_error = _loaded_class("kspec.spec.errors", "SpecError")
    if spec_error is not None and isinstance(e, spec_error):
        click.echo(e.format(), err=True)
        n = sum(d.severity == "error" for d in e.diagnostics)
        if n > 1:
            click.echo(f"{n} errors", err=True)
        return EXIT_USAGE
    expected = [c for c in (_loaded_class("kspec.data.errors", "DataError"),
                            _loaded_class("kspec.io.errors", "ModelFileError")) if c is not None]
    if isinstance(e, tuple(expected)) or isinstance(e, (ValueError, OSError)):
        text = str(e) if not isinstance(e, OSError) or not e.strerror else \
            f"{e.filename + ': ' if e.filename else ''}{e.strerror}"
        where = getattr(e, "spec_location", None)
        if where and where[1] is not None:  # the spec entry that named the file
            loc = ":".join(str(p) for p in where if p is not None)
            click.echo(f"{loc}: error: {text}", err=True)
        else:
            click.echo(f"kspec: error: {text}", err=True)
        return EXIT_ERROR
    click.echo(f"kspec: error: unexpected {type(e).__name__}: {e}", err=True)
    click.echo("run with KSPEC_DEBUG=1 for the traceback", err=True)
    return EXIT_ERROR


def _loaded_class(module, name):
    """A class from a module only if that module is loaded (an exception of it can't exist otherwise)."""
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


def _silence_stdout():
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@click.group(cls=KspecGroup, context_settings={"help_option_names": ["-h", "--help"],
                                               "max_content_width": 100},
             epilog="""\b
Examples:
  kspec train configs/quickstart.yaml            # writes the run folder runs/iris
  kspec evaluate runs/iris
  cat configs/data/iris_test.csv | kspec predict runs/iris - --classes | sort | uniq -c
  kspec validate my.yaml --data                  # every mistake at once, FILE:LINE:COL
  kspec export runs/iris iris.keras              # a file Keras 3 opens with load_model

Exit status: 0 ok, 1 runtime/data/model-file error, 2 usage or spec error.
Set KSPEC_DEBUG=1 to see tracebacks.""")
@click.version_option(__version__, "--version", prog_name="kspec")
def cli():
    """kspec: train Keras-style networks described in YAML, on a NumPy engine.

    A spec file names the data, the layers, the optimizer and the fit arguments; kspec trains it and
    writes a run folder that evaluate and predict use.
    """


for _command in (train.command, evaluate.command, predict.command, summary.command, validate.command,
                 schema.command, export.command):
    cli.add_command(_command)


def main(argv=None):
    """The console-script entry point."""
    cli.main(args=argv, prog_name="kspec")
