"""A random affine and elastic deformation of a label patch, in mm (voxels may be anisotropic).

The output patch's voxel centres are mapped, about the patch centre, through a
rotation (up to ``rotation_deg`` in-plane, a third of it about the other two
axes), a per-axis scaling and a smooth displacement field (normal, std
``elastic_mm``, on a coarse 3 x 5 x 5 grid, interpolated cubically), into a
larger source block cut around the same centre; labels are read nearest-neighbour.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from model.config import SynthData
from tools.phantom import Tissue

COARSE = (3, 5, 5)


def source_size(size, settings: SynthData, spacing_zyx) -> tuple[int, ...]:
    """The source block a ``size`` patch is deformed from: room for the rotation, scaling and displacement."""
    angle = np.deg2rad(settings.rotation_deg)
    grow = (abs(np.cos(angle)) + abs(np.sin(angle))) / settings.scale[0]
    extra = [4 * settings.elastic_mm / sp for sp in spacing_zyx]
    inplane = [int(np.ceil(n * grow + e)) + 2 for n, e in zip(size[1:], extra[1:])]
    tilt = np.sin(angle / 3) * max(s * sp for s, sp in zip(size[1:], spacing_zyx[1:])) / spacing_zyx[0]
    return (int(np.ceil(size[0] / settings.scale[0] + tilt + extra[0])) + 2, *inplane)


def deform(block: np.ndarray, size, settings: SynthData, spacing_zyx, rng: np.random.Generator) -> np.ndarray:
    """A ``size`` label patch read from ``block`` (centred on the same point) through a random deformation."""
    sp = np.asarray(spacing_zyx, np.float64)
    grid = np.stack(np.meshgrid(*[(np.arange(n) - (n - 1) / 2.0) * s for n, s in zip(size, sp)], indexing="ij"))
    angles = np.deg2rad(settings.rotation_deg) * rng.uniform(-1, 1, 3) * np.array([1.0, 1 / 3, 1 / 3])
    matrix = _rotation(*angles) @ np.diag(1.0 / rng.uniform(*settings.scale, 3))
    points = np.tensordot(matrix, grid, axes=1)
    if settings.elastic_mm > 0:
        for axis in range(3):
            coarse = rng.normal(0.0, settings.elastic_mm, COARSE)
            points[axis] += ndimage.zoom(coarse, [n / c for n, c in zip(size, COARSE)], order=3,
                                         mode="nearest")[: size[0], : size[1], : size[2]]
    centre = (np.asarray(block.shape) - 1) / 2.0
    coords = points / sp[:, None, None, None] + centre[:, None, None, None]
    return ndimage.map_coordinates(block, coords, order=0, mode="constant", cval=Tissue.AIR).astype(np.uint8)


def _rotation(about_z: float, about_y: float, about_x: float) -> np.ndarray:
    """A rotation of (z, y, x) coordinates: in-plane (about z) first."""
    cz, sz, cy, sy, cx, sx = np.cos(about_z), np.sin(about_z), np.cos(about_y), np.sin(about_y), np.cos(about_x), np.sin(about_x)
    in_plane = np.array([[1, 0, 0], [0, cz, -sz], [0, sz, cz]])
    tilt_y = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    tilt_x = np.array([[cx, -sx, 0], [sx, cx, 0], [0, 0, 1]])
    return tilt_x @ tilt_y @ in_plane
