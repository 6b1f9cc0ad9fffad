"""``kspec init [--template NAME] [FILE]``: a commented starter spec that trains as written."""
import os
import sys

import click

from kspec.cli.commands._complete import complete_specs

# The templates are the files in kspec/workbench/templates (read here without importing the workbench).
_TEMPLATES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "workbench", "templates")
TEMPLATES = tuple(sorted((n[:-5] for n in os.listdir(_TEMPLATES_DIR) if n.endswith(".yaml")),
                         key=lambda n: (n != "mlp", n)))  # mlp, the default, first


@click.command("init", short_help="Write a commented starter spec (or copy the example configs).",
               epilog="""\b
Examples:
  kspec init                          # kspec.yaml (an MLP on Iris) and data/iris_*.csv beside it
  kspec init --template cnn cnn.yaml  # a CNN on Fashion-MNIST (when it is installed)
  kspec init --template graph -       # print the template on stdout, write nothing
  kspec init --examples               # copy every example spec and its data into ./configs
\b
Then:  kspec train kspec.yaml && kspec plot runs/iris_mlp""")
@click.argument("file", metavar="[FILE]", required=False, shell_complete=complete_specs)
@click.option("--template", "-t", type=click.Choice(TEMPLATES), default="mlp", show_default=True,
              help="mlp: dense network on Iris (shipped with kspec); cnn: convolutional network on "
                   "Fashion-MNIST; rnn: LSTM on Fashion-MNIST rows; graph: two-input functional model "
                   "on Iris.")
@click.option("--examples", is_flag=True,
              help="Instead, copy the example specs that ship with kspec (and their data) into FILE "
                   "as a folder (default ./configs), so the README's examples run anywhere.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists (data files are never overwritten).")
def command(file, template, examples, force):
    """Write a commented starter spec to FILE (default kspec.yaml; - for stdout) that trains as it is
    written, on data you have: Iris ships with kspec and is copied beside the spec (data/); the cnn and
    rnn templates read Fashion-MNIST from local files (apt-get install dataset-fashion-mnist).

    A file that exists is never overwritten (unless --force); nor is a data file.
    """
    from kspec.workbench.starters import copy_examples, template_text, write_starter

    if examples:
        done = copy_examples(file or "configs")
        click.echo(f"{done['folder']}: {len(done['copied'])} files copied"
                   + (f", {len(done['kept'])} already there (kept)" if done["kept"] else ""), err=True)
        click.echo(done["folder"])
        return
    if file == "-":
        sys.stdout.write(template_text(template, "FILE"))
        return
    done = write_starter(template, file or "kspec.yaml", force=force)
    for path in done["copied"]:
        click.echo(f"wrote {path}", err=True)
    for path in done["kept"]:
        click.echo(f"kept {path} (already there)", err=True)
    for warning in done["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(done["spec"])
