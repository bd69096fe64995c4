"""DICOM in and out (model.dicom): the MR series read - which series, in what order, what is refused - the sCT
written as a CT series a planning system imports, and ``python -m model.dicom`` end to end. The MR series are
written here by tools.dicom_mr (never downloaded); an independent validator (dciodvfy) and an independent reader
(dcm2niix) check the CT series."""
from __future__ import annotations

import itertools
import json
import logging
import shutil
import subprocess

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from conftest import small_case, write_container_input, write_model_folder

from model.container import process_folder
from model.dicom.__main__ import main as dicom_main
from model.dicom.read import read_series
from model.dicom.write import write_ct_series
from model.errors import InputError
from tools.dataset.images import read_image
from tools.dicom_mr import drop_slice, oblique, odd_slice, write_localizer, write_mr_series

PATIENT = {"PatientName": "Doe^Jane", "PatientID": "SECRET-4711", "PatientBirthDate": "19510203"}


def volume(shape=(8, 20, 24), seed=0) -> sitk.Image:
    mr, _ = small_case(shape, seed)
    return mr


def same_grid(a: sitk.Image, b: sitk.Image, tol=1e-6) -> bool:
    return (a.GetSize() == b.GetSize() and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=tol)
            and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=tol)
            and np.allclose(a.GetDirection(), b.GetDirection(), atol=tol))


@pytest.mark.parametrize("enhanced", [False, True])
@pytest.mark.parametrize("degrees", [0, 25])
def test_a_series_reads_back_as_the_volume_it_was_written_from(tmp_path, enhanced, degrees):
    mr = oblique(volume(), degrees, "x") if degrees else volume()
    write_mr_series(mr, tmp_path, enhanced=enhanced, file_names="shuffled", instance_numbers="reversed",
                    rescale=(0.5, -100.0))
    series = read_series(tmp_path)
    assert same_grid(series.image, mr, tol=1e-4)
    assert np.array_equal(sitk.GetArrayFromImage(series.image), sitk.GetArrayFromImage(mr))
    assert series.series.modality == "MR" and len(series.slices) == mr.GetSize()[2]


def test_several_series_are_listed_until_one_is_named_and_localisers_are_skipped(tmp_path):
    mr = volume()
    study, frame = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    write_localizer(mr, tmp_path, study_uid=study, frame_of_reference_uid=frame)
    t1 = write_mr_series(mr, tmp_path, study_uid=study, frame_of_reference_uid=frame, series_description="T1")
    assert read_series(tmp_path).series.uid == pydicom.dcmread(t1[0]).SeriesInstanceUID  # the localiser skipped
    t2 = write_mr_series(volume(seed=1), tmp_path, study_uid=study, frame_of_reference_uid=frame,
                         series_description="T2", series_number=2)
    uids = [pydicom.dcmread(files[0]).SeriesInstanceUID for files in (t1, t2)]
    with pytest.raises(InputError, match="2 MR series") as refused:
        read_series(tmp_path)
    assert all(uid in str(refused.value) for uid in uids) and "'T2'" in str(refused.value)
    assert read_series(tmp_path, uids[1]).series.description == "T2"


def refusal(folder, series_uid=None) -> str:
    with pytest.raises(InputError) as refused:
        read_series(folder, series_uid)
    message = str(refused.value)
    assert "\n" not in message
    assert not any(value in message for value in PATIENT.values())  # never the patient's name, ID, birth date
    return message


def test_bad_series_are_refused_in_one_line_naming_the_file_or_series(tmp_path):
    mr = volume()

    def series(name, **options):
        return write_mr_series(mr, tmp_path / name, patient=PATIENT, **options)

    files = series("missing")
    gone = drop_slice(files, 3)
    assert "a missing slice between" in refusal(tmp_path / "missing") and str(gone) not in refusal(tmp_path / "missing")
    files = series("size")
    assert f"{odd_slice(files[5], 'size')}" in refusal(tmp_path / "size") and "mixed sizes" in refusal(tmp_path / "size")
    files = series("orientation")
    odd = odd_slice(files[2], "orientation")
    assert "mixed orientations" in refusal(tmp_path / "orientation") and str(odd) in refusal(tmp_path / "orientation")
    series("ct", modality="CT")
    assert "no MR series" in refusal(tmp_path / "ct")
    uid = pydicom.dcmread(next((tmp_path / "ct").iterdir())).SeriesInstanceUID
    assert f"(series {uid})" in refusal(tmp_path / "ct", uid) and "modality CT, not MR" in refusal(tmp_path / "ct", uid)
    files = series("localiser")
    write_localizer(mr, tmp_path / "localiser", same_series=True, series_uid=pydicom.dcmread(files[0]).SeriesInstanceUID)
    assert "a localiser image in the series" in refusal(tmp_path / "localiser")
    files = series("twice")
    for path in files[:2]:  # the same slices again, as other instances at the same positions
        data = pydicom.dcmread(path)
        data.SOPInstanceUID = data.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
        data.save_as(tmp_path / "twice" / f"copy-{path.name}", enforce_file_format=True)
    assert "at the same position as" in refusal(tmp_path / "twice")
    write_mr_series(volume((1, 20, 24)), tmp_path / "single", patient=PATIENT)
    assert "a single slice" in refusal(tmp_path / "single")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not DICOM")
    assert "no DICOM image series" in refusal(tmp_path / "empty")


