"""``kspec train CONFIG``: train a spec and write a run folder."""
import sys

import click

from kspec.cli.commands._common import allow_code_option, echo_json, progress_option, set_option
from kspec.cli.commands._complete import complete_specs


@click.command("train", short_help="Train a spec and write a run folder.", epilog="""\b
Examples:
  kspec train configs/quickstart.yaml
  kspec train configs/fashion_mlp.yaml --set fit.epochs=3 --run-dir runs/fmnist3
  kspec train configs/quickstart.yaml -q | jq .metrics.accuracy
  kspec train configs/fashion_mlp.yaml --progress lines 2> train.log
  kspec train configs/fashion_mlp.yaml --ranks 4      # data-parallel, 4 processes
  mpiexec -n 8 --hostfile hosts python -m mpi4py -m kspec train configs/fashion_mlp.yaml""")
@click.argument("config", metavar="CONFIG", shell_complete=complete_specs)
@click.option("--run-dir", metavar="DIR",
              help="The run folder (default runs/<name>). An existing folder is never overwritten: "
                   "-1, -2, ... is added.")
@set_option
@click.option("--init-weights", metavar="FILE",
              help="Start from the weights in FILE (.h5 or .weights.h5) instead of model.weights.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (fit verbose 0).")
@progress_option
@click.option("--ranks", type=click.IntRange(min=1), metavar="R",
              help="Train data-parallel on R processes of this machine (needs kspec[mpi]): runs "
                   "mpiexec -n R python -m mpi4py -m kspec train ..., with cores/R threads per process "
                   "unless OMP/OPENBLAS/KSPEC_NUM_THREADS are set. fit.batch_size stays the global batch.")
@allow_code_option
def command(config, run_dir, overrides, init_weights, quiet, progress, ranks):
    """Train the model that CONFIG describes.

    Writes a run folder holding model.h5, config.yaml (the resolved spec), preprocessing.json,
    history.csv and metrics.json (evaluation on the test split, when the spec has one). Prints one
    JSON object on stdout: {"run_dir", "metrics", "history" (the last epoch)}. Progress goes to stderr.
    """
    if ranks and ranks > 1:
        from kspec.cli.commands import _launch
        try:
            code = _launch.launch(ranks, _train_arguments(config, run_dir, overrides, init_weights, quiet,
                                                          progress))
        except _launch.LaunchError as e:
            raise click.UsageError(str(e)) from None
        raise SystemExit(code)
    from kspec import run
    from kspec.backend import comm

    result = run.train(config, run_dir=run_dir, overrides=overrides, init_weights=init_weights,
                       verbose=_verbose(quiet, progress), stream=sys.stderr)
    if comm.rank() == 0:  # under mpiexec, one JSON object for the job
        echo_json({"run_dir": result.run_dir, "metrics": run.jsonable(result.metrics),
                   "history": run.jsonable(result.last_epoch)})


def _train_arguments(config, run_dir, overrides, init_weights, quiet, progress):
    """This command's line without --ranks (--allow-code and --progress also pass on in the environment)."""
    args = ["train", config]
    for option, value in (("--run-dir", run_dir), ("--init-weights", init_weights), ("--progress", progress)):
        if value is not None:
            args += [option, value]
    for override in overrides:
        args += ["--set", override]
    return args + (["--quiet"] if quiet else [])


def _verbose(quiet, progress):
    """fit's verbose: 0 for -q or --progress none, 1 for --progress bar|lines, else the spec's."""
    if quiet or progress == "none":
        return 0
    return 1 if progress in ("bar", "lines") else None
