"""The sCT as a CT series a planning system imports: CT Image Storage, one file a slice, in the MR's geometry.

- Every slice on the MR's grid: the same ImageOrientationPatient, PixelSpacing and slice spacing, its own
  ImagePositionPatient (model.dicom.geometry), SliceThickness as the MR's.
- The MR's StudyInstanceUID and FrameOfReferenceUID, so that contours and registrations on the MR carry over; a
  new SeriesInstanceUID and SOPInstanceUIDs (pydicom's generate_uid). The patient and study modules are copied
  from the MR.
- Modality CT, ImageType DERIVED\\SECONDARY\\AXIAL, signed 16-bit HU (RescaleSlope 1, RescaleIntercept 0,
  RescaleType HU), soft-tissue and bone window presets; a SeriesDescription naming the model and that its
  weights are demo weights; each slice's SourceImageSequence names the MR slice (or frame) at its position, and
  ReferencedSeriesSequence the MR series.
- Written into a hidden folder beside the output and renamed into place when every file is written: never a
  half-written series.
"""
from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import format_number_as_ds

from model.dicom.geometry import slice_geometry
from model.dicom.read import DicomSeries
from model.errors import InputError
from model.files import staged_folder

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
# What the sCT series copies from the MR: the patient, study and frame of reference (model.dicom.read keeps
# the first file's header)
COPIED = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "PatientAge",
          "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber",
          "StudyDescription", "FrameOfReferenceUID", "PositionReferenceIndicator", "PatientPosition",
          "BodyPartExamined", "Laterality")
# present, empty where the MR has no value: type 2, and the type 2C attributes whose condition holds for a CT
TYPE_2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
          "ReferringPhysicianName", "StudyID", "AccessionNumber", "PositionReferenceIndicator", "PatientPosition")
WINDOWS = (("SOFT TISSUE", 40, 400), ("BONE", 400, 1800))


def ds_values(values) -> list[str]:
    """Decimal strings of at most 16 characters (DICOM's DS), as precise as that allows."""
    return [format_number_as_ds(float(v)) for v in values]


def _ds(**attributes) -> Dataset:
    ds = Dataset()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def ct_slices(sct: sitk.Image, mr: DicomSeries, description: str, software: str, body_part: str) -> list[Dataset]:
    """One CT dataset per slice of ``sct`` (int16 HU on the MR's grid); ``body_part`` is BodyPartExamined
    where the MR has none."""
    hu = sitk.GetArrayFromImage(sct)
    if hu.dtype != np.int16:
        raise InputError("sCT", f"pixel type {hu.dtype}, not int16")
    if len(mr.slices) != hu.shape[0]:
        raise InputError("sCT", f"{hu.shape[0]} slices, the MR series has {len(mr.slices)}")
    geometry = slice_geometry(sct)
    normal = geometry.normal
    series_uid = generate_uid()
    now = datetime.datetime.now()
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    header = mr.header
    thickness = header.get("SliceThickness") or geometry.slice_spacing
    referenced = _ds(SeriesInstanceUID=mr.series.uid, ReferencedInstanceSequence=Sequence(
        [_ds(ReferencedSOPClassUID=uid_class, ReferencedSOPInstanceUID=uid)
         for uid_class, uid in dict.fromkeys((s.sop_class, s.sop_instance) for s in mr.slices)]))
    datasets = []
    for k, (position, pixels) in enumerate(zip(geometry.positions, hu)):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CT_STORAGE
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SpecificCharacterSet = header.get("SpecificCharacterSet", "ISO_IR 100")
        ds.SOPClassUID = CT_STORAGE
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        for keyword in TYPE_2:
            setattr(ds, keyword, "")
        for keyword in COPIED:
            if keyword in header:
                setattr(ds, keyword, header.data_element(keyword).value)
        if not ds.get("BodyPartExamined"):
            ds.BodyPartExamined = body_part
        ds.Modality = "CT"
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = int(header.get("SeriesNumber") or 0) + 1000
        ds.SeriesDescription = description[:64]
        ds.SeriesDate, ds.SeriesTime, ds.ContentDate, ds.ContentTime = date, time, date, time
        ds.Manufacturer = "synthrad-sct"
        ds.SoftwareVersions = software[:64]
        ds.InstanceNumber = k + 1
        ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
        ds.DerivationDescription = f"synthetic CT from MR series {mr.series.uid}"[:1024]
        source = mr.slices[k]
        item = _ds(ReferencedSOPClassUID=source.sop_class, ReferencedSOPInstanceUID=source.sop_instance)
        if source.frame is not None:
            item.ReferencedFrameNumber = source.frame
        ds.SourceImageSequence = Sequence([item])
        ds.ReferencedSeriesSequence = Sequence([referenced])
        ds.ImagePositionPatient = ds_values(position)
        ds.ImageOrientationPatient = ds_values(geometry.orientation)
        ds.PixelSpacing = ds_values(geometry.pixel_spacing)
        ds.SliceThickness, ds.SpacingBetweenSlices, ds.SliceLocation = ds_values(
            (thickness, geometry.slice_spacing, np.dot(position, normal)))
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = pixels.shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "HU"
        ds.KVP = ""
        ds.AcquisitionNumber = ""
        ds.WindowCenter = [w[1] for w in WINDOWS]
        ds.WindowWidth = [w[2] for w in WINDOWS]
        ds.WindowCenterWidthExplanation = [w[0] for w in WINDOWS]
        ds.PixelData = np.ascontiguousarray(pixels, dtype="<i2").tobytes()
        datasets.append(ds)
    return datasets


def check_new_folder(out_dir: Path) -> None:
    """Refuse an output that exists and is not an empty folder (the command checks before any work, the writer
    again before writing)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(out_dir, "exists and is not an empty folder: the sCT series goes into a new one")


def write_ct_series(sct: sitk.Image, mr: DicomSeries, out_dir: Path, description: str, software: str,
                    body_part: str) -> list[Path]:
    """The sCT as a CT series in ``out_dir`` (created; refused when it exists and is not empty), written whole
    or not at all."""
    out_dir = Path(out_dir)
    check_new_folder(out_dir)
    datasets = ct_slices(sct, mr, description, software, body_part)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    names = [Path(f"CT.{k + 1:04d}.dcm") for k in range(len(datasets))]
    with staged_folder(out_dir) as staging:
        for name, ds in zip(names, datasets):
            pydicom.dcmwrite(staging / name, ds, enforce_file_format=True)
    return [out_dir / name for name in names]
