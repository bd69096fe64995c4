"""Sliding-window inference: blending, geometry of the output, and the GPU window-batch choice."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model.config import SlidingWindow
from model.errors import NonFiniteOutput
from model.pipelines.sliding import GIB, choose_window_batch, predict_volume, window_plan
from model.precision import InferencePrecision

FP16 = InferencePrecision("cuda", torch.float16)


def test_identity_network_is_reproduced_exactly_over_windows():
    volume = np.random.default_rng(0).uniform(-1, 1, (13, 40, 50)).astype(np.float32)
    out = predict_volume(torch.nn.Identity(), volume, SlidingWindow(roi_size=(8, 16, 16), overlap=0.5, sw_batch_size=3), torch.device("cpu"))
    assert out.shape == volume.shape
    np.testing.assert_allclose(out, volume, atol=1e-5)


def test_volume_smaller_than_the_window_is_padded_and_cropped_back():
    volume = np.zeros((5, 6, 7), np.float32)
    out = predict_volume(torch.nn.Identity(), volume, SlidingWindow(roi_size=(8, 16, 16)), torch.device("cpu"))
    assert out.shape == (5, 6, 7) and np.abs(out).max() < 1e-6


def test_non_finite_network_output_is_refused():
    class Broken(torch.nn.Module):
        def forward(self, x):
            return x * float("nan")

    with pytest.raises(NonFiniteOutput, match="NaN or Inf"):
        predict_volume(Broken(), np.zeros((8, 16, 16), np.float32), SlidingWindow(roi_size=(8, 16, 16)), torch.device("cpu"))


def test_window_batch_fits_the_budget():
    # 16 GB T4 budget, 1 GiB per window, 0.5 GiB of weights -> floor((16 * 0.8 - 0.5) / 1) = 12
    assert choose_window_batch(1 * GIB, GIB // 2, 16 * GIB, max_batch=64) == 12
    assert choose_window_batch(1 * GIB, GIB // 2, 16 * GIB, max_batch=4) == 4
    assert choose_window_batch(40 * GIB, 0, 16 * GIB, max_batch=4) == 1  # never below one window


def test_cpu_uses_the_configured_batch_and_cuda_measures_a_window():
    config = SlidingWindow(roi_size=(8, 8, 8), sw_batch_size=3, gpu_memory_budget_gb=16, max_sw_batch_size=32)
    assert window_plan(None, (8, 8, 8), torch.device("cpu"), InferencePrecision("cpu", torch.float32), config)[0] == 3

    def fake_measure(net, roi, device, precision):  # test double: there is no GPU on the CI machine
        return 2 * GIB, GIB, 80 * GIB  # per window, model, free on the device

    # floor((16 GiB * 0.8 - 1 GiB) / 2 GiB) = 5
    assert window_plan(None, (8, 8, 8), torch.device("cuda"), FP16, config, measure=fake_measure)[0] == 5

    def small_gpu(net, roi, device, precision):
        return 2 * GIB, GIB, 6 * GIB  # a GPU with less free memory than the budget

    # floor((6 GiB * 0.8 - 1 GiB) / 2 GiB) = 1
    assert window_plan(None, (8, 8, 8), torch.device("cuda"), FP16, config, measure=small_gpu)[0] == 1
