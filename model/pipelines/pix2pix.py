"""Pelvis: a 3-D Pix2Pix generator run over the whole volume with sliding windows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from model.budget import TimeBudget
from model.config import Pix2PixConfig
from model.networks.pix2pix import Pix2PixGenerator, build_generator
from model.pipelines.base import Pipeline
from model.pipelines.mirroring import mirrorings, unmirror
from model.pipelines.sliding import predict_volume
from model.precision import inference_precision, with_float32_retry
from model.preprocessing.intensity import normalise_mr, unit_to_ct
from model.preprocessing.resample import plan_spacing
from model.weights import load_weights


class Pix2PixPipeline(Pipeline):
    name = "pix2pix"
    config_class = Pix2PixConfig

    def __init__(self, generator: Pix2PixGenerator, config: Pix2PixConfig, device: torch.device):
        self.generator = generator.to(device).eval()
        self.config = config
        self.device = device
        self.percentiles = config.preprocessing.mr_percentiles
        self.precision = inference_precision(device, config.inference.amp)

    @classmethod
    def from_folder(cls, folder: Path, config: Pix2PixConfig, device: torch.device) -> "Pix2PixPipeline":
        generator = build_generator(config.networks.generator)
        load_weights(generator, folder / config.weights["generator"])
        return cls(generator, config, device)

    def predict_unit(self, mr_unit: np.ndarray, budget: TimeBudget | None = None, passes: int = 1) -> np.ndarray:
        """Normalised MR -> CT in [-1, 1], whole volume (a non-finite output is run again in float32, once).
        With a ``budget`` the log says, from the first window batch, whether ``passes`` such volumes fit it."""
        return with_float32_retry(
            lambda precision: predict_volume(self.generator, mr_unit, self.config.inference, self.device,
                                             precision=precision, budget=budget, passes=passes),
            self.precision, "Pix2Pix windows")

    def predict(self, case, budget: TimeBudget | None = None) -> np.ndarray:
        """HU (float32) on the MR's grid for a :class:`model.pipelines.CaseInput`: the MR normalised on its own
        voxels, resampled to ``preprocessing.spacing_mm`` where the model states one and the MR has another
        (model.preprocessing.resample), the generator run over it - once per mirroring of
        ``inference.tta_flips``, mirrored back and averaged - and the result resampled back onto the MR's voxels."""
        mr_unit = normalise_mr(case.mr, case.body, self.percentiles)
        spacing = plan_spacing(mr_unit.shape, case.mr_image.GetSpacing(), self.config.preprocessing.spacing_mm)
        if spacing is not None:
            mr_unit = spacing.to_model(mr_unit)
        flips = mirrorings(self.config.inference.tta_flips)
        unit = self.predict_unit(mr_unit, budget, passes=len(flips))  # the budget's estimate covers every pass
        for axes in flips[1:]:
            unit += unmirror(self.predict_unit(unmirror(mr_unit, axes)), axes)
        if len(flips) > 1:
            unit /= len(flips)
        if spacing is not None:
            unit = spacing.from_model(unit)
        return unit_to_ct(unit)
