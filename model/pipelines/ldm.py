"""Brain: latent diffusion steered by the MR through a ControlNet.

The MR is cropped to the head, fitted to the model grid and fed at full grid
resolution to the ControlNet, whose conditioning embedding brings it down to the
latent grid. DDIM sampling (``clip_sample=False``) from seeded noise gives a
latent; the autoencoder decodes it to CT, which is mapped back onto the MR's own
voxels. Same seed, same device: the same sCT.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from model.budget import SamplingPlan, TimeBudget, synchronized_clock
from model.config import LatentDiffusionConfig
from model.errors import NonFiniteOutput
from model.networks.latent import (build_autoencoder, build_controlnet, build_ddim, build_unet, controlled_prediction,
                                   embedded_conditioning, latent_shape)
from model.pipelines.base import Pipeline
from model.pipelines.latent_windows import decode_seconds, latent_to_hu, scale_factor
from model.pipelines.mirroring import mirrored, mirrorings, unmirror
from model.precision import InferencePrecision, inference_precision, with_float32_retry
from model.preprocessing.headgrid import GridFit, fit_case, to_grid
from model.preprocessing.intensity import normalise_mr
from model.weights import load_weights

log = logging.getLogger(__name__)


class LatentDiffusionPipeline(Pipeline):
    name = "ldm"
    config_class = LatentDiffusionConfig
    samples_cases = True

    def __init__(self, autoencoder, unet, controlnet, config: LatentDiffusionConfig, device: torch.device):
        self.autoencoder = autoencoder.to(device).eval()
        self.unet = unet.to(device).eval()
        self.controlnet = controlnet.to(device).eval()
        self.config = config
        self.device = device
        self.scale = scale_factor(config)
        self.percentiles = config.preprocessing.mr_percentiles
        sampler = config.sampler
        self.steps, self.seed, self.samples = sampler.steps, sampler.seed, sampler.samples
        self.conditioning_scale = sampler.conditioning_scale
        # What a time budget may lower the sampler to (model.budget): one sample, and 10 steps or the configured
        # steps where fewer.
        self.min_samples, self.min_steps = sampler.min_samples, sampler.step_floor
        self.precision = inference_precision(device, sampler.amp)

    @classmethod
    def from_folder(cls, folder: Path, config: LatentDiffusionConfig, device: torch.device) -> "LatentDiffusionPipeline":
        nets = {"autoencoder": build_autoencoder(config), "unet": build_unet(config), "controlnet": build_controlnet(config)}
        for key, net in nets.items():
            load_weights(net, folder / config.weights[key])
        return cls(**nets, config=config, device=device)

    @torch.no_grad()
    def ddim(self, mr_grid: torch.Tensor, seed: int, steps: int, precision: InferencePrecision) -> Iterator[torch.Tensor]:
        """DDIM from seeded noise, steered by the MR (1, 1, *grid) through the ControlNet: the latent is yielded
        once the MR is embedded, then after every step."""
        scheduler = build_ddim(self.config)
        scheduler.set_timesteps(steps)
        generator = torch.Generator().manual_seed(seed)  # drawn on the CPU: the same noise on every device
        x = torch.randn((1, *latent_shape(self.config)), generator=generator).to(self.device)
        with embedded_conditioning(self.controlnet, mr_grid.to(self.device)) as mr:
            yield x
            for t in scheduler.timesteps:
                timestep = torch.full((1,), int(t), device=self.device, dtype=torch.long)
                with precision.autocast("networks"):
                    prediction = controlled_prediction(self.unet, self.controlnet, x, timestep, mr, self.conditioning_scale)
                x, _ = scheduler.step(prediction.float(), int(t), x)
                yield x

    def sample_latent(self, mr_grid: torch.Tensor, seed: int, precision: InferencePrecision | None = None,
                      plan: SamplingPlan | None = None) -> torch.Tensor:
        """The sampled latent after ``plan.steps`` DDIM steps (the configured steps without a plan). A plan with a
        budget that has not yet timed a step is planned from this sample's first step (model.budget); where
        that lowers the steps, the sample starts again on the new schedule."""
        precision = precision or self.precision
        steps = self.ddim(mr_grid, seed, self.steps if plan is None else plan.steps, precision)
        if plan is not None and plan.budget is not None and not plan.timed:
            clock = synchronized_clock(self.device)
            start = clock()
            next(steps)
            embedded = clock()
            next(steps)
            if plan.after_first_step(embedded - start, clock() - embedded, decode_seconds(self.autoencoder, self.config)):
                steps.close()
                steps = self.ddim(mr_grid, seed, plan.steps, precision)
        x = None
        for x in steps:
            pass
        return x

    def sample_hu(self, mr_grid: torch.Tensor, fit: GridFit, seed: int, plan: SamplingPlan | None = None) -> np.ndarray:
        """One sample in HU on the MR's grid; a non-finite latent or decoded CT is sampled again in float32 (once)."""
        def attempt(precision: InferencePrecision) -> np.ndarray:
            latent = self.sample_latent(mr_grid, seed, precision, plan)
            if not torch.isfinite(latent).all():
                raise NonFiniteOutput(f"the sampled latent has {int((~torch.isfinite(latent)).sum())} NaN or Inf values")
            with torch.no_grad():
                return latent_to_hu(self.autoencoder, latent / self.scale, fit, self.config)

        return with_float32_retry(attempt, self.precision, f"sample with seed {seed}")

    def mr_on_grid(self, case) -> tuple[GridFit, np.ndarray]:
        fit = fit_case(case, self.config)
        mr_unit = normalise_mr(case.mr, case.body, self.percentiles)
        return fit, to_grid(mr_unit, fit, -1.0)

    def plan(self, samples: int | None = None, budget: TimeBudget | None = None, min_samples: int | None = None) -> SamplingPlan:
        """Samples x steps for one case: the configured ones, lowered to fit ``budget`` where one is given."""
        samples = self.samples if samples is None else samples
        return SamplingPlan(samples, self.steps, self.min_samples if min_samples is None else min_samples,
                            self.min_steps, budget)

    def predict_samples(self, case, samples: int | None = None, seed: int | None = None,
                        budget: TimeBudget | None = None, min_samples: int | None = None) -> list[np.ndarray]:
        """One HU volume on the MR's grid per sample (seeds seed, seed + 1, ...); with a ``budget``, fewer samples
        or steps where the configured ones would overrun it (never below ``min_samples`` / ``sampler.min_steps``).
        With ``inference.tta_flips`` the samples take the mirrorings of the MR in turn (sample i the i-th
        mirroring, modulo their number; each mirrored back): test-time flips at no extra cost."""
        seed = self.seed if seed is None else seed
        plan = self.plan(samples, budget, min_samples)
        flips = mirrorings(self.config.inference.tta_flips)[:plan.samples]
        on_grid = {}  # mirroring -> (fit, MR on the grid), before any sample is timed
        for axes in flips:
            fit, mr_grid = self.mr_on_grid(mirrored(case, axes))
            on_grid[axes] = fit, torch.from_numpy(mr_grid)[None, None]
        out = []
        clock = synchronized_clock(self.device)
        while len(out) < plan.samples:
            start = clock()
            axes = flips[len(out) % len(flips)]
            fit, mr = on_grid[axes]
            out.append(unmirror(self.sample_hu(mr, fit, seed + len(out), plan), axes))
            plan.after_sample(len(out), clock() - start)
        if budget is not None:
            log.info("sampled %s in %.1f s of the case's %g s budget", plan.describe(), budget.elapsed(), budget.seconds)
        return out

    def predict(self, case, budget: TimeBudget | None = None) -> np.ndarray:
        """HU (float32) on the MR's grid: the mean of ``sampler.samples`` samples (1 by default)."""
        volumes = self.predict_samples(case, budget=budget)
        return volumes[0] if len(volumes) == 1 else np.mean(volumes, axis=0, dtype=np.float32)

    def predict_with_uncertainty(self, case, samples: int, budget: TimeBudget | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean HU and the per-voxel standard deviation over ``samples`` seeds (a budget keeps at least 2); with
        ``inference.tta_flips`` over the mirrorings the samples take in turn as well (:meth:`predict_samples`)."""
        volumes = np.stack(self.predict_samples(case, samples, budget=budget, min_samples=2))
        return volumes.mean(0, dtype=np.float32), volumes.std(0, dtype=np.float32)
