"""``kspec compare RUN...``: the runs' final metrics, epochs, wall time and differing spec keys."""
import click

from kspec.cli.commands._common import echo_json
from kspec.cli.commands._complete import complete_runs


@click.command("compare", short_help="Runs side by side: metrics, epochs, time, spec differences.",
               epilog="""\b
Examples:
  kspec compare runs/iris runs/iris-1
  kspec compare runs/iris-sweep                  # every trial of a sweep
  kspec compare runs/* --json | jq '.runs[] | {run, test}'""")
@click.argument("targets", metavar="RUN...", nargs=-1, required=True, shell_complete=complete_runs)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON object.")
def command(targets, as_json):
    """Print one table of the runs: their epochs, wall time, test metrics (metrics.json), the last
    epoch's history values, and the keys of the resolved spec (config.yaml) in which they differ,
    written as --set paths (e.g. compile.optimizer.Adam.learning_rate). A sweep folder stands for its
    trials.

    The wall time comes from run.json where the run has one, else from the times its files were written.
    """
    from kspec.workbench.compare import compare_runs, format_table
    from kspec.workbench.runs import read_runs

    result = compare_runs(read_runs(targets))
    if as_json:
        echo_json(result)
    else:
        click.echo(format_table(result))
