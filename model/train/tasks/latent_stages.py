"""Brain stages 2 and 3, both trained on the frozen autoencoder's latents with DDPM noise.

2. ``diffusion``: a ``DiffusionModelUNet`` learns the distribution of CT latents
   (scaled by 1/std of the training latents, computed once and kept with the
   checkpoint and the exported config).
3. ``controlnet``: a ``ControlNet`` initialised from that UNet learns to steer it
   with the MR, which enters at full grid resolution; the UNet stays frozen.

Latents of every training case (and of its left-right mirror image, when
``flip_lr``) are encoded once; each step draws z = mu + sigma * eps from them,
whole or, with the stage's ``latent_crop``, a random block of it together with
the MR over the same voxels.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from monai.networks.utils import copy_model_state

from model.config import Latent, LatentDiffusionConfig
from model.errors import InputError
from model.networks.frozen import freeze
from model.networks.latent import (autoencoder_factor, build_autoencoder, build_controlnet, build_ddpm, build_unet, check_shapes,
                                   controlled_prediction, diffusion_target, latent_shape, predicted_x0, unet_factor)
from model.pipelines.latent_windows import encode_grid, latent_to_hu, scale_factor
from model.pipelines.ldm import LatentDiffusionPipeline
from model.preprocessing.headgrid import fit_case, to_grid
from model.train.tasks import TrainingTask
from model.train.tasks.brain import PreviousStage, on_grid
from model.weights import MANIFEST, save_networks, sha256

# The scale factor is estimated from this many draws per training latent (fixed seed: every process agrees).
SCALE_DRAWS = 4


def latent_crop(config: LatentDiffusionConfig, stage: str) -> tuple[int, ...] | None:
    """``training.<stage>.latent_crop``, checked: blocks of the latent the UNet can run on (or None: whole latents)."""
    crop = getattr(config.training, stage).latent_crop
    if crop is None:
        return None
    shape, factor = latent_shape(config)[1:], unet_factor(config)
    if any(c > n or c % factor for c, n in zip(crop, shape)):
        raise InputError(config.source, f"training.{stage}.latent_crop {list(crop)}: each must be a multiple of the "
                                        f"UNet's downsampling {factor} and at most the latent {list(shape)}")
    return crop


class LatentSampler:
    """Random (MR on the grid, latent draw) pairs; mirrored pairs when flipping is on.

    With ``crop`` (latent voxels), each pair is a random block of the latent and the
    MR block over the same voxels (``factor`` MR voxels per latent voxel along each
    axis): the networks are convolutional, and a block costs a fraction of a whole
    grid, most of all the ControlNet's conditioning embedding at full resolution.
    """

    def __init__(self, items: list[dict], rng: np.random.Generator, crop=None, factor: int = 1, with_mr: bool = True):
        self.items = items
        self.rng = rng
        self.with_mr = with_mr  # the diffusion stage never looks at the MR: None, and no copy to the device
        self.crop = None if crop is None else tuple(int(c) for c in crop)
        self.factor = int(factor)

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        item = self.items[self.rng.integers(len(self.items))]
        mr, mu, sigma = item["mr"], item["mu"], item["sigma"]
        if self.crop is not None:
            start = [int(self.rng.integers(n - c + 1)) for n, c in zip(mu.shape[2:], self.crop)]
            block = (Ellipsis, *(slice(s, s + c) for s, c in zip(start, self.crop)))
            mu, sigma = mu[block], sigma[block]
            mr = mr[(Ellipsis, *(slice(s * self.factor, (s + c) * self.factor) for s, c in zip(start, self.crop)))]
        return (mr if self.with_mr else None), mu + sigma * torch.randn_like(mu)


class _LatentStage(TrainingTask):
    staged = True
    cached_cases = False  # whole volumes, fitted to the model grid (model.train.tasks.brain.on_grid)
    config_class = LatentDiffusionConfig
    needs: tuple[str, ...] = ()
    uses_mr = True

    def __init__(self, config: LatentDiffusionConfig, device: torch.device, previous: Path | None = None):
        super().__init__(config, device)
        check_shapes(config)
        self.previous = PreviousStage(previous, config, self.name, self.needs)
        self.autoencoder = freeze(self.previous.load("autoencoder", build_autoencoder(config)).to(device))
        self.scheduler = build_ddpm(config)
        self.scale = None
        self.crop = latent_crop(config, self.name)

    @torch.no_grad()
    def _encode(self, ct_grid: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        mu, sigma = encode_grid(self.autoencoder, ct_grid, self.config)
        return mu.cpu(), sigma.cpu()

    def sampler(self, cases, rng: np.random.Generator) -> LatentSampler:
        items = []
        flips = (False, True) if self.training.flip_lr else (False,)
        for case in cases:
            fitted = on_grid(case, self.config)
            for flip in flips:
                mr, ct = (np.ascontiguousarray(a[..., ::-1] if flip else a) for a in (fitted.mr_unit, fitted.ct_unit))
                mu, sigma = self._encode(ct)
                items.append({"mr": torch.from_numpy(mr)[None, None], "mu": mu, "sigma": sigma, "flip": flip})
        if self.scale is None:
            self.scale = self._scale_factor(items)
        return LatentSampler(items, rng, self.crop, autoencoder_factor(self.config), with_mr=self.uses_mr)

    def _scale_factor(self, items: list[dict]) -> float:
        raise NotImplementedError

    def _noised(self, latents: torch.Tensor):
        noise = torch.randn_like(latents)
        t = torch.randint(0, self.scheduler.num_train_timesteps, (latents.shape[0],), device=latents.device)
        return self.scheduler.add_noise(latents, noise, t), t, diffusion_target(self.scheduler, latents, noise, t)

    def _step(self, name: str, loss: torch.Tensor) -> dict[str, float]:
        self.optimise(name, loss)
        return {"mse": loss.detach()}

    def extra_state(self) -> dict:
        return {"scale_factor": self.scale, "previous_manifest": sha256(self.previous.folder / MANIFEST)}

    def load_extra_state(self, state: dict) -> None:
        if state.get("previous_manifest") not in (None, sha256(self.previous.folder / MANIFEST)):
            raise InputError(self.previous.folder, "is not the previous-stage folder this checkpoint was trained from "
                                                   "(its manifest differs)")
        if state.get("scale_factor") is not None:
            self.scale = float(state["scale_factor"])

    def exported_settings(self) -> dict:
        return {"latent": {"scale_factor": self.scale}}


class DiffusionTask(_LatentStage):
    name = "diffusion"
    needs = ("autoencoder",)
    uses_mr = False

    def __init__(self, config: LatentDiffusionConfig, device: torch.device, previous: Path | None = None):
        super().__init__(config, device, previous)
        self.nets = {"unet": build_unet(config).to(device)}
        self.optimizers = {"unet": torch.optim.Adam(self.nets["unet"].parameters(), lr=self.training.lr)}

    def _scale_factor(self, items: list[dict]) -> float:
        """1 / std of latent draws of the (unmirrored) training cases, as the LDM recipe prescribes."""
        generator = torch.Generator().manual_seed(0)
        draws = [i["mu"] + i["sigma"] * torch.randn(i["mu"].shape, generator=generator)
                 for i in items if not i["flip"] for _ in range(SCALE_DRAWS)]
        return float(1.0 / torch.cat([d.flatten() for d in draws]).std())

    def train_step(self, mr: torch.Tensor, latents: torch.Tensor, iteration: int = 0) -> dict[str, float]:
        x, t, target = self._noised(latents * self.scale)
        with self.autocast():
            prediction = self.train_nets["unet"](x, t)
        return self._step("unet", torch.nn.functional.mse_loss(prediction.float(), target))

    @torch.no_grad()
    def predict_case(self, case) -> np.ndarray:
        """Validation: the case's CT latent noised to ``validation_timestep`` (fixed noise), denoised in one
        prediction of x0 and decoded - how well the UNet knows CT latents, in HU."""
        unet = self.nets["unet"].eval()
        try:
            fit = fit_case(case.inputs, self.config)
            mu, _ = self._encode(to_grid(case.ct_unit, fit, -1.0))
            z = mu.to(self.device) * self.scale
            t = self.training.validation_timestep
            noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(0)).to(self.device)
            timestep = torch.full((1,), t, device=self.device, dtype=torch.long)
            x = self.scheduler.add_noise(z, noise, timestep)
            x0 = predicted_x0(self.scheduler, unet(x, timestep), x, t)
            return latent_to_hu(self.autoencoder, x0 / self.scale, fit, self.config)
        finally:
            unet.train()

    def export(self, folder: Path) -> dict[str, str]:
        return save_networks(folder, {"autoencoder": self.autoencoder, "unet": self.nets["unet"]})


class ControlNetTask(_LatentStage):
    name = "controlnet"
    needs = ("autoencoder", "unet")

    def __init__(self, config: LatentDiffusionConfig, device: torch.device, previous: Path | None = None):
        super().__init__(config, device, previous)
        self.scale = scale_factor(self.previous.config)
        self.unet = freeze(self.previous.load("unet", build_unet(config)).to(device))
        controlnet = build_controlnet(config)
        copy_model_state(controlnet, self.unet.state_dict())  # start as a copy of the trained UNet
        self.nets = {"controlnet": controlnet.to(device)}
        self.optimizers = {"controlnet": torch.optim.Adam(controlnet.parameters(), lr=self.training.lr)}

    def train_step(self, mr: torch.Tensor, latents: torch.Tensor, iteration: int = 0) -> dict[str, float]:
        x, t, target = self._noised(latents * self.scale)
        with self.autocast():
            prediction = controlled_prediction(self.unet, self.train_nets["controlnet"], x, t, mr)
        return self._step("controlnet", torch.nn.functional.mse_loss(prediction.float(), target))

    def pipeline(self) -> LatentDiffusionPipeline:
        config = dataclasses.replace(self.config, latent=Latent(scale_factor=self.scale))
        return LatentDiffusionPipeline(self.autoencoder, self.unet, self.nets["controlnet"], config, self.device)

    def predict_case(self, case) -> np.ndarray:
        """Validation: the sampler exactly as the container runs it."""
        controlnet = self.nets["controlnet"]
        try:
            return self.pipeline().predict(case.inputs)
        finally:
            controlnet.train()
            self.unet.eval()
            self.autoencoder.eval()

    def export(self, folder: Path) -> dict[str, str]:
        return save_networks(folder, {"autoencoder": self.autoencoder, "unet": self.unet,
                                      "controlnet": self.nets["controlnet"]})
