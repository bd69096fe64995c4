"""``python -m model.evaluate``: the command line; the code lives in :mod:`model.evaluation.evaluate`."""
import sys

from model.evaluation.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
