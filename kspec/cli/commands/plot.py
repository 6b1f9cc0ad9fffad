"""``kspec plot RUN...``: training and validation curves as a PNG (matplotlib: pip install 'kspec[plot]')."""
import os

import click

from kspec.cli.commands._common import echo_json
from kspec.cli.commands._complete import complete_runs


@click.command("plot", short_help="Training and validation curves of runs, as a PNG.", epilog="""\b
Examples:
  kspec plot runs/iris                           # writes runs/iris/history.png
  kspec plot runs/iris runs/iris-1 -o iris.png   # two runs side by side
  kspec plot runs/fashion_mlp --metrics loss,accuracy -o fm.png
  kspec plot runs/iris-sweep                     # every trial of a sweep
  xdg-open "$(kspec plot runs/iris)\"""")
@click.argument("targets", metavar="RUN...", nargs=-1, required=True, shell_complete=complete_runs)
@click.option("-o", "--output", metavar="FILE.png", type=click.Path(dir_okay=False),
              help="The PNG to write (default: history.png in the run or sweep folder when one is given, "
                   "else plot.png here).")
@click.option("--metrics", metavar="NAME,...",
              help="The metrics to draw, comma-separated (default: all that the histories track), "
                   "e.g. loss,accuracy.")
@click.option("--title", help="A title over the figure.")
@click.option("--json", "as_json", is_flag=True,
              help="Print what was drawn as JSON (file, width, height, each panel's curves).")
def command(targets, output, metrics, title, as_json):
    """Draw the training (solid) and validation (dashed) curves from the history.csv of one or more
    runs, one panel per metric and one colour per run. A sweep folder stands for its trials. Stages
    are marked where the history has a stage column. Prints the PNG's path on stdout.

    Needs matplotlib (pip install 'kspec[plot]'); no display is needed.
    """
    from kspec.workbench import WorkbenchError
    from kspec.workbench.curves import choose_metrics, plot_runs
    from kspec.workbench.runs import read_runs

    runs = read_runs(targets)
    if output is None:
        output = os.path.join(targets[0], "history.png") if len(targets) == 1 else "plot.png"
    if not output.lower().endswith(".png"):
        raise click.BadParameter(f"{output!r}: the file is written as PNG; name it FILE.png",
                                 param_hint="-o/--output")
    wanted = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    try:
        choose_metrics(runs, wanted)
    except WorkbenchError as e:
        raise click.BadParameter(str(e), param_hint="--metrics") from None
    drawn = plot_runs(runs, output, metrics=wanted, title=title)
    if as_json:
        echo_json(drawn)
    else:
        click.echo(drawn["file"])
