"""python -m tools.model_folder: a trained model folder's inference settings changed, checked, re-manifested."""
from __future__ import annotations

import json

import pytest

from conftest import write_model_folder
from model.weights import verify_manifest
from tools.model_folder import main


def test_sets_an_inference_setting_and_rewrites_the_manifest(tmp_path):
    folder = write_model_folder(tmp_path / "model")
    assert main([str(folder), "inference.overlap=0.5", 'inference.tta_flips=["x"]']) == 0
    config = json.loads((folder / "config.json").read_text())
    assert config["inference"]["overlap"] == 0.5 and config["inference"]["tta_flips"] == ["x"]
    assert config["provenance"]["commands"][-1].endswith("inference.overlap=0.5 'inference.tta_flips=[\"x\"]'")
    verify_manifest(folder)  # the new config's hash is the manifest's


@pytest.mark.parametrize("setting, problem", [
    ("inference.overlap=1.5", "inference.overlap: 1.5 is out of range"),
    ("inference.windows=2", "inference.windows: unknown key"),
])
def test_a_bad_value_is_one_line_and_nothing_written(tmp_path, capsys, setting, problem):
    folder = write_model_folder(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main([str(folder), setting]) == 1
    assert problem in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize("setting", ["networks.generator.channels=[8]", "inference.overlap=half", "overlap"])
def test_only_inference_settings_as_json(tmp_path, setting):
    folder = write_model_folder(tmp_path / "model")
    with pytest.raises(SystemExit) as exit_:
        main([str(folder), setting])
    assert exit_.value.code == 2


def test_keeps_the_manifests_files_and_refuses_a_folder_changed_by_hand(tmp_path, capsys):
    folder = write_model_folder(tmp_path / "model")
    (folder / "TRAINING.md").write_text("how it was made\n")  # written after export: not in the manifest
    assert main([str(folder), "inference.overlap=0.5"]) == 0
    assert "TRAINING.md" not in (folder / "manifest.sha256").read_text()
    verify_manifest(folder)
    (folder / "generator.safetensors").write_bytes(b"replaced")
    assert main([str(folder), "inference.overlap=0.25"]) == 1
    assert "generator.safetensors" in capsys.readouterr().err
    assert json.loads((folder / "config.json").read_text())["inference"]["overlap"] == 0.5


def test_a_crash_before_the_manifest_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    """The config and the manifest change together or not at all: a failure after the new config is written
    (here the manifest's writer raising, standing in for a crash) leaves the old folder whole, nothing beside it."""
    folder = write_model_folder(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def crash(*args, **kwargs):
        raise OSError("disk full (a test double)")
    monkeypatch.setattr("tools.model_folder.write_manifest", crash)
    with pytest.raises(OSError, match="test double"):
        main([str(folder), "inference.overlap=0.5"])
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    verify_manifest(folder)


def test_the_weights_are_linked_not_copied(tmp_path):
    folder = write_model_folder(tmp_path / "model")
    inode = (folder / "generator.safetensors").stat().st_ino
    assert main([str(folder), "inference.overlap=0.5"]) == 0
    assert (folder / "generator.safetensors").stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_the_folder_given_as_dot(tmp_path, monkeypatch):
    folder = write_model_folder(tmp_path / "model")
    monkeypatch.chdir(folder)
    assert main([".", "inference.overlap=0.5"]) == 0
    assert json.loads((folder / "config.json").read_text())["inference"]["overlap"] == 0.5
    verify_manifest(folder)
