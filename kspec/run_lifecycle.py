"""The life of a run folder: its lock, its record (``run.json``), its checkpoints, and what happens when
training is interrupted, stops on a NaN or fails.

- ``train.lock`` holds the PID of the training that owns the folder; a second training into it is refused
  while that process lives (a lock left by a killed process is taken over).
- ``run.json`` records the command line, the versions of kspec, Python and the libraries, the platform, the
  git commit of the spec's folder, the seed, the start and end times, the wall time of each epoch and how
  the run ended: ``running``, ``finished``, ``early_stopped``, ``interrupted``, ``stopped_on_nan`` or
  ``failed``. It is written when training starts, after every epoch and at the end, atomically.
- At the end of every epoch (and every N steps with ``checkpoint_every``) the folder gets ``checkpoint.npz``
  (the whole training state, see :mod:`kspec.models.checkpoint`); after every epoch ``model.h5`` and
  ``history.csv`` hold that epoch's model and history, so an interrupted run can be evaluated, used to
  predict, and resumed (``kspec train --resume RUN``) to the very numbers of an uninterrupted one.
- Ctrl-C and SIGTERM stop training at once; what was written stays. A second Ctrl-C while the folder is
  being finished quits at once (files are replaced atomically, so none is left half written).
- A run that fails (an error, not an interruption) before its first epoch ends is removed when it holds
  only files kspec wrote; otherwise it stays with ``status: failed``.
"""
import datetime
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from kspec.errors import KspecError


RECORD_FILE = "run.json"
LOCK_FILE = "train.lock"
NAN_BATCH_FILE = "nan_batch.npz"
RECORD_FORMAT = "kspec-run-record/1"
KSPEC_FILES = ("config.yaml", RECORD_FILE, LOCK_FILE, "preprocessing.json")


class RunLockedError(KspecError, RuntimeError):
    """Another training owns the run folder."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt; ``signum`` gives the exit status 128 + signum."""

    signum = signal.SIGTERM


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# -- the lock ---------------------------------------------------------------------------------------------

def process_alive(pid):
    """Whether a process of this host with that PID is running (False for no PID)."""
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lock(folder):
    """Create ``train.lock`` with this PID; RunLockedError when a living process holds it."""
    path = os.path.join(folder, LOCK_FILE)
    text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": now_iso()})
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = read_json(path) or {}
            pid = owner.get("pid")
            same_host = owner.get("host") in (None, socket.gethostname())
            if isinstance(pid, int) and pid != os.getpid() and (not same_host or process_alive(pid)):
                raise RunLockedError(f"{folder}: another training (PID {pid} on {owner.get('host')}) is "
                                     f"using this run folder since {owner.get('started')}; wait for it to "
                                     f"end, or stop it (kill {pid}) and resume with: kspec train --resume "
                                     f"{folder}") from None
            os.remove(path)  # left by a process that no longer runs
            continue
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path
    raise RunLockedError(f"{folder}: cannot take the lock {path}")


def release_lock(folder):
    path = os.path.join(folder, LOCK_FILE)
    owner = read_json(path) or {}
    if owner.get("pid") == os.getpid():
        os.remove(path)


