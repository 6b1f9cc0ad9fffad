"""Optuna's side of a sweep: storage, sampler, pruner, and the loop that trains one trial after another.

Every worker (the sweep's own process, or one of ``--jobs`` subprocesses) runs :func:`work`: under a lock
it asks the study for a trial while the study holds fewer than ``trials``, trains it into
``SWEEP_DIR/trial-<number>`` with :func:`kspec.run.train`, and tells the study how it ended.
"""
import contextlib
import json
import os
import socket
import sys
import time
import warnings

from kspec.models.callbacks import Callback
from kspec.run_lifecycle import process_alive
from kspec.spec.errors import Diagnostic, SpecError
from kspec.spec.sweep_params import parse_param

JOURNAL_FILE = "study.journal"
LOCK_FILE = ".sweep.lock"


def import_optuna():
    """Optuna, quiet, or a clear error naming the extra that installs it."""
    try:
        import optuna
    except ImportError:
        raise SpecError(Diagnostic("kspec sweep", None, None, "kspec sweep needs Optuna, which is not installed",
                                   hint="pip install 'kspec[sweep]'")) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def storage(optuna, settings):
    """An RDB URL (``sqlite:///...``) as given, else a journal file (default ``SWEEP_DIR/study.journal``)."""
    target = settings.get("storage") or os.path.join(settings["sweep_dir"], JOURNAL_FILE)
    if "://" in target:
        return target
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    return JournalStorage(JournalFileBackend(os.path.abspath(target)))


def load_study(optuna, settings, worker=0):
    """The sweep's study with this worker's sampler and pruner. The sampler's seed comes from the spec's
    seed, the worker and the trials already run, so workers and resumed sweeps draw different values."""
    existing = len(optuna.load_study(study_name=settings["study_name"], storage=storage(optuna, settings)).trials)
    seed = ((settings.get("seed") or 0) + 1009 * worker + 7919 * existing) % 2 ** 32
    if settings["sampler"] in ("grid", "random"):  # a grid's points are enqueued when the study is made
        sampler = optuna.samplers.RandomSampler(seed=seed)
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1) if settings["prune"]
              else optuna.pruners.NopPruner())
    return optuna.load_study(study_name=settings["study_name"], storage=storage(optuna, settings),
                             sampler=sampler, pruner=pruner)


def enqueue_grid(study, params):
    """Every point of a grid (the product of the parameters' values, in order) as a queued trial."""
    import itertools
    for values in itertools.product(*(p.grid_values() for p in params)):
        study.enqueue_trial(dict(zip((p.key for p in params), values)))


def counted(study):
    """How many trials count toward ``trials``: those started, but for those a dead worker left unfinished
    (queued trials, e.g. a grid's, wait for their turn)."""
    return sum(t.state.name != "WAITING" and not t.user_attrs.get("interrupted")
               for t in study.get_trials(deepcopy=False))


def mark_abandoned(optuna, study):
    """Trials left running by a dead process on this host become failed and interrupted (not counted)."""
    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if t.user_attrs.get("host") == host and not process_alive(t.user_attrs.get("pid")):
            # Optuna has no public call to annotate another process's trial; its storage API does it.
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_user_attr(t._trial_id, "error", "interrupted (the sweep was stopped)")
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)


