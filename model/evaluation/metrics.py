"""The SynthRAD2023 image metrics, computed exactly as the challenge computed them.

All three take float32 arrays of the ground-truth CT, the sCT and the body mask
(binarised as ``mask > 0``); see ../shared/notes/metrics.md for the formulas.
"""
from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

DYNAMIC_RANGE = (-1024.0, 3000.0)
SSIM_BORDER = 3


def _binary(mask: np.ndarray) -> np.ndarray:
    return np.where(mask > 0, 1.0, 0.0)


def mae(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error inside the mask, no clipping."""
    m = _binary(mask)
    return float(np.sum(np.abs(gt * m - pred * m)) / m.sum())


def psnr(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """PSNR over the mask voxels, both images clipped to [-1024, 3000], data range 4024."""
    low, high = DYNAMIC_RANGE
    inside = _binary(mask) == 1
    gt = np.clip(gt, low, high)[inside]
    pred = np.clip(pred, low, high)[inside]
    return float(peak_signal_noise_ratio(gt, pred, data_range=high - low))


def ssim(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """3-D SSIM (7-voxel window), averaged over mask voxels at least 3 voxels from the border."""
    low, high = DYNAMIC_RANGE
    m = _binary(mask)
    gt = np.where(m == 0, low, np.clip(gt, low, high)) - low
    pred = np.where(m == 0, low, np.clip(pred, low, high)) - low
    _, ssim_map = structural_similarity(gt, pred, data_range=high - low, full=True)
    b = SSIM_BORDER
    inner = (slice(b, -b),) * gt.ndim
    return float(ssim_map[inner][m[inner].astype(bool)].mean(dtype=np.float64))


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
