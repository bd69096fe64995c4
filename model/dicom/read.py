"""A series from a folder of DICOM files (the MR for model.dicom; a CT or sCT for the dose and image
evaluation): which series, its slices in order, checked, as one 3-D image.

- **Which series**: every DICOM file under the folder is grouped by SeriesInstanceUID. Localiser series and
  series of another modality are listed but never taken unasked; one series of the modality asked for is
  taken; several are listed (UID, description, image count) and refused until ``series_uid`` names one.
- **Order**: by position along the slice normal (ImagePositionPatient . (row x column direction)), never by file
  name or InstanceNumber.
- **Refused**, each in one line naming the file or series: another modality, a localiser image, mixed
  orientations, sizes or pixel spacings, two slices at one position, slices not stacked along their normal, a
  missing slice, uneven spacing, a single slice.
- Classic (one file a slice) and enhanced (multi-frame, the geometry in the functional groups) objects; any
  orientation, oblique included; RescaleSlope / RescaleIntercept applied.
- **Privacy**: what this module says names files, UIDs and series descriptions, never a patient's name, ID or
  birth date.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset

from model.errors import InputError

log = logging.getLogger(__name__)

ORIENTATION_TOLERANCE = 1e-4  # direction cosines
POSITION_TOLERANCE_MM = 0.01  # the same position; off the normal
SPACING_TOLERANCE = 0.005  # relative: a step further from the mean than this (or 0.02 mm) is uneven


@dataclass
class Series:
    """One series found in a folder (headers only: read once, by :func:`scan`)."""

    uid: str
    modality: str
    description: str
    files: list[Path] = field(default_factory=list)
    headers: list[Dataset] = field(default_factory=list)  # each file's, without its pixels
    images: int = 0  # slices: files, or frames of a multi-frame file
    localisers: int = 0  # files that are localisers

    @property
    def localiser(self) -> bool:
        """A series of localisers only (one mixed into a series is refused when the series is read)."""
        return self.localisers == len(self.files)

    def summary(self) -> str:
        kind = "localiser" if self.localiser else self.modality or "no modality"
        return f"{self.uid} ({kind}, '{self.description}', {self.images} images)"


@dataclass(frozen=True)
class Slice:
    """One 2-D image: a classic file, or one frame of a multi-frame file (``frame`` counts from 1)."""

    path: Path
    frame: int | None
    sop_class: str
    sop_instance: str
    position: tuple[float, float, float]
    orientation: tuple[float, ...]
    size: tuple[int, int]  # rows, columns
    pixel_spacing: tuple[float, float]
    rescale: tuple[float, float]  # slope, intercept

    def name(self) -> str:
        return str(self.path) if self.frame is None else f"{self.path} (frame {self.frame})"


@dataclass
class DicomSeries:
    """A series as one image, with what the sCT series copies from the MR."""

    image: sitk.Image
    series: Series
    slices: list[Slice]  # in the image's slice order
    header: Dataset  # the first file's (without pixels): its patient, study, frame of reference and series


def is_localiser(ds: Dataset) -> bool:
    return "LOCALIZER" in [str(v).upper() for v in (ds.get("ImageType") or [])]


def scan(folder: Path) -> dict[str, Series]:
    """Every series under ``folder``, by SeriesInstanceUID (files that are not DICOM images are skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    found: dict[str, Series] = {}
    skipped = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (pydicom.errors.InvalidDicomError, OSError, ValueError, EOFError):
            skipped += 1
            continue
        uid = ds.get("SeriesInstanceUID")
        if uid is None or "SOPClassUID" not in ds or "Rows" not in ds:
            skipped += 1  # a DICOMDIR, a structure set, a report: not an image
            continue
        series = found.setdefault(str(uid), Series(str(uid), str(ds.get("Modality", "")),
                                                    str(ds.get("SeriesDescription", ""))))
        series.files.append(path)
        series.headers.append(ds)
        series.images += int(ds.get("NumberOfFrames", 1) or 1)
        series.localisers += is_localiser(ds)
    if skipped:
        log.info("%s: %d file(s) that are not DICOM images skipped", folder, skipped)
    if not found:
        raise InputError(folder, "no DICOM image series in it")
    return found


def choose_series(found: dict[str, Series], folder: Path, series_uid: str | None = None,
                  modality: str = "MR") -> Series:
    """The series to read: ``series_uid``, or the one series of ``modality`` that is not a localiser."""
    listing = "; ".join(s.summary() for s in found.values())
    if series_uid is not None:
        if series_uid not in found:
            raise InputError(folder, f"no series {series_uid} in it (found: {listing})")
        chosen = found[series_uid]
    else:
        candidates = [s for s in found.values() if s.modality == modality and not s.localiser]
        if not candidates:
            raise InputError(folder, f"no {modality} series in it that is not a localiser (found: {listing})")
        if len(candidates) > 1:
            raise InputError(folder, f"{len(candidates)} {modality} series: "
                                     f"{'; '.join(s.summary() for s in candidates)}: name one with --series UID")
        chosen = candidates[0]
    if chosen.modality != modality:
        raise InputError(f"{folder} (series {chosen.uid})", f"modality {chosen.modality or 'missing'}, not {modality}")
    others = [s for s in found.values() if s is not chosen]
    if others:
        log.info("%s: series %s taken; also there: %s", folder, chosen.uid, "; ".join(s.summary() for s in others))
    return chosen


def _item(ds: Dataset, sequence: str) -> Dataset | None:
    seq = ds.get(sequence)
    return seq[0] if seq else None


def _functional(frame: Dataset | None, shared: Dataset | None, sequence: str, keyword: str):
    """A frame's attribute from its per-frame functional group, else the shared one."""
    for group in (frame, shared):
        item = _item(group, sequence) if group is not None else None
        if item is not None and keyword in item:
            return item.get(keyword)
    return None


def _floats(values, count: int, what: str, where: str) -> tuple[float, ...]:
    try:
        result = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        result = ()
    if len(result) != count:
        raise InputError(where, f"{what} missing or malformed")
    return result


def slices_of(path: Path, ds: Dataset) -> list[Slice]:
    """The 2-D images of one file (headers; the pixels are read later)."""
    where = str(path)
    if is_localiser(ds):
        raise InputError(where, "a localiser image in the series")
    sop_class, sop_instance = str(ds.SOPClassUID), str(ds.SOPInstanceUID)
    size = (int(ds.Rows), int(ds.Columns))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if "PerFrameFunctionalGroupsSequence" not in ds:  # classic
        if frames != 1:
            raise InputError(where, f"{frames} frames without per-frame functional groups")
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        return [Slice(path, None, sop_class, sop_instance,
                      _floats(ds.get("ImagePositionPatient"), 3, "ImagePositionPatient", where),
                      _floats(ds.get("ImageOrientationPatient"), 6, "ImageOrientationPatient", where), size,
                      _floats(ds.get("PixelSpacing"), 2, "PixelSpacing", where), (slope, intercept))]
    shared = _item(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.PerFrameFunctionalGroupsSequence
    if len(per_frame) != frames:
        raise InputError(where, f"{len(per_frame)} per-frame functional groups for {frames} frames")
    result = []
    for index, frame in enumerate(per_frame, start=1):
        frame_where = f"{path} (frame {index})"
        frame_type = _functional(frame, shared, "MRImageFrameTypeSequence", "FrameType") or []
        if "LOCALIZER" in [str(v).upper() for v in frame_type]:
            raise InputError(frame_where, "a localiser frame in the series")
        slope = _functional(frame, shared, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = _functional(frame, shared, "PixelValueTransformationSequence", "RescaleIntercept")
        result.append(Slice(
            path, index, sop_class, sop_instance,
            _floats(_functional(frame, shared, "PlanePositionSequence", "ImagePositionPatient"), 3,
                    "ImagePositionPatient", frame_where),
            _floats(_functional(frame, shared, "PlaneOrientationSequence", "ImageOrientationPatient"), 6,
                    "ImageOrientationPatient", frame_where),
            size,
            _floats(_functional(frame, shared, "PixelMeasuresSequence", "PixelSpacing"), 2, "PixelSpacing",
                    frame_where),
            (float(slope if slope is not None else 1), float(intercept if intercept is not None else 0))))
    return result


def order_slices(slices: list[Slice], label: str) -> tuple[list[Slice], float]:
    """The slices sorted along their normal, and the spacing between them; refused unless they form a grid."""
    first = slices[0]
    for s in slices[1:]:
        if s.size != first.size:
            raise InputError(s.name(), f"{s.size[0]} x {s.size[1]} pixels, {first.name()} has "
                                       f"{first.size[0]} x {first.size[1]}: mixed sizes")
        if np.abs(np.subtract(s.orientation, first.orientation)).max() > ORIENTATION_TOLERANCE:
            raise InputError(s.name(), f"orientation {list(s.orientation)} differs from {first.name()}'s: mixed "
                                       "orientations")
        if np.abs(np.subtract(s.pixel_spacing, first.pixel_spacing)).max() > 1e-4 * max(first.pixel_spacing):
            raise InputError(s.name(), f"pixel spacing {list(s.pixel_spacing)} differs from {first.name()}'s")
    if len(slices) < 2:
        raise InputError(label, "a single slice: a 3-D series is needed")
    u, v = np.array(first.orientation[:3]), np.array(first.orientation[3:])
    normal = np.cross(u, v)
    if abs(np.linalg.norm(normal) - 1) > 1e-3 or abs(np.dot(u, v)) > 1e-3:
        raise InputError(first.name(), f"ImageOrientationPatient {list(first.orientation)} is not two orthogonal "
                                       "unit vectors")
    ordered = sorted(slices, key=lambda s: float(np.dot(s.position, normal)))
    depth = np.array([np.dot(s.position, normal) for s in ordered])
    steps = np.diff(depth)
    for k, step in enumerate(steps):
        if step < POSITION_TOLERANCE_MM:
            raise InputError(ordered[k + 1].name(), f"at the same position as {ordered[k].name()}")
    origin = np.array(ordered[0].position)
    for s, d in zip(ordered, depth):  # every slice on the line through the first along the normal
        off = np.array(s.position) - origin - (d - depth[0]) * normal
        if np.linalg.norm(off) > POSITION_TOLERANCE_MM * 10:
            raise InputError(s.name(), f"{np.linalg.norm(off):.2f} mm off the stack's axis: slices not stacked "
                                       "along their normal (gantry tilt, or two stacks)")
    spacing = float((depth[-1] - depth[0]) / (len(ordered) - 1))
    median = float(np.median(steps))
    tolerance = max(0.02, SPACING_TOLERANCE * median)
    for k, step in enumerate(steps):
        if step > 1.5 * median:
            raise InputError(label, f"a missing slice between {ordered[k].name()} and {ordered[k + 1].name()} "
                                    f"({step:.3g} mm apart, {median:.3g} mm elsewhere)")
    for k, step in enumerate(steps):
        if abs(step - spacing) > tolerance:
            raise InputError(label, f"uneven slice spacing: {step:.4g} mm between {ordered[k].name()} and "
                                    f"{ordered[k + 1].name()}, {spacing:.4g} mm on average")
    return ordered, spacing


def read_pixels(ordered: list[Slice]) -> np.ndarray:
    """The slices' values after rescaling, as (slice, row, column): int16 where they are integers that fit,
    else float32."""
    volume = np.empty((len(ordered), *ordered[0].size), np.float64)
    cache: dict[Path, np.ndarray] = {}
    for k, s in enumerate(ordered):
        if s.path not in cache:
            try:
                cache = {s.path: pydicom.dcmread(s.path).pixel_array}  # one file's pixels at a time
            except Exception as err:  # no pixel data, a transfer syntax without a decoder, a truncated file
                raise InputError(s.path, f"cannot read its pixels: {type(err).__name__}: {err}") from None
        pixels = cache[s.path] if s.frame is None else cache[s.path][s.frame - 1]
        if pixels.shape != s.size:
            raise InputError(s.name(), f"pixel data of shape {pixels.shape}, not {s.size}")
        volume[k] = pixels * s.rescale[0] + s.rescale[1]
    if not np.isfinite(volume).all():
        raise InputError(ordered[0].path.parent, "non-finite values after rescaling")
    if np.array_equal(volume, np.round(volume)) and volume.min() >= -32768 and volume.max() <= 32767:
        return volume.astype(np.int16)
    return volume.astype(np.float32)


def read_series(folder: Path, series_uid: str | None = None, modality: str = "MR") -> DicomSeries:
    """The series of ``modality`` in ``folder`` (see the module's description) as one image on its grid."""
    folder = Path(folder)
    series = choose_series(scan(folder), folder, series_uid, modality)
    label = f"{folder} (series {series.uid})"
    slices = [s for path, ds in zip(series.files, series.headers) for s in slices_of(path, ds)]
    ordered, spacing = order_slices(slices, label)
    image = sitk.GetImageFromArray(read_pixels(ordered))
    first = ordered[0]
    u, v = np.array(first.orientation[:3]), np.array(first.orientation[3:])
    image.SetOrigin(first.position)
    image.SetSpacing((first.pixel_spacing[1], first.pixel_spacing[0], spacing))
    image.SetDirection(tuple(float(c) for c in np.column_stack([u, v, np.cross(u, v)]).ravel()))
    log.info("%s: %s series %s ('%s'), %d slices of %d x %d, %.3g x %.3g x %.3g mm", folder, modality, series.uid,
             series.description, len(ordered), first.size[1], first.size[0], first.pixel_spacing[1],
             first.pixel_spacing[0], spacing)
    return DicomSeries(image, series, ordered, series.headers[0])
