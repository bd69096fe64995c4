"""Whole-volume inference with MONAI sliding windows, and what every windowed stage shares on a GPU.

Windows run on the compute device (in the precision policy's dtype). On CUDA the
window batch is chosen from a GPU memory budget, and the blended output is
stitched on the GPU when it fits that budget too (else on the CPU, so GPU memory
does not grow with the volume). A CUDA out-of-memory error halves the window batch
and retries; with one window left, the stage runs on the CPU (:func:`run_windows`,
used by the Pix2Pix windows and the autoencoder's windows alike). Windows are
blended in the same order whatever the batch, so the batch (which depends on free
memory) changes the output by float rounding only.
"""
from __future__ import annotations

import logging
from typing import Callable, TypeVar

import numpy as np
import torch
from monai.inferers import sliding_window_inference
from torch import nn

from model.budget import TimeBudget, WindowPace, synchronized_clock, window_count
from model.config import SlidingWindow
from model.errors import NonFiniteOutput
from model.precision import InferencePrecision, inference_precision

log = logging.getLogger(__name__)

GIB = 1024**3
# Keep this share of the budget free for the CUDA context, allocator slack and fragmentation.
BUDGET_HEADROOM = 0.8
# Stitching on the device holds the blended output and the weight map: float32 each.
STITCH_BYTES_PER_VOXEL = 8
CPU = torch.device("cpu")
T = TypeVar("T")


def choose_window_batch(window_bytes: int, fixed_bytes: int, budget_bytes: int, max_batch: int) -> int:
    """The largest window batch whose estimated peak fits the budget (at least 1)."""
    usable = budget_bytes * BUDGET_HEADROOM - fixed_bytes
    if window_bytes <= 0:
        return max_batch
    return int(max(1, min(max_batch, usable // window_bytes)))


def measure_window_bytes(net: nn.Module, roi_size, device: torch.device,
                         precision: InferencePrecision) -> tuple[int, int, int]:
    """Run one window: (its peak CUDA memory beyond the model's, the model's, what this process may use)."""
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    fixed = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    window = torch.full((1, 1, *roi_size), -1.0, device=device)
    with torch.inference_mode(), precision.autocast():
        net(window)
    torch.cuda.synchronize(device)
    per_window = torch.cuda.max_memory_allocated(device) - fixed
    available = torch.cuda.mem_get_info(device)[0] + torch.cuda.memory_allocated(device)
    return per_window, fixed, available


def window_plan(net: nn.Module, roi_size, device: torch.device, precision: InferencePrecision, config: SlidingWindow,
                voxels: int = 0, measure: Callable = measure_window_bytes) -> tuple[int, torch.device]:
    """(window batch, stitching device): the config's batch and the CPU on the CPU; on CUDA as many windows
    as the memory budget allows, stitched on the GPU when the output of ``voxels`` fits beside them."""
    max_batch = config.sw_batch_size
    if device.type != "cuda":
        return max_batch, CPU
    per_window, fixed, available = measure(net, roi_size, device, precision)
    budget = int(min(config.gpu_memory_budget_gb * GIB, available))  # never more than the device has
    stitch = STITCH_BYTES_PER_VOXEL * voxels
    on_device = fixed + per_window + stitch <= budget * BUDGET_HEADROOM
    batch = choose_window_batch(per_window, fixed + (stitch if on_device else 0), budget,
                                config.max_sw_batch_size)
    log.info("GPU budget %.1f GiB, %.2f GiB per window -> window batch %d, stitching on the %s", budget / GIB,
             per_window / GIB, batch, "GPU" if on_device else "CPU")
    return batch, device if on_device else CPU


def _free_cuda_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def device_of(net: nn.Module) -> torch.device:
    """Where a network's parameters are (the CPU for one without any)."""
    return next(net.parameters(), torch.empty(0)).device


def run_windows(net: nn.Module, attempt: Callable[[int, torch.device], T], batch: int, device: torch.device,
                what: str) -> T:
    """``attempt(batch, device)`` with ``net`` on ``device``. On CUDA out of memory: the batch halves and the
    attempt is repeated; with one window left the stage runs on the CPU; out of memory there too is raised.
    Each step is logged; ``net`` goes back to the device it came from afterwards."""
    home = device_of(net)
    try:
        while True:
            net.to(device)
            try:
                return attempt(batch, device)
            except torch.cuda.OutOfMemoryError:
                if batch == 1 and device.type == "cpu":
                    raise
                _free_cuda_cache()
                if batch > 1:
                    log.warning("%s: CUDA out of memory with %d windows at a time: retrying with %d", what, batch, batch // 2)
                    batch //= 2
                else:
                    log.warning("%s: CUDA out of memory with one window at a time: running this stage on the CPU", what)
                    device = CPU
    finally:
        net.to(home)


def predict_volume(net: nn.Module, volume: np.ndarray, config: SlidingWindow, device: torch.device,
                   background: float = -1.0, precision: InferencePrecision | None = None,
                   budget: TimeBudget | None = None, passes: int = 1) -> np.ndarray:
    """Run ``net`` over a (z, y, x) float32 volume; returns the blended (z, y, x) output on the CPU.

    ``config`` is the model's ``inference`` section (:class:`model.config.SlidingWindow`): ``roi_size`` (z, y, x),
    ``overlap``, ``sw_batch_size`` and, for CUDA, ``gpu_memory_budget_gb`` and ``max_sw_batch_size``. A non-finite
    output raises :class:`NonFiniteOutput` (the pipeline may retry in float32). With a ``budget``, the first
    window batch is timed and the log says whether the whole volume fits it (model.budget), ``passes`` times over
    (test-time flips run the volume once per mirroring).
    """
    roi_size = config.roi_size
    if precision is None:
        precision = inference_precision(device, config.amp)
    inputs = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[None, None]
    net.to(device)
    batch, stitch = window_plan(net, roi_size, device, precision, config, int(np.prod(volume.shape)))
    overlap = config.overlap
    pace = WindowPace(budget, window_count(volume.shape, roi_size, overlap) * passes, synchronized_clock(device))

    def attempt(batch: int, on: torch.device) -> torch.Tensor:
        def predictor(window: torch.Tensor) -> torch.Tensor:
            pace.before_batch()
            with precision.autocast():
                out = net(window).float()
            pace.after_batch(len(window))
            return out

        with torch.inference_mode():
            out = sliding_window_inference(inputs, roi_size=roi_size, sw_batch_size=batch, predictor=predictor,
                                           overlap=overlap, mode="gaussian",
                                           padding_mode="constant", cval=background, sw_device=on,
                                           device=stitch if on.type == "cuda" else CPU)
        return out[0, 0].cpu()

    result = run_windows(net, attempt, batch, device, "sliding windows").numpy()
    if not np.isfinite(result).all():
        raise NonFiniteOutput(f"the network produced {int((~np.isfinite(result)).sum())} NaN or Inf values")
    return result
