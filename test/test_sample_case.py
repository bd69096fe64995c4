"""The bundled pelvis sample case through process.py with the bundled demo weights."""
from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

import process
from conftest import ROOT, SAMPLE_CASE
from model.metrics import image_metrics, water_baseline
from model.weights import read_config, verify_manifest

WEIGHTS = ROOT / "weights"
# Same weights, same input: only floating-point summation order (CPU model, thread count, GPU) may
# differ, which moves a voxel across a rounding boundary at most. Stated tolerance: 2 HU.
TOLERANCE_HU = 2


def test_bundled_weights_verify_and_record_their_training():
    verify_manifest(WEIGHTS / "pelvis")
    provenance = read_config(WEIGHTS / "pelvis")["provenance"]
    commands = provenance.get("commands") or [provenance["command"]]  # the demo weights predate the list
    assert commands[-1].startswith("python -m model.train pix2pix")
    assert (WEIGHTS / "pelvis" / "TRAINING.md").is_file()


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """process.py run once on the sample case, as the container would run it."""
    out = tmp_path_factory.mktemp("sample") / "output"
    assert process.main(["--input", str(SAMPLE_CASE), "--output", str(out), "--device", "cpu"]) == 0
    return out


def test_sample_case_matches_its_expected_output(out):
    assert json.loads((out / "results.json").read_text()) == json.loads((SAMPLE_CASE / "expected_output.json").read_text())

    (mr_path,) = (SAMPLE_CASE / "images/mri").glob("*.mha")
    mr = sitk.ReadImage(str(mr_path))
    sct = sitk.ReadImage(str(out / "images/synthetic-ct" / mr_path.name))
    assert sct.GetPixelID() == sitk.sitkInt16
    assert (sct.GetSize(), sct.GetSpacing(), sct.GetOrigin(), sct.GetDirection()) == \
        (mr.GetSize(), mr.GetSpacing(), mr.GetOrigin(), mr.GetDirection())

    expected = sitk.GetArrayFromImage(sitk.ReadImage(str(SAMPLE_CASE / "expected" / mr_path.name))).astype(np.int32)
    got = sitk.GetArrayFromImage(sct).astype(np.int32)
    assert np.abs(got - expected).max() <= TOLERANCE_HU


def test_sample_case_beats_the_water_baseline(out):
    (mr_path,) = (SAMPLE_CASE / "images/mri").glob("*.mha")
    read = lambda p: sitk.GetArrayFromImage(sitk.ReadImage(str(p))).astype(np.float32)  # noqa: E731
    ct = read(SAMPLE_CASE / "ground-truth" / mr_path.name)
    mask = read(SAMPLE_CASE / "images/body" / mr_path.name)
    model = image_metrics(ct, read(out / "images/synthetic-ct" / mr_path.name), mask)
    water = image_metrics(ct, water_baseline(mask), mask)
    assert model["mae"] <= 0.5 * water["mae"]
    assert model["psnr"] > water["psnr"] and model["ssim"] > water["ssim"]
