"""What every command shares: logging to stderr and one-line errors with a non-zero exit."""
from __future__ import annotations

import logging
import sys
from typing import Callable

from model.errors import InputError


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)


def error_line(err: Exception, catch_all: str | None = None) -> tuple[str, bool]:
    """The one line an error ends a run with (``error: <file>: <problem>``) and whether it is an input's
    (:class:`InputError`). Any other exception is named after ``catch_all``; without it, it is raised again."""
    if isinstance(err, InputError):
        return f"error: {err}", True
    if catch_all is None:
        raise err
    return f"error: {InputError(catch_all, f'{type(err).__name__}: {err}')}", False


def exit_code(action: Callable[[], object], catch_all: str | None = None) -> int:
    """Run ``action``; an :class:`InputError` becomes ``error: <file>: <problem>`` and exit code 1. With
    ``catch_all`` (the container), any other exception does too, named after that path, never a traceback."""
    try:
        action()
    except Exception as err:
        print(error_line(err, catch_all)[0], file=sys.stderr)
        return 1
    return 0
