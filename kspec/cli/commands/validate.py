"""``kspec validate CONFIG``: check a spec without training."""
import click

from kspec.cli.commands._common import (allow_code_option, echo_json, max_memory_option, print_warnings,
                                           set_option)


@click.command("validate", short_help="Check a spec; show its shapes and parameters.", epilog="""\b
Examples:
  kspec validate configs/fashion_mlp.yaml
  kspec validate configs/quickstart.yaml --data     # also read and check the data
  kspec validate my.yaml --set fit.epochs=3 && kspec train my.yaml --set fit.epochs=3""")
@click.argument("config", metavar="CONFIG")
@set_option
@click.option("--data", "check_data", is_flag=True,
              help="Also read the data and check it against the model (shapes, dtypes, NaN/inf, labels).")
@allow_code_option
@max_memory_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def command(config, overrides, check_data, as_json):
    """Check a spec: names, arguments, types, ranges, every layer's output shape and the loss
    against the output, without reading data (with --data, the data is read and checked too: input
    shapes and dtypes, NaN/inf, labels against the output).

    A valid spec prints each layer's output shape and parameter count (exit 0). Otherwise every
    problem is listed at once as FILE:LINE:COL: error: ... on stderr (exit 2; a data file that
    cannot be read: exit 1). The JSON Schema for editors: kspec schema (docs/schema.md).
    """
    from kspec import run

    report = run.validate(config, overrides=overrides, data=check_data)
    print_warnings(report["warnings"])
    if as_json:
        echo_json({k: v for k, v in report.items() if k not in ("warnings", "spec")})
        return
    click.echo(f"{config}: ok ({report['name']})")
    rows = [("layer", "class", "output shape", "params")]
    shape = report["input_shape"]
    if not any(isinstance(d, list) for d in shape):  # (graph models list their InputLayers)
        rows.append(("input", "", _shape([None] + shape), ""))
    for layer in report["layers"]:
        rows.append((layer["name"], layer["class"], _shape(layer["output_shape"]),
                     f"{layer['params']:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        click.echo(f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  "
                   f"{r[3]:>{widths[3]}}".rstrip())
    click.echo(f"  total params: {report['total_params']:,} "
               f"(trainable {report['trainable_params']:,})")
    mem = report.get("memory")
    if mem:
        from kspec.backend.memory import format_size
        click.echo(f"  memory: {format_size(mem['weights'])} of weights; training about "
                   f"{format_size(mem['training'])} + {format_size(mem['activations_per_batch'])} of "
                   f"activations per batch of {mem['batch_size']}")
    if report.get("data"):
        click.echo("  data: ok (" + ", ".join(f"{k} {v:,} samples" for k, v in report["data"].items()) + ")")


def _shape(shape):
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"
