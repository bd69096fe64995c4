"""model.compare (what test.sh runs inside the image) on a real process.py output: it must pass an identical
output and catch each kind of difference."""
from __future__ import annotations

import json
import shutil

import pytest
import SimpleITK as sitk

import process
from model.compare import compare_case, main

SCT = "images/synthetic-ct/case.mha"


@pytest.fixture
def case_and_output(container_input, weights_dir, tmp_path):
    """A sample case made from a real run (expected_output.json, expected/), and a second output to compare."""
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        argv = ["--input", str(container_input), "--output", str(out), "--weights", str(weights_dir), "--device", "cpu"]
        assert process.main(argv) == 0
    shutil.copy(first / "results.json", container_input / "expected_output.json")
    (container_input / "expected").mkdir()
    shutil.copy(first / SCT, container_input / "expected" / "case.mha")
    return container_input, second


def rewrite_sct(output, change):
    image = sitk.ReadImage(str(output / SCT))
    changed = change(image)
    sitk.WriteImage(changed, str(output / SCT), True)


def add_to_voxels(image, delta, where=(slice(0, 1), slice(5, 6), slice(6, 7))):
    values = sitk.GetArrayFromImage(image)
    values[where] += delta
    result = sitk.GetImageFromArray(values)
    result.CopyInformation(image)
    return result


def test_the_same_run_twice_matches(case_and_output, capsys):
    case, output = case_and_output
    reports, problems = compare_case(case, output)
    assert problems == []
    assert reports == ["case.mha: 0 of 4800 voxels differ from the expected image, max |diff| 0, mean |diff| 0.0000"]
    assert main([str(case), str(output)]) == 0
    assert "case.mha: 0 of 4800 voxels differ" in capsys.readouterr().out


def test_voxels_within_the_tolerance_pass_and_beyond_it_fail(case_and_output):
    case, output = case_and_output
    rewrite_sct(output, lambda image: add_to_voxels(image, 2))
    assert compare_case(case, output, max_abs_hu=2)[1] == []
    rewrite_sct(output, lambda image: add_to_voxels(image, 1))
    (problem,) = compare_case(case, output, max_abs_hu=2)[1]
    assert problem.endswith("case.mha: max |diff| 3 HU > tolerance 2 HU")


def test_the_mean_tolerance_for_a_gpu(case_and_output):
    case, output = case_and_output
    rewrite_sct(output, lambda image: add_to_voxels(image, 30, where=(slice(None),) * 3))
    assert compare_case(case, output, max_abs_hu=None, mean_abs_hu=30)[1] == []
    (problem,) = compare_case(case, output, max_abs_hu=None, mean_abs_hu=5)[1]
    assert "mean |diff| 30.0000 HU > tolerance 5 HU" in problem


def test_geometry_must_match_exactly(case_and_output):
    case, output = case_and_output

    def shift(image):
        image.SetOrigin(tuple(o + 1e-6 for o in image.GetOrigin()))
        return image

    rewrite_sct(output, shift)
    problems = compare_case(case, output)[1]
    assert len(problems) == 2
    assert "geometry differs from the input MR" in problems[0]
    assert "geometry differs from the expected image" in problems[1]


def test_pixel_type_must_match(case_and_output):
    case, output = case_and_output
    rewrite_sct(output, lambda image: sitk.Cast(image, sitk.sitkFloat32))
    (problem,) = compare_case(case, output)[1]
    assert "pixel type 32-bit float, expected 16-bit signed integer" in problem


def test_results_json_must_match_exactly(case_and_output, capsys):
    case, output = case_and_output
    results = json.loads((output / "results.json").read_text())
    results[0]["outputs"][0]["filename"] = "/output/images/synthetic-ct/other.mha"
    (output / "results.json").write_text(json.dumps(results))
    (problem,) = compare_case(case, output)[1]
    assert "results.json: differs from" in problem and "other.mha" in problem
    assert main([str(case), str(output)]) == 1
    assert "error: " in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["results.json", SCT])
def test_a_missing_output_is_a_problem(case_and_output, missing):
    case, output = case_and_output
    (output / missing).unlink()
    (problem,) = compare_case(case, output)[1]
    assert missing.split("/")[-1] in problem


def test_an_expected_output_without_images_compares_nothing_and_fails(case_and_output):
    case, output = case_and_output
    for folder in (case, output):
        name = "expected_output.json" if folder == case else "results.json"
        results = json.loads((folder / name).read_text())
        results[0]["outputs"] = []
        (folder / name).write_text(json.dumps(results))
    (problem,) = compare_case(case, output)[1]
    assert "lists no output image, so nothing was compared" in problem


def test_nan_voxels_fail(case_and_output):
    case, output = case_and_output
    expected = sitk.Cast(sitk.ReadImage(str(case / "expected/case.mha")), sitk.sitkFloat32)
    sitk.WriteImage(expected, str(case / "expected/case.mha"))
    rewrite_sct(output, lambda image: add_to_voxels(sitk.Cast(image, sitk.sitkFloat32), float("nan")))
    (problem,) = compare_case(case, output)[1]
    assert "max |diff| nan HU > tolerance 2 HU" in problem


def test_some_voxel_tolerance_is_required(case_and_output, capsys):
    case, output = case_and_output
    with pytest.raises(ValueError, match="no voxel tolerance"):
        compare_case(case, output, max_abs_hu=None)
    with pytest.raises(SystemExit):
        main([str(case), str(output), "--max-abs-hu", "-1"])
    assert "a negative --max-abs-hu needs --mean-abs-hu" in capsys.readouterr().err
