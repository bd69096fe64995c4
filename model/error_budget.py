"""``python -m model.error_budget``: the command line; the code lives in :mod:`model.evaluation.error_budget`."""
import sys

from model.evaluation.error_budget import main

if __name__ == "__main__":
    sys.exit(main())
