"""``kspec validate CONFIG...``: check specs without training."""
import click

from kspec.cli.commands._common import (allow_code_option, echo_json, max_memory_option, print_warnings,
                                           set_option)
from kspec.cli.commands._complete import complete_specs


@click.command("validate", short_help="Check specs; show their shapes and parameters.", epilog="""\b
Examples:
  kspec validate configs/fashion_mlp.yaml
  kspec validate configs/quickstart.yaml --data     # also read and check the data
  kspec validate my.yaml --set fit.epochs=3 && kspec train my.yaml --set fit.epochs=3
  kspec validate configs/*.yaml                     # several specs: each is checked, exit 2 if any fails
  kspec validate bad.yaml --json | jq '.errors[] | "\\(.line):\\(.col) \\(.message)"'""")
@click.argument("configs", metavar="CONFIG...", nargs=-1, required=True, shell_complete=complete_specs)
@set_option
@click.option("--data", "check_data", is_flag=True,
              help="Also read the data and check it against the model (shapes, dtypes, NaN/inf, labels).")
@allow_code_option
@max_memory_option
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON, one object per spec (one line each): {file, ok, errors, "
                   "warnings, ...}; errors and warnings are {file, line, col, severity, message, hint}.")
def command(configs, overrides, check_data, as_json):
    """Check a spec: names, arguments, types, ranges, every layer's output shape and the loss
    against the output, without reading data (with --data, the data is read and checked too: input
    shapes and dtypes, NaN/inf, labels against the output).

    A valid spec prints each layer's output shape and parameter count (exit 0). Otherwise every
    problem is listed at once as FILE:LINE:COL: error: ... on stderr (exit 2; a data file that
    cannot be read: exit 1). With several specs each is checked and the exit status is the worst.
    The JSON Schema for editors: kspec schema (docs/schema.md).
    """
    worst = 0
    for config in configs:
        worst = max(worst, _validate_one(config, overrides, check_data, as_json, several=len(configs) > 1))
    if worst:
        raise click.exceptions.Exit(worst)


def _validate_one(config, overrides, check_data, as_json, several):
    """Check one spec and print its report; returns its exit status."""
    from kspec import run

    if not as_json and not several:
        report = run.validate(config, overrides=overrides, data=check_data)  # errors: the group reports them
    else:
        try:
            report = run.validate(config, overrides=overrides, data=check_data)
        except Exception as e:  # noqa: BLE001 - every error of this spec is reported, then the next spec
            if not _reportable(e):
                raise
            if not as_json:
                from kspec.cli.main import report as print_report
                return print_report(e)
            diagnostics = list(getattr(e, "diagnostics", ()))
            code = 2 if diagnostics else 1
            errors = [_diagnostic(d) for d in diagnostics] or \
                [{"file": config, "line": None, "col": None, "severity": "error", "message": str(e), "hint": None}]
            echo_json({"file": config, "ok": False, "errors": errors,
                       "warnings": [], "exit_status": code})
            return code
    if as_json:
        body = {k: v for k, v in report.items() if k not in ("warnings", "spec")}
        echo_json({"file": config, "ok": True, "errors": [],
                   "warnings": [_diagnostic(d) for d in report["warnings"]], **body})
        return 0
    print_warnings(report["warnings"])
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
    return 0


def _reportable(e):
    """Errors about the spec or its data (reported per spec); anything else is an internal error."""
    if isinstance(e, (ValueError, OSError)) or hasattr(e, "diagnostics"):
        return True
    return type(e).__name__ in ("DataError", "ModelFileError", "StepError")


def _diagnostic(d):
    return {"file": d.file, "line": d.line, "col": d.col, "severity": d.severity, "message": d.message,
            "hint": d.hint}


def _shape(shape):
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"
