"""Files written whole or not at all: the one atomic-write helper every writer uses."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def partial_path(path: Path) -> Path:
    """A hidden temporary name beside ``path`` that keeps its suffix (SimpleITK picks the format by it)."""
    path = Path(path)
    return path.with_name(f".partial-{path.name}")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; it replaces ``path`` only when the block succeeds, and
    is removed when it fails, so a reader never sees half a file."""
    path = Path(path)
    tmp = partial_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
