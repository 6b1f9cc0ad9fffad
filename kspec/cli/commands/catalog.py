"""``kspec list [KIND]`` and ``kspec explain NAME``: the names a spec may use, and their arguments."""
import click

from kspec.cli.commands._common import echo_json


def _kinds(ctx, param, incomplete):
    from click.shell_completion import CompletionItem
    from kspec.workbench.catalog import kinds
    return [CompletionItem(k) for k in kinds() if k.startswith(incomplete)]


@click.command("list", short_help="List the layers, optimizers, losses, ... a spec may name.", epilog="""\b
Examples:
  kspec list                     # how many names of each kind
  kspec list layers
  kspec list optimizers --json | jq -r '.[].name'
\b
Kinds: layers, activations, initializers, regularizers, constraints, losses, metrics,
optimizers, schedules, callbacks.""")
@click.argument("kind", metavar="[KIND]", required=False, shell_complete=_kinds)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: [{name, aliases, summary}] (or the counts).")
def list_command(kind, as_json):
    """List the registered names of one KIND, with their aliases and a one-line summary (without KIND:
    the kinds and how many names each has). kspec explain NAME shows a name's arguments."""
    from kspec.workbench.catalog import kind_of, kinds, list_kind

    if kind is None:
        counts = {word: len(list_kind(k)) for word, k in kinds().items()}
        if as_json:
            echo_json(counts)
        else:
            for word, n in counts.items():
                click.echo(f"{word:<14} {n:>3}   kspec list {word}")
        return
    entries = list_kind(kind_of(kind))
    if as_json:
        echo_json(entries)
        return
    width = max(len(e["name"]) for e in entries)
    for e in entries:
        also = f" (also {', '.join(e['aliases'])})" if e["aliases"] else ""
        click.echo(f"{e['name']:<{width}}  {e['summary']}{also}".rstrip())


@click.command("explain", short_help="A name's arguments: types, defaults and meanings.", epilog="""\b
Examples:
  kspec explain Dense
  kspec explain adam                     # names are matched ignoring case
  kspec explain mse --kind loss          # a name that several kinds share
  kspec explain EarlyStopping --json | jq '.[0].arguments[].name'""")
@click.argument("name")
@click.option("--kind", metavar="KIND", shell_complete=_kinds,
              help="Only this kind (layer, loss, metric, ...), for a name that several kinds share.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one entry per kind that has the name.")
def explain_command(name, kind, as_json):
    """Explain a registered NAME (a layer, activation, loss, metric, optimizer, schedule, callback,
    initializer, regularizer or constraint): what it does, and each argument with its type, default and
    meaning, as a spec writes them. The same descriptions are in kspec schema, for editors."""
    from kspec.workbench.catalog import explain, format_explain, kind_of

    entries = explain(name, kind_of(kind) if kind else None)
    if as_json:
        echo_json(entries)
        return
    click.echo("\n\n".join(format_explain(e) for e in entries))
