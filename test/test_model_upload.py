"""grand-challenge's model upload: weights as a model tarball (./export.sh --model), extracted to /opt/ml/model,
used instead of the image's bundled weights; the bundled ones where nothing was uploaded."""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tarfile

import pytest
import SimpleITK as sitk
from conftest import ROOT, copy_tree, write_model_folder

import model.registry
import process
from model.registry import choose_weights, discover_models

PELVIS_CASE = ROOT / "test" / "cases" / "pelvis"
#: The bundled model folders (abdomen, brain, pelvis, ...): every one goes into the tarball.
BUNDLED = sorted(p.name for p in (ROOT / "weights").iterdir() if (p / "config.json").is_file())


def export_model(weights, output):
    return subprocess.run([str(ROOT / "export.sh"), "--model", str(weights), str(output)], capture_output=True, text=True)


def test_the_model_tarball_holds_the_model_folders_at_its_top(tmp_path):
    result = export_model(ROOT / "weights", tmp_path / "model.tar.gz")
    assert result.returncode == 0, result.stderr
    assert " ".join(BUNDLED) in result.stdout
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        tar.extractall(tmp_path / "opt-ml-model", filter="data")
    assert sorted(e.folder.name for e in discover_models(tmp_path / "opt-ml-model").values()) == BUNDLED
    for name in BUNDLED:
        for path in (ROOT / "weights" / name).iterdir():
            assert (tmp_path / "opt-ml-model" / name / path.name).read_bytes() == path.read_bytes()


def test_a_model_folder_that_differs_from_its_manifest_is_not_exported(tmp_path):
    weights = tmp_path / "weights"
    shutil.copytree(ROOT / "weights" / "pelvis", weights / "pelvis")
    with open(weights / "pelvis" / "generator.safetensors", "ab") as f:
        f.write(b"\0")
    result = export_model(weights, tmp_path / "model.tar.gz")
    assert result.returncode == 1 and "a file differs from its manifest" in result.stderr.splitlines()[-1]
    assert not list(tmp_path.glob("model.tar.gz*"))


@pytest.mark.slow
def test_the_upload_gives_the_same_sct_as_the_bundled_weights_and_the_log_names_it(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    upload = tmp_path / "opt" / "ml" / "model"
    assert export_model(ROOT / "weights", tmp_path / "model.tar.gz").returncode == 0
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        tar.extractall(upload, filter="data")
    monkeypatch.setattr(model.registry, "MODEL_UPLOAD", upload)
    inp = copy_tree(PELVIS_CASE, tmp_path / "input")
    assert process.main(["--input", str(inp), "--output", str(tmp_path / "uploaded"), "--device", "cpu"]) == 0
    assert f"weights: {upload} (grand-challenge model upload: {', '.join(BUNDLED)})" in caplog.text
    assert f"model folder for Pelvis: {upload / 'pelvis'}" in caplog.text
    assert process.main(["--input", str(inp), "--output", str(tmp_path / "bundled"), "--device", "cpu",
                         "--weights", str(ROOT / "weights")]) == 0
    name = next((inp / "images" / "mri").iterdir()).name
    uploaded, bundled = (sitk.ReadImage(str(tmp_path / d / "images" / "synthetic-ct" / name)) for d in ("uploaded", "bundled"))
    assert sitk.GetArrayFromImage(uploaded).tobytes() == sitk.GetArrayFromImage(bundled).tobytes()


def test_weights_are_chosen_explicit_then_upload_then_bundled(tmp_path):
    bundled = tmp_path / "bundled"
    write_model_folder(bundled / "pelvis")
    upload = tmp_path / "upload"
    assert choose_weights(tmp_path / "mine", bundled, upload) == (tmp_path / "mine", "--weights", False)
    assert choose_weights(None, bundled, upload).folder == bundled  # no upload folder at all
    upload.mkdir()
    choice = choose_weights(None, bundled, upload)  # an empty one, as where nothing was uploaded
    assert choice.folder == bundled and "no model upload" in choice.why and not choice.warning
    (upload / "notes.txt").write_text("not a model")
    choice = choose_weights(None, bundled, upload)
    assert choice.folder == bundled and "holds files but no model folder" in choice.why and choice.warning
    write_model_folder(upload / "pelvis")
    assert choose_weights(None, bundled, upload) == (upload, "grand-challenge model upload: pelvis", False)


def test_an_upload_that_is_itself_one_model_folder_is_used(tmp_path):
    upload = write_model_folder(tmp_path / "upload")  # a tarball of one folder's files, config.json at its top
    assert choose_weights(None, tmp_path / "none", upload).folder == upload
    assert discover_models(upload)["pelvis"].folder == upload


def test_no_weights_anywhere_is_one_line_naming_the_upload_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(model.registry, "MODEL_UPLOAD", tmp_path / "opt-ml-model")
    monkeypatch.setattr(process, "BUNDLED_WEIGHTS", tmp_path / "weights")
    inp = copy_tree(PELVIS_CASE, tmp_path / "input")
    assert process.main(["--input", str(inp), "--output", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tmp_path / 'opt-ml-model'}: no model folder here") and "\n" not in err
    assert "./build.sh --no-weights" in err and not (tmp_path / "out").exists()



@pytest.mark.slow
def test_a_bad_input_is_still_the_only_line_on_stderr_whatever_the_weights_choice(tmp_path):
    """The weights choice is logged only after the input checks (a subprocess: the log's real stream)."""
    inp = copy_tree(PELVIS_CASE, tmp_path / "input")
    (inp / "region.json").write_text('"Knee"')
    result = subprocess.run([sys.executable, str(ROOT / "process.py"), "--input", str(inp), "--output",
                             str(tmp_path / "out"), "--device", "cpu"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: {inp / 'region.json'}: no model for region 'Knee' (available in "
                                          f"{ROOT / 'weights'}: Abdomen, Brain, Head and Neck, Pelvis, Thorax)"]
