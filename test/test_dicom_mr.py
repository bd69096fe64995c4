"""The DICOM MR test-data writer (tools.dicom_mr): geometry, values, UIDs and names as written, read back with
pydicom; the enhanced file's functional groups; the bad cases; the files validated by dciodvfy and converted
by dcm2niix where those are installed."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from conftest import drawn, make_image
from model.dicom.geometry import slice_geometry
from tools.dicom_mr import (CT_IMAGE_STORAGE, DEFAULT_PATIENT, ENHANCED_MR_IMAGE_STORAGE, MR_IMAGE_STORAGE,
                            drop_slice, localizer_image, main, odd_slice, oblique, write_localizer,
                            write_mr_series)

TILT = np.deg2rad(7.0)
DIRECTION = (np.cos(TILT), -np.sin(TILT), 0.0, -np.sin(TILT), -np.cos(TILT), 0.0, 0.0, 0.0, 1.0)  # det -1: y flipped


@pytest.fixture(scope="module")
def small() -> sitk.Image:
    """12 slices of 40 x 48, anisotropic, a turned and flipped grid, int16 values below zero too."""
    values = np.random.default_rng(0).integers(-100, 1500, (12, 40, 48)).astype(np.int16)
    return make_image(values, spacing=(0.8, 1.1, 2.5), origin=(-20.0, 30.0, 5.0), direction=DIRECTION)


@pytest.fixture(scope="module")
def slab() -> sitk.Image:
    """Six slices of the pelvis phantom's MR (integers 0..~1800: stored as they are)."""
    return drawn("pelvis", 0).mr[:, :, 20:26]


def read(files) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(f) for f in files]


def values_of(data: pydicom.Dataset) -> np.ndarray:
    return data.pixel_array * float(data.get("RescaleSlope", 1)) + float(data.get("RescaleIntercept", 0))


def floats(values) -> np.ndarray:
    return np.array([float(v) for v in values])


# ------------------------------------------------------------------------------------------------ classic
def test_a_classic_series_has_the_image_geometry_slice_by_slice(small, tmp_path):
    files = write_mr_series(small, tmp_path / "mr")
    geometry = slice_geometry(small)
    slices = read(files)
    assert len(files) == 12 and all(f.parent == tmp_path / "mr" for f in files)
    for k, data in enumerate(slices):  # the files come back in slice order
        assert data.SOPClassUID == data.file_meta.MediaStorageSOPClassUID == MR_IMAGE_STORAGE
        assert data.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert (data.Rows, data.Columns) == (40, 48)
        np.testing.assert_allclose(floats(data.ImagePositionPatient), geometry.positions[k], atol=1e-9)
        np.testing.assert_allclose(floats(data.ImageOrientationPatient), geometry.orientation, atol=1e-12)
        np.testing.assert_allclose(floats(data.PixelSpacing), (1.1, 0.8))
        assert float(data.SliceThickness) == float(data.SpacingBetweenSlices) == 2.5
        assert float(data.SliceLocation) == pytest.approx(np.dot(geometry.positions[k], geometry.normal))
        assert data.InstanceNumber == k + 1
    # the positions step along the image's third axis, against the row x column normal here (det -1)
    step = np.array(geometry.positions[1]) - np.array(geometry.positions[0])
    np.testing.assert_allclose(step, 2.5 * np.array(DIRECTION).reshape(3, 3)[:, 2])
    assert np.dot(step, geometry.normal) < 0


def test_a_classic_series_has_what_a_scanner_writes(small, tmp_path):
    data = read(write_mr_series(small, tmp_path / "mr")[:1])[0]
    for keyword, value in DEFAULT_PATIENT.items():
        assert str(data[keyword].value) == value
    assert data.Modality == "MR" and data.BodyPartExamined == "PELVIS" and data.PatientPosition == "HFS"
    assert list(data.ImageType)[:2] == ["ORIGINAL", "PRIMARY"]
    assert (data.SamplesPerPixel, data.PhotometricInterpretation, data.BitsAllocated, data.PixelRepresentation) == (
        1, "MONOCHROME2", 16, 0)
    for keyword in ("StudyDate", "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName", "Manufacturer",
                    "ScanningSequence", "SequenceVariant", "ScanOptions", "MRAcquisitionType", "EchoTime",
                    "RepetitionTime", "MagneticFieldStrength", "PositionReferenceIndicator", "WindowCenter"):
        assert keyword in data, keyword
    other = read(write_mr_series(small, tmp_path / "other", body_part=None, series_description="T2 ax",
                                 series_number=7, patient={"PatientName": "Test^Other", "PatientID": "X-2"})[:1])[0]
    assert "BodyPartExamined" not in other
    assert (other.PatientName, other.PatientID, other.PatientBirthDate) == ("Test^Other", "X-2", "19700101")
    assert (other.SeriesDescription, other.SeriesNumber) == ("T2 ax", 7)


