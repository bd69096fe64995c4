"""Test data for the DICOM reader: any MR volume (a SimpleITK image - a phantom's MR, any .mha) written as the
DICOM MR series a scanner writes, so that the reader is tested on data made here, never on downloaded files.

    python -m tools.dicom_mr --mha FILE --out DIR [--enhanced] [--oblique DEGREES [--oblique-axis x|y|z]]
        [--body-part PELVIS|none] [--drop-slice K] [--localizer | --localizer-same-series]
        [--odd-slice K --odd-kind size|orientation] [--modality MR|CT] [--rescale SLOPE INTERCEPT]
        [--file-names uid|shuffled] [--instance-numbers position|reversed|shuffled]

- **Classic** (default): MR Image Storage, one file a slice (one slice per index along the image's third axis),
  with the Patient, General Study, General Series, Frame of Reference, General Equipment, General Image, Image
  Plane, Image Pixel, MR Image, VOI LUT and SOP Common modules. **Enhanced** (``--enhanced``): one Enhanced MR
  Image Storage file, multi-frame, its geometry in the Shared and Per-frame Functional Groups.
- The geometry is model.dicom.geometry's (SimpleITK's LPS coordinates are DICOM's patient coordinates). Pixels
  are unsigned 16-bit MONOCHROME2; values that are not already integers in 0..65535 are shifted / scaled into
  them and RescaleSlope / RescaleIntercept record how (``stored * slope + intercept`` gives back the input).
- File names carry no order (the SOP Instance UID, or random names), and InstanceNumber can run against the
  position (``--instance-numbers reversed``): a reader must sort by ImagePositionPatient.
- The bad and awkward cases a reader must handle or refuse: an oblique grid (:func:`oblique`), a missing slice
  (:func:`drop_slice`), a localiser in its own series or in the series (:func:`write_localizer`), one slice of
  another size or orientation (:func:`odd_slice`), a CT series (``modality="CT"``, CT Image Storage), two series
  in one folder (:func:`write_mr_series` twice with one ``study_uid``).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import random
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import DSfloat

from model.dicom.geometry import slice_geometry

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"

DEFAULT_PATIENT = {"PatientName": "Phantom^Pelvis", "PatientID": "PHANTOM-0001", "PatientBirthDate": "19700101",
                   "PatientSex": "O"}
FILE_NAMES = ("uid", "shuffled")
INSTANCE_NUMBERS = ("position", "reversed", "shuffled")
ODD_KINDS = ("size", "orientation")
# BodyPartExamined -> the SNOMED CT code of its region, for the enhanced file's Frame Anatomy
ANATOMY_CODES = {"PELVIS": ("12921003", "Pelvis"), "HEAD": ("69536005", "Head"), "BRAIN": ("12738006", "Brain"),
                 "ABDOMEN": ("818981001", "Abdomen"), "PROSTATE": ("41216001", "Prostate")}
WHOLE_BODY = ("38266002", "Entire body")  # the Frame Anatomy of a body part not in ANATOMY_CODES, or none
UINT16_MAX = 65535
STUDY_DAY = datetime.datetime(2024, 1, 15, 8, 0)

# A 1.5 T 3-D spoiled gradient-echo T1 (a VIBE / T1-FFE-like acquisition), as the scanner would record it.
ACQUISITION = {"echo_time": 2.39, "repetition_time": 5.8, "flip_angle": 10.0, "field": 1.5,
               "frequency": 63.676, "bandwidth": 380.0}


# ------------------------------------------------------------------------------------------------ helpers
def ds(value: float) -> DSfloat:
    """A decimal string that fits DICOM's 16 characters."""
    return DSfloat(float(value), auto_format=True)


def code(value: str, meaning: str, scheme: str = "SCT") -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def sequence(**keywords) -> DicomSequence:
    """A sequence of one item with these attributes."""
    item = Dataset()
    for keyword, value in keywords.items():
        setattr(item, keyword, value)
    return DicomSequence([item])


