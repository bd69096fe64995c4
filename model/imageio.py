"""Reading, checking and writing SimpleITK images without losing their geometry.

Every array handed to a network comes from :func:`read_image` and every image
written goes through :func:`array_to_image`, which copies the reference image's
size, spacing, origin and direction onto the result.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from evalutils.io import SimpleITKLoader

from model.errors import InputError
from model.files import atomic_path
from model.preprocessing.intensity import HU_MAX, HU_MIN, HU_OUTSIDE_BODY, sct_voxels  # noqa: F401  (HU_* re-exported)

# Single-file formats only: a .mhd header and its separate data file cannot be written atomically.
IMAGE_SUFFIXES = (".mha", ".nii.gz", ".nii", ".nrrd")
# SimpleITK's own tolerance when it compares image grids (CopyInformation, filters).
GRID_TOLERANCE = 1e-4


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(IMAGE_SUFFIXES)


def image_stem(path: Path) -> str:
    """File name without its image suffix (``a.nii.gz`` -> ``a``)."""
    name = path.name
    for suffix in IMAGE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def read_image(path: Path) -> sitk.Image:
    """Read a single-channel 3-D image or raise :class:`InputError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        image = SimpleITKLoader.load_image(path)
    except RuntimeError as err:
        reason = str(err).strip().splitlines()
        detail = next((line for line in reversed(reason) if line.strip()), "unknown reason")
        raise InputError(path, f"cannot read image (unreadable or truncated): {detail.strip()}") from None
    if image.GetDimension() != 3:
        raise InputError(path, f"expected a 3-D image, got a {image.GetDimension()}-D image")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(path, f"expected one value per voxel, got {image.GetNumberOfComponentsPerPixel()}")
    if min(image.GetSize()) < 2:
        raise InputError(path, f"expected a 3-D image, got size {image.GetSize()} (a single slice)")
    return image


def to_array(image: sitk.Image) -> np.ndarray:
    """The voxels as a float32 (z, y, x) array."""
    return sitk.GetArrayFromImage(image).astype(np.float32, copy=False)


def array_to_image(array: np.ndarray, reference: sitk.Image) -> sitk.Image:
    """A (z, y, x) array as an image on exactly the reference image's grid."""
    if tuple(array.shape[::-1]) != tuple(reference.GetSize()):
        raise ValueError(f"array shape {array.shape} does not match image size {reference.GetSize()[::-1]} (z, y, x)")
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(reference)
    return image


def grid_mismatch(image: sitk.Image, reference: sitk.Image, reference_name: str = "MR",
                  tolerance: float = GRID_TOLERANCE) -> str | None:
    """Describe the first way two images' grids differ, or None when they match (``tolerance`` 0: exactly)."""
    checks = (
        ("size", image.GetSize(), reference.GetSize()),
        ("spacing", image.GetSpacing(), reference.GetSpacing()),
        ("origin", image.GetOrigin(), reference.GetOrigin()),
        ("direction", image.GetDirection(), reference.GetDirection()),
    )
    for name, mine, theirs in checks:
        if len(mine) != len(theirs) or not np.allclose(mine, theirs, rtol=0, atol=tolerance):
            digits = 17 if tolerance == 0 else 6  # an exact comparison shows every digit that differs
            return f"{name} {_fmt(mine, digits)} differs from the {reference_name}'s {_fmt(theirs, digits)}"
    return None


def read_on_grid(path: Path, reference: sitk.Image, reference_name: str = "MR", read=read_image) -> sitk.Image:
    """Read an image (with ``read``) that must share the reference image's grid; a mismatch names the file."""
    image = read(path)
    problem = grid_mismatch(image, reference, reference_name)
    if problem:
        raise InputError(path, problem)
    return image


def _fmt(values, digits: int = 6) -> str:
    return "(" + ", ".join(f"{v:.{digits}g}" for v in values) + ")"


def check_finite(array: np.ndarray, path: Path) -> None:
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise InputError(path, f"contains {bad} NaN or Inf voxel(s)")


def check_mask(mask: np.ndarray, path: Path, what: str = "body") -> np.ndarray:
    """The mask as booleans; a non-finite or empty mask is an error naming it (``what``: the body, a target...)."""
    check_finite(mask, path)
    inside = mask > 0
    if not inside.any():
        raise InputError(path, f"the {what} mask is empty (no voxel > 0)")
    return inside


def hu_to_sct(hu: np.ndarray, body: np.ndarray, mr: sitk.Image) -> sitk.Image:
    """The container's output: int16 HU in [-1024, 3071], -1000 outside the body, on the MR's grid."""
    return array_to_image(sct_voxels(hu, body), mr)


def write_image(image: sitk.Image, path: Path) -> None:
    """Write compressed, atomically: a temporary file renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        sitk.WriteImage(image, str(tmp), useCompression=True)