def test_stored_values_times_slope_plus_intercept_give_back_the_input(small, slab, tmp_path):
    want = sitk.GetArrayFromImage(small)
    shifted = read(write_mr_series(small, tmp_path / "shifted"))  # negative values: shifted into uint16
    assert all(d.pixel_array.dtype == np.uint16 for d in shifted)
    assert float(shifted[0].RescaleSlope) == 1 and float(shifted[0].RescaleIntercept) == want.min()
    np.testing.assert_array_equal(np.stack([values_of(d) for d in shifted]), want)
    given = read(write_mr_series(small, tmp_path / "given", rescale=(0.5, -200.0)))
    assert (float(given[0].RescaleSlope), float(given[0].RescaleIntercept)) == (0.5, -200.0)
    np.testing.assert_array_equal(np.stack([values_of(d) for d in given]), want)
    plain = read(write_mr_series(slab, tmp_path / "plain"))  # integers in 0..65535: as they are, no rescale
    assert "RescaleSlope" not in plain[0] and "RescaleIntercept" not in plain[0]
    np.testing.assert_array_equal(np.stack([d.pixel_array for d in plain]), sitk.GetArrayFromImage(slab))
    real = sitk.Cast(small, sitk.sitkFloat32) * 0.37 - 12.5  # not integers: scaled onto 0..65535
    scaled = read(write_mr_series(real, tmp_path / "scaled"))
    slope = float(scaled[0].RescaleSlope)
    np.testing.assert_allclose(np.stack([values_of(d) for d in scaled]), sitk.GetArrayFromImage(real),
                               atol=slope / 2 + 1e-4)
    assert max(d.pixel_array.max() for d in scaled) == 65535
    with pytest.raises(ValueError, match="do not fit"):
        write_mr_series(small, tmp_path / "bad", rescale=(0.001, 0.0))


def test_uids_are_shared_within_a_series_and_a_study_and_distinct_between_series(small, tmp_path):
    first = read(write_mr_series(small, tmp_path / "mixed"))
    study, frame = first[0].StudyInstanceUID, first[0].FrameOfReferenceUID
    second = read(write_mr_series(small, tmp_path / "mixed", study_uid=study, frame_of_reference_uid=frame,
                                  series_number=2))
    for series in (first, second):
        assert len({d.SeriesInstanceUID for d in series}) == 1
        assert {d.StudyInstanceUID for d in series} == {study} and {d.FrameOfReferenceUID for d in series} == {frame}
    assert first[0].SeriesInstanceUID != second[0].SeriesInstanceUID
    instances = [d.SOPInstanceUID for d in first + second]
    assert len(set(instances)) == 24 and all(d.file_meta.MediaStorageSOPInstanceUID == d.SOPInstanceUID
                                             for d in first + second)
    assert len(list((tmp_path / "mixed").iterdir())) == 24
    alone = read(write_mr_series(small, tmp_path / "alone")[:1])[0]  # generated afresh when not given
    assert alone.StudyInstanceUID != study and alone.FrameOfReferenceUID != frame
    named = read(write_mr_series(small, tmp_path / "named", series_uid="1.2.826.0.1.3680043.8.498.1")[:1])[0]
    assert named.SeriesInstanceUID == "1.2.826.0.1.3680043.8.498.1"


def test_neither_file_names_nor_instance_numbers_follow_the_position(small, tmp_path):
    files = write_mr_series(small, tmp_path / "uid")
    assert [f.name for f in files] == [f"{d.SOPInstanceUID}.dcm" for d in read(files)]
    assert sorted(files) != files
    shuffled = write_mr_series(small, tmp_path / "shuffled", file_names="shuffled", instance_numbers="reversed")
    assert all(f.suffix == "" for f in shuffled) and len({f.name for f in shuffled}) == 12
    assert sorted(shuffled) != shuffled
    assert [d.InstanceNumber for d in read(shuffled)] == list(range(12, 0, -1))
    mixed = read(write_mr_series(small, tmp_path / "mixed", instance_numbers="shuffled", seed=3))
    numbers = [d.InstanceNumber for d in mixed]
    assert sorted(numbers) == list(range(1, 13)) and numbers != sorted(numbers)
    with pytest.raises(ValueError, match="file_names"):
        write_mr_series(small, tmp_path / "x", file_names="ordered")


