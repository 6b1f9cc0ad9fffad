"""``kspec export RUN|MODEL OUT.keras|OUT.h5``: a trained model as a file Keras opens."""
import click

from kspec.cli.commands._common import allow_code_option


@click.command("export", short_help="Write a trained model as .keras or .h5 for Keras.", epilog="""\b
Examples:
  kspec export runs/iris iris.keras              # Keras 3: keras.models.load_model("iris.keras")
  kspec export runs/iris iris.h5                 # legacy HDF5, also for Keras 2
  kspec export downloaded.keras model.h5 --force # convert between the formats""")
@click.argument("target", metavar="RUN|MODEL")
@click.argument("output", metavar="OUT.keras|OUT.h5")
@click.option("--force", "-f", is_flag=True, help="Overwrite OUT if it exists.")
@allow_code_option
def command(target, output, force):
    """Write the model of a run folder (or of a .keras/.h5 model file) as OUT: Keras 3's native .keras
    zip or a legacy .h5, chosen by OUT's name. Keras loads either with compile (optimizer state
    included); kspec's spec and preprocessing go inside too, so kspec predict/evaluate work on OUT alone.
    Prints OUT's path on stdout."""
    from kspec import run

    click.echo(run.export(target, output, overwrite=force))
