"""Run a Python script in a child process and report its wall time and peak memory (max RSS)."""
import json
import os
import subprocess
import sys

_WRAPPER = """
import resource, runpy, sys, json
sys.argv = {argv!r}
sys.path.insert(0, {path!r})
try:
    runpy.run_path({script!r}, run_name="__main__")
finally:
    sys.stdout.flush()
    print("__PEAK_KB__ " + str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss), flush=True)
"""


def run_script(script, args=(), env=None, cwd=None, python=None):
    """Run ``script`` with ``args`` (under ``python``, default this interpreter); returns (stdout lines
    without the marker, peak RSS in MiB)."""
    code = _WRAPPER.format(argv=[script, *map(str, args)], path=os.path.dirname(os.path.abspath(script)),
                           script=os.path.abspath(script))
    proc = subprocess.run([python or sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{proc.stderr[-2000:]}")
    lines, peak = [], None
    for line in proc.stdout.splitlines():
        if line.startswith("__PEAK_KB__"):
            peak = int(line.split()[1]) / 1024
        else:
            lines.append(line)
    return lines, peak


def epoch_times(lines):
    """Seconds per epoch from lines like 'epoch 1 train_s 2.345 ...'."""
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "epoch" and parts[2] == "train_s":
            out.append(float(parts[3]))
    return out


def dump(obj):
    print(json.dumps(obj, indent=2))
