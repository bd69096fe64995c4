"""``python -m model.compare``: the command line; the code lives in :mod:`model.evaluation.compare`."""
import sys

from model.evaluation.compare import main

if __name__ == "__main__":
    sys.exit(main())
