"""The abdomen's frame: the body outline (:class:`Outline`), the values drawn first for a case
(:class:`AbdomenCase`, :func:`draw_case`), the landmarks the organs are placed against (:class:`Frame`) and the
field of view's grid."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tools.phantom.abdomen.ranges import DEFAULT_ABDOMEN, SPACING, AbdomenAnatomy
from tools.phantom.shapes import Grid, draw, ellipsoidal_depth


@dataclass(frozen=True)
class Outline:
    """Axial ellipse (its anterior and posterior half-depths differ) with a smooth angular perturbation, a slow
    linear change with height and a flat back."""

    semi_x: float
    front: float  # anterior half-depth
    back: float  # posterior half-depth of the ellipse, before the flat back cuts it
    back_y: float  # the flat back (the table)
    harmonics: np.ndarray  # (k, 2): cos/sin amplitudes of orders 2.. on the radius
    z_slope: tuple[float, float]  # relative size change over the height (x, y)
    height: float

    def extent(self) -> tuple[float, float]:
        """Largest |x| and anterior |y| reached."""
        grow = (1.0 + np.abs(self.harmonics).sum()) * (1.0 + 0.5 * np.abs(np.asarray(self.z_slope)))
        return self.semi_x * grow[0], self.front * grow[1]

    def grown(self, extra: float) -> Outline:
        """The outline of the same body with ``extra`` mm more fat (the belly growing most)."""
        return replace(self, semi_x=self.semi_x + extra, front=self.front + 1.3 * extra,
                       back=self.back + 0.6 * extra, back_y=self.back_y + 0.6 * extra)

    def depth(self, x, y, z):
        rel = z / self.height - 0.5
        fx, fy = 1.0 + self.z_slope[0] * rel, 1.0 + self.z_slope[1] * rel
        theta = np.arctan2(y / self.front, x / self.semi_x)
        scale = np.ones_like(theta)
        for order, (c, s) in enumerate(self.harmonics, start=2):
            scale += c * np.cos(order * theta) + s * np.sin(order * theta)
        semi_y = np.where(y < 0, np.float32(self.front), np.float32(self.back)) * fy
        outline = ellipsoidal_depth((x, y), (self.semi_x * fx, semi_y), scale)
        return np.minimum(outline, self.back_y - y).astype(np.float32)


@dataclass(frozen=True)
class AbdomenCase:
    """The values drawn first for a case (:func:`draw_case`); everything else is placed relative to them."""

    slices: int
    body: Outline  # the lean body
    fat: float  # subcutaneous fat, lean body
    fat_phase: float  # direction (rad) where the fat is thickest
    extra_fat: float
    wall: float
    visceral_fat: float
    dome_depth: float
    dome_to_l1: float
    liver_scale: float
    spleen_scale: float
    kidney_scale: float
    stomach_scale: float
    stomach_gas: float
    bowel_loops: int
    loop_gas_p: float
    colon_r: float
    colon_gas: float  # gas fraction of the colon's depth (0: none)
    arms_in: bool
    tumour_r: float
    liver_tumour: bool
    calcified: bool


def draw_case(rng, anatomy: AbdomenAnatomy = DEFAULT_ABDOMEN) -> AbdomenCase:
    """The first draws of :func:`draw_labels` (in this order): the case's sizes, fat, organ scales, gas and
    options, from ``anatomy``'s ranges."""
    a = anatomy
    slices = int(rng.integers(a.slices[0], a.slices[1] + 1))
    front = rng.uniform(*a.semi_y)
    body = Outline(semi_x=rng.uniform(*a.semi_x), front=front, back=front * rng.uniform(0.9, 1.0),
                   back_y=front * rng.uniform(0.8, 0.9), harmonics=rng.uniform(-0.01, 0.01, size=(3, 2)),
                   z_slope=tuple(rng.uniform(-0.12, 0.12, size=2)), height=slices * SPACING[2])
    fat, fat_phase, extra_fat = rng.uniform(*a.fat_mm), rng.uniform(-np.pi, np.pi), draw(rng, a.extra_fat_mm)
    wall, visceral_fat = rng.uniform(*a.wall_mm), rng.uniform(*a.visceral_fat)
    dome_depth, dome_to_l1 = rng.uniform(*a.dome_depth), rng.uniform(*a.dome_to_l1)
    scales = [rng.uniform(*r) for r in (a.liver_scale, a.spleen_scale, a.kidney_scale, a.stomach_scale)]
    stomach_gas, bowel_loops = rng.uniform(*a.stomach_gas), int(rng.integers(*a.bowel_loops))
    loop_gas_p, colon_r = rng.uniform(*a.loop_gas_p), rng.uniform(*a.colon_r)
    colon_gas = rng.uniform(*a.gas_level) if rng.random() < max(loop_gas_p, 0.5) else 0.0
    return AbdomenCase(
        slices=slices, body=body, fat=fat, fat_phase=fat_phase, extra_fat=extra_fat, wall=wall,
        visceral_fat=visceral_fat, dome_depth=dome_depth, dome_to_l1=dome_to_l1, liver_scale=scales[0],
        spleen_scale=scales[1], kidney_scale=scales[2], stomach_scale=scales[3], stomach_gas=stomach_gas,
        bowel_loops=bowel_loops, loop_gas_p=loop_gas_p, colon_r=colon_r, colon_gas=colon_gas,
        arms_in=bool(rng.random() < a.arms_in_p), tumour_r=rng.uniform(*a.tumour_r),
        liver_tumour=bool(rng.random() < a.liver_tumour_p), calcified=bool(rng.random() < a.calcification_p))