# ----------------------------------------------------------------------------------------------- enhanced
def frame_groups(data: pydicom.Dataset, index: int) -> pydicom.Dataset:
    return data.PerFrameFunctionalGroupsSequence[index]


@pytest.mark.parametrize("instance_numbers", ["position", "reversed"])
def test_an_enhanced_file_holds_every_frame_with_its_position(small, tmp_path, instance_numbers):
    files = write_mr_series(small, tmp_path / "enhanced", enhanced=True, instance_numbers=instance_numbers)
    assert len(files) == 1 and len(list((tmp_path / "enhanced").iterdir())) == 1
    data = pydicom.dcmread(files[0])
    assert data.SOPClassUID == ENHANCED_MR_IMAGE_STORAGE and data.NumberOfFrames == 12
    geometry, want = slice_geometry(small), sitk.GetArrayFromImage(small)
    shared = data.SharedFunctionalGroupsSequence[0]
    np.testing.assert_allclose(floats(shared.PlaneOrientationSequence[0].ImageOrientationPatient),
                               geometry.orientation, atol=1e-12)
    measures = shared.PixelMeasuresSequence[0]
    np.testing.assert_allclose(floats(measures.PixelSpacing), (1.1, 0.8))
    assert float(measures.SliceThickness) == float(measures.SpacingBetweenSlices) == 2.5
    transform = shared.PixelValueTransformationSequence[0]
    slope, intercept = float(transform.RescaleSlope), float(transform.RescaleIntercept)
    assert list(shared.MRImageFrameTypeSequence[0].FrameType)[:2] == ["ORIGINAL", "PRIMARY"]
    pixels = data.pixel_array
    stacks = []
    for index in range(12):
        content = frame_groups(data, index).FrameContentSequence[0]
        k = content.InStackPositionNumber - 1
        stacks.append(k)
        assert list(content.DimensionIndexValues) == [1, k + 1]
        position = floats(frame_groups(data, index).PlanePositionSequence[0].ImagePositionPatient)
        np.testing.assert_allclose(position, geometry.positions[k], atol=1e-9)
        np.testing.assert_array_equal(pixels[index] * slope + intercept, want[k])
    assert stacks == (list(range(12)) if instance_numbers == "position" else list(range(11, -1, -1)))
    pointers = [item.DimensionIndexPointer for item in data.DimensionIndexSequence]
    assert pointers == [pydicom.datadict.tag_for_keyword(k) for k in ("StackID", "InStackPositionNumber")]


def test_the_enhanced_file_carries_the_series_attributes(slab, tmp_path):
    data = pydicom.dcmread(write_mr_series(slab, tmp_path / "e", enhanced=True, body_part=None)[0])
    assert "BodyPartExamined" not in data and data.Modality == "MR" and data.PatientID == "PHANTOM-0001"
    anatomy = data.SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0].AnatomicRegionSequence[0]
    assert anatomy.CodeMeaning == "Entire body"  # type 1 in the enhanced file: a region that says nothing
    data = pydicom.dcmread(write_mr_series(slab, tmp_path / "p", enhanced=True)[0])
    assert data.SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0].AnatomicRegionSequence[0].CodeValue == (
        "12921003")
    with pytest.raises(ValueError, match="MR only"):
        write_mr_series(slab, tmp_path / "ct", enhanced=True, modality="CT")


