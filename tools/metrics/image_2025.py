"""The SynthRAD2025 image metrics, as its public evaluation code computes them (our own implementation).

- MAE: as 2023 (inside the mask, no clipping).
- PSNR: both images clipped to [-1024, 3071], over the voxels inside the mask, data range 4095 (identical
  images give +inf, as the challenge's code does).
- MS-SSIM, masked, 3-D: both images clipped to [-1024, 3071], -1024 outside the mask, shifted by +1024; each
  axis shorter than 97 voxels edge-padded to 97 (half before, the rest after; the mask likewise). Five
  levels weighted 0.0448, 0.2856, 0.3001, 0.2363, 0.1333: at each, the luminance, contrast and structure
  maps of 7^3 box windows (sample covariance, K1 0.01, K2 0.03, C3 = C2 / 2), each clipped at 0 and raised to
  the level's weight - luminance at every level, as the challenge's code does - and multiplied; the level's
  value is the map's mean over mask voxels at least 3 voxels from every face. Between levels both images are
  averaged over 2 x 2 x 2 blocks, with a zero before the first voxel of each axis
  (``y[i] = (x[2i-1] + x[2i]) / 2`` per axis), and the mask subsampled ``[::2, ::2, ::2]``. The score is the
  product of the level values, each clipped to [0, 1].

Every level's map is computed in z-slabs (tools.metrics.common.masked_window_mean) in float64; the
images are held in float32, which holds every level's values exactly (integers after the shift, then
multiples of 1/8 per level, below 2^24 in all). See ../shared/notes/metrics.md.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter
from skimage.metrics import peak_signal_noise_ratio

from tools.metrics.common import SSIM_BORDER, mae, masked_window_mean

DYNAMIC_RANGE_2025 = (-1024.0, 3071.0)
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_MIN_SIZE = 97  # every axis is padded to this: five levels of halving leave a 7-voxel window
WINDOW = 2 * SSIM_BORDER + 1
K1, K2 = 0.01, 0.03


def psnr_2025(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    low, high = DYNAMIC_RANGE_2025
    inside = mask > 0
    return float(peak_signal_noise_ratio(np.clip(gt[inside], low, high), np.clip(pred[inside], low, high),
                                         data_range=high - low))


def _prepare(image: np.ndarray, inside: np.ndarray) -> np.ndarray:
    low, high = DYNAMIC_RANGE_2025
    return (np.where(inside, np.clip(image, low, high), low) - low).astype(np.float32)


def _pad_to_minimum(volume: np.ndarray) -> np.ndarray:
    pad = [(max(0, (MS_SSIM_MIN_SIZE - n) // 2), max(0, MS_SSIM_MIN_SIZE - n - (MS_SSIM_MIN_SIZE - n) // 2))
           for n in volume.shape]
    return np.pad(volume, pad, mode="edge")


def _downsample(volume: np.ndarray) -> np.ndarray:
    """The 2 x 2 x 2 mean with a zero before each axis's first voxel, every other voxel kept."""
    padded = np.pad(volume, [(1, 0)] * 3)
    size = [(n + 1) // 2 for n in volume.shape]
    total = np.zeros(size, dtype=np.float32)
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                total += padded[a:a + 2 * size[0]:2, b:b + 2 * size[1]:2, c:c + 2 * size[2]:2]
    return total / 8


def _lcs_map(weight: float):
    """The level's SSIM map, luminance x contrast x structure each raised to ``weight``, on float64 slabs."""
    c1, c2 = (K1 * (DYNAMIC_RANGE_2025[1] - DYNAMIC_RANGE_2025[0])) ** 2, (K2 * (DYNAMIC_RANGE_2025[1] - DYNAMIC_RANGE_2025[0])) ** 2
    c3 = c2 / 2
    cov_norm = WINDOW**3 / (WINDOW**3 - 1)  # sample covariance

    def lcs(x, y, _inside):
        x, y = x.astype(np.float64), y.astype(np.float64)
        mean = lambda a: uniform_filter(a, size=WINDOW, mode="reflect")  # noqa: E731 (the border never counts)
        ux, uy = mean(x), mean(y)
        vx, vy = cov_norm * (mean(x * x) - ux * ux), cov_norm * (mean(y * y) - uy * uy)
        vxy = cov_norm * (mean(x * y) - ux * uy)
        sx, sy = np.sqrt(np.clip(vx, 0, None)), np.sqrt(np.clip(vy, 0, None))
        luminance = np.clip((2 * ux * uy + c1) / (ux * ux + uy * uy + c1), 0, None)
        contrast = np.clip((2 * sx * sy + c2) / (vx + vy + c2), 0, None)
        structure = np.clip((vxy + c3) / (sx * sy + c3), 0, None)
        return luminance**weight * contrast**weight * structure**weight

    return lcs


def ms_ssim(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray, weights=MS_SSIM_WEIGHTS) -> float:
    """Masked 3-D MS-SSIM as SynthRAD2025 scores it (see the module's docstring)."""
    inside = mask > 0
    x, y = _pad_to_minimum(_prepare(gt, inside)), _pad_to_minimum(_prepare(pred, inside))
    inside = _pad_to_minimum(inside)
    score = 1.0
    for level, weight in enumerate(weights):
        value = masked_window_mean((x, y), inside, _lcs_map(weight))
        score *= float(np.clip(value, 0.0, 1.0))
        if level + 1 < len(weights):
            x, y, inside = _downsample(x), _downsample(y), inside[::2, ::2, ::2]
    return score


def image_metrics_2025(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    return {"mae": mae(gt, pred, mask), "psnr": psnr_2025(gt, pred, mask), "ms_ssim": ms_ssim(gt, pred, mask)}
