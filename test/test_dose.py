"""python -m tools.dose on a small phantom: the CT against itself, a perturbed CT and bulk water, both modalities,
and its refusals. (pyRadPlan and pymedphys: requirements-dose.txt, which the test environment installs.)"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import ROOT
from tools.dose.__main__ import main as dose_main

SPACING = (3.0, 3.0, 3.0)


def write(path, array, spacing=SPACING):
    image = sitk.GetImageFromArray(np.asarray(array))
    image.SetSpacing(spacing)
    image.SetOrigin((-90.0, -75.0, -45.0))
    sitk.WriteImage(image, str(path))
    return path


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    """A 20 x 40 x 50 voxel (3 mm) pelvis-like phantom: a water ellipse in air with fat, two bones and gas; the
    plans with 10 mm pencil beams (a coarser plan, the same code)."""
    root = tmp_path_factory.mktemp("dose")
    zz, yy, xx = np.indices((20, 40, 50))
    body = ((yy - 20) / 18.0) ** 2 + ((xx - 25) / 23.0) ** 2 < 1
    ct = np.where(body, 30.0, -1000.0)
    ct[body & (((yy - 20) / 16.0) ** 2 + ((xx - 25) / 21.0) ** 2 > 1)] = -100.0  # subcutaneous fat
    for centre in (10, 40):
        ct[((yy - 24) ** 2 + (xx - centre) ** 2 < 12)] = 700.0  # femoral heads
    ct[(zz > 7) & (zz < 13) & ((yy - 11) ** 2 + (xx - 20) ** 2 < 5)] = -950.0  # bowel gas
    target = ((zz - 10) ** 2 + (yy - 20) ** 2 + (xx - 25) ** 2) < 16  # 12 mm radius
    organ = ((zz - 10) ** 2 + (yy - 27) ** 2 + (xx - 25) ** 2 < 9) & ~target
    rng = np.random.default_rng(0)
    perturbed = np.where(body, ct * 1.02 + rng.normal(0, 15, ct.shape), -1000.0)  # a good sCT: 2 % and noise
    paths = {name: write(root / f"{name}.mha", array.astype(np.float32 if name in ("ct", "perturbed") else np.uint8))
             for name, array in (("ct", ct), ("perturbed", perturbed), ("body", body), ("target", target), ("organ", organ))}
    paths["root"] = root
    config = json.loads((ROOT / "configs" / "dose" / "default.json").read_text())
    for modality in ("photon", "proton"):
        config[modality]["bixel_width_mm"] = 10.0
    paths["config"] = root / "dose.json"
    paths["config"].write_text(json.dumps(config))
    return paths


def run(phantom, sct, out, *extra):
    return dose_main(["--ct", str(phantom["ct"]), "--sct", str(sct), "--mask", str(phantom["body"]), "--target",
                      str(phantom["target"]), "--oar", f"organ={phantom['organ']}", "--config", str(phantom["config"]),
                      "--out", str(out), *extra])


@pytest.fixture(scope="module")
def perturbed_run(phantom):
    out = phantom["root"] / "perturbed-run"
    assert run(phantom, phantom["perturbed"], out) == 0
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.slow
def test_the_ct_against_itself_differs_by_nothing(phantom, capsys):
    out = phantom["root"] / "self"
    assert run(phantom, phantom["ct"], out) == 0
    result = json.loads((out / "metrics.json").read_text())
    for modality in ("photon", "proton"):
        same = result["modalities"][modality]["sct"]
        assert same["dose_mae_percent"] == 0.0 and same["dvh_score"] == 0.0
        assert same["gamma_pass_percent"] == {"2%/2mm": 100.0, "1%/1mm": 100.0}
    assert result["modalities"]["proton"]["sct"]["range_shift"] == {"median_mm": 0.0, "p95_mm": 0.0, "mean_signed_mm": 0.0}
    ct = sitk.ReadImage(str(out / "dose_photon_ct.mha"))
    assert ct.GetSpacing() == SPACING and np.array_equal(sitk.GetArrayFromImage(ct), sitk.GetArrayFromImage(
        sitk.ReadImage(str(out / "dose_photon_sct.mha"))))
    target = sitk.GetArrayFromImage(sitk.ReadImage(str(phantom["target"]))) > 0
    dose = sitk.GetArrayFromImage(ct)
    assert np.percentile(dose[target], 5) == pytest.approx(3.0, rel=0.02)  # normalised: D95 = the prescription
    assert {p.name for p in out.glob("*.png")} == {"images.png", "dose_photon.png", "dose_proton.png", "dvh_photon.png",
                                                   "dvh_proton.png"}
    assert "water" in capsys.readouterr().out


@pytest.mark.slow
def test_bulk_water_scores_worse_than_a_slightly_perturbed_ct_and_protons_worse_than_photons(perturbed_run):
    photon, proton = perturbed_run["modalities"]["photon"], perturbed_run["modalities"]["proton"]
    for entry in (photon, proton):
        good, water = entry["sct"], entry["water"]
        assert water["dose_mae_percent"] > 2 * good["dose_mae_percent"]
        assert water["gamma_pass_percent"]["2%/2mm"] < good["gamma_pass_percent"]["2%/2mm"]
        assert water["dvh_score"] > good["dvh_score"]
    assert proton["water"]["range_shift"]["median_mm"] > proton["sct"]["range_shift"]["median_mm"]
    assert proton["water"]["range_shift"]["median_mm"] > 1.0  # no bone, no fat, no gas: millimetres off
    for which in ("sct", "water"):  # the same sCT: protons suffer more
        assert proton[which]["dose_mae_percent"] > photon[which]["dose_mae_percent"]
        assert proton[which]["gamma_pass_percent"]["1%/1mm"] <= photon[which]["gamma_pass_percent"]["1%/1mm"]
    assert proton["water"]["gamma_pass_percent"]["2%/2mm"] < photon["water"]["gamma_pass_percent"]["2%/2mm"]
    image = perturbed_run["image"]
    assert image["sct"]["mae_2023"] < image["water"]["mae_2023"] and image["sct"]["ms_ssim_2025"] > image["water"]["ms_ssim_2025"]


def _error(capsys, *argv) -> str:
    assert dose_main(list(argv)) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_bad_inputs_are_one_line_and_write_nothing(phantom, tmp_path, capsys):
    body = sitk.GetArrayFromImage(sitk.ReadImage(str(phantom["body"])))
    outside = np.zeros_like(body)
    outside[0:3, 0:3, 0:3] = 1
    nan_sct = sitk.GetArrayFromImage(sitk.ReadImage(str(phantom["perturbed"])))
    nan_sct[5, 5, 5] = np.nan
    cases = {
        "target outside": (["--target", str(write(tmp_path / "outside.mha", outside))], "lie outside the body mask"),
        "empty organ": (["--oar", f"bowel={write(tmp_path / 'empty.mha', np.zeros_like(body))}"], "the bowel mask is empty"),
        "other grid": (["--oar", f"small={write(tmp_path / 'small.mha', body, (3.0, 3.0, 2.0))}"], "differs from the CT's"),
        "nan sct": (["--sct", str(write(tmp_path / "nan.mha", nan_sct))], "NaN or Inf"),
    }
    for name, (extra, message) in cases.items():
        args = {"--ct": str(phantom["ct"]), "--sct": str(phantom["perturbed"]), "--mask": str(phantom["body"]),
                "--target": str(phantom["target"]), "--out": str(tmp_path / "out")}
        organs = []
        for flag, value in zip(extra[::2], extra[1::2]):
            if flag == "--oar":
                organs += [flag, value]
            else:
                args[flag] = value
        line = _error(capsys, *[x for kv in args.items() for x in kv], *organs)
        assert line.startswith("error: ") and message in line, (name, line)
        assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".partial-*")), name


def test_a_missing_dose_install_names_the_command(phantom, tmp_path, monkeypatch, capsys):
    """A test double for an absent install: the module is made unimportable."""
    monkeypatch.setitem(sys.modules, "pyRadPlan", None)
    line = _error(capsys, "--ct", str(phantom["ct"]), "--sct", str(phantom["ct"]), "--mask", str(phantom["body"]),
                  "--out", str(tmp_path / "out"))
    assert "the dose tools are not installed" in line and "pip install --no-deps -r requirements-dose.txt" in line


@pytest.mark.slow
def test_evaluate_dose_scores_every_case_with_its_structures(phantom, tmp_path, capsys):
    """tools.evaluation --dose: the cases paired by file name, targets and organs from --structures, a summary."""
    import shutil

    from tools.evaluation.evaluate import main as evaluate_main

    for folder, source in (("gt", "ct"), ("mask", "body"), ("pred", "perturbed")):
        (tmp_path / folder).mkdir()
        shutil.copy(phantom[source], tmp_path / folder / "c1.mha")
    (tmp_path / "structures" / "c1").mkdir(parents=True)
    shutil.copy(phantom["target"], tmp_path / "structures" / "c1" / "target.mha")
    shutil.copy(phantom["organ"], tmp_path / "structures" / "c1" / "rectum.mha")
    out = tmp_path / "dose"
    assert evaluate_main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--mask", str(tmp_path / "mask"),
                          "--dose", str(out), "--structures", str(tmp_path / "structures"), "--modality", "photon",
                          "--dose-config", str(phantom["config"])]) == 0
    result = json.loads((out / "c1" / "metrics.json").read_text())
    assert result["target"] == "given" and set(result["modalities"]) == {"photon"}
    assert set(result["modalities"]["photon"]["dvh_ct"]) == {"target", "rectum"}
    summary = (out / "summary.md").read_text()
    assert "| c1 sCT |" in summary and "| c1 water |" in summary
    assert "c1 sCT" in capsys.readouterr().out


def _summary_result(case, dvh, gamma):
    """One case's result as tools.dose.run writes it (proton only), with the given DVH score and 2 %/2 mm rate."""
    image = {"mae_2023": 50.0, "psnr_2025": 30.0, "ms_ssim_2025": 0.9}
    proton = {"dose_mae_percent": 1.0, "dvh_score": dvh, "gamma_pass_percent": {"2%/2mm": gamma, "1%/1mm": 90.0},
              "range_shift": {"median_mm": 1.0, "p95_mm": 4.0}}
    return {"case": case, "image": {"sct": image, "water": image},
            "modalities": {"proton": {"sct": proton, "water": {**proton, "dvh_score": 0.5}}}}