def stored_pixels(values: np.ndarray, rescale: tuple[float, float] | None,
                  force_rescale: bool = False) -> tuple[np.ndarray, tuple[float, float] | None]:
    """(uint16 stored values, (slope, intercept) or None): ``stored * slope + intercept`` is ``values`` - exact for
    integer values whose range fits 16 bits (a shift), to within slope / 2 otherwise (scaled onto 0..65535).
    With ``rescale`` given those are the slope and intercept (ValueError when the values do not fit); without it,
    integers already in 0..65535 are stored as they are (no rescale; slope 1, intercept 0 with
    ``force_rescale``)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    integral = bool(np.all(values == np.rint(values)))
    given = rescale is not None
    if not given:
        if integral and low >= 0 and high <= UINT16_MAX:
            rescale = (1.0, 0.0) if force_rescale else None
            return values.astype(np.uint16), rescale
        if integral and high - low <= UINT16_MAX:
            rescale = (1.0, low)  # a shift
        else:
            rescale = ((high - low) / UINT16_MAX if high > low else 1.0, low)
    slope, intercept = float(ds(rescale[0])), float(ds(rescale[1]))  # as the file will say them
    if slope <= 0:
        raise ValueError(f"rescale slope must be positive, not {slope}")
    stored = np.rint((values - intercept) / slope)
    if given:
        if stored.min() < 0 or stored.max() > UINT16_MAX:
            raise ValueError(f"values {low:g}..{high:g} with slope {slope:g} and intercept {intercept:g} do not "
                             f"fit unsigned 16 bits (stored {stored.min():g}..{stored.max():g})")
    else:  # a scale chosen here: the decimal string's last digit may push the top a hair past 65535
        stored = np.clip(stored, 0, UINT16_MAX)
    return stored.astype(np.uint16), (slope, intercept)


def window(values: np.ndarray) -> tuple[float, float]:
    """A scanner-like default window (centre, width) over the 1st-99th percentile of ``values``."""
    low, high = np.percentile(values, [1, 99])
    width = max(float(high - low), 1.0)
    return float(low + high) / 2, width


def rotation(degrees: float, axis: str) -> np.ndarray:
    """The 3 x 3 rotation by ``degrees`` about the patient's x (L), y (P) or z (S) axis."""
    index = "xyz".index(axis)
    angle = np.deg2rad(degrees)
    c, s = np.cos(angle), np.sin(angle)
    i, j = [a for a in range(3) if a != index]
    matrix = np.eye(3)
    matrix[i, i], matrix[i, j], matrix[j, i], matrix[j, j] = c, -s, s, c
    return matrix


def oblique(image: sitk.Image, degrees: float, axis: str = "x") -> sitk.Image:
    """The same voxels on a rotated grid: the direction matrix turned by ``degrees`` about the patient's ``axis``
    ("x", "y" or "z"), round the image's centre (which stays where it was). The values do not change, only
    where they lie."""
    rotated = sitk.Image(image)
    direction = np.array(image.GetDirection(), float).reshape(3, 3)
    centre = np.array(image.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in image.GetSize()]))
    matrix = rotation(degrees, axis)
    rotated.SetDirection(tuple((matrix @ direction).ravel()))
    rotated.SetOrigin(tuple(centre + matrix @ (np.array(image.GetOrigin()) - centre)))
    return rotated


