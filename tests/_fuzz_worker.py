"""Runs kspec commands for the fuzz tests, one per JSON line on stdin, inside one process whose address
space is limited (RLIMIT_AS: its size at start plus ``KSPEC_FUZZ_MEMORY`` bytes, 1 GiB by default).

Each case ``{"argv": [...], "stdin": PATH or null}`` answers one JSON line ``{"rc", "stderr", "seconds",
"cpu"}`` (wall and CPU seconds);
the parent enforces the time limit (it kills this process when an answer is late).
"""
import contextlib
import io
import json
import os
import resource
import sys
import time


def _address_space():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    from kspec.cli import main as cli_main

    import kspec.run  # noqa: F401 - loaded before the limit, so the limit measures the cases only
    import kspec.io.h5_legacy  # noqa: F401
    extra = int(os.environ.get("KSPEC_FUZZ_MEMORY", 2**30))
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = _address_space() + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    out = sys.stdout
    for line in sys.stdin:
        case = json.loads(line)
        err, res = io.StringIO(), io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        stdin = open(case["stdin"], "rb") if case.get("stdin") else io.BytesIO(b"")
        start, cpu = time.perf_counter(), time.process_time()
        rc = 0
        saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin = io.TextIOWrapper(stdin)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(res):
                try:
                    cli_main.main(case["argv"])
                except SystemExit as e:
                    rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException as e:  # noqa: BLE001 - reported to the parent as a failure
            rc = -1
            err.write(f"\nworker: escaped {type(e).__name__}: {e}")
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
            stdin.close()
        text = err.getvalue()
        out.write(json.dumps({"rc": rc, "stderr": text[-3000:], "seconds": time.perf_counter() - start,
                              "cpu": time.process_time() - cpu}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
