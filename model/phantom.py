"""``python -m model.phantom``: the command line; the code lives in :mod:`model.tools.phantom`."""
import sys

from model.tools.phantom import main

if __name__ == "__main__":
    sys.exit(main())
