"""The synthetic volumes the benchmarks (and the GPU check) run on: an elliptic body with random MR values."""
from __future__ import annotations

import numpy as np

from model.cases import CaseInput

LARGEST_PELVIS = (153, 410, 586)  # the largest SynthRAD2023 pelvis, (z, y, x) voxels


def synthetic_body(shape, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(MR, body) of the given (z, y, x) size: an elliptic body, random MR values inside."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = ((y - shape[1] / 2) / (0.45 * shape[1])) ** 2 + ((x - shape[2] / 2) / (0.47 * shape[2])) ** 2 <= 1
    body = np.broadcast_to(body, shape).copy()
    return np.random.default_rng(seed).uniform(0, 1000, shape).astype(np.float32) * body, body


def synthetic_case(shape, spacing=(1.0, 1.0, 2.5), seed: int = 0) -> CaseInput:
    import SimpleITK as sitk

    mr, body = synthetic_body(shape, seed)
    image = sitk.GetImageFromArray(mr)
    image.SetSpacing(spacing)
    return CaseInput(image, mr, body)
