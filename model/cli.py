"""What every command shares: logging to stderr and one-line errors with a non-zero exit."""
from __future__ import annotations

import logging
import sys
from typing import Callable

from model.errors import InputError


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)


def exit_code(action: Callable[[], object], catch_all: str | None = None) -> int:
    """Run ``action``; an :class:`InputError` becomes ``error: <file>: <problem>`` and exit code 1. With
    ``catch_all`` (the container), any other exception does too, named after that path, never a traceback."""
    try:
        action()
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except Exception as err:
        if catch_all is None:
            raise
        print(f"error: {InputError(catch_all, f'{type(err).__name__}: {err}')}", file=sys.stderr)
        return 1
    return 0
