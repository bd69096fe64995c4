"""The abdomen's canvas and body: the label map with the organ (structure id) owning each voxel and the body's
masks (:class:`Canvas`, which also paints hollow viscera), the body's layers (skin, subcutaneous fat, the abdominal
wall), a smooth random field, and the arms at the sides."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.phantom.abdomen.frame import AbdomenCase, Outline
from tools.phantom.abdomen.ranges import SPACING
from tools.phantom.shapes import Ellipsoid, Grid, HalfSpace, Intersection, paint
from tools.phantom.solids import TiltedCylinder
from tools.phantom.tissues import Tissue

#: the structures, by their ids in the ownership map they are read from (0: no structure)
ORGAN_ID = {"target": 1, "liver": 2, "kidney_left": 3, "kidney_right": 4, "bowel": 5, "stomach": 6, "spinal_cord": 7,
            "pancreas": 8}


@dataclass
class Canvas:
    """The label map being painted, the organ (structure id) owning each voxel, and the body's masks."""

    labels: np.ndarray
    owner: np.ndarray
    grid: Grid
    inner: np.ndarray  # inside the abdominal wall (the peritoneal and retroperitoneal spaces, the thorax)
    wall_depth: np.ndarray  # depth (mm) below the abdominal wall's inner surface
    under_fat: np.ndarray  # inside the subcutaneous fat (muscles may go there)
    in_body: np.ndarray  # deeper than the skin
    outside: np.ndarray  # outside the body (the arms go there)
    occupied: np.ndarray  # taken by an organ (the bowel fills what is left)

    def paint(self, shape, tissue, organ: int = 0, margin: float = 0.0, where=None, only=None,
              occupy: bool = False) -> None:
        """Set ``tissue`` (and ``organ``) where ``shape``'s depth > ``margin``, within the full-grid ``where`` and
        where the label is one of ``only``; ``occupy``: mark those voxels taken."""
        painted = paint(self.labels, self.grid, shape, tissue, margin, where=where, only=only)
        if painted is not None:
            sl, inside = painted
            self.owner[sl][inside] = organ
            if occupy:
                self.occupied[sl][inside] = True

    def hollow(self, shape, wall: float, gas: float, organ: int, rng=None, bubbles: int = 0, where=None) -> None:
        """A hollow viscus (within ``where``, default: inside the wall): soft-tissue wall, content, a gas cap over
        ``gas`` of its AP extent (none: 0) above a horizontal gas-fluid level, and ``bubbles`` small gas bubbles
        in its content (stool)."""
        where = self.inner if where is None else where
        self.paint(shape, Tissue.SOFT, organ, where=where, occupy=True)
        self.paint(shape, Tissue.BOWEL, organ, margin=wall, where=where)
        if gas > 0:
            lo, hi = shape.bounds()
            level = lo[1] + (hi[1] - lo[1]) * gas
            self.paint(Intersection((shape, HalfSpace(1, level, 1))), Tissue.GAS, organ, margin=wall, where=where)
        if bubbles:
            for _ in range(bubbles):
                part = shape.shapes[int(rng.integers(len(shape.shapes)))]
                a, b = np.asarray(part.a), np.asarray(part.b)
                r = min(part.ra, part.rb)
                centre = a + rng.uniform() * (b - a) + rng.uniform(-0.5, 0.5, size=3) * r
                size = rng.uniform(2, 5)
                self.paint(Ellipsoid(tuple(centre), (size,) * 3), Tissue.GAS, organ, only=(Tissue.BOWEL,))