def test_summary_means_say_which_cases_they_left_out():
    """A DVH score that is infinite on one case (an organ with no dose on the CT and some on the sCT) and a gamma
    rate that is NaN on another: each mean is over the cases where it is finite, and a line under the table says so,
    naming them."""
    from tools.dose.report import summary_markdown

    table = summary_markdown([_summary_result("c1", 0.2, 98.0), _summary_result("c2", float("inf"), 96.0),
                              _summary_result("c3", 0.4, float("nan"))])
    mean_sct = next(line for line in table.splitlines() if line.startswith("| mean sCT |")).split(" | ")
    assert mean_sct[-2:] == ["0.300", "1.0 / 4.0 |"]  # the DVH score: c1 and c3's mean
    assert mean_sct[-4] == "97.0"  # the 2 %/2 mm rate: c1 and c2's mean
    notes = table.split("Means over the finite values only:")[1].strip().splitlines()
    assert notes == ["- proton sct DVH score: mean of 2 of 3, without c2 (inf)",
                     "- proton sct gamma 2%/2mm: mean of 2 of 3, without c3 (nan)",
                     "- proton water gamma 2%/2mm: mean of 2 of 3, without c3 (nan)"]
    assert "Means over" not in summary_markdown([_summary_result("c1", 0.2, 98.0), _summary_result("c2", 0.1, 97.0)])


