"""Every bundled sample case (test/cases/<region>) through process.py with the bundled demo weights."""
from __future__ import annotations

import re

import numpy as np
import pytest
import SimpleITK as sitk

import process
from conftest import ROOT
from model.compare import compare_case
from model.weights import read_config, verify_manifest
from tools.metrics.image import image_metrics, water_baseline

WEIGHTS = ROOT / "weights"
CASES = sorted(p for p in (ROOT / "test" / "cases").iterdir() if p.is_dir())
# The last training command each weights folder records (the command as run: before training moved to tools/, it
# was python -m model.train); an inference setting changed after training (python -m tools.model_folder) may follow.
LAST_TASK = {"pelvis": "pix2pix", "brain": "controlnet", "abdomen": "pix2pix", "thorax": "pix2pix",
             "headneck": "pix2pix"}
# The bar each region's bundled demo weights clear on its sample case, as a fraction of the bulk-water baseline's
# MAE (what the weights reach on held-out phantoms: docs/results.md).
MAE_RATIO = {"pelvis": 0.5, "brain": 0.5, "abdomen": 0.5, "thorax": 0.5, "headneck": 0.5}


def test_every_region_has_a_sample_case():
    assert [c.name for c in CASES] == sorted(p.name for p in WEIGHTS.iterdir() if (p / "config.json").is_file())


@pytest.mark.parametrize("region", sorted(LAST_TASK))
def test_bundled_weights_verify_and_record_their_training(region):
    verify_manifest(WEIGHTS / region)
    provenance = read_config(WEIGHTS / region)["provenance"]
    commands = provenance.get("commands") or [provenance["command"]]  # the pelvis weights predate the list
    training = [c for c in commands if re.match(r"python -m (model|tools)\.train ", c)]
    assert training and re.match(rf"python -m (model|tools)\.train {LAST_TASK[region]} ", training[-1]), commands
    assert all(re.match(r"python -m tools\.model_folder ", c) for c in commands[commands.index(training[-1]) + 1:])
    assert (WEIGHTS / region / "TRAINING.md").is_file()


# The brain case samples 3 x 20 DDIM steps (about 15 s): the slow tier.
@pytest.fixture(scope="module", params=[pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.name == "brain" else [])
                                        for c in CASES])
def run(request, tmp_path_factory):
    """process.py run once on the sample case, as the container would run it."""
    case = request.param
    out = tmp_path_factory.mktemp(case.name) / "output"
    assert process.main(["--input", str(case), "--output", str(out), "--device", "cpu"]) == 0
    return case, out


def test_sample_case_matches_its_expected_output(run):
    """The check test.sh runs on the image: results.json and geometry exactly, voxels within 2 HU (CPU)."""
    case, out = run
    reports, problems = compare_case(case, out)
    assert problems == []
    assert len(reports) == 1
    (sct,) = (out / "images/synthetic-ct").glob("*.mha")
    assert sitk.ReadImage(str(sct)).GetPixelID() == sitk.sitkInt16


def test_sample_case_beats_the_water_baseline(run):
    case, out = run
    (mr_path,) = (case / "images/mri").glob("*.mha")
    read = lambda p: sitk.GetArrayFromImage(sitk.ReadImage(str(p))).astype(np.float32)  # noqa: E731
    ct = read(case / "ground-truth" / mr_path.name)
    mask = read(case / "images/body" / mr_path.name)
    model = image_metrics(ct, read(out / "images/synthetic-ct" / mr_path.name), mask)
    water = image_metrics(ct, water_baseline(mask), mask)
    assert model["mae"] <= MAE_RATIO[case.name] * water["mae"]
    assert model["psnr"] > water["psnr"] and model["ssim"] > water["ssim"]
