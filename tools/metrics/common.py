"""What both challenges' image metrics share: the MAE, the masked mean of a windowed map, the bulk-water sCT.

A leaf: the SynthRAD2023 metrics (tools.metrics.image) and the SynthRAD2025 ones (tools.metrics.image_2025)
both build on it.
"""
from __future__ import annotations

import numpy as np

SSIM_BORDER = 3
SSIM_SLAB = 16  # z-slices of SSIM map computed at a time (memory: a slab, not the volume, in float64)


def mae(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error inside the mask, no clipping (summed in float64 over the mask's voxels)."""
    inside = mask > 0
    return float(np.abs(gt[inside].astype(np.float64) - pred[inside].astype(np.float64)).sum() / inside.sum())


def masked_window_mean(arrays: tuple[np.ndarray, ...], inside: np.ndarray, map_fn, border: int = SSIM_BORDER) -> float:
    """The mean of ``map_fn(*slabs, inside_slab)`` (a map the shape of its slab) over the voxels inside the mask
    and at least ``border`` voxels from every face, in float64.

    Computed in slabs of :data:`SSIM_SLAB` z-slices, each with ``border`` slices of context on both sides: for
    a map of ``2 * border + 1`` voxel windows, every voxel that is averaged has its whole window inside its
    slab, so its value is the whole volume's (to float rounding), and the memory is a slab's, not the
    volume's. NaN when no voxel qualifies."""
    b = border
    total, count = 0.0, 0
    for z0 in range(b, inside.shape[0] - b, SSIM_SLAB):
        z1 = min(z0 + SSIM_SLAB, inside.shape[0] - b)
        context = slice(z0 - b, z1 + b)
        m = inside[context]
        result = map_fn(*(a[context] for a in arrays), m)
        used = (slice(b, b + z1 - z0), slice(b, -b), slice(b, -b))
        values = result[used][m[used]]
        total += float(values.sum(dtype=np.float64))
        count += values.size
    return total / count if count else float("nan")


def water_baseline(mask: np.ndarray) -> np.ndarray:
    """The bulk-water sCT: 0 HU everywhere inside the body, -1000 HU outside."""
    return np.where(mask > 0, 0.0, -1000.0).astype(np.float32)
