"""Model folders: manifests, config-driven routing, loading errors."""
from __future__ import annotations

import json
import re

import pytest
import torch
from conftest import TINY_CONFIG, typed, write_model_folder

from model.errors import WeightsError
from model.networks.pix2pix import build_generator
from model.registry import available_regions, discover_models, find_model
from model.weights import load_weights, verify_manifest, write_config, write_manifest


def test_manifest_round_trip_and_sha256sum_format(tmp_path):
    folder = write_model_folder(tmp_path / "m")
    verify_manifest(folder)
    lines = (folder / "manifest.sha256").read_text().splitlines()
    assert sorted(line.split("  ")[1] for line in lines) == ["config.json", "generator.safetensors"]


def test_a_changed_config_is_caught(tmp_path):
    folder = write_model_folder(tmp_path / "m")
    (folder / "config.json").write_text((folder / "config.json").read_text().replace("Pelvis", "Brain"))
    with pytest.raises(WeightsError, match="config.json: sha256 .* does not match manifest.sha256"):
        verify_manifest(folder)


def test_missing_manifest(tmp_path):
    folder = write_model_folder(tmp_path / "m")
    (folder / "manifest.sha256").unlink()
    with pytest.raises(WeightsError, match="manifest.sha256: missing"):
        verify_manifest(folder)


def test_truncated_weights_are_reported_by_name(tmp_path):
    folder = write_model_folder(tmp_path / "m")
    path = folder / "generator.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(WeightsError, match="generator.safetensors: cannot read weights"):
        load_weights(build_generator(typed(TINY_CONFIG).networks.generator), path)


def test_a_new_region_is_a_new_folder(tmp_path):
    write_model_folder(tmp_path / "pelvis")
    write_model_folder(tmp_path / "abdomen", {**TINY_CONFIG, "region": "Abdomen"})
    assert available_regions(tmp_path) == ["Abdomen", "Pelvis"]
    assert find_model(tmp_path, "ABDOMEN").folder == tmp_path / "abdomen"
    assert find_model(tmp_path, "Head and Neck") is None


def test_two_folders_for_one_region_are_refused(tmp_path):
    write_model_folder(tmp_path / "a")
    write_model_folder(tmp_path / "b", {**TINY_CONFIG, "region": "pelvis"})
    with pytest.raises(WeightsError, match="already served"):
        discover_models(tmp_path)


def test_roi_that_does_not_divide_is_refused(tmp_path, container_input):
    from model.pipelines import load_pipeline

    folder = write_model_folder(tmp_path / "m")
    config = json.loads(json.dumps(TINY_CONFIG))
    config["inference"]["roi_size"] = [15, 64, 64]  # a config the generator cannot run on (its validate() refuses it)
    write_config(folder, config)
    write_manifest(folder)
    with pytest.raises(WeightsError, match=r"m/config.json: inference.roi_size: \[15, 64, 64\] must divide by .* \[2, 2, 2\]"):
        load_pipeline(find_model(tmp_path, "pelvis"), torch.device("cpu"))
    assert folder.exists()


def test_weights_missing_from_the_manifest_are_refused(tmp_path):
    from model.pipelines import load_pipeline

    folder = write_model_folder(tmp_path / "pelvis")
    lines = (folder / "manifest.sha256").read_text().splitlines()
    (folder / "manifest.sha256").write_text("".join(f"{line}\n" for line in lines if "generator" not in line))
    with pytest.raises(WeightsError, match="generator.safetensors: not listed in manifest.sha256"):
        load_pipeline(find_model(tmp_path, "pelvis"), torch.device("cpu"))


def test_manifest_entries_must_stay_inside_the_folder(tmp_path):
    folder = write_model_folder(tmp_path / "m")
    with open(folder / "manifest.sha256", "a") as f:
        f.write("0" * 64 + "  ../elsewhere.safetensors\n")
    with pytest.raises(WeightsError, match="not a file name inside the model folder"):
        verify_manifest(folder)


@pytest.mark.parametrize("break_config, problem", [
    (lambda c: c.pop("inference"), "inference: missing: required (a JSON object)"),
    (lambda c: c["networks"]["generator"].update(unknown_argument=1), "networks.generator.unknown_argument: unknown key"),
    (lambda c: c.update(weights="generator.safetensors"), 'weights: expected a JSON object, got string "generator.safetensors"'),
    (lambda c: c.pop("weights"), "weights: missing: a model folder names its weights files"),
])
def test_malformed_config_is_a_one_line_weights_error(tmp_path, break_config, problem):
    from model.pipelines import load_pipeline

    folder = write_model_folder(tmp_path / "pelvis")
    config = json.loads((folder / "config.json").read_text())
    break_config(config)
    (folder / "config.json").write_text(json.dumps(config))
    write_manifest(folder)
    with pytest.raises(WeightsError, match=f"pelvis/config.json: {re.escape(problem)}"):
        load_pipeline(find_model(tmp_path, "pelvis"), torch.device("cpu"))
