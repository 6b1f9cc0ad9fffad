"""``kspec summary CONFIG|RUN|MODEL.h5``: Keras's summary table."""
import click

from kspec.cli.commands._common import allow_code_option, max_memory_option, set_option
from kspec.cli.commands._complete import complete_runs_and_files


@click.command("summary", short_help="Keras's summary table of a spec, run or model.", epilog="""\b
Examples:
  kspec summary configs/fashion_mlp.yaml
  kspec summary runs/iris
  kspec summary configs/fashion_mlp.yaml --set model.layers.0.Dense.units=64""")
@click.argument("target", metavar="CONFIG|RUN|MODEL.h5", shell_complete=complete_runs_and_files)
@set_option
@allow_code_option
@max_memory_option
def command(target, overrides):
    """Print the layers, output shapes and parameter counts (Keras's model.summary()) of a spec,
    run folder or model file. No data is read."""
    from kspec import run

    click.echo(run.summary(target, overrides=overrides))
