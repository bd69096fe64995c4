"""Label maps for the data engine: the phantom generator's parametric anatomy over wide ranges, with septa.

A pelvis is drawn by tools.phantom with :data:`~tools.phantom.pelvis.ENGINE_PELVIS`
(thin to very obese, an empty to a full bladder, bowel and rectum from no gas to
mostly gas, femoral heads and sacrum of several sizes); a head with
:data:`~tools.phantom.head.ENGINE_BRAIN` (skull 3.5-11 mm with tables and diploe,
scalp fat, sulcal CSF, ventricles 0.6-1.7 x, sinuses 0.6-1.4 x, eyes); SynthRAD2025's
regions (head and neck, thorax, abdomen) with their modules' ``ANATOMIES["engine"]``
(tools.phantom.headneck, .thorax, .abdomen). Then the tissues get the
fine structure real fat and muscle have: thin soft-tissue septa through the fat
(where a smooth random field crosses zero) and streaks of fat between muscles.
"""
from __future__ import annotations

import numpy as np

from tools.phantom import Tissue
from tools.phantom.case import SYNTHRAD2025_MODULES, region_module
from tools.phantom.head import BRAIN_SPACING, ENGINE_BRAIN, brain_labels
from tools.phantom.pelvis import ENGINE_PELVIS, PELVIS_SPACING, pelvis_labels
from tools.synth.render import smooth_noise

ENGINE_STREAM = 11  # anatomy ``index`` of a run seeded ``seed`` is drawn from default_rng([seed, ENGINE_STREAM, index])
REGIONS = ("Pelvis", "Brain", *SYNTHRAD2025_MODULES)
SEPTA_SIGMA_MM = (3.75, 4.0, 4.0)  # z, y, x: smoothness of the septa's random fields (times 0.7-1.5 per anatomy)


def phantom_spacing(region: str) -> tuple[float, float, float]:
    """The phantom's voxel size of ``region``, (x, y, z) mm."""
    return {"Pelvis": PELVIS_SPACING, "Brain": BRAIN_SPACING}.get(region) or region_module(region).SPACING


def engine_anatomy(region: str):
    """The ranges the engine draws ``region``'s anatomies from (a frozen dataclass)."""
    return {"Pelvis": ENGINE_PELVIS, "Brain": ENGINE_BRAIN}.get(region) or region_module(region).ANATOMIES["engine"]


def spacing_scale(region: str, spacing_mm) -> tuple[float, float, float]:
    """Voxels per phantom voxel along (x, y, z) for a model at ``spacing_mm`` (z, y, x; None: the phantom's)."""
    if spacing_mm is None:
        return (1.0, 1.0, 1.0)
    return tuple(p / s for p, s in zip(phantom_spacing(region), tuple(spacing_mm)[::-1]))


def make_anatomy(region: str, seed: int, index: int, scale=(1.0, 1.0, 1.0)) -> tuple[np.ndarray, tuple]:
    """The label map (z, y, x, uint8 :class:`Tissue`) of anatomy ``index`` of a run seeded ``seed``, and its
    spacing (x, y, z mm); ``scale``: voxels per phantom voxel (not the brain's: a head is drawn at 1 mm)."""
    if region not in REGIONS:
        raise ValueError(f"the data engine draws {', '.join(REGIONS)} anatomy, not {region}")
    rng = np.random.default_rng([seed, ENGINE_STREAM, index])
    if region in SYNTHRAD2025_MODULES:
        drawn = region_module(region).draw_labels(rng, scale, engine_anatomy(region))
        labels, spacing = drawn.labels, drawn.spacing
    elif region == "Pelvis":
        labels, spacing, _ = pelvis_labels(rng, scale, ENGINE_PELVIS)
    else:
        if tuple(scale) != (1.0, 1.0, 1.0):
            raise ValueError("a head is drawn at the phantom's 1 mm")
        labels, spacing = brain_labels(rng, ENGINE_BRAIN)
    add_septa(labels, rng, spacing)
    return labels, spacing


def add_septa(labels: np.ndarray, rng: np.random.Generator, spacing_xyz) -> None:
    """Soft-tissue septa through fat, fat streaks between muscles (in place); the fields' smoothness in mm."""
    sigma = np.asarray(SEPTA_SIGMA_MM) / np.asarray(spacing_xyz, np.float64)[::-1] * rng.uniform(0.7, 1.5)
    field = smooth_noise(labels.shape, sigma, rng)
    fat = labels == Tissue.FAT
    labels[fat & (np.abs(field) < rng.uniform(0.02, 0.1))] = Tissue.SOFT
    streak = smooth_noise(labels.shape, sigma * 0.7, rng)
    labels[(labels == Tissue.SOFT) & (streak > rng.uniform(1.6, 2.6))] = Tissue.FAT