def read_json(path):
    """A JSON file's value, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# -- run.json ---------------------------------------------------------------------------------------------

def read_record(folder):
    return read_json(os.path.join(folder, RECORD_FILE))


def write_record(folder, record):
    path = os.path.join(folder, RECORD_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(record, indent=2, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    from kspec.models.checkpoint import fsync_dir
    fsync_dir(folder)


def _versions():
    from importlib import metadata

    from kspec import __version__
    out = {"kspec": __version__, "python": platform.python_version()}
    for name in ("numpy", "h5py", "PyYAML", "click"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(folder):
    """``{"commit", "dirty"}`` of the git checkout holding ``folder``, or None."""
    try:
        commit = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5)
        if commit.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", folder, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def new_record(spec, doc, epochs):
    spec_file = getattr(doc, "file", None)
    spec_dir = os.path.dirname(os.path.abspath(spec_file)) if spec_file and os.path.isfile(spec_file) else None
    return {"format": RECORD_FORMAT, "name": spec.get("name"), "status": "running",
            "command": list(sys.argv), "cwd": os.getcwd(), "spec_file": spec_file if spec_dir else None,
            "versions": _versions(), "platform": platform.platform(), "machine": platform.machine(),
            "git": _git(spec_dir) if spec_dir else None, "seeds": {"seed": spec.get("seed")},
            "started": now_iso(), "ended": None, "epochs": epochs, "epochs_done": 0, "epoch_wall_s": [],
            "sessions": [{"started": now_iso(), "pid": os.getpid(), "command": list(sys.argv)}]}


class RunRecord:
    """``run.json`` of one training session (the first or a resume)."""

    def __init__(self, folder, record):
        self.folder, self.record = folder, record
        self._t0 = time.perf_counter()

    def save(self):
        write_record(self.folder, self.record)

    def epoch_done(self, epochs_done, epoch_times):
        self.record["epochs_done"] = epochs_done
        self.record["epoch_wall_s"] = list(epoch_times)
        self.save()

    def end(self, status, message=None, **extra):
        self.record["status"] = status
        self.record["ended"] = now_iso()
        self.record["message"] = message
        self.record.update(extra)
        session = self.record["sessions"][-1]
        session.update(ended=self.record["ended"], status=status,
                       wall_s=round(time.perf_counter() - self._t0, 3))
        self.save()


# -- files -----------------------------------------------------------------------------------------------

def remove_checkpoints(folder):
    from kspec.models.checkpoint import CHECKPOINT_FILE, PREVIOUS_FILE
    for name in (CHECKPOINT_FILE, PREVIOUS_FILE):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            os.remove(path)


def remove_stale_temporaries(folder):
    """Delete the temporary files a killed training left (``.checkpoint.npz.1a2b3c4d.tmp``, ...)."""
    ours = KSPEC_FILES + ("history.csv", "metrics.json", "model.h5", NAN_BATCH_FILE)
    for name in os.listdir(folder):
        if name.endswith(".tmp") and (name.startswith(".") or name[:-4] in ours):
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass


def only_kspec_files(folder):
    """Whether the folder holds nothing but what kspec writes before the first epoch ends."""
    return all(name in KSPEC_FILES or name.endswith(".tmp") for name in os.listdir(folder))


# -- signals ---------------------------------------------------------------------------------------------

class SignalScope:
    """While training: SIGTERM raises :class:`Terminated` (Ctrl-C raises KeyboardInterrupt as always).
    :meth:`finishing` makes a further Ctrl-C or SIGTERM quit at once, without writing more."""

    def __init__(self):
        self._saved = {}

    def __enter__(self):
        self._set(signal.SIGTERM, _raise_terminated)
        return self

    def finishing(self):
        self._set(signal.SIGINT, _quit_now)
        self._set(signal.SIGTERM, _quit_now)

    def __exit__(self, *exc):
        for signum, handler in self._saved.items():
            try:
                signal.signal(signum, handler)
            except (ValueError, OSError):
                pass
        self._saved = {}
        return False

    def _set(self, signum, handler):
        try:
            previous = signal.signal(signum, handler)
        except (ValueError, OSError):  # not the main thread: leave signals alone
            return
        self._saved.setdefault(signum, previous)


def _raise_terminated(signum, frame):
    raise Terminated()


def _quit_now(signum, frame):
    os._exit(128 + signum)


def exit_status(exc):
    """128 + the signal of an interruption (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


# -- resuming -------------------------------------------------------------------------------------------

def spec_differences(old, new, prefix=""):
    """The dotted keys whose values differ between two resolved specs."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(old) + [k for k in new if k not in old]:
            out += spec_differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += spec_differences(a, b, f"{prefix}{i}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]


def describe_unfinished(folder):
    """``(state, kept)`` of an unfinished run folder for evaluate and predict ("interrupted after 3 of 10
    epochs", "the model of its last completed epoch"), or None when the run finished (or has no record)."""
    record = read_record(folder)
    if record is None or record.get("status") in ("finished", "early_stopped"):
        return None
    status = record.get("status")
    if status == "running":
        lock = read_json(os.path.join(folder, LOCK_FILE)) or {}
        pid = lock.get("pid")
        status = "still training" if isinstance(pid, int) and process_alive(pid) else "killed while training"
    kept = "the model of its last completed epoch"
    if status == "stopped_on_nan":
        status, kept = "stopped on a NaN", "the last finite weights"
    return f"{status} after {record.get('epochs_done')} of {record.get('epochs')} epochs", kept


def session_record(record, spec, doc):
    """``run.json``'s content for a new training session: a new record, or a resumed run's with one more
    session."""
    epochs = spec["fit"].get("epochs")
    if record is None:
        return new_record(spec, doc, epochs)
    record = dict(record)
    record.update(status="running", ended=None, message=None)
    record.setdefault("sessions", []).append({"started": now_iso(), "pid": os.getpid(),
                                              "command": list(sys.argv)})
    return record


def finished_result(folder, result_type):
    """The RunResult of a finished run, read back from its files."""
    import csv

    from kspec.run_files import HISTORY_FILE, METRICS_FILE
    history = {}
    path = os.path.join(folder, HISTORY_FILE)
    if os.path.isfile(path):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                for key, value in row.items():
                    if key != "epoch":
                        history.setdefault(key, []).append(float(value))
    metrics = read_json(os.path.join(folder, METRICS_FILE)) or {}
    return result_type(folder, history, metrics)
