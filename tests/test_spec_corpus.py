"""The corpus of bad inputs (tests/spec_corpus/): each gets a short error naming its line, no traceback.

Each case is one YAML file whose header comments say what must happen::

    # expect: Dense: unknown argument 'unit' \\(did you mean 'units'\\?\\)   (a regex of the message)
    # line: 12                   (the line the error names; the line is also marked with  # <-)
    # command: train --quiet     (default: validate --data)
    # exit: 1                    (default: 2, a spec error; 1 for data and model-file errors)
    # schema: reject             (the JSON Schema of `kspec schema` rejects it too)
"""
import glob
import os
import re
import time

import pytest
from click.testing import CliRunner

from kspec.cli.main import cli

CORPUS = os.path.join(os.path.dirname(__file__), "spec_corpus")
CASES = sorted(glob.glob(os.path.join(CORPUS, "*.yaml")))


def header(path):
    """The ``# key: value`` lines at the top of a case."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^# (expect|line|command|exit|schema): (.*)$", line.rstrip("\n"))
            if not m:
                break
            out[m.group(1)] = m.group(2)
    return out


def run_case(path, tmp_path):
    meta = header(path)
    args = meta.get("command", "validate --data").replace("{tmp}", str(tmp_path)).split()
    args.insert(1, path)
    start = time.process_time()  # CPU time: a busy test machine does not make a case "slow"
    result = CliRunner().invoke(cli, args)
    elapsed = time.process_time() - start
    output = result.output + (result.stderr if _separate_stderr(result) else "")
    return meta, result, output, elapsed


def _separate_stderr(result):
    try:
        return bool(result.stderr) and result.stderr not in result.output
    except ValueError:
        return False


def test_the_corpus_is_large_and_distinct():
    assert len(CASES) >= 60, f"only {len(CASES)} cases"
    expects = [header(p).get("expect") for p in CASES]
    assert all(expects), "every case states its expected message"


@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(p)[:-5] for p in CASES])
def test_bad_input_names_its_line(path, tmp_path):
    meta, result, output, elapsed = run_case(path, tmp_path)
    want_exit = int(meta.get("exit", 2))
    assert "Traceback" not in output and not isinstance(result.exception, Exception) or \
        isinstance(result.exception, SystemExit), f"a traceback or exception: {output}"
    assert result.exit_code == want_exit, f"exit {result.exit_code}, expected {want_exit}: {output}"
    line = meta.get("line")
    where = re.escape(path) + (f":{line}:\\d+" if line else "(:\\d+)*")
    pattern = rf"^{where}: error: .*(?:{meta['expect']})"
    assert re.search(pattern, output, re.M), f"no line matching {pattern!r} in:\n{output}"
    assert len(output.splitlines()) <= 40, f"{len(output.splitlines())} lines of output: {output}"
    assert elapsed < 1.0, f"took {elapsed:.2f} s of CPU time"
    assert not os.path.exists(tmp_path / "run"), "a run folder was left behind"