# ---------------------------------------------------------------------------------------------- bad cases
def test_oblique_turns_the_grid_round_its_centre_and_keeps_the_voxels(small, tmp_path):
    turned = oblique(small, 20.0, "x")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(turned), sitk.GetArrayFromImage(small))
    assert turned.GetSpacing() == small.GetSpacing()
    centre = [(n - 1) / 2 for n in small.GetSize()]
    np.testing.assert_allclose(turned.TransformContinuousIndexToPhysicalPoint(centre),
                               small.TransformContinuousIndexToPhysicalPoint(centre), atol=1e-9)
    before, after = (np.array(im.GetDirection()).reshape(3, 3) for im in (small, turned))
    np.testing.assert_allclose(after.T @ after, np.eye(3), atol=1e-12)
    assert np.degrees(np.arccos(np.dot(before[:, 2], after[:, 2]))) == pytest.approx(20.0)
    data = read(write_mr_series(turned, tmp_path / "oblique")[:1])[0]
    orientation = floats(data.ImageOrientationPatient)
    np.testing.assert_allclose(orientation, slice_geometry(turned).orientation, atol=1e-12)
    normal = np.cross(orientation[:3], orientation[3:])
    assert abs(normal[2]) == pytest.approx(np.cos(np.deg2rad(20.0)))  # tilted off the axial plane


