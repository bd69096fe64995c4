"""One case as every part of the code sees it: the MR image (its geometry), its voxels and the body mask.

The container job, the training data and the evaluation tools all read a case
through :func:`read_case`, so a case that trains is checked exactly as one that
is served. Importing this module needs no SimpleITK (the GPU check builds
cases from ``tools.gpu_check.metaio``); reading does.
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
