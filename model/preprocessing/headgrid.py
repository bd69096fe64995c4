"""Fit a head onto the brain model's fixed grid and back again.

The brain networks run on one grid (``grid.size`` voxels of ``grid.spacing_mm``).
A case is cropped to its body mask's bounding box, resampled to the grid's voxel
size, or more coarsely when the head would not fit (the whole head is kept, never
cropped away), and centred in the grid. :func:`from_grid` maps a grid volume back
onto the MR's own voxels: the result has the MR's exact shape, and therefore the
MR's geometry once the image information is copied over. When no resampling is
needed (the MR already has the grid's voxel size) the round trip is exact.

Onto the grid, volumes are resampled trilinearly (for the usual factor of two, the
mean of 2 x 2 x 2 voxels), as in training. Back onto the MR's finer voxels they are
resampled with cubic convolution, axis by axis: trilinear interpolation blurs the
skull's thin cortical shells further, and on the phantom validation CTs the grid's
own round trip lost 71.6 HU of MAE with it against 56.2 HU with cubic convolution
(`python -m tools.evaluation.error_budget`, its "grid" row).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.preprocessing.resample import resize_cubic, resize_linear


@dataclass(frozen=True)
class GridFit:
    shape: tuple[int, int, int]  # the MR's array shape (z, y, x)
    box_start: tuple[int, int, int]  # body bounding box in MR voxels
    box_size: tuple[int, int, int]
    fitted: tuple[int, int, int]  # the box's size on the grid (<= grid)
    offset: tuple[int, int, int]  # where the fitted box sits in the grid
    grid: tuple[int, int, int]
    voxel_mm: tuple[float, float, float]  # the grid's voxel size for this case (z, y, x)

    @property
    def resampled(self) -> bool:
        return self.fitted != self.box_size

    def grid_box(self) -> tuple[slice, ...]:
        return tuple(slice(o, o + f) for o, f in zip(self.offset, self.fitted))

    def mr_box(self) -> tuple[slice, ...]:
        return tuple(slice(s, s + n) for s, n in zip(self.box_start, self.box_size))


def plan_fit(body: np.ndarray, spacing_xyz, grid, spacing_mm: float) -> GridFit:
    """Where the body's bounding box goes on the grid (``spacing_xyz`` as SimpleITK gives it)."""
    grid = tuple(int(g) for g in grid)
    inside = np.argwhere(body)
    if inside.size == 0:
        raise ValueError("the body mask is empty")
    start, stop = inside.min(0), inside.max(0) + 1
    size = tuple(int(n) for n in stop - start)
    spacing = np.asarray(spacing_xyz, dtype=float)[::-1]  # (z, y, x) like the arrays
    extent = np.asarray(size) * spacing  # mm
    voxel = float(spacing_mm)
    # Coarser voxels, the same along every axis, when the head is larger than the grid.
    voxel *= max(1.0, float(np.max(extent / (np.asarray(grid) * voxel))))
    if np.allclose(spacing, voxel) and all(n <= g for n, g in zip(size, grid)):
        fitted = size  # already on the grid's voxel size: no resampling at all
    else:
        fitted = tuple(int(min(g, max(1, round(e / voxel)))) for e, g in zip(extent, grid))
    offset = tuple((g - f) // 2 for g, f in zip(grid, fitted))
    return GridFit(tuple(int(s) for s in body.shape), tuple(int(s) for s in start), size, fitted, offset, grid,
                   tuple(float(voxel) for _ in range(3)))


def to_grid(volume: np.ndarray, fit: GridFit, fill: float) -> np.ndarray:
    """The body box of an MR-grid volume, fitted and centred on the model grid; ``fill`` elsewhere."""
    out = np.full(fit.grid, fill, dtype=np.float32)
    out[fit.grid_box()] = resize_linear(volume[fit.mr_box()], fit.fitted)
    return out


def from_grid(volume: np.ndarray, fit: GridFit, fill: float) -> np.ndarray:
    """A model-grid volume back on the MR's voxels (its exact shape); ``fill`` outside the body box."""
    out = np.full(fit.shape, fill, dtype=np.float32)
    out[fit.mr_box()] = resize_cubic(volume[fit.grid_box()], fit.box_size)
    return out


def fit_case(case, config) -> GridFit:
    """How a case (model.cases.CaseInput) sits on a brain config's model grid (``grid.size``, ``grid.spacing_mm``)."""
    return plan_fit(case.body, case.mr_image.GetSpacing(), config.grid.size, config.grid.spacing_mm)