def sct_of(mr: sitk.Image) -> sitk.Image:
    hu = np.clip(sitk.GetArrayFromImage(mr).astype(np.int32) * 3 - 1000, -1024, 3071).astype(np.int16)
    sct = sitk.GetImageFromArray(hu)
    sct.CopyInformation(mr)
    return sct


@pytest.mark.parametrize("enhanced", [False, True])
def test_the_ct_series_is_on_the_mr_grid_in_its_study_and_frame_of_reference(tmp_path, enhanced):
    mr = oblique(volume(), 30, "y")
    write_mr_series(mr, tmp_path / "mr", enhanced=enhanced, patient=PATIENT, instance_numbers="shuffled")
    series = read_series(tmp_path / "mr")
    sct = sct_of(series.image)
    files = write_ct_series(sct, series, tmp_path / "ct", "sCT test", "test", "PELVIS")
    assert len(files) == mr.GetSize()[2] and not list(tmp_path.glob(".partial-*"))
    back = read_series(tmp_path / "ct", modality="CT")
    assert same_grid(back.image, mr, tol=1e-4)
    assert np.array_equal(sitk.GetArrayFromImage(back.image), sitk.GetArrayFromImage(sct))
    source = pydicom.dcmread(next((tmp_path / "mr").iterdir()), stop_before_pixels=True)
    ct = [pydicom.dcmread(f) for f in files]
    assert {d.StudyInstanceUID for d in ct} == {source.StudyInstanceUID}
    assert {d.FrameOfReferenceUID for d in ct} == {source.FrameOfReferenceUID}
    assert len({d.SeriesInstanceUID for d in ct}) == 1 and ct[0].SeriesInstanceUID != source.SeriesInstanceUID
    assert len({d.SOPInstanceUID for d in ct}) == len(ct)
    assert all(d.Modality == "CT" and list(d.ImageType) == ["DERIVED", "SECONDARY", "AXIAL"] for d in ct)
    assert all(str(d.PatientID) == PATIENT["PatientID"] and str(d.PatientName) == PATIENT["PatientName"] for d in ct)
    assert ct[0].PixelRepresentation == 1 and ct[0].RescaleSlope == 1 and ct[0].RescaleType == "HU"
    assert ct[0].ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    for k, d in enumerate(ct):  # each slice names the MR slice (or frame) at its position
        assert d.SourceImageSequence[0].ReferencedSOPInstanceUID == series.slices[k].sop_instance
        assert d.SourceImageSequence[0].get("ReferencedFrameNumber") == series.slices[k].frame
    assert read_image(tmp_path / "ct").GetSize() == sct.GetSize()  # the dose and image evaluation read it too


def test_an_existing_output_is_refused_and_nothing_is_half_written(tmp_path):
    write_mr_series(volume(), tmp_path / "mr")
    series = read_series(tmp_path / "mr")
    (tmp_path / "ct").mkdir()
    (tmp_path / "ct" / "plan.dcm").write_text("someone else's")
    with pytest.raises(InputError, match="exists and is not an empty folder"):
        write_ct_series(sct_of(series.image), series, tmp_path / "ct", "sCT", "test", "PELVIS")
    assert [p.name for p in (tmp_path / "ct").iterdir()] == ["plan.dcm"]
    with pytest.raises(InputError, match="not int16"):
        write_ct_series(sitk.Cast(series.image, sitk.sitkFloat32), series, tmp_path / "new", "sCT", "test", "PELVIS")
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".partial-*"))