def body_layers(case: AbdomenCase, lean: Outline, outline: Outline, grid: Grid, rng) -> Canvas:
    """Skin, subcutaneous fat (``outline`` down to ``lean`` and then thicker towards a random side), the abdominal
    wall's muscle band (thicker at the flanks, a fat plane in it) and the masks of the canvas."""
    x, y, z = grid.full()
    d_out = outline.depth(x, y, z)
    d_lean = lean.depth(x, y, z)
    theta = np.arctan2(y, x)
    fat = (case.fat * (1 + 0.25 * np.cos(theta - case.fat_phase))).astype(np.float32)
    wall = (case.wall * (0.75 + 0.35 * np.abs(np.cos(theta)))).astype(np.float32)
    skin = rng.uniform(1.5, 2.5)
    labels = np.where(d_out > 0, Tissue.SOFT, Tissue.AIR).astype(np.uint8)
    labels[(d_out > skin) & (d_lean <= fat)] = Tissue.FAT
    plane = fat + 0.45 * wall  # the fat plane between the oblique muscles, at the flanks
    labels[(d_lean > plane) & (d_lean <= plane + 1.5) & (np.abs(np.cos(theta)) > 0.6)] = Tissue.FAT
    under_fat = d_lean > fat
    wall_depth = d_lean - (fat + wall)
    return Canvas(labels=labels, owner=np.zeros(grid.shape, np.uint8), grid=grid, inner=wall_depth > 0,
                  wall_depth=wall_depth,
                  under_fat=under_fat, in_body=d_out > skin + 2, outside=d_out <= 0,
                  occupied=np.zeros(grid.shape, bool))


def smooth_noise(rng, grid: Grid, extent, cell: float) -> np.ndarray:
    """A smooth Gaussian random field of unit variance (correlation length about ``cell`` mm): random weights on
    a lattice fixed in mm (so the same at any scale), spread by separable Gaussian kernels."""
    kernels, sizes = [], []
    for axis, (lo, hi) in zip((grid.x, grid.y, grid.z), extent):
        nodes = np.arange(lo - 2 * cell, hi + 2 * cell, cell, dtype=np.float32)
        k = np.exp(-0.5 * ((axis[:, None] - nodes[None, :]) / (0.6 * cell)) ** 2).astype(np.float32)
        kernels.append(k / np.sqrt((k**2).sum(axis=1, keepdims=True)))
        sizes.append(len(nodes))
    kx, ky, kz = kernels
    coeff = rng.standard_normal((sizes[2], sizes[1], sizes[0]), dtype=np.float32)
    field = np.matmul(ky[None], coeff @ kx.T)  # (cz, ny, nx)
    return (kz @ field.reshape(sizes[2], -1)).reshape(grid.shape)


def paint_arms(canvas: Canvas, outline: Outline, case: AbdomenCase, rng) -> None:
    """Arms down at the sides (the elbows and forearms at this height): skin, fat, muscle, radius and ulna."""
    height = case.slices * SPACING[2]
    for s in (1, -1):
        radii = (rng.uniform(32, 42), rng.uniform(38, 48))
        centre = (s * (outline.semi_x * 1.02 + rng.uniform(8, 25) + radii[0]), rng.uniform(-0.1, 0.3) * outline.front,
                  height / 2)
        slope = tuple(rng.uniform(-0.15, 0.15, size=2))
        arm = TiltedCylinder(centre, radii, (-30.0, height + 30), slope)
        canvas.paint(arm, Tissue.SOFT, where=canvas.outside)
        fat = rng.uniform(4, 12) + 0.4 * case.extra_fat
        canvas.paint(arm, Tissue.FAT, margin=rng.uniform(1.5, 2.5), where=canvas.outside)
        canvas.paint(arm, Tissue.SOFT, margin=fat, where=canvas.outside)
        for dx, dy in ((-10, 8), (10, -8)):
            bone = TiltedCylinder((centre[0] + s * dx, centre[1] + dy, centre[2]), (rng.uniform(6, 8),) * 2,
                                  (-30.0, height + 30), slope)
            canvas.paint(bone, Tissue.CORTICAL, where=canvas.outside)
            canvas.paint(bone, Tissue.MARROW, margin=2.0, where=canvas.outside)