def localizer_image(image: sitk.Image) -> sitk.Image:
    """A single slice through the middle of ``image`` in another orientation: its middle row (index j along the
    second axis), spanned by the first and third axes - a coronal localiser of an axial volume. Its values are
    the volume's, unresampled."""
    ny = image.GetSize()[1]
    array = sitk.GetArrayFromImage(image)[:, ny // 2, :]  # (z, x): rows along the third axis
    direction = np.array(image.GetDirection(), float).reshape(3, 3)
    u, n = direction[:, 0], direction[:, 2]
    plane = sitk.GetImageFromArray(array[None])
    sx, sy, sz = image.GetSpacing()
    plane.SetSpacing((sx, sz, sy))
    plane.SetDirection(tuple(np.column_stack([u, n, np.cross(u, n)]).ravel()))
    plane.SetOrigin(image.TransformIndexToPhysicalPoint((0, ny // 2, 0)))
    return plane


def seconds_from(uid: str, limit: int) -> int:
    return int.from_bytes(hashlib.sha256(uid.encode()).digest()[:8], "big") % limit


def study_time(study_uid: str) -> datetime.datetime:
    """The study's date and time, the same for every series written with its UID: a morning in 2024."""
    return STUDY_DAY + datetime.timedelta(seconds=seconds_from(study_uid, 4 * 3600))


def series_time(study_uid: str, series_uid: str) -> datetime.datetime:
    """A series' (and its acquisition's) date and time: within the hour after its study's start."""
    return study_time(study_uid) + datetime.timedelta(seconds=60 + seconds_from(series_uid, 3600))


def file_order(count: int, kind: str, rng: random.Random) -> list[int]:
    """InstanceNumbers (from 1) of slices 0..count-1: with the position, against it, or shuffled."""
    if kind not in INSTANCE_NUMBERS:
        raise ValueError(f"instance_numbers must be one of {', '.join(INSTANCE_NUMBERS)}, not {kind!r}")
    numbers = list(range(1, count + 1))
    if kind == "reversed":
        numbers.reverse()
    elif kind == "shuffled":
        rng.shuffle(numbers)
    return numbers


# ---------------------------------------------------------------------------------------------- the modules
def patient_study_series(ds_: Dataset, *, patient: dict | None, study_uid: str, series_uid: str,
                         frame_of_reference_uid: str, modality: str, series_number: int, series_description: str,
                         body_part: str | None, when: datetime.datetime) -> None:
    date, time = when.strftime("%Y%m%d"), when.strftime("%H%M%S.%f")[:13]
    study = study_time(study_uid)
    ds_.SpecificCharacterSet = "ISO_IR 100"
    for keyword, value in {**DEFAULT_PATIENT, **(patient or {})}.items():
        setattr(ds_, keyword, value)
    ds_.StudyInstanceUID = study_uid
    ds_.StudyDate, ds_.StudyTime = study.strftime("%Y%m%d"), study.strftime("%H%M%S")
    ds_.ReferringPhysicianName = ""
    ds_.StudyID = "1"
    ds_.AccessionNumber = "ACC-0001"
    ds_.StudyDescription = "Phantom^Radiotherapy planning"
    ds_.Modality = modality
    ds_.SeriesInstanceUID = series_uid
    ds_.SeriesNumber = series_number
    ds_.SeriesDescription = series_description
    ds_.SeriesDate, ds_.SeriesTime = date, time
    ds_.ProtocolName = series_description
    ds_.PatientPosition = "HFS"
    if body_part is not None:
        ds_.BodyPartExamined = body_part
    ds_.FrameOfReferenceUID = frame_of_reference_uid
    ds_.PositionReferenceIndicator = ""
    ds_.Manufacturer = "SynthRAD Phantom Works"
    ds_.InstitutionName = "Phantom Hospital"
    ds_.StationName = "PHANTOM-MR1"
    ds_.ManufacturerModelName = "Phantom 1.5T"
    ds_.DeviceSerialNumber = "0001"
    ds_.SoftwareVersions = "tools.dicom_mr"


def image_pixel(ds_: Dataset, rows: int, columns: int) -> None:
    ds_.SamplesPerPixel = 1
    ds_.PhotometricInterpretation = "MONOCHROME2"
    ds_.Rows, ds_.Columns = rows, columns
    ds_.BitsAllocated, ds_.BitsStored, ds_.HighBit = 16, 16, 15
    ds_.PixelRepresentation = 0


def mr_acquisition(ds_: Dataset, rows: int, columns: int) -> None:
    """The classic MR Image module's acquisition attributes."""
    ds_.ScanningSequence = "GR"
    ds_.SequenceVariant = ["SP", "OSP"]
    ds_.ScanOptions = "PFP"
    ds_.MRAcquisitionType = "3D"
    ds_.SequenceName = "*fl3d1"
    ds_.AngioFlag = "N"
    ds_.RepetitionTime = ds(ACQUISITION["repetition_time"])
    ds_.EchoTime = ds(ACQUISITION["echo_time"])
    ds_.EchoTrainLength = 1
    ds_.NumberOfAverages = ds(1)
    ds_.ImagingFrequency = ds(ACQUISITION["frequency"])
    ds_.ImagedNucleus = "1H"
    ds_.EchoNumbers = 1
    ds_.MagneticFieldStrength = ds(ACQUISITION["field"])
    ds_.NumberOfPhaseEncodingSteps = rows
    ds_.PercentSampling = ds(100)
    ds_.PercentPhaseFieldOfView = ds(100)
    ds_.PixelBandwidth = ds(ACQUISITION["bandwidth"])
    ds_.TransmitCoilName = "Body"
    ds_.ReceiveCoilName = "Body"
    ds_.AcquisitionMatrix = [0, columns, rows, 0]
    ds_.InPlanePhaseEncodingDirection = "COL"
    ds_.FlipAngle = ds(ACQUISITION["flip_angle"])
    ds_.SAR = ds(0.05)
    ds_.dBdt = ds(0)


def file_meta(sop_class: str, sop_instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def file_name(out_dir: Path, sop_instance: str, kind: str, rng: random.Random) -> Path:
    if kind == "uid":
        return out_dir / f"{sop_instance}.dcm"
    while True:  # random, extensionless, as on a scanner's export medium
        path = out_dir / f"{rng.getrandbits(32):08X}"
        if not path.exists():
            return path


# ----------------------------------------------------------------------------------------------- the writer
def write_mr_series(mr: sitk.Image, out_dir: Path, *, enhanced: bool = False, body_part: str | None = "PELVIS",
                    series_description: str = "T1 3D phantom", series_number: int = 1, patient: dict | None = None,
                    study_uid: str | None = None, frame_of_reference_uid: str | None = None,
                    series_uid: str | None = None, modality: str = "MR",
                    rescale: tuple[float, float] | None = None, file_names: str = "uid",
                    instance_numbers: str = "position", first_instance: int = 1,
                    image_type: Sequence[str] | None = None, seed: int = 0) -> list[Path]:
    """Write ``mr`` (3-D, one component) as a DICOM series into ``out_dir`` (created if needed); the files, in
    slice order (index k along the image's third axis; the enhanced file is one).

    ``enhanced``: one Enhanced MR Image Storage file instead of one MR Image Storage file a slice.
    ``modality="CT"``: a CT Image Storage series of the same values (classic only). ``patient``: attributes
    replacing :data:`DEFAULT_PATIENT`'s. UIDs not given are generated (pass one ``study_uid`` and
    ``frame_of_reference_uid`` to write several series of one study; one ``series_uid`` to mix images into a
    series). ``rescale``: (slope, intercept) of the stored values (see :func:`stored_pixels`). ``file_names``:
    "uid" (the SOP Instance UID + ".dcm") or "shuffled" (random names, no extension). ``instance_numbers``:
    InstanceNumber "position" (in slice order from ``first_instance``), "reversed" or "shuffled"; for the
    enhanced file, the order of its frames. ``image_type``: ImageType's values after ORIGINAL\\PRIMARY (a
    localiser's ``["LOCALIZER"]``). ``seed``: the random names and shuffles."""
    if mr.GetDimension() != 3 or mr.GetNumberOfComponentsPerPixel() != 1:
        raise ValueError(f"a 3-D scalar image is needed, not {mr.GetDimension()}-D with "
                         f"{mr.GetNumberOfComponentsPerPixel()} components")
    if modality not in ("MR", "CT"):
        raise ValueError(f"modality must be MR or CT, not {modality!r}")
    if enhanced and modality != "MR":
        raise ValueError("the enhanced (multi-frame) file is MR only")
    if file_names not in FILE_NAMES:
        raise ValueError(f"file_names must be one of {', '.join(FILE_NAMES)}, not {file_names!r}")
    rng = random.Random(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    geometry = slice_geometry(mr)
    values = sitk.GetArrayFromImage(mr)  # (slices, rows, columns)
    stored, transform = stored_pixels(values, rescale, force_rescale=enhanced or modality == "CT")
    centre, width = window(values)
    study_uid, series_uid = study_uid or generate_uid(), series_uid or generate_uid()
    common = dict(patient=patient, study_uid=study_uid, series_uid=series_uid,
                  frame_of_reference_uid=frame_of_reference_uid or generate_uid(), modality=modality,
                  series_number=series_number, series_description=series_description, body_part=body_part,
                  when=series_time(study_uid, series_uid))
    numbers = [n + first_instance - 1 for n in file_order(len(geometry.positions), instance_numbers, rng)]
    if enhanced:
        path = write_enhanced(stored, transform, geometry, out_dir, common, numbers, first_instance, image_type,
                              (centre, width), file_names, rng)
        return [path]
    return write_classic(stored, transform, geometry, out_dir, common, numbers, image_type, (centre, width),
                         file_names, rng)


def write_classic(stored, transform, geometry, out_dir, common, numbers, image_type, voi, file_names, rng):
    modality = common["modality"]
    sop_class = MR_IMAGE_STORAGE if modality == "MR" else CT_IMAGE_STORAGE
    rows, columns = stored.shape[1:]
    normal = geometry.normal
    paths = []
    for k, position in enumerate(geometry.positions):
        sop_instance = generate_uid()
        ds_ = Dataset()
        ds_.file_meta = file_meta(sop_class, sop_instance)
        patient_study_series(ds_, **common)
        when = common["when"] + datetime.timedelta(seconds=k)
        ds_.ImageType = ["ORIGINAL", "PRIMARY", *(image_type or (["OTHER"] if modality == "MR" else ["AXIAL"]))]
        ds_.SOPClassUID, ds_.SOPInstanceUID = sop_class, sop_instance
        ds_.InstanceCreationDate, ds_.InstanceCreationTime = when.strftime("%Y%m%d"), when.strftime("%H%M%S")
        ds_.ContentDate, ds_.ContentTime = when.strftime("%Y%m%d"), when.strftime("%H%M%S.%f")[:13]
        ds_.AcquisitionDate, ds_.AcquisitionTime = ds_.SeriesDate, ds_.SeriesTime
        ds_.InstanceNumber = numbers[k]
        ds_.AcquisitionNumber = 1
        ds_.PatientOrientation = ""
        ds_.ImageLaterality = "U"  # unpaired: no General Series Laterality needed, body part or not
        ds_.ImagesInAcquisition = len(geometry.positions)
        if modality == "MR":
            mr_acquisition(ds_, rows, columns)
        else:
            ds_.KVP = ds(120)
            ds_.ConvolutionKernel = "STANDARD"
        ds_.SliceThickness = ds(geometry.slice_spacing)
        ds_.SpacingBetweenSlices = ds(geometry.slice_spacing)
        ds_.ImagePositionPatient = [ds(c) for c in position]
        ds_.ImageOrientationPatient = [ds(c) for c in geometry.orientation]
        ds_.PixelSpacing = [ds(c) for c in geometry.pixel_spacing]
        ds_.SliceLocation = ds(float(np.dot(position, normal)))
        image_pixel(ds_, rows, columns)
        if transform is not None:
            ds_.RescaleIntercept, ds_.RescaleSlope = ds(transform[1]), ds(transform[0])
            if modality == "CT":
                ds_.RescaleType = "HU"
        ds_.WindowCenter, ds_.WindowWidth = ds(voi[0]), ds(voi[1])
        ds_.LossyImageCompression = "00"
        ds_.PixelData = np.ascontiguousarray(stored[k]).tobytes()
        path = file_name(out_dir, sop_instance, file_names, rng)
        ds_.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_enhanced(stored, transform, geometry, out_dir, common, numbers, first_instance, image_type, voi,
                   file_names, rng):
    frames, rows, columns = stored.shape
    sop_instance = generate_uid()
    when = common["when"]
    date, time = when.strftime("%Y%m%d"), when.strftime("%H%M%S.%f")[:13]
    stamp = when.strftime("%Y%m%d%H%M%S.%f")
    flavour = list(image_type or ["VOLUME"])
    ds_ = Dataset()
    ds_.file_meta = file_meta(ENHANCED_MR_IMAGE_STORAGE, sop_instance)
    patient_study_series(ds_, **common)
    ds_.SOPClassUID, ds_.SOPInstanceUID = ENHANCED_MR_IMAGE_STORAGE, sop_instance
    ds_.InstanceCreationDate, ds_.InstanceCreationTime = date, time
    # Enhanced MR Image module
    ds_.ImageType = ["ORIGINAL", "PRIMARY", *flavour, "NONE"]
    ds_.InstanceNumber = first_instance
    ds_.ContentDate, ds_.ContentTime = date, time
    ds_.AcquisitionNumber = 1
    ds_.AcquisitionDateTime = stamp
    ds_.AcquisitionDuration = ds(frames * rows * ACQUISITION["repetition_time"] / 1000)
    ds_.ContentQualification = "PRODUCT"
    ds_.ResonantNucleus = "1H"
    ds_.KSpaceFiltering = "NONE"
    ds_.MagneticFieldStrength = ds(ACQUISITION["field"])
    ds_.ApplicableSafetyStandardAgency = "IEC"
    ds_.ImageComments = ""
    ds_.PixelPresentation = "MONOCHROME"
    ds_.VolumetricProperties = "VOLUME"
    ds_.VolumeBasedCalculationTechnique = "NONE"
    ds_.ComplexImageComponent = "MAGNITUDE"
    ds_.AcquisitionContrast = "T1"
    ds_.BurnedInAnnotation = "NO"
    ds_.LossyImageCompression = "00"
    ds_.PresentationLUTShape = "IDENTITY"
    # MR Pulse Sequence module
    ds_.PulseSequenceName = "fl3d1"
    ds_.MRAcquisitionType = "3D"
    ds_.EchoPulseSequence = "GRADIENT"
    ds_.MultiPlanarExcitation = "NO"
    ds_.PhaseContrast = "NO"
    ds_.TimeOfFlightContrast = "NO"
    ds_.SteadyStatePulseSequence = "NONE"
    ds_.EchoPlanarPulseSequence = "NO"
    ds_.SaturationRecovery = "NO"
    ds_.SpectrallySelectedSuppression = "NONE"
    ds_.OversamplingPhase = "NONE"
    ds_.GeometryOfKSpaceTraversal = "RECTILINEAR"
    ds_.RectilinearPhaseEncodeReordering = "LINEAR"
    ds_.SegmentedKSpaceTraversal = "SINGLE"
    ds_.CoverageOfKSpace = "FULL"
    ds_.NumberOfKSpaceTrajectories = 1
    # Acquisition Context module
    ds_.AcquisitionContextSequence = DicomSequence()
    # Image Pixel module
    image_pixel(ds_, rows, columns)
    ds_.NumberOfFrames = frames
    # Shared Functional Groups
    shared = Dataset()
    shared.PixelMeasuresSequence = sequence(PixelSpacing=[ds(c) for c in geometry.pixel_spacing],
                                            SliceThickness=ds(geometry.slice_spacing),
                                            SpacingBetweenSlices=ds(geometry.slice_spacing))
    shared.PlaneOrientationSequence = sequence(ImageOrientationPatient=[ds(c) for c in geometry.orientation])
    slope, intercept = transform
    shared.PixelValueTransformationSequence = sequence(RescaleIntercept=ds(intercept), RescaleSlope=ds(slope),
                                                       RescaleType="US")
    shared.FrameVOILUTSequence = sequence(WindowCenter=ds(voi[0]), WindowWidth=ds(voi[1]))
    shared.MRImageFrameTypeSequence = sequence(
        FrameType=["ORIGINAL", "PRIMARY", *flavour, "NONE"], PixelPresentation="MONOCHROME",
        VolumetricProperties="VOLUME", VolumeBasedCalculationTechnique="NONE", ComplexImageComponent="MAGNITUDE",
        AcquisitionContrast="T1")
    shared.MRTimingAndRelatedParametersSequence = sequence(
        RepetitionTime=ds(ACQUISITION["repetition_time"]), FlipAngle=ds(ACQUISITION["flip_angle"]),
        EchoTrainLength=1, RFEchoTrainLength=0, GradientEchoTrainLength=1,
        SpecificAbsorptionRateSequence=sequence(SpecificAbsorptionRateDefinition="IEC_WHOLE_BODY",
                                                SpecificAbsorptionRateValue=ds(0.05)),
        GradientOutputType="DB_DT", GradientOutput=ds(0),
        OperatingModeSequence=sequence(OperatingModeType="GRADIENT", OperatingMode="IEC_NORMAL"))
    shared.MRFOVGeometrySequence = sequence(
        InPlanePhaseEncodingDirection="COLUMN", MRAcquisitionFrequencyEncodingSteps=columns,
        MRAcquisitionPhaseEncodingStepsInPlane=rows, MRAcquisitionPhaseEncodingStepsOutOfPlane=frames,
        PercentSampling=ds(100), PercentPhaseFieldOfView=ds(100))
    shared.MREchoSequence = sequence(EffectiveEchoTime=ds(ACQUISITION["echo_time"]))
    shared.MRModifierSequence = sequence(
        InversionRecovery="NO", FlowCompensation="NONE", T2Preparation="NO", SpectrallySelectedExcitation="NONE",
        SpatialPresaturation="NONE", PartialFourier="NO", ParallelAcquisition="NO")
    shared.MRImagingModifierSequence = sequence(
        MagnetizationTransfer="NONE", BloodSignalNulling="NO", Tagging="NONE",
        TransmitterFrequency=ds(ACQUISITION["frequency"]), PixelBandwidth=ds(ACQUISITION["bandwidth"]))
    shared.MRReceiveCoilSequence = sequence(ReceiveCoilName="Body",
                                            ReceiveCoilManufacturerName="SynthRAD Phantom Works",
                                            ReceiveCoilType="BODY", QuadratureReceiveCoil="YES")
    shared.MRTransmitCoilSequence = sequence(TransmitCoilName="Body",
                                             TransmitCoilManufacturerName="SynthRAD Phantom Works",
                                             TransmitCoilType="BODY")
    shared.MRAveragesSequence = sequence(NumberOfAverages=ds(1))
    shared.MRSpatialSaturationSequence = DicomSequence()
    region = ANATOMY_CODES.get((common["body_part"] or "").upper(), WHOLE_BODY)  # Frame Anatomy is type 1
    shared.FrameAnatomySequence = sequence(AnatomicRegionSequence=DicomSequence([code(*region)]), FrameLaterality="U")
    ds_.SharedFunctionalGroupsSequence = DicomSequence([shared])
    # Per-frame Functional Groups, in the frames' order; InStackPositionNumber follows the position
    order = sorted(range(frames), key=lambda k: numbers[k])
    per_frame = []
    dimension_uid = generate_uid()
    for number, k in enumerate(order, start=1):
        item = Dataset()
        frame_time = (when + datetime.timedelta(milliseconds=k * rows * ACQUISITION["repetition_time"]))
        item.FrameContentSequence = sequence(
            FrameAcquisitionNumber=1, FrameReferenceDateTime=frame_time.strftime("%Y%m%d%H%M%S.%f"),
            FrameAcquisitionDateTime=frame_time.strftime("%Y%m%d%H%M%S.%f"),
            FrameAcquisitionDuration=ds(rows * ACQUISITION["repetition_time"]), StackID="1",
            InStackPositionNumber=k + 1, DimensionIndexValues=[1, k + 1])
        item.PlanePositionSequence = sequence(ImagePositionPatient=[ds(c) for c in geometry.positions[k]])
        per_frame.append(item)
    ds_.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    # Multi-frame Dimension module: the stack, then the position in it
    ds_.DimensionOrganizationSequence = sequence(DimensionOrganizationUID=dimension_uid)
    dimensions = []
    for pointer, group in (("StackID", "FrameContentSequence"), ("InStackPositionNumber", "FrameContentSequence")):
        item = Dataset()
        item.DimensionOrganizationUID = dimension_uid
        item.DimensionIndexPointer = pydicom.datadict.tag_for_keyword(pointer)
        item.FunctionalGroupPointer = pydicom.datadict.tag_for_keyword(group)
        dimensions.append(item)
    ds_.DimensionIndexSequence = DicomSequence(dimensions)
    ds_.PixelData = np.ascontiguousarray(stored[order]).tobytes()
    path = file_name(out_dir, sop_instance, file_names, rng)
    ds_.save_as(path, enforce_file_format=True)
    return path


# ------------------------------------------------------------------------------------------- the bad cases
def write_localizer(mr: sitk.Image, out_dir: Path, *, same_series: bool = False, series_uid: str | None = None,
                    **options) -> list[Path]:
    """A localiser of ``mr`` (:func:`localizer_image`: one slice in another orientation, ImageType
    ORIGINAL\\PRIMARY\\LOCALIZER) into ``out_dir``: in a series of its own (SeriesNumber 99, "localizer"), as
    scanners write it, or with ``same_series`` in the series ``series_uid`` (required then; pass that series'
    ``series_number`` and ``series_description`` if they are not the defaults), InstanceNumber after its slices.
    ``options``: :func:`write_mr_series`'s (pass the study's ``study_uid`` and ``frame_of_reference_uid``)."""
    if same_series and series_uid is None:
        raise ValueError("a localiser in the same series needs that series' series_uid")
    if same_series:
        options.setdefault("first_instance", mr.GetSize()[2] + 1)
    else:
        options.setdefault("series_number", 99)
        options.setdefault("series_description", "localizer")
    return write_mr_series(localizer_image(mr), out_dir, series_uid=series_uid if same_series else None,
                           image_type=["LOCALIZER"], **options)


def drop_slice(files: list[Path], k: int) -> Path:
    """Delete slice ``k`` of a classic series (``files`` as :func:`write_mr_series` returned them, in slice order):
    a missing slice. The deleted file's path."""
    if not 0 <= k < len(files) or len(files) < 2:
        raise ValueError(f"slice {k} is not one of the {len(files)} slices of a classic series")
    files[k].unlink()
    return files[k]


def odd_slice(path: Path, kind: str = "size", degrees: float = 10.0) -> Path:
    """Rewrite one classic slice file so that it does not fit its series: ``kind="size"`` crops it (two rows and
    four columns fewer), ``"orientation"`` turns its ImageOrientationPatient by ``degrees`` about the slice's
    normal (the pixels stay). The file's path."""
    if kind not in ODD_KINDS:
        raise ValueError(f"kind must be one of {', '.join(ODD_KINDS)}, not {kind!r}")
    data = pydicom.dcmread(path)
    if kind == "size":
        pixels = data.pixel_array[:-2, :-4]
        data.Rows, data.Columns = pixels.shape
        data.PixelData = np.ascontiguousarray(pixels).tobytes()
    else:
        u, v = np.array(data.ImageOrientationPatient[:3], float), np.array(data.ImageOrientationPatient[3:], float)
        angle = np.deg2rad(degrees)
        u, v = np.cos(angle) * u + np.sin(angle) * v, -np.sin(angle) * u + np.cos(angle) * v
        data.ImageOrientationPatient = [ds(c) for c in (*u, *v)]
    data.save_as(path, enforce_file_format=True)
    return Path(path)


# -------------------------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dicom_mr", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[2:]))
    parser.add_argument("--mha", required=True, type=Path, help="the MR volume (any file SimpleITK reads)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    parser.add_argument("--enhanced", action="store_true", help="one Enhanced MR multi-frame file")
    parser.add_argument("--oblique", type=float, metavar="DEGREES", help="turn the grid by DEGREES first")
    parser.add_argument("--oblique-axis", choices=("x", "y", "z"), default="x",
                        help="the patient axis --oblique turns about (default x)")
    parser.add_argument("--body-part", default="PELVIS", help="BodyPartExamined; 'none' leaves it out")
    parser.add_argument("--modality", choices=("MR", "CT"), default="MR",
                        help="CT writes a CT Image Storage series (classic only)")
    parser.add_argument("--rescale", type=float, nargs=2, metavar=("SLOPE", "INTERCEPT"),
                        help="stored values' RescaleSlope and RescaleIntercept (default: only when needed)")
    parser.add_argument("--series-description", default="T1 3D phantom")
    parser.add_argument("--series-number", type=int, default=1)
    parser.add_argument("--file-names", choices=FILE_NAMES, default="uid",
                        help="the SOP Instance UID + .dcm, or random names")
    parser.add_argument("--instance-numbers", choices=INSTANCE_NUMBERS, default="position",
                        help="InstanceNumber with the slice position, against it, or shuffled "
                             "(enhanced: the frames' order)")
    parser.add_argument("--drop-slice", type=int, metavar="K", help="delete slice K's file (classic)")
    parser.add_argument("--odd-slice", type=int, metavar="K", help="give slice K another size or orientation")
    parser.add_argument("--odd-kind", choices=ODD_KINDS, default="size", help="what --odd-slice changes")
    localizer = parser.add_mutually_exclusive_group()
    localizer.add_argument("--localizer", action="store_true", help="add a localiser in a series of its own")
    localizer.add_argument("--localizer-same-series", action="store_true", help="add a localiser to the series")
    parser.add_argument("--seed", type=int, default=0, help="random file names and shuffles")
    args = parser.parse_args(argv)
    if args.enhanced and (args.drop_slice is not None or args.odd_slice is not None):
        parser.error("--drop-slice and --odd-slice are for a classic series")
    image = sitk.ReadImage(str(args.mha))
    if args.oblique is not None:
        image = oblique(image, args.oblique, args.oblique_axis)
    body_part = None if args.body_part.lower() == "none" else args.body_part.upper()
    study_uid, frame_of_reference_uid, series_uid = generate_uid(), generate_uid(), generate_uid()
    options = dict(body_part=body_part, modality=args.modality, study_uid=study_uid,
                   frame_of_reference_uid=frame_of_reference_uid, file_names=args.file_names, seed=args.seed)
    try:
        files = write_mr_series(image, args.out, enhanced=args.enhanced, series_uid=series_uid,
                                series_description=args.series_description, series_number=args.series_number,
                                rescale=tuple(args.rescale) if args.rescale else None,
                                instance_numbers=args.instance_numbers, **options)
        if args.odd_slice is not None:
            if not 0 <= args.odd_slice < len(files):
                parser.error(f"--odd-slice {args.odd_slice}: the series has slices 0..{len(files) - 1}")
            odd_slice(files[args.odd_slice], args.odd_kind)
        if args.drop_slice is not None:
            drop_slice(files, args.drop_slice)
        if args.localizer or args.localizer_same_series:
            same = args.localizer_same_series
            series = dict(series_number=args.series_number, series_description=args.series_description) if same else {}
            files += write_localizer(image, args.out, same_series=same, series_uid=series_uid, **series, **options)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{len(list(args.out.iterdir()))} files in {args.out} (series {series_uid}, study {study_uid})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
