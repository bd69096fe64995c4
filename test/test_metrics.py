"""Each SynthRAD metric against values worked out by hand on small arrays."""
import math

import numpy as np
import pytest

from tools.metrics.image import image_metrics, mae, psnr, ssim, water_baseline

C1 = (0.01 * 4024) ** 2
C2 = (0.03 * 4024) ** 2


def test_mae_by_hand():
    gt = np.array([[0, 100], [200, 300]], np.float32)
    pred = np.array([[10, 100], [250, 0]], np.float32)
    mask = np.array([[1, 1], [1, 0]], np.float32)
    assert mae(gt, pred, mask) == pytest.approx((10 + 0 + 50) / 3)


def test_mae_is_not_clipped_and_mask_is_binarised():
    gt = np.array([5000.0, 0.0], np.float32)
    pred = np.array([-3000.0, 0.0], np.float32)
    assert mae(gt, pred, np.array([7.0, 0.0], np.float32)) == pytest.approx(8000.0)


def test_psnr_by_hand_with_clipping():
    gt = np.array([0, 100, 3500, 50], np.float32)  # 3500 clips to 3000
    pred = np.array([10, 100, -2000, 9999], np.float32)  # -2000 clips to -1024; last voxel is outside the mask
    mask = np.array([1, 1, 1, 0], np.float32)
    mse = (10**2 + 0 + 4024**2) / 3
    assert psnr(gt, pred, mask) == pytest.approx(10 * math.log10(4024**2 / mse), rel=1e-6)


def test_ssim_of_two_constant_images_by_hand():
    a, b = 0.0, 200.0  # HU; shifted by +1024 before SSIM
    gt = np.full((9, 9, 9), a, np.float32)
    pred = np.full((9, 9, 9), b, np.float32)
    x, y = a + 1024, b + 1024
    expected = (2 * x * y + C1) / (x**2 + y**2 + C1)  # zero variances: the contrast term is C2 / C2
    assert ssim(gt, pred, np.ones_like(gt)) == pytest.approx(expected, rel=1e-5)


def _ssim_by_windows(gt, pred, mask):
    """Direct evaluation of the SSIM formula on 7^3 windows (sample covariance), border 3 cropped."""
    low, high = -1024, 3000
    g = np.where(mask > 0, np.clip(gt, low, high), low).astype(np.float64) - low
    p = np.where(mask > 0, np.clip(pred, low, high), low).astype(np.float64) - low
    values = []
    for i, j, k in zip(*np.nonzero(mask[3:-3, 3:-3, 3:-3] > 0)):
        i, j, k = i + 3, j + 3, k + 3
        wg = g[i - 3:i + 4, j - 3:j + 4, k - 3:k + 4].ravel()
        wp = p[i - 3:i + 4, j - 3:j + 4, k - 3:k + 4].ravel()
        mg, mp = wg.mean(), wp.mean()
        vg, vp = wg.var(ddof=1), wp.var(ddof=1)
        cov = np.cov(wg, wp, ddof=1)[0, 1]
        values.append((2 * mg * mp + C1) * (2 * cov + C2) / ((mg**2 + mp**2 + C1) * (vg + vp + C2)))
    return float(np.mean(values))


def test_ssim_matches_the_formula_window_by_window():
    rng = np.random.default_rng(0)
    gt = rng.uniform(-1100, 3200, (11, 12, 13)).astype(np.float32)
    pred = (gt + rng.normal(0, 300, gt.shape)).astype(np.float32)
    mask = np.zeros_like(gt)
    mask[2:9, 3:10, 1:12] = 1  # voxels outside become -1024 in both images
    assert ssim(gt, pred, mask) == pytest.approx(_ssim_by_windows(gt, pred, mask), rel=1e-4)


def test_perfect_prediction_and_water_baseline():
    rng = np.random.default_rng(1)
    gt = rng.uniform(-1000, 1500, (10, 10, 10)).astype(np.float32)
    mask = np.ones_like(gt)
    perfect = image_metrics(gt, gt, mask)
    assert perfect["mae"] == 0 and perfect["ssim"] == pytest.approx(1.0) and math.isinf(perfect["psnr"])
    water = water_baseline(mask)
    assert mae(gt, water, mask) == pytest.approx(np.abs(gt).mean(), rel=1e-5)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="shapes differ"):
        image_metrics(np.zeros((8, 8, 8)), np.zeros((8, 8, 9)), np.ones((8, 8, 8)))
