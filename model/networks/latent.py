"""The brain model's networks: autoencoder, diffusion UNet, ControlNet and noise schedulers (MONAI core).

The autoencoder is trained on patches and its GroupNorm statistics depend on the
window it sees, so it always encodes and decodes in windows of its training
patch size (Gaussian-blended), never the whole grid at once: run on a whole
96 x 112 x 96 head grid, a patch-trained autoencoder shifted brain tissue by
about +390 HU (MAE 528 HU against 149 HU with windows, measured at 600 iterations).

Everything is built from the model folder's config, so a folder describes its own
networks. Shapes must divide: the model grid by the autoencoder's downsampling
times the UNet's, and the ControlNet's conditioning embedding must bring the MR
from the grid down to the latent grid (one stride-2 stage per factor 2): the
config's ``validate()`` (model.config.ldm) refuses any other when it is read.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from monai.networks.nets import AutoencoderKL, ControlNet, DiffusionModelUNet
from monai.networks.schedulers import DDIMScheduler, DDPMScheduler

from model.config import LatentDiffusionConfig
from model.errors import WeightsError

SPATIAL_DIMS = 3


def autoencoder_factor(config: LatentDiffusionConfig) -> int:
    """Latent voxels are this many image voxels along each axis."""
    return config.autoencoder_factor


def unet_factor(config: LatentDiffusionConfig) -> int:
    return config.unet_factor


def latent_shape(config: LatentDiffusionConfig) -> tuple[int, ...]:
    return config.latent_shape


def build_autoencoder(config: LatentDiffusionConfig) -> AutoencoderKL:
    c = config.networks.autoencoder
    return AutoencoderKL(
        spatial_dims=SPATIAL_DIMS, in_channels=1, out_channels=1,
        channels=c.channels,
        num_res_blocks=c.num_res_blocks,
        attention_levels=c.attention_levels or (False,) * len(c.channels),
        latent_channels=c.latent_channels,
        norm_num_groups=c.norm_num_groups,
        with_encoder_nonlocal_attn=c.with_nonlocal_attn,
        with_decoder_nonlocal_attn=c.with_nonlocal_attn,
        use_checkpoint=c.use_checkpoint,
    )


def _unet_kwargs(config: LatentDiffusionConfig) -> dict:
    c = config.networks.unet
    return dict(
        spatial_dims=SPATIAL_DIMS,
        in_channels=config.networks.autoencoder.latent_channels,
        channels=c.channels,
        num_res_blocks=c.num_res_blocks,
        attention_levels=c.attention_levels or (False,) * len(c.channels),
        norm_num_groups=c.norm_num_groups,
        num_head_channels=c.num_head_channels,
        # torch's scaled-dot-product attention (flash / memory-efficient kernels) instead of MONAI's explicit
        # score matrix: the same weights and outputs (to float rounding), a fraction of the memory. A model
        # folder may set it false; one written before this setting existed gets it too.
        use_flash_attention=c.sdpa,
    )


def build_unet(config: LatentDiffusionConfig) -> DiffusionModelUNet:
    kwargs = _unet_kwargs(config)
    return DiffusionModelUNet(out_channels=kwargs["in_channels"], **kwargs)


def build_controlnet(config: LatentDiffusionConfig) -> ControlNet:
    """Same trunk as the UNet; the MR enters at full grid resolution through a downsampling embedding."""
    c = config.networks.controlnet
    if c is None:
        raise WeightsError(config.source, "networks.controlnet: missing (conditioning_embedding_num_channels)")
    return ControlNet(conditioning_embedding_in_channels=1,
                      conditioning_embedding_num_channels=c.conditioning_embedding_num_channels,
                      **_unet_kwargs(config))


def _schedule_args(config: LatentDiffusionConfig) -> dict:
    s = config.scheduler
    return dict(num_train_timesteps=s.num_train_timesteps, schedule=s.schedule, beta_start=s.beta_start,
                beta_end=s.beta_end, prediction_type=s.prediction_type,
                clip_sample=False)  # latents are scaled to unit variance, not [-1, 1]


def build_ddpm(config: LatentDiffusionConfig) -> DDPMScheduler:
    return DDPMScheduler(**_schedule_args(config))


def build_ddim(config: LatentDiffusionConfig) -> DDIMScheduler:
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
