"""Random MR intensity changes in training: what another scanner or centre would give the network.

Multi-centre MR differ in contrast between tissues, bias field, noise and
resolution. A model trained on one centre's images (or on one phantom generator)
learns its look; these transforms (``training.augment_mr``, model.config.MRAugmentation)
vary it, on the MR patch only, after the usual normalisation - so inference
normalises exactly as before. As nnU-Net and the SynthRAD2025 winners do, each
transform applies with its own probability, in a fixed order:

1. contrast between tissues: a random piecewise-linear intensity map (MONAI ``RandHistogramShift``);
2. gamma (MONAI ``RandAdjustContrast``);
3. a smooth multiplicative bias field (ours: MONAI's ``RandBiasField`` draws one-sided
   coefficients and no normalisation, and on a 32 x 128 x 128 patch its field spans a
   factor of 2-20 even at its default range; this one is a random degree-3 polynomial
   in the log, zero-mean, scaled to a drawn largest deviation);
4. Gaussian blur (MONAI ``RandGaussianSmooth``);
5. a lower acquired resolution: nearest-neighbour down, trilinear up (MONAI ``RandSimulateLowResolution``);
6. Rician noise (MONAI ``RandRicianNoise``).

They work on the MR mapped from its network range [-1, 1] to [0, 1], and the result
is clipped back to [-1, 1]. Voxels at -1 before (outside the body, and the darkest
clipped tissue) stay at -1, as the normalisation leaves them at inference.

Every draw comes from one integer seed per patch, drawn by the sampler from the
training stream, so a batch does not depend on the number of loader workers and a
resumed run continues the same augmentations.
"""
from __future__ import annotations

import numpy as np
import torch
from monai.transforms import (RandAdjustContrast, RandGaussianSmooth, RandHistogramShift, RandRicianNoise,
                              RandSimulateLowResolution)

from model.config import MRAugmentation

SEED_LIMIT = 2**31 - 1


def bias_field(shape, strength: float, rng: np.random.Generator) -> np.ndarray:
    """exp of a random degree-3 polynomial over the patch, zero-mean in the log, its largest deviation from 1
    equal to ``strength`` (the field lies within [1 / (1 + strength), 1 + strength])."""
    axes = [np.linspace(-1, 1, n, dtype=np.float32) for n in shape]
    log_field = np.zeros(shape, np.float32)
    powers = [(i, j, k) for i in range(4) for j in range(4) for k in range(4) if 0 < i + j + k <= 3]
    for (i, j, k), c in zip(powers, rng.normal(size=len(powers)).astype(np.float32)):
        log_field += c * (axes[0] ** i)[:, None, None] * (axes[1] ** j)[None, :, None] * (axes[2] ** k)[None, None, :]
    log_field -= log_field.mean()
    peak = float(np.abs(log_field).max())
    if peak > 0:
        log_field *= np.float32(np.log1p(strength) / peak)
    return np.exp(log_field)


class MRAugmenter:
    """``augmenter(mr, seed)``: a (z, y, x) MR patch in network units, changed as ``settings`` says."""

    def __init__(self, settings: MRAugmentation):
        self.settings = settings
        s = settings
        self.before_bias = [RandHistogramShift(num_control_points=tuple(s.histogram_points), prob=s.histogram_shift_p),
                            RandAdjustContrast(prob=s.gamma_p, gamma=tuple(s.gamma))]
        self.after_bias = [RandGaussianSmooth(sigma_x=tuple(s.blur_sigma), sigma_y=tuple(s.blur_sigma),
                                              sigma_z=tuple(s.blur_sigma), prob=s.blur_p),
                           RandSimulateLowResolution(prob=s.low_resolution_p, zoom_range=tuple(s.low_resolution_zoom)),
                           RandRicianNoise(prob=s.noise_p, std=s.noise_std, sample_std=True)]

    def __call__(self, mr: np.ndarray, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        seeds = rng.integers(SEED_LIMIT, size=len(self.before_bias) + len(self.after_bias))
        outside = mr <= -1.0
        x = torch.from_numpy((np.asarray(mr, dtype=np.float32) + 1.0) / 2.0)[None]
        changed = False
        for transform, s in zip(self.before_bias, seeds):
            x, fired = self._apply(transform, x, s)
            changed |= fired
        if rng.random() < self.settings.bias_field_p:
            x = x * torch.from_numpy(bias_field(x.shape[1:], rng.uniform(*self.settings.bias_field_strength), rng))
            changed = True
        for transform, s in zip(self.after_bias, seeds[len(self.before_bias):]):
            x, fired = self._apply(transform, x, s)
            changed |= fired
        if not changed:
            return mr
        out = np.clip(np.asarray(x[0], dtype=np.float32) * 2.0 - 1.0, -1.0, 1.0)
        out[outside] = -1.0
        return out

    @staticmethod
    def _apply(transform, x: torch.Tensor, seed) -> tuple[torch.Tensor, bool]:
        """(the result, whether the transform fired)."""
        transform.set_random_state(seed=int(seed))
        out = transform(x)
        return torch.as_tensor(out.as_tensor() if hasattr(out, "as_tensor") else out, dtype=torch.float32), \
            bool(transform._do_transform)


def augmenter(settings: MRAugmentation | None) -> MRAugmenter | None:
    return None if settings is None else MRAugmenter(settings)
