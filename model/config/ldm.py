"""The latent diffusion family's config (brain): autoencoder, diffusion UNet and ControlNet on a model grid."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from model.config.base import ConfigError, ModelConfig
from model.config.sections import Discriminator, Training, Triple
from model.settings import Invalid, setting

DEFAULT_MIN_STEPS = 10  # sampler.min_steps where a config does not say (never above its own steps)


@dataclass(frozen=True)
class Grid:
    size: Triple = setting(item_minimum=1, note="the model grid, voxels (z, y, x)")
    spacing_mm: float = setting(above=0)


@dataclass(frozen=True)
class Autoencoder:
    channels: tuple[int, ...] = setting(item_minimum=1)
    latent_channels: int = setting(minimum=1)
    num_res_blocks: int = setting(2, minimum=1)
    attention_levels: tuple[bool, ...] | None = setting(None, note="one per level; none by default")
    norm_num_groups: int = setting(32, minimum=1)
    with_nonlocal_attn: bool = setting(False)
    use_checkpoint: bool = setting(False)


@dataclass(frozen=True)
class DiffusionUNet:
    channels: tuple[int, ...] = setting(item_minimum=1)
    num_res_blocks: int = setting(2, minimum=1)
    attention_levels: tuple[bool, ...] | None = setting(None, note="one per level; none by default")
    norm_num_groups: int = setting(32, minimum=1)
    num_head_channels: Union[int, tuple[int, ...]] = setting(8, minimum=0, note="per attention level, or one for all")
    sdpa: bool = setting(True, note="torch's scaled-dot-product attention (same weights, less memory)")


@dataclass(frozen=True)
class ControlNetSettings:
    conditioning_embedding_num_channels: tuple[int, ...] = setting(item_minimum=1)


@dataclass(frozen=True)
class LatentNetworks:
    autoencoder: Autoencoder = setting()
    unet: DiffusionUNet = setting()
    controlnet: ControlNetSettings | None = setting(None)
    discriminator: Discriminator = setting(Discriminator())


@dataclass(frozen=True)
class Scheduler:
    num_train_timesteps: int = setting(1000, minimum=1)
    schedule: Literal["linear_beta", "scaled_linear_beta", "sigmoid_beta"] = setting("scaled_linear_beta")
    beta_start: float = setting(0.0015, above=0, below=1)
    beta_end: float = setting(0.0195, above=0, below=1)
    prediction_type: Literal["epsilon", "v_prediction", "sample"] = setting("epsilon")


@dataclass(frozen=True)
class Sampler:
    steps: int = setting(50, minimum=1)
    seed: int = setting(0, minimum=0)
    samples: int = setting(1, minimum=1, note="sCTs averaged per case")
    conditioning_scale: float = setting(1.0, minimum=0)
    amp: bool = setting(True)
    min_samples: int = setting(1, minimum=1, note="the fewest samples a time budget may leave")
    min_steps: int | None = setting(None, minimum=1, note="the fewest DDIM steps a time budget may leave; "
                                                           "default min(steps, 10)")

    @property
    def step_floor(self) -> int:
        return self.min_steps if self.min_steps is not None else min(self.steps, DEFAULT_MIN_STEPS)


@dataclass(frozen=True)
class LatentInference:
    autoencoder_window: Triple | None = setting(None, item_minimum=1, note="default: the autoencoder's patch size")
    autoencoder_overlap: float = setting(0.5, minimum=0, below=1, note="0.5 as the demo weights were made; 0.25 covers "
                                         "a 192^3 grid in 8 windows of 112^3 where 0.5 takes 27")
    autoencoder_sw_batch_size: int | None = setting(None, minimum=1, note="default 1 on the CPU, 4 on CUDA")
    time_budget_s: float | None = setting(None, above=0, note="seconds a case may take (process.py --time-budget)")
    tta_flips: tuple[Literal["x", "y", "z"], ...] = setting((), note="test-time mirroring: the samples are spread "
                                                                     "over every combination of these array axes")


@dataclass(frozen=True)
class Latent:
    scale_factor: float | None = setting(None, above=0, note="1/std of the training latents (written by training)")


@dataclass(frozen=True)
class AutoencoderLosses:
    kl_weight: float = setting(1e-6, minimum=0)
    perceptual_weight: float = setting(0.0, minimum=0)
    perceptual_network: str = setting("medicalnet_resnet10_23datasets")
    perceptual_cache_dir: str = setting("weights/cache/perceptual")
    adversarial_weight: float = setting(0.01, minimum=0)
    adversarial_warmup: int = setting(0, minimum=0)


@dataclass(frozen=True)
class AutoencoderTraining(Training):
    patch_size: Triple = setting(item_minimum=1)
    losses: AutoencoderLosses = setting(AutoencoderLosses())
    lr_discriminator: float | None = setting(None, above=0, note="default: lr")


@dataclass(frozen=True)
class LatentTraining(Training):
    """The diffusion UNet's and the ControlNet's stages."""

    latent_crop: Triple | None = setting(None, item_minimum=1, note="latent blocks trained on; default whole latents")
    validation_timestep: int = setting(300, minimum=0)


@dataclass(frozen=True)
class LatentStages:
    autoencoder: AutoencoderTraining | None = setting(None)
    diffusion: LatentTraining | None = setting(None)
    controlnet: LatentTraining | None = setting(None)


def _levels(channels) -> int:
    return len(channels) - 1


@dataclass(frozen=True)
class LatentDiffusionConfig(ModelConfig):
    grid: Grid = setting()
    networks: LatentNetworks = setting()
    scheduler: Scheduler = setting(Scheduler())
    sampler: Sampler = setting(Sampler())
    inference: LatentInference = setting(LatentInference())
    latent: Latent = setting(Latent())
    training: LatentStages = setting(LatentStages())

    @property
    def autoencoder_window(self) -> Triple:
        """The image window the autoencoder runs on: ``inference.autoencoder_window``, else its training patch."""
        if self.inference.autoencoder_window is not None:
            return self.inference.autoencoder_window
        if self.training.autoencoder is None:
            raise ConfigError(self.source, "inference.autoencoder_window: required when training.autoencoder is absent")
        return self.training.autoencoder.patch_size

    @property
    def autoencoder_factor(self) -> int:
        """Latent voxels are this many image voxels along each axis."""
        return 2 ** _levels(self.networks.autoencoder.channels)

    @property
    def unet_factor(self) -> int:
        """The diffusion UNet's (and the ControlNet's) total downsampling of the latent."""
        return 2 ** _levels(self.networks.unet.channels)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """(channels, z, y, x) of a latent of the model grid."""
        f = self.autoencoder_factor
        return (self.networks.autoencoder.latent_channels, *(s // f for s in self.grid.size))

    def validate(self) -> None:
        """Shapes must divide: the model grid by the autoencoder's downsampling times the UNet's; the autoencoder's
        window, and its steps at the configured overlap, by the autoencoder's; the ControlNet's conditioning
        embedding must bring the MR from the grid down to the latent grid; a training stage's latent blocks must
        fit the latent and divide by the UNet's downsampling. A model folder with a diffusion UNet has its
        latent scale factor."""
        ae, un = self.autoencoder_factor, self.unet_factor
        grid = list(self.grid.size)
        bad = [s for s in grid if s % (ae * un)]
        if bad:
            raise Invalid("grid.size", f"{grid} must divide by {ae * un} (autoencoder downsampling {ae} x UNet "
                                       f"downsampling {un}); {bad} do(es) not")
        if self.inference.autoencoder_window is None and self.training.autoencoder is None:
            raise Invalid("inference.autoencoder_window", "required when training.autoencoder is absent (default: its "
                                                          "patch_size)")
        key = ("inference.autoencoder_window" if self.inference.autoencoder_window is not None
               else "training.autoencoder.patch_size")
        window = list(self.autoencoder_window)
        if any(w % ae for w in window):
            raise Invalid(key, f"{window}, the autoencoder's window, must divide by its downsampling {ae}")
        overlap = self.inference.autoencoder_overlap
        steps = [int(w * (1 - overlap)) for w in window]
        if any(s < 1 or s % ae for s in steps):
            raise Invalid("inference.autoencoder_overlap", f"{overlap} with the autoencoder window {window} steps by "
                                                           f"{steps}: the steps must be positive multiples of the "
                                                           f"autoencoder's downsampling {ae}")
        controlnet = self.networks.controlnet
        if controlnet is not None:
            embedding = controlnet.conditioning_embedding_num_channels
            if 2 ** _levels(embedding) != ae:
                raise Invalid("networks.controlnet.conditioning_embedding_num_channels",
                              f"{list(embedding)} downsamples by {2 ** _levels(embedding)}, the autoencoder by {ae}: "
                              "they must match")
        shape = list(self.latent_shape[1:])
        for stage in ("diffusion", "controlnet"):
            training = getattr(self.training, stage)
            crop = training.latent_crop if training is not None else None
            if crop is not None and any(c > n or c % un for c, n in zip(crop, shape)):
                raise Invalid(f"training.{stage}.latent_crop", f"{list(crop)}: each must be a multiple of the UNet's "
                                                               f"downsampling {un} and at most the latent {shape}")
        if "unet" in (self.weights or {}) and self.latent.scale_factor is None:
            raise Invalid("latent.scale_factor", "missing: a model folder with a diffusion UNet needs it (1/std of the "
                                                 "training latents, written by the diffusion training)")
