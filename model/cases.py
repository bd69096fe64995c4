"""One case as every part of the code sees it: the MR image (its geometry), its voxels and the body mask.

The container job, the training data and the evaluation tools all read a case
through :func:`read_case`, so a case that trains is checked exactly as one that
is served. Importing this module needs no SimpleITK (the GPU check builds
cases from ``model.metaio``); reading does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import SimpleITK as sitk


@dataclass
class CaseInput:
    """One case as the pipelines see it: the MR image (geometry), its voxels and the body."""

    mr_image: "sitk.Image"  # or anything with SimpleITK's GetSpacing(), GetOrigin(), GetDirection()
    mr: np.ndarray  # float32 (z, y, x)
    body: np.ndarray  # bool (z, y, x)


AXES = {"z": 0, "y": 1, "x": 2}  # a config's axis names -> array axes (z, y, x)


def mirrorings(axes) -> list[tuple[int, ...]]:
    """Every combination of mirroring along ``axes`` (names of :data:`AXES`; test-time flips, as nnU-Net
    mirrors), the unmirrored first: ["x"] -> [(), (2,)]; [] -> [()]."""
    chosen = sorted({AXES[a] for a in axes})
    return [tuple(a for i, a in enumerate(chosen) if mask >> i & 1) for mask in range(2 ** len(chosen))]


def mirrored(case: "CaseInput", axes: tuple[int, ...]) -> "CaseInput":
    """``case`` with its voxels and body mirrored along array ``axes`` (the same header: only the pipelines see
    it, and their output is mirrored back with :func:`unmirror`); itself for no axes."""
    if not axes:
        return case
    return CaseInput(case.mr_image, np.ascontiguousarray(np.flip(case.mr, axes)),
                     np.ascontiguousarray(np.flip(case.body, axes)))


def unmirror(volume: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(np.flip(volume, axes)) if axes else volume


@dataclass(frozen=True)
class CasePaths:
    mr: Path
    mask: Path


def read_case(paths: CasePaths) -> CaseInput:
    """Read and check one case: 3-D, finite, mask on the MR's grid and not empty."""
    from model.imageio import check_finite, check_mask, read_image, read_on_grid, to_array

    mr_image = read_image(paths.mr)
    mask_image = read_on_grid(paths.mask, mr_image)
    mr = to_array(mr_image)
    check_finite(mr, paths.mr)
    body = check_mask(to_array(mask_image), paths.mask)
    return CaseInput(mr_image, mr, body)
