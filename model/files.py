"""Files and folders written whole or not at all: the atomic-write helpers every writer uses.

- :func:`atomic_path`: one file, written under a hidden name beside it and renamed into place.
- :func:`staged_folder`: a folder, filled as a hidden sibling and renamed into place; an earlier folder is
  replaced without ever leaving the name empty.
- :func:`staged_files`: files for a folder that is not replaced whole (a mount point such as ``/output``),
  staged in a hidden folder inside it and moved into place one by one when all are written.

Staging names are hidden (a leading dot) and removed when the block fails; a process killed outright may leave
one behind, never a half-written file or folder under the final name.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
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


@contextmanager
def staging_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A new, empty, uniquely named folder in ``parent`` (``prefix`` and a random tail), removed with whatever is
    still in it when the block ends, however it ends."""
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def staged_folder(final: Path, *, keep_existing: bool = False) -> Iterator[Path]:
    """Yield a new hidden folder beside ``final`` (``.partial-<name>-*``; its parent must exist) to fill. When the
    block succeeds the folder takes ``final``'s place; when it fails it is removed and ``final`` is untouched.

    An existing ``final`` is replaced (:func:`replace_folder`: the name is never left empty), or, with
    ``keep_existing``, kept: a folder another writer put there first wins and the staged one is dropped.
    """
    final = Path(final)
    with staging_folder(final.parent, f".partial-{final.name}-") as staging:
        yield staging
        if keep_existing:
            try:
                os.rename(staging, final)
            except OSError:  # a non-empty folder is there: another writer's, kept
                if not final.is_dir():
                    raise
        else:
            replace_folder(staging, final)


def replace_folder(new: Path, final: Path) -> None:
    """Rename ``new`` to ``final`` (on the same file system). An existing ``final`` is first renamed aside to a
    hidden sibling (``.old-<name>-*``), ``new`` renamed in, and only then the old folder deleted: a failure
    between the two renames puts the old one back, so ``final`` always names a whole folder, the old or the new.
    (A process killed outright in that instant leaves the old folder under its hidden name, not deleted.)"""
    new, final = Path(new), Path(final)
    if not os.path.lexists(final):
        os.rename(new, final)
        return
    aside = final.with_name(f".old-{final.name}-{secrets.token_hex(4)}")
    os.rename(final, aside)
    try:
        os.rename(new, final)
    except BaseException:
        try:
            os.rename(aside, final)
        except OSError:  # another writer's folder took the name meanwhile: the name is not empty, the old goes
            if os.path.lexists(final):
                _remove(aside)
        raise
    _remove(aside)


def _remove(path: Path) -> None:
    """Delete a folder with its contents, or a file, as far as it goes."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


@contextmanager
def staged_files(folder: Path, *, last: str | None = None) -> Iterator[Path]:
    """For a folder that is not replaced whole (a mount point such as the container's ``/output``; it must
    exist): yield a new hidden folder inside it (``.staging-*``) to fill. When the block succeeds every staged
    file is moved to the same place in ``folder`` (each with ``os.replace``, atomic), in sorted order, ``last``
    (a file name at the top of the staged folder) after all the others; when it fails none reaches ``folder``.
    The staging folder is removed either way."""
    folder = Path(folder)
    with staging_folder(folder, ".staging-") as staging:
        yield staging
        for path in sorted(staging.rglob("*")):
            relative = path.relative_to(staging)
            if path.is_file() and str(relative) != last:
                (folder / relative).parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, folder / relative)
        if last is not None:
            os.replace(staging / last, folder / last)
