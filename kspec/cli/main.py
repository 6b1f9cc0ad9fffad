"""The ``kspec`` command group and its error handling.

Exit codes: 0 success, 1 a runtime, data or model-file error (one clear line on stderr), 2 a usage or
spec error (every diagnostic, ``file:line:col``), 70 an internal error (a bug in kspec). Errors are
mapped by type: every user error is a :class:`kspec.errors.KspecError`, which carries its exit code.
No traceback is shown unless ``KSPEC_DEBUG=1``.
Only click is imported here, so ``kspec --help`` is fast; commands import the engine when they run.
"""
from kspec.cli import streams

if streams.started_as_program():
    streams.guard_startup()  # first of all: Ctrl-C while click loads exits 130 without a traceback

import os  # noqa: E402
import sys  # noqa: E402

import click  # noqa: E402

from kspec import __version__
from kspec.cli.commands import evaluate, export, predict, schema, summary, sweep, train, validate
from kspec.errors import EXIT_ERROR, EXIT_INTERNAL, EXIT_USAGE, KspecError  # noqa: F401 (EXIT_USAGE: re-exported)

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class KspecGroup(click.Group):
    """A click group that turns kspec's exceptions into messages and exit codes."""

    def invoke(self, ctx):
        streams.interrupts_raise()
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            _silence_stdout()
            click.echo("kspec: stdout was closed by its reader (broken pipe); the output stops here", err=True)
            ctx.exit(EXIT_BROKEN_PIPE)
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM during training (exit 128 + the signal)
            if not getattr(e, "kspec_reported", False):
                click.echo("kspec: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED - 2 + int(getattr(e, "signum", 2)))
        except Exception as e:  # noqa: BLE001 - the top of the program: every error becomes a message
            if os.environ.get("KSPEC_DEBUG") in ("1", "true", "yes"):
                raise
            ctx.exit(report(e))


def report(e):
    """Print an exception as kspec's user-facing message; returns the exit code."""
    if isinstance(e, KspecError):
        diagnostics = getattr(e, "diagnostics", None)
        if diagnostics is not None:  # a SpecError: every diagnostic, with its source line
            click.echo(e.format(), err=True)
            n = sum(d.severity == "error" for d in diagnostics)
            if n > 1:
                click.echo(f"{n} errors", err=True)
        else:
            where = getattr(e, "spec_location", None)  # the spec entry that named the file
            prefix = ":".join(str(p) for p in where if p is not None) if where and where[1] is not None \
                else "kspec"
            click.echo(f"{prefix}: error: {e}", err=True)
        return e.exit_code
    if isinstance(e, OSError):  # the file system refused: a missing file, a full disk, no permission
        text = f"{e.filename + ': ' if e.filename else ''}{e.strerror}" if e.strerror else str(e)
        click.echo(f"kspec: error: {text}", err=True)
        return EXIT_ERROR
    if isinstance(e, MemoryError):  # an allocation the budget did not foresee (or a low ulimit -v)
        click.echo(f"kspec: error: out of memory{': ' + str(e) if str(e) else ''} (hint: a smaller "
                   f"batch_size or model; kspec's budget for sizes from files: --max-memory SIZE)", err=True)
        return EXIT_ERROR
    user_code = sys.modules.get("kspec.user_code")
    frames = user_code.user_frames(e) if user_code is not None else ""
    if frames:  # the failure is inside the user's own code: their error, shown with their frames
        click.echo(f"kspec: error in your code: {type(e).__name__}: {e}", err=True)
        click.echo(frames.rstrip(), err=True)
        return EXIT_ERROR
    click.echo(f"kspec: internal error: {type(e).__name__}: {e}", err=True)
    click.echo("this is a bug in kspec; run again with KSPEC_DEBUG=1 to see the traceback, and report it",
               err=True)
    return EXIT_INTERNAL


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

Exit status: 0 ok, 1 runtime/data/model-file error (or a NaN in training), 2 usage or spec error,
70 internal error (a bug in kspec), 130 Ctrl-C, 141 stdout closed by its reader, 143 SIGTERM.
Set KSPEC_DEBUG=1 to see tracebacks; KSPEC_MAX_MEMORY (or --max-memory) sets the
memory budget for sizes read from specs and files.""")
@click.version_option(__version__, "--version", prog_name="kspec")
def cli():
    """kspec: train Keras-style networks described in YAML, on a NumPy engine.

    A spec file names the data, the layers, the optimizer and the fit arguments; kspec trains it and
    writes a run folder that evaluate and predict use.
    """


for _command in (train.command, evaluate.command, predict.command, summary.command, validate.command,
                 schema.command, sweep.command, export.command):
    cli.add_command(_command)

# The workbench around a run (plot, plot-model, compare, init, list, explain).
from kspec.cli.commands import catalog, compare, init, plot, plot_model  # noqa: E402

for _command in (init.command, catalog.list_command, catalog.explain_command, plot.command, plot_model.command,
                 compare.command):
    cli.add_command(_command)


def main(argv=None):
    """The console-script entry point."""
    streams.prepare()
    try:
        try:
            cli.main(args=argv, prog_name="kspec")
        finally:
            sys.stdout.flush()  # here, not at exit, so a failure is reported (Python would exit 120)
    except KeyboardInterrupt:  # between the command's end and the exit
        click.echo("kspec: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as e:  # stdout failing outside a command (--help, --version to a full disk)
        _silence_stdout()
        if isinstance(e, BrokenPipeError):
            sys.exit(EXIT_BROKEN_PIPE)
        text = e.strerror if e.filename == "<stdout>" else f"cannot write the output ({e.strerror or e})"
        click.echo(f"kspec: error: <stdout>: {text}", err=True)
        sys.exit(EXIT_ERROR)
