"""Hyperparameter sweeps over a spec, on Optuna: what ``kspec sweep`` runs.

    result = sweep("configs/quickstart.yaml",
                   params=["compile.optimizer.Adam.learning_rate=loguniform:1e-4:1e-1",
                           "model.layers.0.Dense.units=int:4:64"],
                   trials=20, jobs=2, prune=True)
    result.best  # {"trial": 7, "value": ..., "params": {...}, "overrides": [...], "run_dir": ...}

Each trial is a normal run folder ``SWEEP_DIR/trial-<k>`` trained with the spec plus the trial's
``--set`` overrides. The study lives in ``SWEEP_DIR/study.journal`` (or the ``storage`` URL), so
``resume=True`` continues it and other machines can join it. The spec's own setting of the searched keys
is trial 0 when it lies in the search space, so the best trial is never worse than the spec as written.
"""
import csv
import json
import os
import subprocess
import sys
import threading
import time
from typing import NamedTuple

from kspec.spec.errors import Diagnostic, SpecError
from kspec.spec.sweep_params import ParamError, parse_distribution, parse_param

SETTINGS_FILE = "sweep.json"
TABLE_FILE = "sweep.csv"
DEFAULTS = {"trials": 20, "jobs": 1, "sampler": "tpe", "prune": False, "timeout": None, "storage": None}
RESUMABLE = ("trials", "jobs", "timeout")  # what may change when a sweep is resumed
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "KSPEC_NUM_THREADS")


class SweepResult(NamedTuple):
    """What :func:`sweep` returns: the sweep folder, the best trial (None if none completed), the
    number of trials in each state and one row per trial (what ``sweep.csv`` holds)."""

    sweep_dir: str
    best: dict
    counts: dict
    trials: list


def sweep(config, params=(), overrides=(), *, trials=None, jobs=None, metric=None, direction=None, sampler=None,
          prune=None, timeout=None, storage=None, study_name=None, sweep_dir=None, resume=False, out=None,
          stream=None):
    """Search ``params`` (``"KEY=DIST"`` strings) over the spec file ``config``; see the module docstring.

    Options left None come from the spec's ``sweep:`` section, then from :data:`DEFAULTS`. ``out`` gets one
    JSON line per finished trial; ``stream`` (stderr by default) gets progress. Raises SpecError (before
    any trial runs) for a bad spec, parameter or option.
    """
    from kspec.sweep import study as study_mod

    stream = sys.stderr if stream is None else stream
    optuna = study_mod.import_optuna()
    options = {"trials": trials, "jobs": jobs, "metric": metric, "direction": direction, "sampler": sampler,
               "prune": prune, "timeout": timeout, "storage": storage, "study_name": study_name}
    if resume:
        settings = _resumed(config, sweep_dir, options, params, overrides)
        study = optuna.load_study(study_name=settings["study_name"], storage=study_mod.storage(optuna, settings))
        study_mod.mark_abandoned(optuna, study)
    else:
        settings = _new_settings(config, params, overrides, options)
        settings["sweep_dir"] = _new_folder(sweep_dir, settings["name"])
        study = optuna.create_study(study_name=settings["study_name"], direction=settings["direction"],
                                    storage=study_mod.storage(optuna, settings), load_if_exists=True)
        if study.trials:
            pass  # an existing study in a shared storage: joined as it is
        elif settings["sampler"] == "grid":
            study_mod.enqueue_grid(study, [parse_param(text) for text in settings["params"]])
        elif settings["baseline_values"] is not None:
            study.enqueue_trial(settings["baseline_values"], user_attrs={"baseline": True})
    settings.pop("baseline_values", None)
    settings["started"] = time.time()
    from kspec.user_code import code_allowed
    settings["allow_code"] = code_allowed()  # the workers get the switch the sweep was started with
    _write_json(os.path.join(settings["sweep_dir"], SETTINGS_FILE), settings)
    print(f"sweep: {settings['sweep_dir']}: {settings['trials']} trials of {len(settings['params'])} "
          f"parameter(s), {settings['metric']} ({settings['direction']}), {settings['jobs']} job(s)",
          file=stream, flush=True)
    if settings["jobs"] == 1:
        study_mod.work(settings, 0, out, stream)
    else:
        _run_workers(settings, out, stream)
    return summarize(optuna, settings)