@pytest.fixture
def weights(tmp_path):
    write_model_folder(tmp_path / "weights" / "pelvis")
    return tmp_path / "weights"


def test_the_command_gives_the_mha_paths_sct_and_names_no_patient(tmp_path, weights, caplog, capsys):
    mr, mask = small_case((10, 20, 24))
    mr = oblique(mr, 15, "z")
    mask.CopyInformation(mr)
    write_mr_series(mr, tmp_path / "mr", patient=PATIENT, body_part="PELVIS")
    sitk.WriteImage(mask, str(tmp_path / "mask.mha"))
    caplog.set_level(logging.INFO)
    assert dicom_main(["--mr", str(tmp_path / "mr"), "--out", str(tmp_path / "ct"), "--mask", str(tmp_path / "mask.mha"),
                       "--weights", str(weights), "--device", "cpu"]) == 0
    logged = caplog.text + capsys.readouterr().err
    assert "region Pelvis from BodyPartExamined" in logged
    assert not any(value in logged for value in PATIENT.values())
    dicom_sct = read_series(tmp_path / "ct", modality="CT").image
    # the .mha path: process.py's job on the same MR and mask
    write_container_input(tmp_path / "job", {"case.mha": (mr, mask)})
    process_folder(tmp_path / "job", tmp_path / "out", weights, "cpu")
    mha_sct = sitk.ReadImage(str(tmp_path / "out" / "images" / "synthetic-ct" / "case.mha"))
    assert same_grid(dicom_sct, mha_sct, tol=1e-4)
    assert np.array_equal(sitk.GetArrayFromImage(dicom_sct), sitk.GetArrayFromImage(mha_sct))
    description = pydicom.dcmread(next((tmp_path / "ct").iterdir())).SeriesDescription
    assert "Pelvis pix2pix" in description and "not clinical" in description


