"""``kspec train CONFIG``: train a spec and write a run folder; ``kspec train --resume RUN`` continues one."""
import sys

import click

from kspec.cli.commands._common import allow_code_option, device_option, echo_json, max_memory_option, progress_option, set_option
from kspec.cli.commands._complete import complete_specs


@click.command("train", short_help="Train a spec and write a run folder.", epilog="""\b
Examples:
  kspec train configs/quickstart.yaml
  kspec train configs/fashion_mlp.yaml --set fit.epochs=3 --run-dir runs/fmnist3
  kspec train configs/quickstart.yaml -q | jq .metrics.accuracy
  kspec train configs/fashion_mlp.yaml --progress lines 2> train.log
  kspec train configs/fashion_mlp.yaml --checkpoint-every 100   # also checkpoint every 100 batches
  kspec train --resume runs/fashion_mlp        # after Ctrl-C, SIGTERM or a crash: same numbers
  kspec train configs/fashion_cnn.yaml --device gpu      # CuPy on an NVIDIA GPU (pip install 'kspec[gpu]')
  kspec train configs/fashion_mlp.yaml --ranks 4      # data-parallel, 4 processes (pip install 'kspec[mpi]')
  mpiexec -n 8 --hostfile hosts python -m mpi4py -m kspec train configs/fashion_mlp.yaml

\b
Interruptions: Ctrl-C (exit 130) or SIGTERM (exit 143) stop at once; the run folder keeps the model,
history and checkpoint of the last completed epoch (evaluate and predict use it) and
--resume continues it bit for bit. A NaN or inf in the loss or a gradient stops training (exit 1)
with the epoch, batch, first layer/op and a likely cause; the batch goes to nan_batch.npz.
run.json records the command, versions, seed, times and how the run ended.
Data-parallel runs (--ranks or mpiexec) train on the CPU with array data; --resume runs on one process.""")
@click.argument("config", metavar="[CONFIG]", required=False, shell_complete=complete_specs)
@click.option("--run-dir", metavar="DIR",
              help="The run folder (default runs/<name>). An existing folder is never overwritten: "
                   "-1, -2, ... is added.")
@set_option
@click.option("--init-weights", metavar="FILE",
              help="Start from the weights in FILE (.h5 or .weights.h5) instead of model.weights.")
@click.option("--resume", "resume", metavar="RUN",
              help="Continue the run folder RUN from its last checkpoint, with the spec saved in it "
                   "(a finished run says so and exits 0; --set that changes the spec is refused).")
@click.option("--checkpoint-every", type=click.IntRange(min=1), metavar="N",
              help="Also checkpoint every N batches (one is always written at each epoch's end); the "
                   "spec's form: fit.callbacks: [{BackupAndRestore: {backup_dir: ., save_freq: N}}].")
@click.option("--no-nan-check", is_flag=True,
              help="Train on through NaN/inf (the same as --set fit.terminate_on_nan=false).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (fit verbose 0).")
@progress_option
@click.option("--ranks", type=click.IntRange(min=1), metavar="R",
              help="Train data-parallel on R processes of this machine (needs kspec[mpi]): runs "
                   "mpiexec -n R python -m mpi4py -m kspec train ..., with cores/R threads per process "
                   "unless OMP/OPENBLAS/KSPEC_NUM_THREADS are set. fit.batch_size stays the global batch.")
@allow_code_option
@device_option
@max_memory_option
def command(config, run_dir, overrides, init_weights, resume, checkpoint_every, no_nan_check, quiet, progress,
            ranks):
    """Train the model that CONFIG describes, or continue the run RUN (--resume).

    Writes a run folder holding model.h5, config.yaml (the resolved spec), preprocessing.json,
    history.csv, run.json and metrics.json (evaluation on the test split, when the spec has one);
    checkpoint.npz while training. Prints one JSON object on stdout: {"run_dir", "metrics", "history"
    (the last epoch)}. Progress goes to stderr.
    """
    if ranks and ranks > 1:
        from kspec.cli.commands import _launch
        if resume is not None or config is None:
            raise click.UsageError("--ranks trains a CONFIG from the start; --resume RUN runs on one process")
        try:
            code = _launch.launch(ranks, _train_arguments(config, run_dir, overrides, init_weights,
                                                          checkpoint_every, no_nan_check, quiet, progress))
        except _launch.LaunchError as e:
            raise click.UsageError(str(e)) from None
        raise SystemExit(code)
    from kspec import run
    from kspec.backend import comm

    if resume is None and config is None:
        raise click.UsageError("give a CONFIG to train, or --resume RUN")
    if resume is not None and run_dir is not None:
        raise click.UsageError("--resume RUN continues RUN in place: leave out --run-dir")
    overrides = list(overrides) + (["fit.terminate_on_nan=false"] if no_nan_check else [])
    if resume is not None:
        result = run.train(config, run_dir=resume, overrides=overrides, init_weights=init_weights,
                           verbose=_verbose(quiet, progress), stream=sys.stderr, resume=True,
                           checkpoint_every=checkpoint_every)
    else:
        result = run.train(config, run_dir=run_dir, overrides=overrides, init_weights=init_weights,
                           verbose=_verbose(quiet, progress), stream=sys.stderr, checkpoint_every=checkpoint_every)
    if comm.rank() == 0:  # under mpiexec, one JSON object for the job
        echo_json({"run_dir": result.run_dir, "metrics": run.jsonable(result.metrics),
                   "history": run.jsonable(result.last_epoch)})


def _train_arguments(config, run_dir, overrides, init_weights, checkpoint_every, no_nan_check, quiet, progress):
    """This command's line without --ranks (--allow-code and --progress also pass on in the
    environment)."""
    args = ["train", config]
    for option, value in (("--run-dir", run_dir), ("--init-weights", init_weights), ("--progress", progress),
                          ("--checkpoint-every", checkpoint_every)):
        if value is not None:
            args += [option, str(value)]
    for override in overrides:
        args += ["--set", override]
    return args + (["--no-nan-check"] if no_nan_check else []) + (["--quiet"] if quiet else [])


def _verbose(quiet, progress):
    """fit's verbose: 0 for -q or --progress none, 1 for --progress bar|lines, else the spec's."""
    if quiet or progress == "none":
        return 0
    return 1 if progress in ("bar", "lines") else None