class Crash(BaseException):
    """The process dying at that instant (a BaseException: no ``except Exception`` handler catches it)."""


def _quick_run_case(monkeypatch):
    """tools.dose.run.run_case with test doubles for the reading, the dose calculation and the pictures: only its
    writing of the case folder runs."""
    from types import SimpleNamespace

    from tools.dose import report, run as run_module

    monkeypatch.setattr(run_module, "read_dose_case", lambda *args: SimpleNamespace(grid=None))
    monkeypatch.setattr(run_module, "require_dose_tools", lambda: None)  # pyRadPlan's import: seconds, unused here
    monkeypatch.setattr(run_module, "evaluate_case", lambda *args: ({"modalities": {}}, {}))
    monkeypatch.setattr(run_module, "image_scores", lambda case: {})
    monkeypatch.setattr(report, "images_png", lambda path, case: path.write_bytes(b"new picture"))
    monkeypatch.setattr(report, "summary_rows", lambda case_id, result: [])
    monkeypatch.setattr(report, "markdown_table", lambda rows: "")
    return lambda out: run_module.run_case("1PX0001", {"ct": None, "sct": None, "mask": None}, None, "Pelvis",
                                           ("photon",), 3.0, out)


def _old_output(out):
    out.mkdir()
    (out / "metrics.json").write_text('{"old": true}\n')
    (out / "images.png").write_bytes(b"old picture")


