"""``kspec schema``: print the JSON Schema of a spec, for editors (docs/schema.md)."""
import click


@click.command("schema", short_help="Print the JSON Schema of a spec (for editors).", epilog="""\b
Examples:
  kspec schema > kspec.schema.json
  # then, first line of a spec:  # yaml-language-server: $schema=./kspec.schema.json""")
@click.option("--indent", type=click.IntRange(0, 8), default=1, show_default=True,
              help="Indentation of the JSON (0: one line).")
@click.option("--draft", type=click.Choice(["07", "2020-12"]), default="07", show_default=True,
              help="The JSON Schema draft named in $schema (the keywords used mean the same in both).")
def command(indent, draft):
    """Print a JSON Schema (draft-07, or 2020-12) of the spec, generated from kspec's registries and layer
    signatures, so that yaml-language-server completes and flags specs as they are typed.

    It checks names, keys, types and ranges; shapes and expressions are checked by kspec validate.
    """
    import json

    from kspec.spec.schema import build_schema

    click.echo(json.dumps(build_schema(draft), indent=indent or None, sort_keys=False))