def summarize(optuna, settings):
    """Write ``sweep.csv`` and return the :class:`SweepResult` of the study as it stands."""
    from kspec.sweep.study import storage

    study = optuna.load_study(study_name=settings["study_name"], storage=storage(optuna, settings))
    keys = [parse_param(text).key for text in settings["params"]]
    rows, counts = [], {}
    for t in study.get_trials(deepcopy=False):
        state = t.state.name.lower()
        counts[state] = counts.get(state, 0) + 1
        value = t.value if t.value is not None else (t.intermediate_values[max(t.intermediate_values)]
                                                     if t.intermediate_values else None)
        rows.append({"trial": t.number, "state": state, "value": value, "seconds": t.user_attrs.get("seconds"),
                     **{k: t.params.get(k) for k in keys}, "run_dir": t.user_attrs.get("run_dir"),
                     "error": t.user_attrs.get("error")})
    path = os.path.join(settings["sweep_dir"], TABLE_FILE)
    with open(path + ".tmp", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["trial", "state", "value", "seconds", *keys, "run_dir", "error"])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(path + ".tmp", path)
    best = None
    if counts.get("complete"):
        t = study.best_trial
        best = {"trial": t.number, "value": t.value, "metric": settings["metric"], "params": dict(t.params),
                "overrides": [f"{k}={json.dumps(v)}" for k, v in t.params.items()],
                "run_dir": t.user_attrs.get("run_dir"), "baseline": bool(t.user_attrs.get("baseline"))}
    return SweepResult(settings["sweep_dir"], best, counts, rows)


# ------------------------------------------------------------------------------------------- settings

def _new_settings(config, params, overrides, options):
    """Every setting of a new sweep, checked against the spec before any trial runs."""
    from kspec import run

    config = _spec_path(config)
    doc, spec = run.load_spec(config, overrides)
    section = spec.get("sweep") or {}
    searched = {}
    for key, dist in (section.get("params") or {}).items():
        searched[key] = parse_distribution(key, dist)
    for text in params:
        try:
            p = parse_param(text)
        except ParamError as e:
            raise SpecError(Diagnostic(f"--param {text}", None, None, e.message, hint=e.hint)) from None
        searched[p.key] = p
    if not searched:
        raise SpecError(Diagnostic(config, None, None, "nothing to search: no --param and no sweep.params",
                                   hint="e.g. --param compile.optimizer.Adam.learning_rate=loguniform:1e-4:1e-1"))
    settings = {k: options[k] if options[k] is not None else section.get(k) for k in options}
    settings.update({k: v for k, v in DEFAULTS.items() if settings.get(k) is None})
    has_validation = bool(spec["fit"].get("validation_split")) or spec["data"].get("validation") is not None
    settings["metric"] = settings["metric"] or ("val_loss" if has_validation else "loss")
    settings["direction"] = settings["direction"] or _direction(settings["metric"])
    settings["study_name"] = settings["study_name"] or spec["name"]
    given = options["trials"] is not None or section.get("trials") is not None
    _check_options(settings, list(searched.values()), trials_given=given)
    for p in searched.values():
        _check_against_spec(config, overrides, p)
    baseline = {p.key: _value_at(spec, p.key) for p in searched.values()}
    in_space = all(p.contains(baseline[p.key]) for p in searched.values())
    settings.update({"config": config, "overrides": list(overrides), "name": spec["name"], "seed": spec["seed"],
                     "params": [p.text for p in searched.values()], "baseline_values": baseline if in_space else None})
    return settings


def _resumed(config, sweep_dir, options, params, overrides):
    """The stored settings of the sweep in ``sweep_dir`` (or ``config`` when it is the sweep folder)."""
    folder = sweep_dir
    if folder is None and os.path.isdir(config):
        folder = config
    if folder is None:
        from kspec import run
        folder = os.path.join("runs", run.load_spec(_spec_path(config), overrides)[1]["name"] + "-sweep")
    path = os.path.join(folder, SETTINGS_FILE)
    try:
        with open(path) as handle:
            settings = json.load(handle)
    except (OSError, ValueError) as e:
        raise SpecError(Diagnostic("--resume", None, None, f"{path}: no sweep to resume ({e})",
                                   hint="give the sweep folder: kspec sweep --resume runs/NAME-sweep")) from None
    changed = [k for k, v in options.items() if v is not None and k not in RESUMABLE and v != settings.get(k)]
    if params or overrides:
        changed += ["--param"] * bool(params) + ["--set"] * bool(overrides)
    if changed:
        raise SpecError(Diagnostic("--resume", None, None, f"a resumed sweep keeps its settings; can't change "
                                                           f"{', '.join(changed)}",
                                   hint=f"only {', '.join('--' + k for k in RESUMABLE)} may change on --resume"))
    settings.update({k: options[k] for k in RESUMABLE if options[k] is not None})
    settings["sweep_dir"] = os.path.abspath(folder)
    _check_options(settings, [parse_param(text) for text in settings["params"]])
    return settings


