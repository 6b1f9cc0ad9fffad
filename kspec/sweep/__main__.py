"""A sweep worker: ``python -m kspec.sweep SWEEP_DIR WORKER`` trains trials of the study kept in SWEEP_DIR.

``kspec sweep --jobs J`` starts J of these; each finished trial is one JSON line on stdout.
"""
import json
import os
import sys


def main(argv):
    from kspec.spec.errors import SpecError
    from kspec.sweep import SETTINGS_FILE
    from kspec.sweep.study import work

    sweep_dir, worker = argv[0], int(argv[1])
    with open(os.path.join(sweep_dir, SETTINGS_FILE)) as handle:
        settings = json.load(handle)
    from kspec.user_code import allow_code

    try:
        with allow_code(settings.get("allow_code")):
            work(settings, worker, sys.stdout, sys.stderr)
    except SpecError as e:
        print(e.format(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
