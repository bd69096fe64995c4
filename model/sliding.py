"""Whole-volume inference with MONAI sliding windows.

Windows run on the compute device (fp16 autocast on CUDA), Gaussian-weighted
blending and stitching happen on the CPU, so GPU memory does not grow with the
volume. On CUDA the window batch is chosen from a GPU memory budget.
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import torch
from monai.inferers import sliding_window_inference
from torch import nn

log = logging.getLogger(__name__)

GIB = 1024**3
# Keep this share of the budget free for the CUDA context, allocator slack and fragmentation.
BUDGET_HEADROOM = 0.8


def choose_window_batch(window_bytes: int, fixed_bytes: int, budget_bytes: int, max_batch: int) -> int:
    """The largest window batch whose estimated peak fits the budget (at least 1)."""
    usable = budget_bytes * BUDGET_HEADROOM - fixed_bytes
    if window_bytes <= 0:
        return max_batch
    return int(max(1, min(max_batch, usable // window_bytes)))


def measure_window_bytes(net: nn.Module, roi_size, device: torch.device, amp: bool) -> tuple[int, int, int]:
    """Run one window: (its peak CUDA memory beyond the model's, the model's, what this process may use)."""
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    fixed = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    window = torch.full((1, 1, *roi_size), -1.0, device=device)
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=amp):
        net(window)
    torch.cuda.synchronize(device)
    per_window = torch.cuda.max_memory_allocated(device) - fixed
    available = torch.cuda.mem_get_info(device)[0] + torch.cuda.memory_allocated(device)
    return per_window, fixed, available


def window_batch_for(net: nn.Module, roi_size, device: torch.device, amp: bool, config: dict,
                     measure: Callable = measure_window_bytes) -> int:
    """Window batch: the config's on the CPU; on CUDA, as many as the memory budget allows."""
    max_batch = int(config.get("sw_batch_size", 1))
    if device.type != "cuda":
        return max_batch
    per_window, fixed, available = measure(net, roi_size, device, amp)
    budget = min(float(config.get("gpu_memory_budget_gb", 14.0)) * GIB, available)  # never more than the device has
    batch = choose_window_batch(per_window, fixed, int(budget), int(config.get("max_sw_batch_size", 16)))
    log.info("GPU budget %.1f GiB, %.2f GiB per window -> window batch %d", budget / GIB, per_window / GIB, batch)
    return batch


def predict_volume(net: nn.Module, volume: np.ndarray, config: dict, device: torch.device,
                   background: float = -1.0) -> np.ndarray:
    """Run ``net`` over a (z, y, x) float32 volume; returns the blended (z, y, x) output on the CPU.

    ``config`` is the model's ``inference`` section: ``roi_size`` (z, y, x),
    ``overlap``, ``sw_batch_size`` and, for CUDA, ``gpu_memory_budget_gb`` and ``amp``.
    """
    roi_size = tuple(int(v) for v in config["roi_size"])
    amp = bool(config.get("amp", True)) and device.type == "cuda"
    batch = window_batch_for(net, roi_size, device, amp, config)
    inputs = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[None, None]

    def predictor(window: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            return net(window).float()

    with torch.inference_mode():
        out = sliding_window_inference(
            inputs,
            roi_size=roi_size,
            sw_batch_size=batch,
            predictor=predictor,
            overlap=float(config.get("overlap", 0.25)),
            mode="gaussian",
            padding_mode="constant",
            cval=background,
            sw_device=device,
            device=torch.device("cpu"),
        )
    result = out[0, 0].numpy()
    if not np.isfinite(result).all():
        raise RuntimeError("the network produced NaN or Inf values")
    return result
