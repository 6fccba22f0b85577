"""``python -m prisme``: the same command line as ``prisme``."""

from prisme.cli import main

if __name__ == "__main__":  # pragma: no branch
    main()
