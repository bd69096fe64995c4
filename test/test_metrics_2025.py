"""The SynthRAD2025 image metrics (tools.metrics.image_2025) against values worked out by hand and the
formula evaluated window by window on small arrays."""
import math

import numpy as np
import pytest

from tools.metrics.image import image_metrics
from tools.metrics.image_2025 import MS_SSIM_WEIGHTS, _downsample, _lcs_map, ms_ssim, psnr_2025

R = 4095.0
C1, C2 = (0.01 * R) ** 2, (0.03 * R) ** 2


def test_psnr_by_hand_clips_to_3071():
    gt = np.array([0, 100, 3500, 50], np.float32)  # 3500 clips to 3071
    pred = np.array([10, 100, -2000, 9999], np.float32)  # -2000 clips to -1024; the last voxel is outside
    mask = np.array([1, 1, 1, 0], np.float32)
    mse = (10**2 + 0 + 4095**2) / 3
    assert psnr_2025(gt, pred, mask) == pytest.approx(10 * math.log10(4095**2 / mse), rel=1e-9)


def test_one_level_of_two_constant_images_is_the_luminance_term():
    a, b = 0.0, 200.0  # HU; shifted by +1024, edge-padded to 97^3: constant everywhere
    gt, pred = np.full((9, 9, 9), a, np.float32), np.full((9, 9, 9), b, np.float32)
    x, y = a + 1024, b + 1024
    expected = (2 * x * y + C1) / (x**2 + y**2 + C1)  # zero variances: contrast C2 / C2, structure C3 / C3
    assert ms_ssim(gt, pred, np.ones_like(gt), weights=(1.0,)) == pytest.approx(expected, rel=1e-12)
    # each term raised to the level's weight: the luminance's, the only one below 1 here
    assert ms_ssim(gt, pred, np.ones_like(gt), weights=(0.5,)) == pytest.approx(expected**0.5, rel=1e-12)


def test_identical_images_score_one_and_infinite_psnr():
    rng = np.random.default_rng(0)
    gt = rng.uniform(-1100, 3200, (12, 14, 10)).astype(np.float32)
    mask = np.zeros_like(gt)
    mask[2:10, 3:12, 1:9] = 1
    result = image_metrics(gt, gt, mask, challenge="2025")
    assert result["mae"] == 0 and result["psnr"] == math.inf and result["ms_ssim"] == pytest.approx(1.0, abs=1e-12)


def test_downsampling_averages_each_block_with_a_zero_before_the_first_voxel():
    x = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    padded = np.pad(x.astype(np.float64), [(1, 0)] * 3)
    out = _downsample(x)
    assert out.shape == (2, 2, 3)
    for i, j, k in np.ndindex(out.shape):  # y[i] = (x[2i-1] + x[2i]) / 2 along each axis, x[-1] = 0
        block = padded[2 * i:2 * i + 2, 2 * j:2 * j + 2, 2 * k:2 * k + 2]
        assert out[i, j, k] == block.mean()


def _level_by_windows(x, y, inside, weight):
    """One level's value from the formula on every 7^3 window (sample covariance), border 3 cropped."""
    values = []
    for i, j, k in zip(*np.nonzero(inside[3:-3, 3:-3, 3:-3])):
        wx = x[i:i + 7, j:j + 7, k:k + 7].astype(np.float64).ravel()
        wy = y[i:i + 7, j:j + 7, k:k + 7].astype(np.float64).ravel()
        mx, my, vx, vy = wx.mean(), wy.mean(), wx.var(ddof=1), wy.var(ddof=1)
        cov = np.cov(wx, wy, ddof=1)[0, 1]
        luminance = (2 * mx * my + C1) / (mx**2 + my**2 + C1)
        contrast = (2 * math.sqrt(vx * vy) + C2) / (vx + vy + C2)
        structure = (cov + C2 / 2) / (math.sqrt(vx * vy) + C2 / 2)
        values.append(max(luminance, 0) ** weight * max(contrast, 0) ** weight * max(structure, 0) ** weight)
    return float(np.mean(values))


def test_a_level_matches_the_formula_window_by_window():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 4095, (11, 12, 13)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 600, x.shape), 0, 4095).astype(np.float32)
    inside = np.zeros(x.shape, bool)
    inside[2:9, 3:11, 1:12] = True
    from tools.metrics.common import masked_window_mean

    for weight in (1.0, MS_SSIM_WEIGHTS[1]):
        assert masked_window_mean((x, y), inside, _lcs_map(weight)) == pytest.approx(
            _level_by_windows(x, y, inside, weight), rel=1e-9)


def test_two_levels_multiply_the_first_level_and_the_downsampled_second():
    """The chain: pad to 97, level 0, downsample images (2x2x2 mean) and mask (every other voxel), level 1."""
    rng = np.random.default_rng(3)
    shape = (97, 97, 97)  # no padding
    gt = rng.uniform(-1024, 3071, shape).astype(np.float32)
    pred = np.clip(gt + rng.normal(0, 400, shape), -1024, 3071).astype(np.float32)
    mask = np.ones(shape, np.float32)
    x, y = gt + 1024, pred + 1024
    inside = np.ones(shape, bool)
    first = _level_by_windows(x[:12, :12, :12], y[:12, :12, :12], inside[:12, :12, :12], 0.3)  # a corner, by hand
    from tools.metrics.common import masked_window_mean

    corner = masked_window_mean((x[:12, :12, :12], y[:12, :12, :12]), inside[:12, :12, :12], _lcs_map(0.3))
    assert corner == pytest.approx(first, rel=1e-9)
    level0 = masked_window_mean((x, y), inside, _lcs_map(0.3))
    level1 = masked_window_mean((_downsample(x), _downsample(y)), inside[::2, ::2, ::2], _lcs_map(0.7))
    assert ms_ssim(gt, pred, mask, weights=(0.3, 0.7)) == pytest.approx(level0 * level1, rel=1e-12)


def test_outside_the_mask_does_not_count_and_2023_stays_the_default():
    rng = np.random.default_rng(4)
    gt = rng.uniform(-1000, 2000, (20, 22, 24)).astype(np.float32)
    pred = (gt + rng.normal(0, 100, gt.shape)).astype(np.float32)
    mask = np.zeros_like(gt)
    mask[3:17, 4:18, 5:19] = 1
    wild = pred.copy()
    wild[mask == 0] = 5000.0  # anything outside the body
    assert image_metrics(gt, wild, mask, "2025") == image_metrics(gt, pred, mask, "2025")
    assert set(image_metrics(gt, pred, mask)) == {"mae", "psnr", "ssim"}
    with pytest.raises(ValueError, match="challenge '2024'"):
        image_metrics(gt, pred, mask, "2024")
