"""What every command shares: logging to stderr and one-line errors with a non-zero exit."""
from __future__ import annotations

import logging
import sys
from typing import Callable

from model.errors import InputError


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)


def exit_code(action: Callable[[], object]) -> int:
    """Run ``action``; an :class:`InputError` becomes ``error: <file>: <problem>`` and exit code 1."""
    try:
        action()
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
