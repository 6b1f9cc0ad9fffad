"""``kspec sweep SPEC``: a hyperparameter search over a spec, on Optuna (the ``sweep`` extra)."""
import sys

import click

from kspec.cli.commands._common import allow_code_option, echo_json, set_option


@click.command("sweep", short_help="Search hyperparameters of a spec (Optuna).", epilog="""\b
Examples:
  kspec sweep configs/quickstart.yaml --trials 20 --jobs 2 --prune \\
      --param compile.optimizer.Adam.learning_rate=loguniform:1e-4:1e-1 \\
      --param model.layers.0.Dense.units=int:4:64
  kspec sweep configs/quickstart.yaml --param fit.batch_size=choice:8,16,32 --sampler grid
  kspec sweep --resume runs/iris-sweep --trials 40          # continue the study, 40 trials in all
  kspec sweep spec.yaml --storage sqlite:///study.db ...    # a study several machines share
  kspec sweep spec.yaml ... | jq -c 'select(.state == "complete") | [.trial, .value]'

\b
Distributions: loguniform:LOW:HIGH, uniform:LOW:HIGH, int:LOW:HIGH, choice:A,B,C.
Keys are --set paths. The spec's own setting of the searched keys is trial 0 when it lies
in the space. Exit status: 0 when a trial completed, 1 when none did, 2 for a bad spec,
--param or option (before any trial runs), 130 on Ctrl-C.""")
@click.argument("spec", metavar="SPEC|SWEEP_DIR", type=click.Path(exists=True))
@click.option("--param", "params", multiple=True, metavar="KEY=DIST",
              help="A spec key to search and its distribution (repeatable); adds to the spec's sweep.params.")
@click.option("--trials", type=int, help="Trials in the study, in all (default 20; grid: the grid's size).")
@click.option("--jobs", "-j", type=int, help="Worker processes, each with cores/jobs threads (default 1).")
@click.option("--metric", help="The history key to optimize, its last epoch's value (default val_loss, or "
                               "loss without validation data).")
@click.option("--direction", type=click.Choice(["minimize", "maximize"]),
              help="Default: minimize a loss, maximize an accuracy.")
@click.option("--sampler", type=click.Choice(["tpe", "random", "grid"]), help="Search strategy (default tpe).")
@click.option("--prune/--no-prune", default=None, help="Stop hopeless trials early (median pruning on the "
                                                       "epoch logs).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Start no new trial after this many seconds.")
@set_option
@click.option("--storage", metavar="URL|FILE", help="Where the study lives: an RDB URL (sqlite:///x.db) or a "
                                                    "journal file (default SWEEP_DIR/study.journal).")
@click.option("--study-name", help="The study's name in the storage (default the spec's name).")
@click.option("--sweep-dir", metavar="DIR", help="The sweep folder (default runs/<name>-sweep; never "
                                                 "overwritten: -1, -2, ... is added).")
@click.option("--resume", is_flag=True, help="Continue the sweep in SWEEP_DIR (or --sweep-dir): its trials "
                                             "left running by a stopped sweep are marked failed.")
@allow_code_option
def command(spec, params, trials, jobs, metric, direction, sampler, prune, timeout, overrides, storage,
            study_name, sweep_dir, resume):
    """Train the spec once per trial, with the trial's values of the searched keys, and report the best.

    Each trial is a normal run folder SWEEP_DIR/trial-<k>. Each finished trial prints one JSON line on
    stdout; the last line is the summary (the best trial, its overrides and value). sweep.csv in the
    sweep folder has a row per trial, and kspec plot SWEEP_DIR draws the trials.
    """
    from kspec.sweep import sweep

    result = sweep(spec, params=params, overrides=overrides, trials=trials, jobs=jobs, metric=metric,
                   direction=direction, sampler=sampler, prune=prune, timeout=timeout, storage=storage,
                   study_name=study_name, sweep_dir=sweep_dir, resume=resume, out=sys.stdout, stream=sys.stderr)
    for row in result.trials:
        value = "" if row["value"] is None else f"{row['value']:.6g}"
        click.echo(f"  trial {row['trial']:>3}  {row['state']:<8} {value:>12}  {row.get('error') or ''}".rstrip(),
                   err=True)
    echo_json({"sweep_dir": result.sweep_dir, "best": result.best, "trials": result.counts})
    if result.best is None:
        click.echo("kspec: error: no trial completed", err=True)
        sys.exit(1)