def test_a_localiser_is_one_slice_in_another_orientation_in_its_own_series_or_the_same(slab, tmp_path):
    series = write_mr_series(slab, tmp_path / "study", series_uid="1.2.826.0.1.3680043.8.498.77")
    main_slice = read(series[:1])[0]
    own = read(write_localizer(slab, tmp_path / "study", study_uid=main_slice.StudyInstanceUID,
                               frame_of_reference_uid=main_slice.FrameOfReferenceUID))
    assert len(own) == 1 and "LOCALIZER" in own[0].ImageType
    assert own[0].SeriesInstanceUID != main_slice.SeriesInstanceUID
    assert own[0].StudyInstanceUID == main_slice.StudyInstanceUID
    u, v = floats(own[0].ImageOrientationPatient[:3]), floats(own[0].ImageOrientationPatient[3:])
    assert abs(np.dot(np.cross(u, v), slice_geometry(slab).normal)) < 1e-9  # perpendicular to the series
    np.testing.assert_array_equal(own[0].pixel_array, sitk.GetArrayFromImage(slab)[:, slab.GetSize()[1] // 2, :])
    assert localizer_image(slab).GetSize() == (slab.GetSize()[0], slab.GetSize()[2], 1)
    mixed = read(write_localizer(slab, tmp_path / "study", same_series=True,
                                 series_uid=main_slice.SeriesInstanceUID))
    assert mixed[0].SeriesInstanceUID == main_slice.SeriesInstanceUID and mixed[0].InstanceNumber == 7
    assert len(list((tmp_path / "study").iterdir())) == 8
    with pytest.raises(ValueError, match="series_uid"):
        write_localizer(slab, tmp_path / "x", same_series=True)


def test_a_dropped_slice_and_an_odd_slice(small, tmp_path):
    files = write_mr_series(small, tmp_path / "mr")
    gone = drop_slice(files, 5)
    assert gone == files[5] and not gone.exists() and len(list((tmp_path / "mr").iterdir())) == 11
    resized = pydicom.dcmread(odd_slice(files[2], "size"))
    assert (resized.Rows, resized.Columns) == (38, 44) and resized.pixel_array.shape == (38, 44)
    turned = pydicom.dcmread(odd_slice(files[3], "orientation", degrees=10))
    u, v = floats(turned.ImageOrientationPatient[:3]), floats(turned.ImageOrientationPatient[3:])
    original = slice_geometry(small)
    assert np.degrees(np.arccos(np.dot(u, original.orientation[:3]))) == pytest.approx(10.0)
    np.testing.assert_allclose(np.cross(u, v), original.normal, atol=1e-9)  # turned in its plane
    assert np.dot(u, v) == pytest.approx(0, abs=1e-12)


def test_a_ct_series_is_a_valid_ct_object(small, tmp_path):
    slices = read(write_mr_series(small, tmp_path / "ct", modality="CT"))
    assert {d.SOPClassUID for d in slices} == {CT_IMAGE_STORAGE} and {d.Modality for d in slices} == {"CT"}
    assert slices[0].RescaleType == "HU" and "KVP" in slices[0]
    np.testing.assert_array_equal(np.stack([values_of(d) for d in slices]), sitk.GetArrayFromImage(small))
    with pytest.raises(ValueError, match="modality"):
        write_mr_series(small, tmp_path / "pt", modality="PT")


# ------------------------------------------------------------------------------------------- command line
def test_the_command_line_writes_a_series_with_its_bad_cases(small, tmp_path, capsys):
    sitk.WriteImage(small, str(tmp_path / "mr.mha"))
    out = tmp_path / "out"
    assert main(["--mha", str(tmp_path / "mr.mha"), "--out", str(out), "--oblique", "15", "--drop-slice", "4",
                 "--localizer", "--body-part", "none", "--file-names", "shuffled"]) == 0
    slices = read(sorted(out.iterdir()))
    assert len(slices) == 12  # 11 slices and a localiser
    assert sum("LOCALIZER" in d.ImageType for d in slices) == 1 and all("BodyPartExamined" not in d for d in slices)
    assert len({d.SeriesInstanceUID for d in slices}) == 2 and len({d.StudyInstanceUID for d in slices}) == 1
    assert main(["--mha", str(tmp_path / "mr.mha"), "--out", str(tmp_path / "e"), "--enhanced"]) == 0
    assert pydicom.dcmread(next((tmp_path / "e").iterdir())).NumberOfFrames == 12
    assert main(["--mha", str(tmp_path / "mr.mha"), "--out", str(tmp_path / "r"), "--rescale", "0.001", "0"]) == 1
    assert "do not fit" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0 and "usage: python -m tools.dicom_mr" in capsys.readouterr().out


# ----------------------------------------------------------------------------------- independent checkers
def dciodvfy_errors(path: Path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")]


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) is not installed")
def test_dciodvfy_finds_no_error_in_what_is_written(small, slab, tmp_path):
    files = {
        "classic": write_mr_series(slab, tmp_path / "classic")[0],
        "shifted": write_mr_series(small, tmp_path / "shifted", body_part=None)[-1],
        "enhanced": write_mr_series(small, tmp_path / "enhanced", enhanced=True)[0],
        "enhanced without body part": write_mr_series(slab, tmp_path / "e2", enhanced=True, body_part=None)[0],
        "ct": write_mr_series(small, tmp_path / "ct", modality="CT", body_part=None)[0],
        "localiser": write_localizer(slab, tmp_path / "localiser")[0],
    }
    assert {name: dciodvfy_errors(path) for name, path in files.items()} == {name: [] for name in files}


@pytest.mark.skipif(shutil.which("dcentvfy") is None, reason="dcentvfy (dicom3tools) is not installed")
@pytest.mark.parametrize("same_series", [False, True])
def test_dcentvfy_finds_one_study_consistent_across_its_series_and_localiser(slab, tmp_path, same_series):
    """Two series and a localiser of one study in one folder: patient, study, series and frame of reference
    attributes agree wherever their UIDs do (dates and times included)."""
    first = read(write_mr_series(slab, tmp_path / "study", instance_numbers="reversed")[:1])[0]
    uids = dict(study_uid=first.StudyInstanceUID, frame_of_reference_uid=first.FrameOfReferenceUID)
    write_mr_series(slab, tmp_path / "study", series_number=2, series_description="T1 3D phantom 2", **uids)
    write_localizer(slab, tmp_path / "study", same_series=same_series, series_uid=first.SeriesInstanceUID, **uids)
    files = sorted(str(p) for p in (tmp_path / "study").iterdir())
    result = subprocess.run(["dcentvfy", *files], capture_output=True, text=True, timeout=60)
    assert [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")] == []


@pytest.mark.skipif(shutil.which("dcm2niix") is None, reason="dcm2niix is not installed")
@pytest.mark.parametrize("turn", [None, ("x", 20.0), ("y", -35.0)])
def test_dcm2niix_reads_the_volume_back_at_the_same_points(small, tmp_path, turn):
    """An independent reader's geometry: every input voxel's centre, looked up in dcm2niix's NIfTI (which
    SimpleITK reads into LPS), holds the input's value."""
    image = small if turn is None else oblique(small, turn[1], turn[0])
    write_mr_series(image, tmp_path / "dicom", file_names="shuffled", instance_numbers="shuffled")
    (tmp_path / "nifti").mkdir()
    result = subprocess.run(["dcm2niix", "-z", "n", "-f", "out", "-o", str(tmp_path / "nifti"),
                             str(tmp_path / "dicom")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    (nifti,) = (tmp_path / "nifti").glob("*.nii")
    converted = sitk.ReadImage(str(nifti), sitk.sitkFloat64)
    assert converted.GetSize() == image.GetSize()
    back = sitk.Resample(converted, image, sitk.Transform(), sitk.sitkNearestNeighbor, -1e6, sitk.sitkFloat64)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), sitk.GetArrayFromImage(image))