def _check_options(settings, params, trials_given=True):
    for key in ("trials", "jobs"):
        v = settings[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SpecError(Diagnostic(f"--{key}", None, None, f"--{key} must be an integer >= 1, found {v!r}"))
    if settings["sampler"] == "grid":
        size = 1
        for p in params:
            try:
                size *= len(p.grid_values())
            except ParamError as e:
                raise SpecError(Diagnostic("--sampler grid", None, None, e.message, hint=e.hint)) from None
        settings["trials"] = min(settings["trials"], size) if trials_given else size


def _check_against_spec(config, overrides, p):
    """Resolve the spec at every probe value of ``p``. The spec itself resolved, so whatever fails now
    (an unknown key, a value the spec refuses) is the parameter's error, reported as such."""
    from kspec import run

    for value in p.probe_values():
        try:
            run.load_spec(config, list(overrides) + [(p.key, value)])
        except SpecError as e:
            raise SpecError([Diagnostic(f"--param {p.text}", None, None, f"{d.message} (at {p.key}={value})",
                                        hint=d.hint) for d in e.diagnostics]) from None


def _direction(metric):
    """Keras's rule for a monitored value: losses go down, accuracies up; otherwise ask for --direction."""
    from kspec import registry

    name = metric.removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):
        return "minimize"
    found = registry.lookup("metric", name)
    direction = getattr(found, "_direction", None)
    if direction is None and ("accuracy" in name or name == "acc"
                              or (found is not None and "accuracy" in getattr(found, "__name__", "").lower())):
        direction = "up"
    if direction is None:
        raise SpecError(Diagnostic("--metric", None, None, f"can't tell whether {metric!r} should be minimized "
                                                           "or maximized", hint="give --direction minimize|maximize"))
    return "maximize" if direction == "up" else "minimize"


def _value_at(spec, key):
    node = spec
    for step in key.split("."):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None
    return node


def _spec_path(config):
    if not isinstance(config, (str, os.PathLike)) or not os.path.isfile(config):
        raise SpecError(Diagnostic(str(config), None, None, "kspec sweep needs a spec file",
                                   hint="e.g. kspec sweep configs/quickstart.yaml --param ..."))
    return os.path.abspath(config)


def _new_folder(sweep_dir, name):
    from kspec.run_files import new_run_dir
    return os.path.abspath(new_run_dir(sweep_dir, f"{name}-sweep"))


def _write_json(path, value):
    with open(path + ".tmp", "w") as handle:
        json.dump(value, handle, indent=1)
    os.replace(path + ".tmp", path)


# ------------------------------------------------------------------------------------------- workers

def _run_workers(settings, out, stream):
    """``jobs`` worker processes (``python -m kspec.sweep``), each with cores/jobs threads; their trial lines
    go to ``out`` and their progress to ``stream``."""
    env = dict(os.environ)
    threads = str(max(1, (os.cpu_count() or 1) // settings["jobs"]))
    for name in THREAD_VARIABLES:
        env.setdefault(name, threads)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH")) if p)
    procs, pumps, lock = [], [], threading.Lock()
    try:
        for i in range(settings["jobs"]):
            proc = subprocess.Popen([sys.executable, "-m", "kspec.sweep", settings["sweep_dir"], str(i)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
            procs.append(proc)
            pumps += [_pump(proc.stdout, out, lock), _pump(proc.stderr, stream, lock)]
        codes = [proc.wait() for proc in procs]
    except KeyboardInterrupt:
        for proc in procs:
            proc.wait()
        raise
    finally:
        for pump in pumps:
            pump.join()
    if 130 in codes:
        raise KeyboardInterrupt
    if any(codes):
        raise SpecError(Diagnostic("kspec sweep", None, None, f"a sweep worker stopped with exit status "
                                                              f"{max(codes)} (its message is above)"))


def _pump(source, target, lock):
    def forward():
        for line in source:
            if target is not None:
                with lock:
                    try:
                        target.write(line)
                        target.flush()
                    except (OSError, ValueError):
                        pass
    thread = threading.Thread(target=forward, daemon=True)
    thread.start()
    return thread


def _package_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
