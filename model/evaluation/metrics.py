"""The SynthRAD2023 image metrics, computed exactly as the challenge computed them (SynthRAD2025's:
model.evaluation.metrics_2025; :func:`image_metrics` gives either).

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
    (mae, psnr, ms_ssim: model.evaluation.metrics_2025)."""
    gt = np.asarray(gt, dtype=np.float32)
    pred = np.asarray(pred, dtype=np.float32)
    mask = np.asarray(mask, dtype=np.float32)
    if not gt.shape == pred.shape == mask.shape:
        raise ValueError(f"shapes differ: ct {gt.shape}, sct {pred.shape}, mask {mask.shape}")
    if challenge == "2025":
        from model.evaluation.metrics_2025 import image_metrics_2025

        return image_metrics_2025(gt, pred, mask)
    if challenge != "2023":
        raise ValueError(f"challenge {challenge!r}: expected one of {', '.join(CHALLENGES)}")
    return {"mae": mae(gt, pred, mask), "psnr": psnr(gt, pred, mask), "ssim": ssim(gt, pred, mask)}


# The metrics each challenge reports, in table order.
CHALLENGES = {"2023": ("mae", "psnr", "ssim"), "2025": ("mae", "psnr", "ms_ssim")}


def water_baseline(mask: np.ndarray) -> np.ndarray:
    """The bulk-water sCT: 0 HU everywhere inside the body, -1000 HU outside."""
    return np.where(mask > 0, 0.0, -1000.0).astype(np.float32)
