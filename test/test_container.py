"""process.py end to end on real files: outputs, geometry, and every bad input of the contract."""
from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
from conftest import make_image, small_case, write_container_input, write_model_folder

import process


def run_process(input_dir, output_dir, weights_dir):
    return process.main(["--input", str(input_dir), "--output", str(output_dir), "--weights", str(weights_dir), "--device", "cpu"])


def test_writes_int16_sct_on_the_mr_grid(container_input, weights_dir, tmp_path):
    out = tmp_path / "output"
    assert run_process(container_input, out, weights_dir) == 0
    mr = sitk.ReadImage(str(container_input / "images/mri/case.mha"))
    sct = sitk.ReadImage(str(out / "images/synthetic-ct/case.mha"))
    assert sct.GetPixelID() == sitk.sitkInt16
    assert sct.GetSize() == mr.GetSize()
    assert sct.GetSpacing() == mr.GetSpacing()
    assert sct.GetOrigin() == mr.GetOrigin()
    assert sct.GetDirection() == mr.GetDirection()
    values = sitk.GetArrayFromImage(sct)
    body = sitk.GetArrayFromImage(sitk.ReadImage(str(container_input / "images/body/case.mha"))) > 0
    assert (values[~body] == -1000).all()
    assert values.min() >= -1024 and values.max() <= 3071
    assert sorted(p.name for p in out.iterdir()) == ["images", "results.json"]  # no staging left behind


def test_results_json_follows_the_template(container_input, weights_dir, tmp_path):
    out = tmp_path / "output"
    run_process(container_input, out, weights_dir)
    assert json.loads((out / "results.json").read_text()) == [{
        "outputs": [{"type": "metaio_image", "filename": "/output/images/synthetic-ct/case.mha"}],
        "inputs": [
            {"type": "metaio_image", "filename": "/input/images/mri/case.mha"},
            {"type": "metaio_image", "filename": "/input/images/body/case.mha"},
            {"type": "String", "filename": "/input/region.json"},
        ],
        "error_messages": [],
    }]


def test_region_matches_case_insensitively_and_one_pair_may_have_different_names(tmp_path, weights_dir):
    inp = write_container_input(tmp_path / "in", {"mr-uuid.mha": small_case()}, region=" pELVIS ",
                                mask_names={"mr-uuid.mha": "mask-uuid.mha"})
    assert run_process(inp, tmp_path / "out", weights_dir) == 0
    assert (tmp_path / "out/images/synthetic-ct/mr-uuid.mha").is_file()


def test_several_cases_pair_by_file_name(tmp_path, weights_dir):
    cases = {"b.mha": small_case(seed=2), "a.mha": small_case((8, 18, 20), seed=1)}
    inp = write_container_input(tmp_path / "in", cases)
    assert run_process(inp, tmp_path / "out", weights_dir) == 0
    results = json.loads((tmp_path / "out/results.json").read_text())
    assert [r["outputs"][0]["filename"] for r in results] == [
        "/output/images/synthetic-ct/a.mha", "/output/images/synthetic-ct/b.mha"]
    a = sitk.ReadImage(str(tmp_path / "out/images/synthetic-ct/a.mha"))
    assert a.GetSize() == (20, 18, 8)


# ---------------------------------------------------------------- bad input
def assert_fails_cleanly(capsys, code, out_dir, *fragments):
    """Exit 1, one line on stderr naming the file and the problem, nothing in the output folder."""
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and err[-1].startswith("error: ")
    for fragment in fragments:
        assert fragment in err[-1], err[-1]
    leftovers = [p for p in out_dir.rglob("*")] if out_dir.exists() else []
    assert leftovers == [], leftovers


def test_no_region_json(tmp_path, weights_dir, capsys):
    inp = write_container_input(tmp_path / "in", region=None)
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "region.json", "missing")


@pytest.mark.parametrize("content, problem", [
    ('{"region": "Pelvis"}', "expected a JSON string"),
    ("Pelvis", "not valid JSON"),
    ("42", "expected a JSON string"),
    ('""', "expected a JSON string"),
])
def test_region_json_not_a_json_string(tmp_path, weights_dir, capsys, content, problem):
    inp = write_container_input(tmp_path / "in")
    (inp / "region.json").write_text(content)
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "region.json", problem)


def test_region_without_a_model_names_the_available_ones(tmp_path, weights_dir, capsys):
    inp = write_container_input(tmp_path / "in", region="Head and Neck")
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "region.json",
                         "no model for region 'Head and Neck'", f"available in {weights_dir}: Pelvis")


def test_mr_without_mask(tmp_path, weights_dir, capsys):
    inp = write_container_input(tmp_path / "in", {"a.mha": small_case(), "b.mha": small_case()})
    (inp / "images/body/b.mha").unlink()
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "images/mri/b.mha", "no body mask")


