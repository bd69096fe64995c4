"""Per-sample tissue intensities: an MR value for every label (any sequence, any ordering) and the CT's HU.

MR. A family is drawn first (``SynthData.mr_families``, weights), then each
tissue's mean is the family's nominal value times a jitter, and a within-tissue
spread is drawn per tissue:

- ``t1``: fat bright, fluid dark (the generator's own look, tools.phantom.tissues.MR_T1);
- ``t2``: fluid (urine, CSF, vitreous) brightest, fat bright, muscle dark;
- ``pd``: flat contrast between soft tissues;
- ``fat_suppressed``: T1 or T2 with fat (and fatty marrow) dark;
- ``inverted``: T1 turned upside down inside the body;
- ``random``: every tissue uniform in [0, 1], any order (SynthSeg).

In every family gas, cortical bone, lung, enamel and metal stay near zero (no
signal on any conventional sequence: air has no protons, cortical bone's,
lung's and enamel's T2* is too short, metal is a void) and the air outside the
body is zero. That keeps the real difficulty: dark is
air or bone, and only anatomy tells which.

CT. Each tissue's HU is drawn from :data:`CT_HU` (wider than the generator's
ranges: fat from -130 to -60, marrow from 100 to 450 HU).

Every draw is made for a region's tissues only (``tissues``: tools.phantom.tissues.region_tissues), in their
order: the pelvis and the brain draw exactly what they drew before SynthRAD2025's regions added tissues.
"""
from __future__ import annotations

import numpy as np

from tools.phantom.tissues import MR_T1, SYNTHRAD2023_TISSUES, Tissue

N_TISSUES = len(Tissue)  # the length of every look-up table (index = label)
# Nominal intensities per family (fat ~ 1 in T1); tissues not named take their T1 value.
MR_NOMINAL: dict[str, dict[Tissue, float]] = {
    "t1": dict(MR_T1),
    "t2": {**MR_T1, Tissue.FAT: 0.75, Tissue.SOFT: 0.25, Tissue.URINE: 1.1, Tissue.BOWEL: 0.55, Tissue.MARROW: 0.55,
           Tissue.DIPLOE: 0.45, Tissue.CSF: 1.1, Tissue.GREY: 0.5, Tissue.WHITE: 0.35, Tissue.VITREOUS: 1.1,
           Tissue.LIVER: 0.2, Tissue.SPLEEN: 0.5, Tissue.KIDNEY: 0.6, Tissue.BLOOD: 0.5, Tissue.GLAND: 0.6},
    "pd": {**MR_T1, Tissue.FAT: 0.85, Tissue.SOFT: 0.5, Tissue.URINE: 0.6, Tissue.BOWEL: 0.5, Tissue.MARROW: 0.75,
           Tissue.DIPLOE: 0.65, Tissue.CSF: 0.7, Tissue.GREY: 0.65, Tissue.WHITE: 0.55, Tissue.VITREOUS: 0.7,
           Tissue.LIVER: 0.55, Tissue.SPLEEN: 0.6, Tissue.KIDNEY: 0.6, Tissue.BLOOD: 0.45, Tissue.GLAND: 0.7},
}
#: Near zero on every conventional sequence (a region draws those of its tissues, in this order).
DARK = (Tissue.GAS, Tissue.CORTICAL, Tissue.LUNG, Tissue.ENAMEL, Tissue.METAL)
DARK_RANGE = (0.0, 0.08)
FATTY = (Tissue.FAT, Tissue.MARROW, Tissue.DIPLOE)  # suppressed by fat suppression
MR_FAMILIES = ("t1", "t2", "pd", "fat_suppressed", "inverted", "random")

#: CT HU ranges per tissue, drawn per sample (wider than tools.phantom.tissues.CT_HU_RANGE).
CT_HU: dict[Tissue, tuple[float, float]] = {
    Tissue.AIR: (-1000.0, -1000.0),
    Tissue.GAS: (-1000.0, -850.0),
    Tissue.FAT: (-130.0, -60.0),
    Tissue.SOFT: (20.0, 60.0),
    Tissue.URINE: (0.0, 20.0),
    Tissue.BOWEL: (0.0, 40.0),
    Tissue.MARROW: (100.0, 450.0),
    Tissue.DIPLOE: (350.0, 800.0),
    Tissue.CORTICAL: (900.0, 1600.0),
    Tissue.CSF: (0.0, 15.0),
    Tissue.GREY: (30.0, 45.0),
    Tissue.WHITE: (20.0, 35.0),
    Tissue.VITREOUS: (0.0, 15.0),
    Tissue.LUNG: (-950.0, -700.0),
    Tissue.ENAMEL: (1700.0, 3000.0),
    Tissue.METAL: (2500.0, 3071.0),
    Tissue.LIVER: (40.0, 75.0),
    Tissue.SPLEEN: (35.0, 60.0),
    Tissue.KIDNEY: (20.0, 45.0),
    Tissue.BLOOD: (25.0, 55.0),
    Tissue.GLAND: (-40.0, 40.0),
}


def draw_family(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = [n for n in MR_FAMILIES if weights.get(n, 0) > 0]
    p = np.array([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def mr_lut(rng: np.random.Generator, family: str, jitter: tuple[float, float] = (0.8, 1.25),
           tissues=SYNTHRAD2023_TISSUES) -> np.ndarray:
    """The mean MR intensity of each of ``tissues`` (index = :class:`Tissue`; the others 0), for ``family``."""
    lut = np.zeros(N_TISSUES, np.float32)
    body = [t for t in tissues if t != Tissue.AIR]
    if family == "random":
        lut[body] = rng.uniform(0.0, 1.0, len(body))
    else:
        base = family
        if family in ("fat_suppressed", "inverted"):
            base = "t1" if family == "inverted" or rng.random() < 0.5 else "t2"
        for tissue in tissues:
            lut[tissue] = MR_NOMINAL[base][tissue] * rng.uniform(*jitter)
        if family == "fat_suppressed":
            lut[list(FATTY)] *= rng.uniform(0.08, 0.3)
        elif family == "inverted":
            lut[body] = lut[body].max() * 1.05 - lut[body]
    dark = [t for t in DARK if t in tissues]
    lut[dark] = rng.uniform(*DARK_RANGE, len(dark))
    lut[Tissue.AIR] = 0.0
    return lut


def mr_spread(rng: np.random.Generator, lut: np.ndarray, relative: tuple[float, float] = (0.02, 0.12),
              tissues=SYNTHRAD2023_TISSUES) -> np.ndarray:
    """Each of ``tissues``' within-tissue standard deviation, a fraction of the brightest tissue."""
    spread = np.zeros(N_TISSUES, np.float32)
    spread[list(tissues)] = rng.uniform(*relative, len(tissues)).astype(np.float32) * np.float32(lut.max())
    spread[Tissue.AIR] = 0.0
    return spread


def ct_lut(rng: np.random.Generator, tissues=SYNTHRAD2023_TISSUES) -> np.ndarray:
    """Each of ``tissues``' HU (index = :class:`Tissue`; the others 0), drawn from :data:`CT_HU`."""
    lut = np.zeros(N_TISSUES, np.float32)
    for tissue in tissues:
        lo, hi = CT_HU[tissue]
        lut[tissue] = lo if lo == hi else rng.uniform(lo, hi)
    return lut
