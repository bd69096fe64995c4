"""tools.evaluation.evaluate on real image files: pairing, the JSON report, the water baseline, refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import make_image
from tools.evaluation.artifacts import main as artifacts_main
from tools.evaluation.evaluate import main as evaluate_main
from tools.metrics.image import image_metrics, water_baseline
from tools.metrics.structures import pooled_table, structure_table


def write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(make_image(array), str(path))


@pytest.fixture
def cases():
    rng = np.random.default_rng(3)
    out = {}
    for case in ("1PA001", "1PA002"):
        ct = rng.uniform(-1000, 1500, (12, 14, 16)).astype(np.float32)
        mask = np.zeros(ct.shape, np.uint8)
        mask[2:10, 2:12, 3:13] = 1
        out[case] = (ct, (ct + rng.normal(0, 50, ct.shape)).astype(np.float32), mask)
    return out


def test_pairs_by_case_folder_and_writes_json(tmp_path, cases, capsys):
    for case, (ct, pred, mask) in cases.items():
        write(tmp_path / "data" / case / "ct.nii.gz", ct)
        write(tmp_path / "data" / case / "mask.nii.gz", mask)
        write(tmp_path / "pred" / f"{case}.mha", pred)
    report = tmp_path / "scores.json"
    assert evaluate_main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "data"), "--mask", str(tmp_path / "data"), "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert set(result) == {"challenge", "cases", "mean", "tissues"} and set(result["cases"]) == set(cases)
    assert result["challenge"] == "SynthRAD2023"
    for case, (ct, pred, mask) in cases.items():
        expected = image_metrics(ct, pred, mask)
        for metric in ("mae", "psnr", "ssim"):
            assert result["cases"][case][metric] == pytest.approx(expected[metric], rel=1e-6)
    assert result["mean"]["mae"] == pytest.approx(np.mean([c["mae"] for c in result["cases"].values()]))
    table = capsys.readouterr().out
    assert "1PA001" in table and "mean" in table


def test_challenge_2025_reports_its_own_metrics(tmp_path, cases, capsys):
    for case, (ct, pred, mask) in cases.items():
        write(tmp_path / "gt" / f"{case}.mha", ct)
        write(tmp_path / "mask" / f"{case}.mha", mask)
        write(tmp_path / "pred" / f"{case}.mha", pred)
    report = tmp_path / "scores.json"
    assert evaluate_main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--mask", str(tmp_path / "mask"),
                          "--challenge", "2025", "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["challenge"] == "SynthRAD2025" and set(result["mean"]) == {"mae", "psnr", "ms_ssim"}
    for case, (ct, pred, mask) in cases.items():
        expected = image_metrics(ct, pred, mask, "2025")
        for metric in expected:
            assert result["cases"][case][metric] == pytest.approx(expected[metric], rel=1e-6)
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split() == ["case", "MAE", "(HU)", "PSNR", "(dB)", "MS-SSIM"]


def test_pairs_by_file_name_and_scores_the_water_baseline(tmp_path, cases):
    for case, (ct, _, mask) in cases.items():
        write(tmp_path / "gt" / f"{case}.mha", ct)
        write(tmp_path / "mask" / f"{case}.mha", mask)
    report = tmp_path / "water.json"
    assert evaluate_main(["--baseline", "water", "--gt", str(tmp_path / "gt"), "--mask", str(tmp_path / "mask"), "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    ct, _, mask = cases["1PA001"]
    assert result["cases"]["1PA001"]["mae"] == pytest.approx(image_metrics(ct, water_baseline(mask), mask)["mae"], rel=1e-6)


def test_structure_table_by_hand():
    """Each field over the structure's voxels; an empty structure is NaN; pooling weights by voxel."""
    gt = np.array([[[40.0, 40.0, -800.0, 50.0]]])
    pred = np.array([[[30.0, -500.0, -900.0, 50.0]]])
    heart, lung, empty = (np.array([[[a, b, c, d]]]) for a, b, c, d in ((1, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 0)))
    table = structure_table(gt, pred, {"heart": heart, "lung": lung, "none": empty})
    assert list(table) == ["heart", "lung", "none"]
    assert table["heart"] == {"voxels": 2, "ct_mean": 40.0, "sct_mean": -235.0, "mean_error": -275.0, "mae": 275.0,
                              "ct_lung_like": 0.0, "sct_lung_like": 0.5}
    assert table["lung"]["mean_error"] == -100.0 and table["lung"]["ct_lung_like"] == 1.0
    assert table["none"]["voxels"] == 0 and np.isnan(table["none"]["mae"])
    other = structure_table(gt, gt, {"heart": np.array([[[0, 0, 0, 1]]])})  # one exact voxel in a second case
    pooled = pooled_table([table, other])
    assert pooled["heart"]["voxels"] == 3 and pooled["heart"]["mae"] == pytest.approx(550.0 / 3)
    assert pooled["heart"]["sct_mean"] == pytest.approx((30.0 - 500.0 + 50.0) / 3)
    assert pooled["lung"] == table["lung"] and pooled["none"]["voxels"] == 0