@dataclass(frozen=True)
class Frame:
    """Landmarks (mm) the organs are placed against: the peritoneal space's walls, the domes, the spine."""

    top: float  # height of the top slice
    ix: float  # half-width of the space inside the abdominal wall
    front: float  # y of its anterior wall (< 0)
    back: float  # y of its posterior wall
    dome_r: float  # the right dome's top
    dome_l: float
    z_l1: float  # L1's body centre
    period: float  # lumbar vertebra + disc height
    y_vb: float  # vertebral body centre at L1
    lordosis: float  # dy/dz of the spine (lower: more anterior)
    vb: tuple[float, float]  # lumbar body half-width, half-depth

    def spine_y(self, z: float) -> float:
        """y of the vertebral bodies' centre at height z."""
        return self.y_vb + self.lordosis * (z - self.z_l1)

    def level_z(self, k: int) -> float:
        """Centre height of vertebra k (0: L1, -1: L2, ..., 1: T12, 2: T11, ...; thoracic ones 10 % shorter)."""
        return self.z_l1 + k * self.period * (0.9 if k > 0 else 1.0)


def draw_frame(case: AbdomenCase, b: Outline, rng) -> Frame:
    """Draw the spine's sizes and place the landmarks in the body ``b`` under the subcutaneous fat."""
    top = (case.slices - 1) * SPACING[2]
    dome_r = top - case.dome_depth
    vb = (rng.uniform(20, 26), rng.uniform(15, 19))
    return Frame(top=top, ix=b.semi_x - case.fat - case.wall, front=-(b.front - case.fat - 0.75 * case.wall),
                 back=b.back_y - case.fat - case.wall, dome_r=dome_r, dome_l=dome_r - rng.uniform(5, 20),
                 z_l1=dome_r - case.dome_to_l1, period=rng.uniform(32, 37),
                 y_vb=b.back_y - case.fat - rng.uniform(66, 76), lordosis=rng.uniform(0.05, 0.15), vb=vb)


def grid_spacing(scale=(1.0, 1.0, 1.0)) -> tuple[float, float, float]:
    """The voxel spacing (x, y, z mm) at ``scale``."""
    return tuple(float(s / f) for s, f in zip(SPACING, scale))


def field_of_view(case: AbdomenCase, outline: Outline, rng, anatomy: AbdomenAnatomy, scale):
    """The grid (the FOV fits the body, arms aside, within the anatomy's limits) and its extent in mm (x, y, z)."""
    ext_x, ext_front = outline.extent()
    if case.arms_in:
        ext_x += 100.0
    nx = int(np.clip(round(2 * ext_x + rng.uniform(16, 40)), *anatomy.fov_x))
    ny = int(np.clip(round(ext_front + outline.back_y + rng.uniform(16, 40)), *anatomy.fov_y))
    nz = case.slices
    shift = (rng.uniform(-5, 5), (outline.back_y - ext_front) / 2 + rng.uniform(-5, 5), 0.0)
    grid = Grid.centred(tuple(round(n * f) for n, f in zip((nx, ny, nz), scale)), grid_spacing(scale), shift)
    extent = [(shift[0] - nx / 2, shift[0] + nx / 2), (shift[1] - ny / 2, shift[1] + ny / 2),
              (-SPACING[2], nz * SPACING[2])]
    return grid, extent
