"""``python -m tools.evaluation``: sCTs against their CTs (the code: :mod:`tools.evaluation.evaluate`)."""
import sys

from tools.evaluation.evaluate import main

sys.exit(main())