@contextlib.contextmanager
def _locked(sweep_dir):
    import fcntl
    with open(os.path.join(sweep_dir, LOCK_FILE), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def work(settings, worker=0, out=None, stream=None):
    """Train trials until the study holds ``settings["trials"]`` of them or the timeout passes."""
    optuna = import_optuna()
    stream = sys.stderr if stream is None else stream
    study = load_study(optuna, settings, worker)
    deadline = None if settings.get("timeout") is None else settings["started"] + settings["timeout"]
    while True:
        with _locked(settings["sweep_dir"]):
            if counted(study) >= settings["trials"] or (deadline is not None and time.time() >= deadline):
                return
            trial = study.ask()
            trial.set_user_attr("host", socket.gethostname())
            trial.set_user_attr("pid", os.getpid())
        run_trial(optuna, study, trial, settings, out, stream)


def run_trial(optuna, study, trial, settings, out, stream):
    """Train one trial's run folder and tell the study its value (or that it was pruned or failed)."""
    from kspec import run

    State = optuna.trial.TrialState
    params = [parse_param(text) for text in settings["params"]]
    values = {p.key: _suggest(trial, p) for p in params}
    run_dir = os.path.join(settings["sweep_dir"], f"trial-{trial.number}")
    trial.set_user_attr("run_dir", run_dir)
    reporter = PruningReporter(trial, settings["metric"]) if settings["prune"] else None
    started = time.time()
    record = {"trial": trial.number, "params": values, "run_dir": run_dir}
    try:
        result = run.train(settings["config"], run_dir=run_dir, overrides=settings["overrides"] + list(values.items()),
                           verbose=0, stream=stream, callbacks=[reporter] if reporter else [])
    except KeyboardInterrupt:
        trial.set_user_attr("interrupted", True)
        trial.set_user_attr("error", "interrupted (the sweep was stopped)")
        study.tell(trial, state=State.FAIL)
        raise
    except Exception as e:  # noqa: BLE001 - a failed trial is recorded and the sweep goes on
        message = e.format() if isinstance(e, SpecError) else str(e)
        trial.set_user_attr("error", f"{type(e).__name__}: {message}".strip())
        study.tell(trial, state=State.FAIL)
        _emit(out, stream, {**record, "state": "fail", "error": trial.user_attrs["error"],
                            "seconds": round(time.time() - started, 3)}, settings)
        return
    seconds = round(time.time() - started, 3)
    trial.set_user_attr("seconds", seconds)
    history = result.history
    if settings["metric"] not in history:
        study.tell(trial, state=State.FAIL)
        raise SpecError(Diagnostic("--metric", None, None,
                                   f"the trials do not log {settings['metric']!r}; they log "
                                   f"{', '.join(sorted(history))}", hint="pick one with --metric"))
    value = float(history[settings["metric"]][-1])
    if reporter is not None and reporter.pruned:
        study.tell(trial, state=State.PRUNED)
        state = "pruned"
    elif value != value or value in (float("inf"), float("-inf")):
        trial.set_user_attr("error", f"{settings['metric']} is {value}")
        study.tell(trial, state=State.FAIL)
        state = "fail"
    else:
        study.tell(trial, value)
        state = "complete"
    _emit(out, stream, {**record, "state": state, "value": value, "epochs": len(history[settings["metric"]]),
                        "seconds": seconds}, settings)


def _suggest(trial, p):
    if p.kind == "choice":
        return trial.suggest_categorical(p.key, list(p.choices))
    if p.kind == "int":
        return trial.suggest_int(p.key, p.low, p.high)
    return trial.suggest_float(p.key, p.low, p.high, log=p.kind == "loguniform")


def _emit(out, stream, record, settings):
    """One JSON line per finished trial on ``out``; one readable line on ``stream``."""
    record = {k: (None if isinstance(v, float) and v != v else v) for k, v in record.items()}
    if out is not None:
        out.write(json.dumps(record, allow_nan=False, default=str) + "\n")
        out.flush()
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record["params"].items())
    value = record.get("value")
    result = f"{settings['metric']}={value:.4g}" if isinstance(value, float) else record.get("error", "")
    try:
        print(f"sweep: trial {record['trial']} {record['state']}: {result} ({shown})", file=stream, flush=True)
    except (OSError, ValueError):
        pass  # progress is optional; a closed stderr must not fail the trial


class PruningReporter(Callback):
    """A callback that reports each epoch's metric to the trial and stops training when it is pruned."""

    def __init__(self, trial, metric):
        super().__init__()
        self.trial, self.metric, self.pruned = trial, metric, False

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.metric)
        if value is None:
            return
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True
