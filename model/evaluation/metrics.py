"""The SynthRAD2023 image metrics, computed exactly as the challenge computed them.

All three take float32 arrays of the ground-truth CT, the sCT and the body mask
(binarised as ``mask > 0``); see ../shared/notes/metrics.md for the formulas.
"""
from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

DYNAMIC_RANGE = (-1024.0, 3000.0)
SSIM_BORDER = 3


SSIM_SLAB = 16  # z-slices of SSIM map computed at a time (memory: a slab, not the volume, in float64)


def mae(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error inside the mask, no clipping (summed in float64 over the mask's voxels)."""
    inside = mask > 0
    return float(np.abs(gt[inside].astype(np.float64) - pred[inside].astype(np.float64)).sum() / inside.sum())


def psnr(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """PSNR over the mask voxels, both images clipped to [-1024, 3000], data range 4024."""
    low, high = DYNAMIC_RANGE
    inside = mask > 0
    gt = np.clip(gt[inside], low, high)
    pred = np.clip(pred[inside], low, high)
    return float(peak_signal_noise_ratio(gt, pred, data_range=high - low))


def ssim(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """3-D SSIM (7-voxel window), averaged over mask voxels at least 3 voxels from the border.

    Computed in slabs of :data:`SSIM_SLAB` z-slices, each with the window's 3 slices of context on both sides:
    every voxel that is averaged has its whole window inside its slab, so its SSIM is the one of the whole
    volume (to float rounding), and the memory is a slab's, not the volume's."""
    low, high = DYNAMIC_RANGE
    b = SSIM_BORDER
    inside = mask > 0
    total, count = 0.0, 0
    for z0 in range(b, gt.shape[0] - b, SSIM_SLAB):
        z1 = min(z0 + SSIM_SLAB, gt.shape[0] - b)
        context = slice(z0 - b, z1 + b)
        m = inside[context]
        x = np.where(m, np.clip(gt[context], low, high), low) - low  # float32 for float32 inputs, as before
        y = np.where(m, np.clip(pred[context], low, high), low) - low
        _, ssim_map = structural_similarity(x, y, data_range=high - low, full=True)
        used = (slice(b, b + z1 - z0), slice(b, -b), slice(b, -b))
        values = ssim_map[used][m[used]]
        total += float(values.sum(dtype=np.float64))
        count += values.size
    return total / count if count else float("nan")


def image_metrics(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    gt = np.asarray(gt, dtype=np.float32)
    pred = np.asarray(pred, dtype=np.float32)
    mask = np.asarray(mask, dtype=np.float32)
    if not gt.shape == pred.shape == mask.shape:
        raise ValueError(f"shapes differ: ct {gt.shape}, sct {pred.shape}, mask {mask.shape}")
    return {"mae": mae(gt, pred, mask), "psnr": psnr(gt, pred, mask), "ssim": ssim(gt, pred, mask)}


def water_baseline(mask: np.ndarray) -> np.ndarray:
    """The bulk-water sCT: 0 HU everywhere inside the body, -1000 HU outside."""
    return np.where(mask > 0, 0.0, -1000.0).astype(np.float32)
