"""Resampling volumes between voxel sizes, and the pelvis model's own voxel size.

Two resizers, shared by the brain's head grid (model.preprocessing.headgrid) and the
pelvis generator's spacing: trilinear onto a model's grid (for a factor of two, the
mean of 2 x 2 x 2 voxels; the pelvis smooths first where it shrinks), cubic
convolution back onto the MR's own voxels (it keeps thin bone sharper than trilinear). Both map the volume's extent onto the new one
(``align_corners=False``): voxel centres sit where the geometry says, and a volume
resized to another shape and back has its original shape - so an sCT taken back
lands exactly on its MR's grid, whose header the container copies.

The pelvis generator runs at ``preprocessing.spacing_mm`` where a model folder states
one (:func:`plan_spacing`): an MR at another voxel size is normalised on its own
voxels, resampled to that size, run, and its sCT resampled back. An MR within 1 % of
that size on every axis (SynthRAD's 1 x 1 x 2.5 mm for the demo weights) is not
resampled at all: the path of a model folder without ``spacing_mm``, bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

SAME_SPACING_TOLERANCE = 0.01  # relative, per axis


def resize_linear(volume: np.ndarray, size) -> np.ndarray:
    """Trilinear (onto the grid)."""
    if tuple(volume.shape) == tuple(size):
        return np.array(volume, dtype=np.float32)
    t = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[None, None]
    return F.interpolate(t, size=tuple(size), mode="trilinear", align_corners=False)[0, 0].numpy()


def resize_cubic(volume: np.ndarray, size) -> np.ndarray:
    """Cubic convolution (back onto the MR's voxels), separable: (y, x) slice by slice, then z.
    Same voxel centres as ``resize_linear`` (``align_corners=False``), edges replicated."""
    size = tuple(int(n) for n in size)
    if tuple(volume.shape) == size:
        return np.array(volume, dtype=np.float32)
    t = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))
    t = F.interpolate(t[:, None], size=size[1:], mode="bicubic", align_corners=False)[:, 0]
    planes = t.reshape(1, 1, t.shape[0], -1)  # z against every (y, x) position: a 2-D resize along z only
    t = F.interpolate(planes, size=(size[0], planes.shape[-1]), mode="bicubic", align_corners=False)
    return t.reshape(size).numpy()


@dataclass(frozen=True)
class SpacingPlan:
    """An MR's voxels and the model's: ``shape`` (the MR's, z, y, x) and ``model_shape`` over the same extent."""

    shape: tuple[int, int, int]
    model_shape: tuple[int, int, int]

    def to_model(self, volume: np.ndarray) -> np.ndarray:
        """Trilinear; along an axis shrunk by a factor f > 1, Gaussian-smoothed first (sigma (f - 1) / 2 voxels,
        scikit-image's anti-aliasing rule), since trilinear weights only the two nearest voxels."""
        factors = [n / m for n, m in zip(self.shape, self.model_shape)]
        sigma = [max(0.0, (f - 1) / 2) for f in factors]
        if any(sigma):
            volume = ndimage.gaussian_filter(np.asarray(volume, dtype=np.float32), sigma, mode="nearest")
        return resize_linear(volume, self.model_shape)

    def from_model(self, volume: np.ndarray) -> np.ndarray:
        return resize_cubic(volume, self.shape)

    def body_to_model(self, body: np.ndarray) -> np.ndarray:
        return resize_linear(body.astype(np.float32), self.model_shape) > 0.5


def plan_spacing(shape, spacing_xyz, spacing_mm) -> SpacingPlan | None:
    """How an MR of ``shape`` (z, y, x) and ``spacing_xyz`` (SimpleITK's order) meets a model's ``spacing_mm``
    (z, y, x), or None: no model spacing, or the MR's is the model's (within :data:`SAME_SPACING_TOLERANCE`)."""
    if spacing_mm is None:
        return None
    spacing = np.asarray(spacing_xyz, dtype=float)[::-1]
    target = np.asarray(spacing_mm, dtype=float)
    if np.all(np.abs(spacing - target) <= SAME_SPACING_TOLERANCE * target):
        return None
    model_shape = tuple(max(1, int(round(n * s / t))) for n, s, t in zip(shape, spacing, target))
    return SpacingPlan(tuple(int(n) for n in shape), model_shape)