def test_mask_without_mr(tmp_path, weights_dir, capsys):
    inp = write_container_input(tmp_path / "in", {"a.mha": small_case(), "b.mha": small_case()})
    (inp / "images/mri/a.mha").unlink()
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "images/body/a.mha", "no MR")


@pytest.mark.parametrize("change, problem", [
    ({"shape": (10, 20, 25)}, "size"),
    ({"spacing": (1.0, 1.0, 3.0)}, "spacing"),
    ({"origin": (0.0, 0.0, 0.0)}, "origin"),
    ({"direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)}, "direction"),
])
def test_mask_on_another_grid(tmp_path, weights_dir, capsys, change, problem):
    mr, _ = small_case()
    shape = change.pop("shape", (10, 20, 24))
    mask = make_image(np.ones(shape, np.uint8), **change)
    inp = write_container_input(tmp_path / "in", {"c.mha": (mr, mask)})
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "images/body/c.mha", problem, "differs from the MR's")


@pytest.mark.parametrize("array, dims", [(np.ones((20, 24), np.int16), "2-D"), (np.ones((2, 4, 20, 24), np.int16), "4-D")])
def test_image_not_3d(tmp_path, weights_dir, capsys, array, dims):
    inp = write_container_input(tmp_path / "in")
    sitk.WriteImage(sitk.GetImageFromArray(array, isVector=False), str(inp / "images/mri/case.mha"))
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "images/mri/case.mha", f"got a {dims} image")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_mr(tmp_path, weights_dir, capsys, bad):
    mr, mask = small_case()
    values = sitk.GetArrayFromImage(mr).astype(np.float32)
    values[5, 10, 12] = bad
    bad_mr = make_image(values)
    inp = write_container_input(tmp_path / "in", {"case.mha": (bad_mr, mask)})
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "images/mri/case.mha", "NaN or Inf")


def test_empty_mask(tmp_path, weights_dir, capsys):
    mr, _ = small_case()
    inp = write_container_input(tmp_path / "in", {"case.mha": (mr, make_image(np.zeros((10, 20, 24), np.uint8)))})
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "images/body/case.mha", "empty")


def test_failure_in_a_later_case_leaves_nothing(tmp_path, weights_dir, capsys):
    mr, _ = small_case()
    cases = {"a.mha": small_case(), "b.mha": (mr, make_image(np.zeros((10, 20, 24), np.uint8)))}
    inp = write_container_input(tmp_path / "in", cases)
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "images/body/b.mha", "empty")


def test_unreadable_file(tmp_path, weights_dir, capsys):
    inp = write_container_input(tmp_path / "in")
    (inp / "images/mri/case.mha").write_bytes(b"this is not an image\n")
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "images/mri/case.mha", "cannot read image")


def test_truncated_file(tmp_path, weights_dir, capsys):
    inp = write_container_input(tmp_path / "in")
    path = inp / "images/mri/case.mha"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(inp, out, weights_dir), out, "images/mri/case.mha", "cannot read image")


def test_missing_weights_file(container_input, weights_dir, tmp_path, capsys):
    (weights_dir / "pelvis/generator.safetensors").unlink()
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(container_input, out, weights_dir), out, "generator.safetensors", "missing")


def test_corrupted_weights_file(container_input, weights_dir, tmp_path, capsys):
    path = weights_dir / "pelvis/generator.safetensors"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(container_input, out, weights_dir), out, "generator.safetensors", "does not match manifest.sha256")


def test_weights_that_do_not_fit_the_config(container_input, tmp_path, capsys):
    folder = write_model_folder(tmp_path / "weights" / "pelvis")
    config = json.loads((folder / "config.json").read_text())
    config["networks"]["generator"]["channels"] = [4, 16]
    (folder / "config.json").write_text(json.dumps(config))
    from model.weights import write_manifest
    write_manifest(folder)
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(container_input, out, tmp_path / "weights"), out, "generator.safetensors", "do not fit the network")


def test_auto_device_says_when_a_cuda_build_of_torch_sees_no_gpu(monkeypatch, caplog):
    """Test double: this machine's torch is a CPU build with no GPU, so the CUDA build is faked by its version
    string; on the platform that is the image's torch with a driver too old for it, or no GPU given."""
    import torch

    from model import device
    from model.device import choose_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "cuda_driver_version", lambda: (12, 4))  # test double: a driver for CUDA 12.4
    monkeypatch.setattr(torch.version, "cuda", None)
    assert choose_device("auto") == torch.device("cpu") and not caplog.records
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    assert choose_device("auto") == torch.device("cpu")
    (record,) = caplog.records
    assert record.levelname == "WARNING" and "built for CUDA 13.0 but sees no usable GPU" in record.getMessage()
    assert "supports CUDA up to 12.4" in record.getMessage() and "PIP_EXTRA_INDEX_URL" in record.getMessage()