@pytest.mark.parametrize("problem, expected", [
    ("no region", "names no region unambiguously: give --region"),
    ("missing slice", "a missing slice between"),
    ("region without a model", "no model for region 'Brain'"),
    ("out exists", "exists and is not an empty folder"),
])
def test_the_command_refuses_in_one_line_with_exit_1_and_no_output(tmp_path, weights, capsys, problem, expected):
    mr, mask = small_case((10, 20, 24))
    files = write_mr_series(mr, tmp_path / "mr", patient=PATIENT, body_part=None if problem == "no region" else "PELVIS")
    sitk.WriteImage(mask, str(tmp_path / "mask.mha"))
    args = ["--mr", str(tmp_path / "mr"), "--out", str(tmp_path / "ct"), "--mask", str(tmp_path / "mask.mha"),
            "--weights", str(weights), "--device", "cpu"]
    if problem == "missing slice":
        drop_slice(files, 4)
    if problem == "region without a model":
        args += ["--region", "Brain"]
    if problem == "out exists":
        (tmp_path / "ct").mkdir()
        (tmp_path / "ct" / "other.dcm").write_text("x")
    capsys.readouterr()
    assert dicom_main(args) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0], errors
    assert str(tmp_path / "mr") in errors[0] or str(tmp_path / "ct") in errors[0]
    assert "/input/" not in errors[0]  # the job's temporary files are not named
    assert not any(value in errors[0] for value in PATIENT.values())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".partial", "ct"))) == (
        ["ct"] if problem == "out exists" else [])


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (Debian's dicom3tools) is not installed")
@pytest.mark.parametrize("enhanced", [False, True])
def test_an_independent_validator_finds_no_error_in_the_ct_series(tmp_path, enhanced):
    write_mr_series(oblique(volume(), 20, "x"), tmp_path / "mr", enhanced=enhanced)
    series = read_series(tmp_path / "mr")
    files = write_ct_series(sct_of(series.image), series, tmp_path / "ct", "sCT test", "test", "PELVIS")
    for path in (files[0], files[-1]):
        report = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        lines = (report.stdout + report.stderr).splitlines()
        assert not [line for line in lines if line.startswith("Error")], lines
        assert not [line for line in lines if line.startswith("Warning")], lines


def physical_corners(image: sitk.Image) -> np.ndarray:
    return np.array([image.TransformIndexToPhysicalPoint(index)
                     for index in itertools.product(*[(0, n - 1) for n in image.GetSize()])])


@pytest.mark.skipif(shutil.which("dcm2niix") is None, reason="dcm2niix is not installed")
@pytest.mark.parametrize("degrees", [0, 20])
def test_an_independent_reader_agrees_on_geometry_and_hu(tmp_path, degrees):
    mr = volume((12, 40, 48))
    mr = oblique(mr, degrees, "x") if degrees else mr
    write_mr_series(mr, tmp_path / "mr")
    series = read_series(tmp_path / "mr")
    sct = sct_of(series.image)
    write_ct_series(sct, series, tmp_path / "ct", "sCT test", "test", "PELVIS")
    (tmp_path / "nii").mkdir()
    subprocess.run(["dcm2niix", "-o", str(tmp_path / "nii"), "-f", "sct", "-z", "n", str(tmp_path / "ct")],
                   check=True, capture_output=True)
    theirs = sitk.ReadImage(str(tmp_path / "nii" / "sct.nii"))
    corners, ours = physical_corners(theirs), physical_corners(sct)
    assert max(np.linalg.norm(ours - p, axis=1).min() for p in corners) < 0.01  # mm, whatever their axis order
    resampled = sitk.Resample(theirs, sct, sitk.Transform(), sitk.sitkNearestNeighbor, -5000.0)
    assert np.abs(sitk.GetArrayFromImage(resampled).astype(int) - sitk.GetArrayFromImage(sct)).max() <= 1
    assert json.loads((tmp_path / "nii" / "sct.json").read_text())["Modality"] == "CT"


def test_the_image_evaluation_scores_dicom_series_as_it_scores_mha_files(tmp_path):
    from tools.evaluation.evaluate import evaluate

    mr, mask = small_case((10, 20, 24))
    ct = sct_of(mr)
    pred = sitk.GetImageFromArray(np.clip(sitk.GetArrayFromImage(ct).astype(np.int32) + 7, -1024, 3071).astype(np.int16))
    pred.CopyInformation(ct)
    for layout in ("mha", "dicom"):
        for role, image in (("ct", ct), ("sct", pred)):
            if layout == "mha":
                (tmp_path / layout / role).mkdir(parents=True)
                sitk.WriteImage(image, str(tmp_path / layout / role / "case1.mha"))
            else:
                write_mr_series(image, tmp_path / layout / role / "case1" / role, modality="CT")
        (tmp_path / layout / "mask").mkdir()
        sitk.WriteImage(mask, str(tmp_path / layout / "mask" / "case1.mha"))
    scores = {layout: evaluate(tmp_path / layout / "sct", tmp_path / layout / "ct", tmp_path / layout / "mask")
              for layout in ("mha", "dicom")}
    assert scores["dicom"]["cases"] == scores["mha"]["cases"] and scores["mha"]["cases"]["case1"]["mae"] > 0


def test_without_a_mask_the_command_makes_one_from_the_mr(tmp_path, weights, caplog):
    from conftest import drawn

    case = drawn("pelvis", 0)
    mr, true_mask = case.mr[:, :, 25:35], case.mask[:, :, 25:35]  # ten slices of a phantom pelvis
    write_mr_series(mr, tmp_path / "mr")
    caplog.set_level(logging.INFO)
    assert dicom_main(["--mr", str(tmp_path / "mr"), "--out", str(tmp_path / "ct"), "--weights", str(weights),
                       "--device", "cpu"]) == 0
    assert "body mask made from the MR" in caplog.text
    sct = sitk.GetArrayFromImage(read_series(tmp_path / "ct", modality="CT").image)
    inside = sitk.GetArrayFromImage(true_mask) > 0
    assert (sct[~inside] == -1000).mean() > 0.98 and (sct[inside] != -1000).mean() > 0.98  # -1000 outside the body


def test_the_dose_evaluation_reads_dicom_series_as_it_reads_mha_files(tmp_path):
    from tools.dose.config import load_dose_config
    from tools.dose.inputs import read_dose_case

    mr, mask = small_case((10, 20, 24))
    ct = sct_of(mr)
    sitk.WriteImage(mask, str(tmp_path / "mask.mha"))
    sitk.WriteImage(ct, str(tmp_path / "ct.mha"))
    write_mr_series(ct, tmp_path / "ct", modality="CT")
    config = load_dose_config()
    from_mha = read_dose_case(tmp_path / "ct.mha", tmp_path / "ct.mha", tmp_path / "mask.mha", config, "pelvis")
    from_dicom = read_dose_case(tmp_path / "ct", tmp_path / "ct", tmp_path / "mask.mha", config, "pelvis")
    assert np.array_equal(from_dicom.ct, from_mha.ct) and np.array_equal(from_dicom.scts["sct"], from_mha.scts["sct"])
