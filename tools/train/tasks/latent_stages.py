"""Brain stages 2 and 3, both trained on the frozen autoencoder's latents with DDPM noise.

2. ``diffusion``: a ``DiffusionModelUNet`` learns the distribution of CT latents
   (scaled by 1/std of the training latents, computed once and kept with the
   checkpoint and the exported config).
3. ``controlnet``: a ``ControlNet`` initialised from that UNet learns to steer it
   with the MR, which enters at full grid resolution; the UNet stays frozen.

Latents (mu, sigma) of every training case (and of its left-right mirror image,
when ``flip_lr``) are encoded once per autoencoder and kept in the case cache
beside the grid-fitted case (``latents-<autoencoder id>[-flip]/``: both stages,
and every later run with the same autoencoder, read them from there); each step
reads one and draws z = mu + sigma * eps, whole or, with the stage's
``latent_crop``, a random block of it together with the MR over the same voxels.
Nothing of the cases is held in memory between steps.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from monai.networks.utils import copy_model_state
from tqdm import tqdm

from model.config import LatentDiffusionConfig
from model.errors import InputError
from model.networks.latent import (autoencoder_factor, build_autoencoder, build_controlnet, build_ddpm, build_unet,
                                   controlled_prediction, diffusion_target, predicted_x0)
from model.pipelines.latent_windows import autoencoder_batch, encode_grid, latent_to_hu, scale_factor
from model.pipelines.ldm import LatentDiffusionPipeline
from model.preprocessing.headgrid import fit_case, to_grid
from model.weights import MANIFEST, save_networks, sha256
from tools.dataset.augment import augmenter
from tools.train.frozen import freeze
from tools.train.tasks.base import TrainingTask
from tools.train.tasks.brain import PreviousStage, grid_fit

# The scale factor is estimated from this many draws per training latent (fixed seed: every process agrees).
SCALE_DRAWS = 4


class LatentSampler:
    """Random (MR on the grid, latent draw) pairs; mirrored pairs when flipping is on.

    ``items``: one per case and mirroring, {"mr": (z, y, x), "mu" and "sigma": (1, C, z', y', x'), "flip"} as
    arrays or the cache's files (tools.dataset.cache.ArrayFile: only the block drawn is read). The MR is the
    unmirrored case's, mirrored here where ``flip``; the latents are those of the mirrored CT.
    With ``crop`` (latent voxels), each pair is a random block of the latent and the
    MR block over the same voxels (``factor`` MR voxels per latent voxel along each
    axis): the networks are convolutional, and a block costs a fraction of a whole
    grid, most of all the ControlNet's conditioning embedding at full resolution.
    """

    def __init__(self, items: list[dict], rng: np.random.Generator, crop=None, factor: int = 1, with_mr: bool = True,
                 augment=None):
        self.items = items
        self.rng = rng
        self.with_mr = with_mr  # the diffusion stage never looks at the MR: None, and nothing read
        self.augment = augment  # a tools.dataset.augment.MRAugmenter for the MR block, or None
        self.crop = None if crop is None else tuple(int(c) for c in crop)
        self.factor = int(factor)

    def sample(self) -> tuple[torch.Tensor | None, torch.Tensor]:
        item = self.items[self.rng.integers(len(self.items))]
        shape = item["mu"].shape[2:]
        start = [0, 0, 0] if self.crop is None else [int(self.rng.integers(n - c + 1)) for n, c in zip(shape, self.crop)]
        size = shape if self.crop is None else self.crop
        block = [(s, s + c) for s, c in zip(start, size)]
        mu, sigma = (_tensor(item[k][(slice(None), slice(None), *(slice(a, b) for a, b in block))]) for k in ("mu", "sigma"))
        mr = _mr_block(item["mr"], [(a * self.factor, b * self.factor) for a, b in block], item["flip"]) if self.with_mr else None
        if mr is not None and self.augment is not None:
            mr = torch.from_numpy(self.augment(mr[0, 0].numpy(), int(self.rng.integers(2**31 - 1))))[None, None]
        return mr, mu + sigma * torch.randn_like(mu)


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


def _mr_block(mr, bounds, flip: bool) -> torch.Tensor:
    """The MR over voxels ``bounds`` ((start, stop) per axis) of the (mirrored, where ``flip``) MR, as (1, 1, ...)."""
    (z0, z1), (y0, y1), (x0, x1) = bounds
    if flip:  # the mirrored image's x0:x1 is the image's width-x1:width-x0, reversed
        width = mr.shape[2]
        x0, x1 = width - x1, width - x0
    block = mr[slice(z0, z1), slice(y0, y1), slice(x0, x1)]
    return _tensor(block[..., ::-1] if flip else block)[None, None]


class _LatentStage(TrainingTask):
    staged = True
    config_class = LatentDiffusionConfig
    needs: tuple[str, ...] = ()

    def __init__(self, config: LatentDiffusionConfig, device: torch.device, previous: Path | None = None):
        super().__init__(config, device)
        self.previous = PreviousStage(previous, config, self.name, self.needs)
        self.autoencoder = freeze(self.previous.load("autoencoder", build_autoencoder(config)).to(device))
        self.scheduler = build_ddpm(config)
        self.scale = None
        self.crop = self.training.latent_crop  # blocks the UNet can run on (checked as the config was read), or None
        self.flips = (False, True) if self.training.flip_lr else (False,)
        # What the latents depend on - the autoencoder's weights, the windows it encodes in, the device kind - names
        # their folder in the case cache (:meth:`latents_name`).
        encoding = {"autoencoder": sha256(self.previous.folder / self.previous.config.weights["autoencoder"]),
                    "window": list(config.autoencoder_window), "overlap": config.inference.autoencoder_overlap,
                    "batch": autoencoder_batch(config, device), "device": device.type}
        self.encoding_key = hashlib.sha256(json.dumps(encoding, sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def case_fit(cls, config: LatentDiffusionConfig):
        return grid_fit(config)

    @torch.no_grad()
    def _encode(self, ct_grid: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        mu, sigma = encode_grid(self.autoencoder, ct_grid, self.config)
        return mu.cpu(), sigma.cpu()

    def latents_name(self, flip: bool) -> str:
        """The subfolder of a cached case that holds its latents under this stage's autoencoder (both latent
        stages, and every run with the same autoencoder, share it)."""
        return f"latents-{self.encoding_key}" + ("-flip" if flip else "")

    def _latents(self, case, flip: bool) -> dict:
        """A cached case's (mu, sigma) as the cache's files: encoded and written the first time."""
        def encode() -> dict[str, np.ndarray]:
            ct = case.ct.read()
            mu, sigma = self._encode(np.ascontiguousarray(ct[..., ::-1]) if flip else ct)
            return {"mu": mu.numpy(), "sigma": sigma.numpy()}

        return case.derived(self.latents_name(flip), encode)

    def prepare(self, cases) -> None:
        names = [self.latents_name(f) for f in self.flips]
        todo = [c for c in cases if not all((c.folder / n).is_dir() for n in names)]
        for case in tqdm(todo, desc="latents", unit="case", mininterval=1, disable=not todo):
            for flip in self.flips:
                self._latents(case, flip)

    def sampler(self, cases, rng: np.random.Generator) -> LatentSampler:
        items = [{"mr": case.mr_unit, **self._latents(case, flip), "flip": flip} for case in cases for flip in self.flips]
        if self.scale is None:
            self.scale = self._scale_factor(items)
        return LatentSampler(items, rng, self.crop, autoencoder_factor(self.config), with_mr=self.uses_mr,
                             augment=augmenter(self.training.augment_mr))

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
        draws = []
        for item in (i for i in items if not i["flip"]):
            mu, sigma = (_tensor(item[k].read()) for k in ("mu", "sigma"))
            draws += [mu + sigma * torch.randn(mu.shape, generator=generator) for _ in range(SCALE_DRAWS)]
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
        return save_networks(folder, {"autoencoder": self.autoencoder, "unet": self.nets["unet"]}, self.config.pipeline)


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
        config = self.config.with_overrides({"latent.scale_factor": self.scale})
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
                                      "controlnet": self.nets["controlnet"]}, self.config.pipeline)
