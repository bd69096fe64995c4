"""Label maps for the data engine: the phantom generator's parametric anatomy over wide ranges, with septa.

A pelvis is drawn by model.tools.phantom with :data:`~model.tools.phantom.ENGINE_PELVIS`
(thin to very obese, an empty to a full bladder, bowel and rectum from no gas to
mostly gas, femoral heads and sacrum of several sizes). Then the tissues get the
fine structure real fat and muscle have: thin soft-tissue septa through the fat
(where a smooth random field crosses zero) and streaks of fat between muscles.
"""
from __future__ import annotations

import numpy as np

from model.synth.render import smooth_noise
from model.tools.phantom import ENGINE_PELVIS, PELVIS_SPACING, Tissue, _pelvis_labels

ENGINE_STREAM = 11  # anatomy ``index`` of a run seeded ``seed`` is drawn from default_rng([seed, ENGINE_STREAM, index])
REGIONS = ("Pelvis",)


def spacing_scale(region: str, spacing_mm) -> tuple[float, float, float]:
    """Voxels per phantom voxel along (x, y, z) for a model at ``spacing_mm`` (z, y, x; None: the phantom's)."""
    if spacing_mm is None:
        return (1.0, 1.0, 1.0)
    return tuple(p / s for p, s in zip(PELVIS_SPACING, tuple(spacing_mm)[::-1]))


def make_anatomy(region: str, seed: int, index: int, scale=(1.0, 1.0, 1.0)) -> np.ndarray:
    """The label map (z, y, x, uint8 :class:`Tissue`) of anatomy ``index`` of a run seeded ``seed``."""
    if region not in REGIONS:
        raise ValueError(f"the data engine draws {', '.join(REGIONS)} anatomy, not {region}")
    rng = np.random.default_rng([seed, ENGINE_STREAM, index])
    labels, _, _ = _pelvis_labels(rng, scale, ENGINE_PELVIS)
    add_septa(labels, rng, scale)
    return labels


def add_septa(labels: np.ndarray, rng: np.random.Generator, scale=(1.0, 1.0, 1.0)) -> None:
    """Soft-tissue septa through fat, fat streaks between muscles (in place)."""
    sigma = np.array([1.5 * scale[2], 4.0 * scale[1], 4.0 * scale[0]]) * rng.uniform(0.7, 1.5)
    field = smooth_noise(labels.shape, sigma, rng)
    fat = labels == Tissue.FAT
    labels[fat & (np.abs(field) < rng.uniform(0.02, 0.1))] = Tissue.SOFT
    streak = smooth_noise(labels.shape, sigma * 0.7, rng)
    labels[(labels == Tissue.SOFT) & (streak > rng.uniform(1.6, 2.6))] = Tissue.FAT
