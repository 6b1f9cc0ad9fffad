"""``kspec plot-model RUN|SPEC``: the layer graph as Keras's plot_model draws it (DOT, or rendered)."""
import click

from kspec.cli.commands._common import allow_code_option, set_option
from kspec.cli.commands._complete import complete_runs_and_files


@click.command("plot-model", short_help="The layer graph as Graphviz DOT, or rendered to PNG/SVG/PDF.",
               epilog="""\b
Examples:
  kspec plot-model configs/two_input.yaml                       # DOT text on stdout
  kspec plot-model runs/iris --show-shapes -o model.png         # needs Graphviz's dot
  kspec plot-model configs/siamese.yaml | dot -Tsvg > model.svg
  kspec plot-model configs/fashion_cnn.yaml --rankdir LR --show-layer-names -o cnn.pdf""")
@click.argument("target", metavar="RUN|SPEC|MODEL.h5", shell_complete=complete_runs_and_files)
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Render to FILE (.png, .svg or .pdf) with Graphviz's dot instead of printing DOT text.")
@click.option("--show-shapes", is_flag=True, help="Show each layer's input and output shapes.")
@click.option("--show-dtype", is_flag=True, help="Show each layer's dtype.")
@click.option("--show-layer-names", is_flag=True, help="Show each layer's name beside its class.")
@click.option("--show-layer-activations", is_flag=True, help="Show the activation of layers that have one.")
@click.option("--show-trainable", is_flag=True, help="Mark layers with weights as trainable or not.")
@click.option("--rankdir", type=click.Choice(["TB", "LR"]), default="TB", show_default=True,
              help="TB: top to bottom; LR: left to right.")
@click.option("--dpi", type=click.IntRange(min=1), default=200, show_default=True,
              help="Resolution of a rendered image.")
@set_option
@allow_code_option
def command(target, output, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable,
            rankdir, dpi, overrides):
    """Draw the layer graph of a spec, run folder or model file as keras.utils.plot_model does (the
    same options, the same defaults): Graphviz DOT text on stdout, or with -o an image rendered by
    Graphviz's dot program (apt-get install graphviz). No data is read.
    """
    from kspec import run
    from kspec.workbench.model_graph import model_to_dot, render

    model = run._model_of(target, overrides)
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, dpi=dpi, show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable)
    if output:
        click.echo(render(dot, output))
    else:
        click.echo(dot, nl=False)
