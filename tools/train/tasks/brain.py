"""What the brain stages share: training cases on the model grid and the previous stage's model folder."""
from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import numpy as np

from model.config import LatentDiffusionConfig, load_config
from model.errors import InputError, WeightsError
from model.preprocessing.headgrid import fit_case, to_grid
from model.weights import CONFIG, load_weights, verify_manifest
from tools.dataset.cache import CaseFit
from tools.dataset.cases import TrainingCase, UnitCase, patch_centres


def on_grid(case: TrainingCase, config: LatentDiffusionConfig) -> UnitCase:
    """The case's MR and CT fitted to the model grid; patch centres anywhere in the fitted head box
    (patches then mix head and air like the whole grid the networks run on at inference)."""
    fit = fit_case(case.inputs, config)
    box = np.zeros(fit.grid, dtype=bool)
    box[fit.grid_box()] = True
    centres = patch_centres(box)
    # only the grid's volumes: the whole case (MR image, HU, the original-resolution arrays) is let go
    return UnitCase(case.case_id, to_grid(case.mr_unit, fit, -1.0), to_grid(case.ct_unit, fit, -1.0), centres)


def grid_fit(config: LatentDiffusionConfig) -> CaseFit:
    """Every brain stage trains on its cases fitted to the model grid (:func:`on_grid`), cached once for all of
    them: the cache's entries depend on the grid (and the MR percentiles, which the cache keys anyway)."""
    return CaseFit("grid", {"grid": dataclasses.asdict(config.grid)}, partial(on_grid, config=config))


# Sections of the config a later stage must share with the stage it starts from.
SHARED = ("grid", "networks.autoencoder", "networks.unet", "scheduler", "preprocessing")


def _section(config: LatentDiffusionConfig, key: str):
    for part in key.split("."):
        config = getattr(config, part)
    return config


class PreviousStage:
    """A verified model folder exported by an earlier stage, whose config must agree with this one's."""

    def __init__(self, folder: Path | None, config: LatentDiffusionConfig, stage: str, needs: tuple[str, ...]):
        if folder is None:
            raise InputError(Path("--previous"), f"the {stage} stage starts from the previous stage's model folder: "
                                                 f"pass --previous <run>/model")
        self.folder = Path(folder)
        self.config = load_config(self.folder / CONFIG, WeightsError)
        if not isinstance(self.config, LatentDiffusionConfig):
            raise WeightsError(self.folder / CONFIG, f"pipeline: {self.config.pipeline!r}, not a brain stage's 'ldm'")
        weights = self.config.weights or {}
        missing = [n for n in needs if n not in weights]
        if missing:
            raise WeightsError(self.folder / CONFIG, f"has no {', '.join(missing)} weights: is it the right stage's model folder?")
        verify_manifest(self.folder, required=(CONFIG, *(weights[n] for n in needs)))
        for key in SHARED:
            if _section(self.config, key) != _section(config, key):
                raise InputError(self.folder / CONFIG, f"its {key} differs from {config.source}'s: train every stage "
                                                       "with the same config")

    def load(self, name: str, net):
        return load_weights(net, self.folder / self.config.weights[name])
