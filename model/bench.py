"""``python -m model.bench``: the command line; the code lives in :mod:`model.tools.bench`."""
import sys

from model.tools.bench import main

if __name__ == "__main__":
    sys.exit(main())
