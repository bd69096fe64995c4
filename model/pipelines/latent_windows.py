"""The brain's autoencoder applied in windows, and latents back to HU on the MR's voxels.

The autoencoder is trained on patches and its GroupNorm statistics depend on the
window it sees, so it always encodes and decodes in windows of its training
patch size (Gaussian-blended), never the whole grid at once (see
model.networks.latent). The brain pipeline samples with it, and the brain
training stages validate through it, so both see the same code.
"""
from __future__ import annotations

import numpy as np
import torch
from monai.inferers import sliding_window_inference

from model.budget import synchronized_clock, window_count
from model.config import LatentDiffusionConfig
from model.errors import NonFiniteOutput, WeightsError
from model.networks.latent import autoencoder_factor
from model.pipelines.sliding import device_of, run_windows
from model.preprocessing.headgrid import GridFit, from_grid
from model.preprocessing.intensity import unit_to_ct


def autoencoder_batch(config: LatentDiffusionConfig, device: torch.device) -> int:
    """Windows encoded or decoded at a time: ``inference.autoencoder_sw_batch_size``, else 1 on the CPU (as the
    expected outputs were made) and 4 on CUDA (halved on out of memory; the output changes by float rounding only)."""
    default = 4 if device.type == "cuda" else 1
    configured = config.inference.autoencoder_sw_batch_size
    return default if configured is None else configured


def _autoencoder_windows(autoencoder, image: torch.Tensor, window, run, config: LatentDiffusionConfig) -> torch.Tensor:
    """``run`` over ``image`` in Gaussian-blended windows on the autoencoder's device, stitched there, in float32
    (never float16: see model.precision); CUDA out of memory halves the batch, then falls back to the CPU."""
    device = device_of(autoencoder)

    def attempt(batch: int, on: torch.device) -> torch.Tensor:
        with torch.autocast(on.type, enabled=False):
            return sliding_window_inference(image.to(on).float(), window, batch, run, overlap=config.inference.autoencoder_overlap,
                                            mode="gaussian")

    return run_windows(autoencoder, attempt, autoencoder_batch(config, device), device, "autoencoder windows")


def encode_windows(autoencoder, image: torch.Tensor, config: LatentDiffusionConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, sigma) of a whole image, encoded window by window."""
    def both(x):
        mu, sigma = autoencoder.encode(x)
        return torch.cat([mu, sigma], 1)

    return _autoencoder_windows(autoencoder, image, config.autoencoder_window, both, config).chunk(2, dim=1)


def encode_grid(autoencoder, ct_grid: np.ndarray, config: LatentDiffusionConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, sigma) of a CT on the model grid ([-1, 1], a numpy volume), encoded in windows on the autoencoder's device."""
    return encode_windows(autoencoder, torch.from_numpy(np.ascontiguousarray(ct_grid))[None, None], config)


def decode_windows(autoencoder, latent: torch.Tensor, config: LatentDiffusionConfig) -> torch.Tensor:
    """The image of a whole latent, decoded window by window (latent windows = image window / factor)."""
    f = autoencoder_factor(config)
    window = tuple(w // f for w in config.autoencoder_window)
    return _autoencoder_windows(autoencoder, latent, window, autoencoder.decode, config)


def decode_window_count(config: LatentDiffusionConfig) -> int:
    """Autoencoder windows that decode one latent of the model grid."""
    return window_count(config.grid.size, config.autoencoder_window, config.inference.autoencoder_overlap)


@torch.no_grad()
def decode_seconds(autoencoder, config: LatentDiffusionConfig) -> float:
    """An estimate of decoding one latent: one window decoded (float32, on the autoencoder's device) and timed,
    times the windows a latent needs. Costs one window; a time budget plans with it (model.budget)."""
    device = device_of(autoencoder)
    f = autoencoder_factor(config)
    window = (1, config.networks.autoencoder.latent_channels, *(w // f for w in config.autoencoder_window))
    clock = synchronized_clock(device)
    with torch.autocast(device.type, enabled=False):
        z = torch.zeros(window, device=device)
        start = clock()
        autoencoder.decode(z)
        seconds = clock() - start
    return seconds * decode_window_count(config)


def latent_to_hu(autoencoder, latent: torch.Tensor, fit: GridFit, config: LatentDiffusionConfig) -> np.ndarray:
    """An (unscaled) latent decoded in autoencoder windows, clamped to [-1, 1], mapped back onto the MR's
    voxels, in HU: the last step of sampling, and of the brain stages' validations."""
    decoded = decode_windows(autoencoder, latent, config).float()
    if not torch.isfinite(decoded).all():
        raise NonFiniteOutput(f"the decoded CT has {int((~torch.isfinite(decoded)).sum())} NaN or Inf values")
    unit = decoded.clamp(-1, 1)[0, 0].cpu().numpy()
    return unit_to_ct(from_grid(unit, fit, -1.0))


def reconstruct_hu(autoencoder, ct_grid: np.ndarray, fit: GridFit, config: LatentDiffusionConfig) -> np.ndarray:
    """A CT on the grid ([-1, 1]) encoded and decoded by the autoencoder, in HU on the MR's voxels: the ceiling
    of any sCT this autoencoder decodes (the autoencoder stage's validation, and tools.evaluation.error_budget)."""
    mu, _ = encode_grid(autoencoder, ct_grid, config)
    return latent_to_hu(autoencoder, mu, fit, config)


def scale_factor(config: LatentDiffusionConfig) -> float:
    value = config.latent.scale_factor
    if value is None:
        raise WeightsError(config.source, "needs latent.scale_factor (1/std of the training latents), written by the diffusion training")
    return float(value)
