"""A training pair rendered from a label patch: MR in network units and CT in HU, both drawn anew per call.

The MR is normalised as inference normalises it (model.preprocessing.intensity:
the body's [p_low, p_high] percentiles to [-1, 1], -1 outside the body), with the
percentiles of the *whole anatomy* estimated from its label histogram (a
Monte-Carlo draw of its body voxels under the same intensities), not of the
patch: a patch of fat alone is not stretched to fill [-1, 1].
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from model.config import SynthData
from model.preprocessing.intensity import HU_MAX, HU_MIN
from tools.dataset.augment import bias_field
from tools.phantom import Tissue
from tools.phantom.tissues import SYNTHRAD2023_TISSUES
from tools.synth.contrast import ct_lut, draw_family, mr_lut, mr_spread

PERCENTILE_DRAWS = 20_000
BONE = (Tissue.MARROW, Tissue.DIPLOE)


def smooth_noise(shape, sigma, rng: np.random.Generator) -> np.ndarray:
    """Gaussian-filtered white noise scaled to unit standard deviation (a texture)."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma)
    std = float(field.std())
    return field / np.float32(std if std > 0 else 1.0)


def mr_signal(labels: np.ndarray, settings: SynthData, rng: np.random.Generator,
              tissues=SYNTHRAD2023_TISSUES) -> tuple[np.ndarray, dict]:
    """The MR signal of ``labels`` (z, y, x; arbitrary units, the brightest tissue ~ 1) and the draws that made it
    (``lut``, ``spread``, ``gamma``, ``peak``: what the body's percentiles are estimated from); ``tissues``: the
    region's (tools.phantom.tissues.region_tissues), those the look-up tables draw values for."""
    s = settings
    family = draw_family(rng, dataclasses.asdict(s.mr_families))
    lut = mr_lut(rng, family, s.mr_jitter, tissues)
    spread = mr_spread(rng, lut, s.mr_texture, tissues)
    gamma = rng.uniform(*s.mr_gamma)
    texture_sigma = rng.uniform(0.5, 2.0)
    signal = lut[labels] + spread[labels] * smooth_noise(labels.shape, texture_sigma, rng)
    np.maximum(signal, 0, out=signal)
    signal = ndimage.gaussian_filter(signal, (rng.uniform(*s.mr_blur_z),) + (rng.uniform(*s.mr_blur_yx),) * 2)
    peak = np.float32(max(float(lut.max()), 1e-6))
    signal = peak * (signal / peak) ** np.float32(gamma)
    signal *= bias_field(labels.shape, rng.uniform(*s.mr_bias), rng)
    sigma = np.float32(rng.uniform(*s.mr_noise) * peak)
    real = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    return np.sqrt(real**2 + imag**2), {"lut": lut, "spread": spread, "gamma": gamma, "peak": peak, "family": family}


def render_mr(labels: np.ndarray, histogram: np.ndarray, percentiles, settings: SynthData,
              rng: np.random.Generator, tissues=SYNTHRAD2023_TISSUES) -> np.ndarray:
    """The MR of ``labels`` (z, y, x) in network units; ``histogram``: voxels per label in the anatomy's body."""
    mr, drawn = mr_signal(labels, settings, rng, tissues)
    low, high = _body_percentiles(histogram, drawn["lut"], drawn["spread"], drawn["gamma"], drawn["peak"],
                                  percentiles, rng)
    unit = np.clip((mr - low) / (high - low) * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)
    unit[labels == Tissue.AIR] = -1.0
    return unit


def _body_percentiles(histogram, lut, spread, gamma, peak, percentiles, rng) -> tuple[float, float]:
    p = histogram / histogram.sum()
    drawn = rng.choice(len(p), PERCENTILE_DRAWS, p=p)
    values = np.maximum(lut[drawn] + spread[drawn] * rng.standard_normal(PERCENTILE_DRAWS).astype(np.float32), 0)
    values = peak * (values / peak) ** np.float32(gamma)
    low, high = np.percentile(values, percentiles)
    return float(low), float(max(high, low + 1e-3 * peak))


def render_ct(labels: np.ndarray, settings: SynthData, rng: np.random.Generator,
              tissues=SYNTHRAD2023_TISSUES) -> np.ndarray:
    """The CT of ``labels`` in HU (float32): per-tissue values (``tissues``'), trabecular texture in cancellous
    bone, mild texture elsewhere, in-plane partial volume, noise."""
    s = settings
    lut = ct_lut(rng, tissues)
    amplitude = np.zeros(len(lut), np.float32)
    amplitude[list(BONE)] = rng.uniform(*s.ct_texture)
    amplitude[[Tissue.FAT, Tissue.SOFT, Tissue.BOWEL]] = rng.uniform(3.0, 15.0, 3)
    hu = lut[labels] + amplitude[labels] * smooth_noise(labels.shape, rng.uniform(0.6, 1.5), rng)
    hu = ndimage.gaussian_filter(hu, (0.0,) + (rng.uniform(*s.ct_blur_yx),) * 2)
    hu += np.float32(rng.uniform(*s.ct_noise)) * rng.standard_normal(hu.shape, dtype=np.float32)
    return np.clip(hu, HU_MIN, HU_MAX).astype(np.float32)
