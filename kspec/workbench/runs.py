"""Run folders read back for plots and comparisons: history, metrics, resolved spec and wall time.

A target is a run folder (it holds ``history.csv``) or a sweep folder (its ``trial-<k>`` subfolders are
runs, in trial order).
"""
import csv
import math
import os
import re

from kspec.run_files import CONFIG_FILE, HISTORY_FILE, METRICS_FILE
from kspec.run_lifecycle import read_json, read_record
from kspec.workbench import WorkbenchError

NOT_METRICS = ("epoch", "stage")


class RunRecord:
    """One finished run: ``folder``, ``label``, ``history`` (column -> list of floats, in epoch order),
    ``stages`` (one entry per epoch, or None), ``metrics`` (test metrics), ``spec`` (the resolved spec as
    a plain dict, or None), ``wall_time`` (seconds, or None) and ``status`` (how the run ended, from
    ``run.json``, or None)."""

    def __init__(self, folder, label, history, stages, metrics, spec, wall_time):
        self.folder, self.label = folder, label
        self.history, self.stages = history, stages
        self.metrics, self.spec, self.wall_time = metrics, spec, wall_time
        self.status = None

    @property
    def epochs(self):
        return len(next(iter(self.history.values()), []))

    @property
    def metric_names(self):
        """The metrics the history tracks, without their ``val_`` twins, in column order."""
        names = [k[4:] if k.startswith("val_") else k for k in self.history]
        return list(dict.fromkeys(names))

    def final(self):
        """The last epoch's value of each history column."""
        return {k: v[-1] for k, v in self.history.items() if v}


def is_sweep(folder):
    return os.path.isdir(folder) and not os.path.isfile(os.path.join(folder, HISTORY_FILE)) and \
        bool(_trials(folder))


def _trials(folder):
    found = []
    for entry in os.listdir(folder):
        m = re.fullmatch(r"trial-(\d+)", entry)
        if m and os.path.isfile(os.path.join(folder, entry, HISTORY_FILE)):
            found.append((int(m.group(1)), os.path.join(folder, entry)))
    return [path for _, path in sorted(found)]


def expand(targets):
    """The run folders named by ``targets`` (run folders and sweep folders), each with its label."""
    runs = []
    for target in targets:
        target = os.path.normpath(os.fspath(target))
        if os.path.isfile(os.path.join(target, HISTORY_FILE)):
            runs.append((target, os.path.basename(os.path.abspath(target))))
        elif os.path.isdir(target) and _trials(target):
            sweep = os.path.basename(os.path.abspath(target))
            runs.extend((path, f"{sweep}/{os.path.basename(path)}") for path in _trials(target))
        elif os.path.isdir(target):
            raise WorkbenchError(f"{target}: not a run folder (no {HISTORY_FILE}) nor a sweep folder "
                                 "(no trial-*/ runs); was the run finished?")
        else:
            raise WorkbenchError(f"{target}: no such run folder")
    labels = [label for _, label in runs]
    if len(set(labels)) < len(labels):  # same folder names in different places: use the paths
        return [(path, path) for path, _ in runs]
    return runs


def read_runs(targets):
    return [read_run(path, label) for path, label in expand(targets)]


def read_run(folder, label=None):
    history, stages = read_history(os.path.join(folder, HISTORY_FILE))
    metrics = read_json(os.path.join(folder, METRICS_FILE)) or {}
    spec = None
    config = os.path.join(folder, CONFIG_FILE)
    if os.path.isfile(config):
        import yaml
        with open(config, encoding="utf-8") as f:
            try:
                spec = yaml.safe_load(f)
            except yaml.YAMLError as e:
                raise WorkbenchError(f"{config}: not readable YAML ({e})") from None
    record = RunRecord(folder, label or os.path.basename(os.path.abspath(folder)), history, stages, metrics,
                       spec if isinstance(spec, dict) else None, wall_time(folder))
    record.status = run_status(folder)
    return record


def read_history(path):
    """``(columns, stages)`` of a ``history.csv``: each metric column as floats (blank: NaN), and the
    ``stage`` column's values (or None when it has none)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise WorkbenchError(f"{path}: {e.strerror}") from None
    if not rows:
        raise WorkbenchError(f"{path}: empty history")
    header, body = rows[0], [r for r in rows[1:] if r]
    columns, stages = {}, None
    for i, name in enumerate(header):
        values = [r[i] if i < len(r) else "" for r in body]
        if name == "stage":
            stages = values
        elif name != "epoch":
            try:
                columns[name] = [float(v) if v.strip() else math.nan for v in values]
            except ValueError:
                raise WorkbenchError(f"{path}: column {name!r} holds a value that is not a number") from None
    return columns, stages


def wall_time(folder):
    """Seconds the run took: from ``run.json`` when the run has one (the sum of its sessions' ``wall_s``,
    else of its epochs' ``epoch_wall_s``), else the time from writing ``config.yaml`` (before fit) to
    ``history.csv`` (after)."""
    record = read_record(folder)
    if isinstance(record, dict):
        sessions = [s.get("wall_s") for s in record.get("sessions") or [] if isinstance(s, dict)]
        if sessions and all(_is_number(t) for t in sessions):
            return float(sum(sessions))
        epochs = record.get("epoch_wall_s")
        if isinstance(epochs, list) and epochs and all(_is_number(t) for t in epochs):
            return float(sum(epochs))
    try:
        start = os.path.getmtime(os.path.join(folder, CONFIG_FILE))
        end = os.path.getmtime(os.path.join(folder, HISTORY_FILE))
    except OSError:
        return None
    return max(end - start, 0.0)


def run_status(folder):
    """How the run ended, from ``run.json`` (finished, interrupted, ...), or None without one."""
    record = read_record(folder)
    status = record.get("status") if isinstance(record, dict) else None
    return status if isinstance(status, str) else None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


