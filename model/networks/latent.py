"""The brain model's networks: autoencoder, diffusion UNet, ControlNet and noise schedulers (MONAI core).

The autoencoder is trained on patches and its GroupNorm statistics depend on the
window it sees, so it always encodes and decodes in windows of its training
patch size (Gaussian-blended), never the whole grid at once: run on a whole
96 x 112 x 96 head grid, a patch-trained autoencoder shifted brain tissue by
about +390 HU (MAE 528 HU against 149 HU with windows, measured at 600 iterations).

Everything is built from the model folder's config, so a folder describes its own
networks. Shapes must divide: the model grid by the autoencoder's downsampling
times the UNet's, and the ControlNet's conditioning embedding must bring the MR
from the grid down to the latent grid (one stride-2 stage per factor 2).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import torch
from monai.networks.nets import AutoencoderKL, ControlNet, DiffusionModelUNet
from monai.networks.schedulers import DDIMScheduler, DDPMScheduler

from model.errors import WeightsError

SPATIAL_DIMS = 3


def _levels(channels) -> int:
    return len(channels) - 1


def autoencoder_factor(config: dict) -> int:
    """Latent voxels are this many image voxels along each axis."""
    return 2 ** _levels(config["networks"]["autoencoder"]["channels"])


def unet_factor(config: dict) -> int:
    return 2 ** _levels(config["networks"]["unet"]["channels"])


def grid_size(config: dict) -> tuple[int, int, int]:
    return tuple(int(s) for s in config["grid"]["size"])


def latent_shape(config: dict) -> tuple[int, ...]:
    f = autoencoder_factor(config)
    return (int(config["networks"]["autoencoder"]["latent_channels"]), *(s // f for s in grid_size(config)))


def check_shapes(config: dict, path: Path) -> None:
    """Refuse a grid the networks cannot run on, naming the numbers that clash."""
    grid = list(grid_size(config))
    ae, un = autoencoder_factor(config), unet_factor(config)
    if len(grid) != 3:
        raise WeightsError(path, f"grid size {grid} must be 3 numbers")
    bad = [s for s in grid if s % (ae * un)]
    if bad:
        raise WeightsError(path, f"grid size {grid} must divide by {ae * un} (autoencoder downsampling {ae} x "
                                 f"UNet downsampling {un}); {bad} do(es) not")
    window = list(autoencoder_window(config))
    if len(window) != 3 or any(w % ae for w in window):
        raise WeightsError(path, f"autoencoder window {window} must be 3 numbers divisible by the autoencoder's downsampling {ae}")
    steps = [int(w * (1 - autoencoder_overlap(config))) for w in window]
    if any(s < 1 or s % ae for s in steps):
        raise WeightsError(path, f"autoencoder window {window} with overlap {autoencoder_overlap(config)} steps by {steps}: "
                                 f"the steps must be positive multiples of the autoencoder's downsampling {ae}")
    embedding = config["networks"].get("controlnet", {}).get("conditioning_embedding_num_channels")
    if embedding is not None and 2 ** _levels(embedding) != ae:
        raise WeightsError(path, f"the ControlNet's conditioning embedding {list(embedding)} downsamples by "
                                 f"{2 ** _levels(embedding)}, the autoencoder by {ae}: they must match")


def build_autoencoder(config: dict) -> AutoencoderKL:
    c = config["networks"]["autoencoder"]
    levels = len(c["channels"])
    return AutoencoderKL(
        spatial_dims=SPATIAL_DIMS, in_channels=1, out_channels=1,
        channels=tuple(c["channels"]),
        num_res_blocks=c.get("num_res_blocks", 2),
        attention_levels=tuple(c.get("attention_levels", [False] * levels)),
        latent_channels=int(c["latent_channels"]),
        norm_num_groups=int(c.get("norm_num_groups", 32)),
        with_encoder_nonlocal_attn=bool(c.get("with_nonlocal_attn", False)),
        with_decoder_nonlocal_attn=bool(c.get("with_nonlocal_attn", False)),
        use_checkpoint=bool(c.get("use_checkpoint", False)),
    )


def _unet_kwargs(config: dict) -> dict:
    c = config["networks"]["unet"]
    levels = len(c["channels"])
    return dict(
        spatial_dims=SPATIAL_DIMS,
        in_channels=int(config["networks"]["autoencoder"]["latent_channels"]),
        channels=tuple(c["channels"]),
        num_res_blocks=c.get("num_res_blocks", 2),
        attention_levels=tuple(c.get("attention_levels", [False] * levels)),
        norm_num_groups=int(c.get("norm_num_groups", 32)),
        num_head_channels=c.get("num_head_channels", 8),
        # torch's scaled-dot-product attention (flash / memory-efficient kernels) instead of MONAI's explicit
        # score matrix: the same weights and outputs (to float rounding), a fraction of the memory. A model
        # folder may set it false; one written before this setting existed gets it too.
        use_flash_attention=bool(c.get("sdpa", True)),
    )


def build_unet(config: dict) -> DiffusionModelUNet:
    kwargs = _unet_kwargs(config)
    return DiffusionModelUNet(out_channels=kwargs["in_channels"], **kwargs)


def build_controlnet(config: dict) -> ControlNet:
    """Same trunk as the UNet; the MR enters at full grid resolution through a downsampling embedding."""
    c = config["networks"]["controlnet"]
    return ControlNet(conditioning_embedding_in_channels=1,
                      conditioning_embedding_num_channels=tuple(c["conditioning_embedding_num_channels"]),
                      **_unet_kwargs(config))


def _schedule_args(config: dict) -> dict:
    s = config["scheduler"]
    return dict(num_train_timesteps=int(s.get("num_train_timesteps", 1000)), schedule=s.get("schedule", "scaled_linear_beta"),
                beta_start=float(s.get("beta_start", 0.0015)), beta_end=float(s.get("beta_end", 0.0195)),
                prediction_type=s.get("prediction_type", "epsilon"),
                clip_sample=False)  # latents are scaled to unit variance, not [-1, 1]


def build_ddpm(config: dict) -> DDPMScheduler:
    return DDPMScheduler(**_schedule_args(config))


def build_ddim(config: dict) -> DDIMScheduler:
    return DDIMScheduler(**_schedule_args(config))


def diffusion_target(scheduler, latents: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
    """What the UNet learns to predict at these timesteps (the scheduler's prediction type)."""
    kind = scheduler.prediction_type
    if kind == "epsilon":
        return noise
    if kind == "v_prediction":
        return scheduler.get_velocity(latents, noise, timesteps)
    if kind == "sample":
        return latents
    raise ValueError(f"unknown prediction_type {kind!r}")


def controlled_prediction(unet, controlnet, x: torch.Tensor, timesteps: torch.Tensor, mr: torch.Tensor,
                          conditioning_scale: float = 1.0) -> torch.Tensor:
    """The UNet's prediction steered by the ControlNet: the MR (full grid resolution) goes through the
    ControlNet, whose residuals are added to the UNet's down and middle blocks."""
    down, mid = controlnet(x, timesteps, controlnet_cond=mr, conditioning_scale=conditioning_scale)
    return unet(x, timesteps, down_block_additional_residuals=down, mid_block_additional_residual=mid)


@contextmanager
def embedded_conditioning(controlnet, mr: torch.Tensor):
    """The MR through the ControlNet's conditioning embedding once, for a whole sampling loop: inside the
    block the ControlNet takes the yielded embedding as its conditioning (the embedding does not depend on
    the step, and at a 1 mm grid it costs more than the rest of a step)."""
    embedding = controlnet.controlnet_cond_embedding
    embedded = embedding(mr)
    controlnet.controlnet_cond_embedding = torch.nn.Identity()
    try:
        yield embedded
    finally:
        controlnet.controlnet_cond_embedding = embedding


def predicted_x0(scheduler, prediction: torch.Tensor, x: torch.Tensor, t: int) -> torch.Tensor:
    """The clean latent implied by the UNet's prediction at timestep ``t`` (the inverse of :func:`diffusion_target`)."""
    alpha = scheduler.alphas_cumprod[t].to(x.device)
    kind = scheduler.prediction_type
    if kind == "epsilon":
        return (x - (1 - alpha).sqrt() * prediction) / alpha.sqrt()
    if kind == "v_prediction":
        return alpha.sqrt() * x - (1 - alpha).sqrt() * prediction
    return prediction


def autoencoder_window(config: dict) -> tuple[int, int, int]:
    """The image window the autoencoder runs on: ``inference.autoencoder_window``, else its training patch size."""
    window = config.get("inference", {}).get("autoencoder_window") or config["training"]["autoencoder"]["patch_size"]
    return tuple(int(s) for s in window)


def autoencoder_overlap(config: dict) -> float:
    """``inference.autoencoder_overlap`` (0.5 when absent, as the demo weights were made; 0.25 covers a
    192^3 grid in 8 windows of 112^3 where 0.5 takes 27)."""
    return float(config.get("inference", {}).get("autoencoder_overlap", 0.5))
