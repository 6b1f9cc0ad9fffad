"""``python -m kspec``: the same as the ``kspec`` command."""
from kspec.cli.main import main

if __name__ == "__main__":
    main()
