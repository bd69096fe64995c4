"""model.files: folders written whole or not at all (staged_folder, replace_folder, staged_files)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from model.files import replace_folder, staged_files, staged_folder


class Crash(BaseException):
    """The process dying at that instant (a BaseException: no ``except Exception`` handler catches it)."""


def folder_with(path: Path, **files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def contents(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


def test_a_staged_folder_takes_its_place_and_replaces_an_earlier_one(tmp_path):
    final = tmp_path / "out"
    with staged_folder(final) as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".partial-out-") and not final.exists()
        (staging / "a.txt").write_text("first")
    assert contents(final) == {"a.txt": "first"}
    with staged_folder(final) as staging:
        (staging / "b.txt").write_text("second")
    assert contents(final) == {"b.txt": "second"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging, no old folder left


def test_a_failing_block_leaves_the_earlier_folder_and_no_staging(tmp_path):
    final = folder_with(tmp_path / "out", old="old")
    with pytest.raises(ValueError):
        with staged_folder(final) as staging:
            (staging / "half").write_text("half")
            raise ValueError("failed half way")
    assert contents(final) == {"old": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with pytest.raises(ValueError):
        with staged_folder(tmp_path / "new"):
            raise ValueError
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("exception", [Crash, OSError])
def test_a_crash_between_the_two_renames_puts_the_old_folder_back(tmp_path, monkeypatch, exception):
    """A test double for os.rename fails moving the new folder in, after the old one was renamed aside: the old
    one is back under its name, whole, and neither the new nor the aside copy is left."""
    final = folder_with(tmp_path / "out", old="old")
    new = folder_with(tmp_path / ".new", new="new")
    real_rename = os.rename

    def rename(src, dst):
        if Path(src) == new:
            assert not final.exists()  # the old one is aside at this instant
            raise exception("killed")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(exception):
        replace_folder(new, final)
    assert contents(final) == {"old": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".new", "out"]  # the new one stays the caller's to remove


def test_a_crash_while_deleting_the_old_folder_leaves_the_new_one_in_place(tmp_path, monkeypatch):
    final = folder_with(tmp_path / "out", old="old")
    new = folder_with(tmp_path / ".new", new="new")

    def rmtree(path, *args, **kwargs):
        raise Crash

    monkeypatch.setattr("model.files.shutil.rmtree", rmtree)
    with pytest.raises(Crash):
        replace_folder(new, final)
    assert contents(final) == {"new": "new"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".old-out-")]  # the old one, renamed aside


def test_a_file_in_the_way_is_replaced_too(tmp_path):
    (tmp_path / "out").write_text("a file")
    with staged_folder(tmp_path / "out") as staging:
        (staging / "a").write_text("a")
    assert contents(tmp_path / "out") == {"a": "a"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_keep_existing_keeps_the_first_writers_folder(tmp_path):
    """Two processes deriving the same arrays (tools.dataset.cache): the one that renames first wins, the
    other's staged copy is dropped without an error."""
    final = tmp_path / "derived"
    with staged_folder(final, keep_existing=True) as staging:
        (staging / "x").write_text("mine")
        folder_with(final, x="theirs")  # another process got there first
    assert contents(final) == {"x": "theirs"}
    assert [p.name for p in tmp_path.iterdir()] == ["derived"]
    with staged_folder(tmp_path / "fresh", keep_existing=True) as staging:
        (staging / "x").write_text("mine")
    assert contents(tmp_path / "fresh") == {"x": "mine"}


def test_keep_existing_still_fails_when_nothing_took_the_place(tmp_path):
    (tmp_path / "derived").write_text("a file, not a folder")
    with pytest.raises(OSError):
        with staged_folder(tmp_path / "derived", keep_existing=True) as staging:
            (staging / "x").write_text("mine")
    assert [p.name for p in tmp_path.iterdir()] == ["derived"]


def test_staged_files_move_into_the_folder_with_the_last_one_last(tmp_path, monkeypatch):
    """The container's /output: kept (a mount point), other files in it untouched, the staged files moved in,
    results.json last."""
    out = folder_with(tmp_path / "output", other="kept")
    moved = []
    real_replace = os.replace

    def replace(src, dst):
        moved.append(str(Path(dst).relative_to(out)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with staged_files(out, last="results.json") as staging:
        assert staging.parent == out and staging.name.startswith(".staging-")
        (staging / "results.json").write_text("[]")
        folder_with(staging / "images" / "synthetic-ct", **{"a.mha": "a", "b.mha": "b"})
    assert moved == ["images/synthetic-ct/a.mha", "images/synthetic-ct/b.mha", "results.json"]
    assert contents(out) == {"images/synthetic-ct/a.mha": "a", "images/synthetic-ct/b.mha": "b", "other": "kept",
                             "results.json": "[]"}


def test_staged_files_of_a_failed_block_reach_nothing(tmp_path):
    out = folder_with(tmp_path / "output")
    with pytest.raises(ValueError):
        with staged_files(out, last="results.json") as staging:
            folder_with(staging / "images", **{"a.mha": "a"})
            raise ValueError("a later case failed")
    assert list(out.iterdir()) == []
