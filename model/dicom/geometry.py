"""An image's grid in DICOM's terms, both ways: SimpleITK's origin, spacing and direction (LPS, as DICOM's
patient coordinates) against a series' per-slice ImagePositionPatient, ImageOrientationPatient, PixelSpacing
and the spacing between slices.

A volume's voxel (i, j, k) - column, row, slice - lies at ``origin + i*sx*u + j*sy*v + k*sz*n``, where u, v, n
are the direction matrix's columns. In DICOM u is ImageOrientationPatient[0:3] (along a row: increasing
column), v ImageOrientationPatient[3:6] (down a column: increasing row), PixelSpacing is [sy, sx] (between
rows, between columns), and slice k's ImagePositionPatient is ``origin + k*sz*n``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk


@dataclass(frozen=True)
class SliceGeometry:
    orientation: tuple[float, ...]  # ImageOrientationPatient: u then v
    pixel_spacing: tuple[float, float]  # PixelSpacing: between rows, between columns
    slice_spacing: float
    positions: tuple[tuple[float, float, float], ...]  # ImagePositionPatient per slice, in order

    @property
    def normal(self) -> np.ndarray:
        u, v = np.array(self.orientation[:3]), np.array(self.orientation[3:])
        return np.cross(u, v)


def slice_geometry(image: sitk.Image) -> SliceGeometry:
    """The DICOM description of a 3-D image's grid, one slice per index along its third axis."""
    direction = np.array(image.GetDirection(), float).reshape(3, 3)
    u, v, n = direction[:, 0], direction[:, 1], direction[:, 2]
    sx, sy, sz = image.GetSpacing()
    origin = np.array(image.GetOrigin(), float)
    positions = tuple(tuple(float(c) for c in origin + k * sz * n) for k in range(image.GetSize()[2]))
    return SliceGeometry(tuple(float(c) for c in (*u, *v)), (float(sy), float(sx)), float(sz), positions)