def test_structures_folder_gives_a_table_by_structure(tmp_path, cases, capsys):
    """--structures DIR/<case>/<name>.mha: the sCT inside each structure, per case and pooled, in the report and the
    JSON; a structure off the CT's grid is refused in one line."""
    organ = {}
    for case, (ct, pred, mask) in cases.items():
        write(tmp_path / "gt" / f"{case}.mha", ct)
        write(tmp_path / "mask" / f"{case}.mha", mask)
        write(tmp_path / "pred" / f"{case}.mha", pred)
        organ[case] = (ct > 200).astype(np.uint8) * mask
        write(tmp_path / "structures" / case / "organ.mha", organ[case])
    report = tmp_path / "scores.json"
    args = ["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--mask", str(tmp_path / "mask"),
            "--structures", str(tmp_path / "structures"), "--json", str(report)]
    assert evaluate_main(args) == 0
    assert "by planning structure" in capsys.readouterr().out
    result = json.loads(report.read_text())["structures"]
    ct_all = np.concatenate([cases[c][0][organ[c] > 0] for c in cases])
    pred_all = np.concatenate([cases[c][1][organ[c] > 0] for c in cases])
    assert result["mean"]["organ"]["voxels"] == ct_all.size
    assert result["mean"]["organ"]["mae"] == pytest.approx(np.abs(pred_all - ct_all).mean(), rel=1e-6)
    assert result["cases"]["1PA002"]["organ"]["voxels"] == int(organ["1PA002"].sum())
    write(tmp_path / "structures" / "1PA001" / "organ.mha", organ["1PA001"][:, :, :-1])
    assert evaluate_main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "structures/1PA001/organ.mha" in err[0]


def test_missing_ground_truth_and_wrong_grid_are_refused(tmp_path, cases, capsys):
    ct, pred, mask = cases["1PA001"]
    write(tmp_path / "gt" / "a.mha", ct)
    write(tmp_path / "mask" / "a.mha", mask)
    write(tmp_path / "pred" / "b.mha", pred)
    assert evaluate_main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--mask", str(tmp_path / "mask")]) == 1
    assert "no ground-truth CT for case 'b'" in capsys.readouterr().err
    (tmp_path / "pred" / "b.mha").unlink()
    write(tmp_path / "pred" / "a.mha", pred[:, :, :-1])
    assert evaluate_main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--mask", str(tmp_path / "mask")]) == 1
    assert "pred/a.mha: size (15, 14, 12) differs from the CT's (16, 14, 12)" in capsys.readouterr().err


def test_the_checkerboard_figure_refuses_bad_input_in_one_line(tmp_path, cases, capsys):
    """python -m tools.evaluation.artifacts: an unpaired case, a file that is not an image, an empty mask - one line
    naming the file, exit 1 (it used to be a traceback)."""
    ct, pred, mask = cases["1PA001"]
    args = ["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--mask", str(tmp_path / "mask")]
    write(tmp_path / "gt" / "a.mha", ct)
    write(tmp_path / "mask" / "a.mha", mask)
    write(tmp_path / "pred" / "b.mha", pred)
    assert artifacts_main(args) == 1
    assert capsys.readouterr().err.splitlines() == [f"error: {tmp_path / 'gt'}: no ground-truth CT for case 'b'"]
    (tmp_path / "pred" / "b.mha").unlink()
    write(tmp_path / "pred" / "a.mha", pred)
    write(tmp_path / "mask" / "a.mha", np.zeros_like(mask))
    assert artifacts_main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "mask/a.mha: the body mask is empty" in err[0]
    (tmp_path / "gt" / "a.mha").write_bytes(b"not an image")
    assert artifacts_main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "gt/a.mha" in err[0]
    write(tmp_path / "gt" / "a.mha", ct)
    write(tmp_path / "mask" / "a.mha", mask)
    assert artifacts_main(args) == 0
    assert capsys.readouterr().out.startswith("a ")
