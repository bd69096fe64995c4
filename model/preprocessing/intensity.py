"""Intensity maps between images and network values.

CT: HU clipped to [-1024, 3071] and scaled linearly to [-1, 1].
MR: robust percentiles inside the body mask mapped to [-1, 1]; -1 outside the body.
"""
from __future__ import annotations

import numpy as np

from model.errors import NonFiniteOutput

# The sCT's range and its value outside the body (the container's output, and the challenge's clipping).
HU_MIN, HU_MAX = -1024, 3071
HU_OUTSIDE_BODY = -1000
# Percentiles of a large mask are estimated from at most this many voxels (deterministic stride).
PERCENTILE_SAMPLE = 2_000_000


def ct_to_unit(hu: np.ndarray) -> np.ndarray:
    return ((np.clip(hu, HU_MIN, HU_MAX) - HU_MIN) / (HU_MAX - HU_MIN) * 2.0 - 1.0).astype(np.float32)


def unit_to_ct(unit: np.ndarray) -> np.ndarray:
    return ((np.asarray(unit, dtype=np.float32) + 1.0) / 2.0 * (HU_MAX - HU_MIN) + HU_MIN).astype(np.float32)


def sct_voxels(hu: np.ndarray, body: np.ndarray) -> np.ndarray:
    """The container's output voxels: int16 HU in [-1024, 3071], -1000 outside the body."""
    if not np.isfinite(hu).all():
        raise NonFiniteOutput("the network produced NaN or Inf; refusing to write the sCT")
    sct = np.clip(np.rint(hu), HU_MIN, HU_MAX).astype(np.int16)
    sct[~body] = HU_OUTSIDE_BODY
    return sct


class FlatMRError(ValueError):
    """The MR has no contrast inside the body mask."""


def normalise_mr(mr: np.ndarray, body: np.ndarray, percentiles: tuple[float, float]) -> np.ndarray:
    """Map the MR's [p_low, p_high] percentiles inside the body to [-1, 1], clip, -1 outside."""
    inside = mr[body]
    step = max(1, inside.size // PERCENTILE_SAMPLE)
    low, high = np.percentile(inside[::step], percentiles)
    if not high > low:
        raise FlatMRError(f"the MR is constant inside the body mask (percentiles {percentiles} both {low:g})")
    unit = (mr - low) / (high - low) * 2.0 - 1.0
    unit = np.clip(unit, -1.0, 1.0).astype(np.float32)
    unit[~body] = -1.0
    return unit
