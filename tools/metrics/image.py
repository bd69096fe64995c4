"""The SynthRAD2023 image metrics, computed exactly as the challenge computed them (SynthRAD2025's:
tools.metrics.image_2025; :func:`image_metrics` gives either).

All three take float32 arrays of the ground-truth CT, the sCT and the body mask
(binarised as ``mask > 0``); see ../shared/notes/metrics.md for the formulas.
"""
from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from tools.metrics.common import mae, masked_window_mean, water_baseline  # noqa: F401  (part of this module's face)
from tools.metrics.image_2025 import image_metrics_2025

DYNAMIC_RANGE = (-1024.0, 3000.0)


def psnr(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """PSNR over the mask voxels, both images clipped to [-1024, 3000], data range 4024."""
    low, high = DYNAMIC_RANGE
    inside = mask > 0
    gt = np.clip(gt[inside], low, high)
    pred = np.clip(pred[inside], low, high)
    return float(peak_signal_noise_ratio(gt, pred, data_range=high - low))


def ssim(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    """3-D SSIM (7-voxel window), averaged over mask voxels at least 3 voxels from the border (in slabs:
    :func:`masked_window_mean`)."""
    low, high = DYNAMIC_RANGE

    def ssim_map(g, p, m):
        x = np.where(m, np.clip(g, low, high), low) - low  # float32 for float32 inputs, as before
        y = np.where(m, np.clip(p, low, high), low) - low
        return structural_similarity(x, y, data_range=high - low, full=True)[1]

    return masked_window_mean((gt, pred), mask > 0, ssim_map)


def image_metrics(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray, challenge: str = "2023") -> dict[str, float]:
    """The image metrics of one case as ``challenge`` scored them: SynthRAD2023 (mae, psnr, ssim) or SynthRAD2025
    (mae, psnr, ms_ssim: tools.metrics.image_2025)."""
    gt = np.asarray(gt, dtype=np.float32)
    pred = np.asarray(pred, dtype=np.float32)
    mask = np.asarray(mask, dtype=np.float32)
    if not gt.shape == pred.shape == mask.shape:
        raise ValueError(f"shapes differ: ct {gt.shape}, sct {pred.shape}, mask {mask.shape}")
    if challenge == "2025":
        return image_metrics_2025(gt, pred, mask)
    if challenge != "2023":
        raise ValueError(f"challenge {challenge!r}: expected one of {', '.join(CHALLENGES)}")
    return {"mae": mae(gt, pred, mask), "psnr": psnr(gt, pred, mask), "ssim": ssim(gt, pred, mask)}


# The metrics each challenge reports, in table order.
CHALLENGES = {"2023": ("mae", "psnr", "ssim"), "2025": ("mae", "psnr", "ms_ssim")}