def test_a_crash_while_replacing_an_earlier_output_keeps_it(tmp_path, monkeypatch):
    """The defect this guards against: the earlier output was deleted before the new one was renamed into place,
    so dying between the two lost both. A crash at the rename (a test double for os.rename / os.replace) now
    leaves the earlier output whole, and no staging folder behind."""
    run_case = _quick_run_case(monkeypatch)
    out = tmp_path / "out"
    _old_output(out)
    real_rename, real_replace = os.rename, os.replace

    def crash_on_moving_in(real):
        def move(src, dst, *args, **kwargs):
            if Path(dst) == out and Path(src).name.startswith(".partial-"):
                raise Crash
            return real(src, dst, *args, **kwargs)
        return move

    monkeypatch.setattr(os, "rename", crash_on_moving_in(real_rename))
    monkeypatch.setattr(os, "replace", crash_on_moving_in(real_replace))
    with pytest.raises(Crash):
        run_case(out)
    assert json.loads((out / "metrics.json").read_text()) == {"old": True}
    assert (out / "images.png").read_bytes() == b"old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    monkeypatch.setattr(os, "rename", real_rename)
    monkeypatch.setattr(os, "replace", real_replace)
    run_case(out)  # and without the crash the new output replaces it, nothing left beside it
    assert json.loads((out / "metrics.json").read_text())["case"] == "1PX0001"
    assert (out / "images.png").read_bytes() == b"new picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_each_region_has_its_prescription_and_beams():
    from tools.dose.config import REGIONS, load_dose_config

    config = load_dose_config()
    assert config.beams("photon", "pelvis") == config.photon and config.beams("proton", "brain") == config.proton
    assert config.beams("proton", "thorax").gantry_angles_deg == (90.0, 180.0, 270.0)
    assert len(config.beams("photon", "Head and Neck").gantry_angles_deg) == 7
    assert config.beams("proton", "abdomen").gantry_angles_deg == (135.0, 225.0)
    assert config.beams("proton", "abdomen").bixel_width_mm == config.proton.bixel_width_mm
    assert {config.region(r).prescription_gy for r in REGIONS} == {2.0, 3.0}


@pytest.mark.slow
def test_a_region_plans_with_its_own_beams(phantom, tmp_path):
    out = tmp_path / "thorax"
    assert run(phantom, phantom["perturbed"], out, "--region", "thorax", "--modality", "proton") == 0
    result = json.loads((out / "metrics.json").read_text())
    assert result["region"] == "thorax" and result["prescription_gy"] == 2.0
    assert result["modalities"]["proton"]["beams"] == [90.0, 180.0, 270.0]
