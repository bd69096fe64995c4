"""The abdomen (SynthRAD2025 Task 1 region "Abdomen"): its anatomy's ranges, its solids, its label map and its
planning structures.

The field of view runs from the lung bases under the diaphragm's domes (top slices) down towards the iliac crests:
40-60 slices of 3 mm and 350-480 x 250-330 voxels of 1 mm in-plane by default (the body, and the arms, may be cut
at its edges). Drawn (mm; the default's ranges - :class:`AbdomenAnatomy` gives the engine's and the unseen set's):

* body: an ellipse (half-width 150-180, anterior half-depth 105-130) with smooth perturbations, a slow change with
  height and a flat back (the table); skin, subcutaneous fat (8-30; with obesity, the engine's extra fat, 0-45,
  grows the outline, the belly most, and a third of it goes inside the abdominal wall), the wall's muscle band
  (8-14, thicker at the flanks, a fat plane between the obliques); arms at the sides in 20 % of the cases
  (otherwise raised out of the field of view);
* inside the wall: visceral fat, mottled in front of the spine with soft tissue (collapsed bowel, mesentery) - the
  fatter the patient, the less;
* the stomach (left upper quadrant: fundus, body, antrum; thick wall, content, gas anteriorly above a horizontal
  fluid level, 10-50 % of its depth);
* solid organs: the liver (right lobe under the right dome, left lobe across the midline, caudate lobe; scale
  0.9-1.1; hepatic and portal veins in it), the gallbladder (80 %), the spleen (along the left posterior ribs,
  hollow towards the stomach), the kidneys (the right 10-25 lower, hilum facing forwards and inwards, sinus fat and
  pelvis) in perirenal fat (more in fat patients), the pancreas (head, body and tail across the spine);
* the bowel, in the space the organs leave: 8-15 small-bowel loops (radius 10-20, each holding gas with a chance
  of 30-70 %, the gas above a horizontal gas-fluid level: the patient lies supine), the duodenum's C round the
  pancreatic head, the colon (ascending, transverse, descending; radius 15-25) with gas and mottled stool;
* the thoracic base: the diaphragm (two domes, the right one 0-30 below the top slice and the higher, a central
  tendon between them, recesses falling furthest behind), the lungs above it - so the top slices show lung behind
  and beside the liver and spleen - with their vessels, the heart's base on the central tendon;
* the target: a tumour (radius 12-25, soft tissue) deep in the liver (70 %) or in the pancreas' head or body;
* vessels: the aorta (its wall calcified in 30 %: bright on CT, invisible on MR; its bifurcation when in view), the
  inferior vena cava, renal, portal, splenic and mesenteric vessels;
* muscles: paraspinal, quadratus lumborum, psoas (from L1, widening downwards), the diaphragmatic crura;
* skeleton (cortex and marrow): the lower thoracic and lumbar vertebrae (bodies with lordosis, discs, pedicles,
  laminae, spinous, transverse and articular processes), the canal (epidural fat, CSF, the cord ending in the conus
  at L1-L2, the cauda equina below), the lower ribs (T8-T12's: from the spine round the chest wall and down), the
  iliac crests when the field of view reaches L4.

Structures: "target"; "liver" and "pancreas" (each without the target); "kidney_left" and "kidney_right" (left =
+x, sinus included); "bowel" (small bowel, duodenum and colon: wall, content, gas); "stomach" (apart from the
bowel); "spinal_cord" (cord, conus, cauda equina). Each is what its organ still holds in the finished label map.

Every random quantity is drawn from ``rng`` in a fixed order: the case's values first (:func:`draw_case`), then the
spine, the field of view, the organs and the rest in the order they are painted. ``scale`` changes the voxels,
never the draws, so the anatomy in mm is the same at any scale.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

import numpy as np

from tools.phantom.pelvis import IliacWing
from tools.phantom.shapes import (
    Capsule,
    Drawn,
    Ellipsoid,
    Grid,
    HalfSpace,
    Intersection,
    draw,
    ellipsoidal_depth,
)
from tools.phantom.tissues import Tissue

SPACING = (1.0, 1.0, 3.0)  # SimpleITK (x, y, z) order, mm
_FLOOR = np.float32(-1e3)  # depth of "far outside"
VISCERAL_SHARE = 0.35  # of the extra fat: inside the abdominal wall


@dataclass(frozen=True)
class AbdomenAnatomy:
    """The ranges an abdomen's anatomy is drawn from (mm, uniformly; ``*_scale``: factors on the default sizes;
    ``*_p``: chances). :data:`DEFAULT_ABDOMEN` is the generator's own, the data engine trains on the wider
    :data:`ENGINE_ABDOMEN`, and the unseen-anatomy held-out set (:data:`UNSEEN_ABDOMEN`, case ids ``1AU...``)
    lies outside it."""

    name: str
    slices: tuple[int, int] = (40, 60)  # number of 3-mm slices, both ends included
    semi_x: tuple[float, float] = (150.0, 180.0)  # body half-width before any extra fat
    semi_y: tuple[float, float] = (105.0, 130.0)  # anterior half-depth before any extra fat
    fat_mm: tuple[float, float] = (8.0, 30.0)  # subcutaneous fat
    extra_fat_mm: tuple[float, float] = (0.0, 0.0)  # obesity: added to the fat and the outline (more in front)
    visceral_fat: tuple[float, float] = (0.25, 0.6)  # fat's share of the free peritoneal space (obesity adds)
    wall_mm: tuple[float, float] = (8.0, 14.0)  # abdominal wall muscles
    fov_x: tuple[int, int] = (350, 480)  # field of view, voxels (the body or the arms may be cut at its edges)
    fov_y: tuple[int, int] = (250, 330)
    dome_depth: tuple[float, float] = (0.0, 30.0)  # the right dome's top below the top slice
    dome_to_l1: tuple[float, float] = (65.0, 100.0)  # L1's body below the right dome (deep inspiration: less)
    liver_scale: tuple[float, float] = (0.9, 1.1)
    spleen_scale: tuple[float, float] = (0.85, 1.15)
    kidney_scale: tuple[float, float] = (0.9, 1.1)
    stomach_scale: tuple[float, float] = (0.8, 1.2)
    stomach_gas: tuple[float, float] = (0.1, 0.5)  # fraction of the stomach's AP extent above its fluid level
    bowel_loops: tuple[int, int] = (8, 16)  # small-bowel loops, [lo, hi)
    loop_radius: tuple[float, float] = (10.0, 20.0)
    loop_gas_p: tuple[float, float] = (0.3, 0.7)  # each loop's chance of gas (itself drawn per case)
    gas_level: tuple[float, float] = (0.2, 0.6)  # gas fraction of a gassy loop's AP extent
    colon_r: tuple[float, float] = (15.0, 25.0)
    arms_in_p: float = 0.2  # arms down at the sides (otherwise raised out of the field of view)
    tumour_r: tuple[float, float] = (12.0, 25.0)
    liver_tumour_p: float = 0.7  # the target in the liver (otherwise in the pancreas)
    calcification_p: float = 0.3  # aortic wall calcifications


DEFAULT_ABDOMEN = AbdomenAnatomy("default")
ENGINE_ABDOMEN = AbdomenAnatomy(
    "engine", slices=(36, 64), semi_x=(135.0, 195.0), semi_y=(95.0, 140.0), fat_mm=(3.0, 35.0),
    extra_fat_mm=(0.0, 45.0), visceral_fat=(0.1, 0.8), wall_mm=(5.0, 18.0), fov_x=(340, 512), fov_y=(240, 360),
    dome_depth=(-15.0, 55.0), dome_to_l1=(55.0, 110.0), liver_scale=(0.75, 1.25), spleen_scale=(0.7, 1.4),
    kidney_scale=(0.75, 1.25), stomach_scale=(0.6, 1.5), stomach_gas=(0.0, 0.8), bowel_loops=(3, 24),
    loop_radius=(7.0, 26.0), loop_gas_p=(0.0, 0.9), gas_level=(0.05, 0.9), colon_r=(10.0, 30.0), arms_in_p=0.35,
    tumour_r=(8.0, 30.0), liver_tumour_p=0.5, calcification_p=0.5,
)
#: Outside the engine's ranges on three properties: very obese (fat 36-42 mm and extra fat 50-60 mm), hepato- and
#: splenomegaly (liver and spleen 1.3-1.4 and 1.5-1.7 times the default), and distended gas-filled bowel (loops of
#: radius 27-32 mm, nearly all gassy, gas over 92-97 % of their depth; a wide colon, a stomach full of gas).
UNSEEN_ABDOMEN = AbdomenAnatomy(
    "unseen", fat_mm=(36.0, 42.0), extra_fat_mm=(50.0, 60.0), visceral_fat=(0.6, 0.8), fov_x=(440, 560),
    fov_y=(320, 420), liver_scale=(1.3, 1.4), spleen_scale=(1.5, 1.7), stomach_gas=(0.85, 0.95),
    bowel_loops=(8, 14), loop_radius=(27.0, 32.0), loop_gas_p=(0.95, 1.0), gas_level=(0.92, 0.97),
    colon_r=(32.0, 38.0),
)
ANATOMIES = {a.name: a for a in (DEFAULT_ABDOMEN, ENGINE_ABDOMEN, UNSEEN_ABDOMEN)}

#: the structures, by their ids in the ownership map they are read from (0: no structure)
_ID = {"target": 1, "liver": 2, "kidney_left": 3, "kidney_right": 4, "bowel": 5, "stomach": 6, "spinal_cord": 7,
       "pancreas": 8}


# --------------------------------------------------------------------------------------------------------------- #
# solids
# --------------------------------------------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Outside:
    """The complement of a solid."""

    shape: object

    def bounds(self):
        return np.full(3, -np.inf), np.full(3, np.inf)

    def depth(self, x, y, z):
        return -self.shape.depth(x, y, z)


@dataclass(frozen=True)
class Union:
    """Union of solids (maximum of their depths), each evaluated only in its own box; ``-1e3`` where none is.
    Takes the axis coordinate arrays that :meth:`Grid.crop` gives."""

    shapes: tuple

    def bounds(self):
        boxes = [s.bounds() for s in self.shapes]
        return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)

    def depth(self, x, y, z):
        axes = [np.asarray(a).ravel() for a in (x, y, z)]
        out = np.full((axes[2].size, axes[1].size, axes[0].size), _FLOOR, np.float32)
        for shape in self.shapes:
            lo, hi = shape.bounds()
            cut = [slice(int(np.searchsorted(a, lo_, "left")), int(np.searchsorted(a, hi_, "right")))
                   for a, lo_, hi_ in zip(axes, lo, hi)]
            view = out[cut[2], cut[1], cut[0]]
            if view.size:
                d = shape.depth(axes[0][cut[0]][None, None, :], axes[1][cut[1]][None, :, None],
                                axes[2][cut[2]][:, None, None])
                np.maximum(view, np.broadcast_to(d, view.shape), out=view)
        return out


@dataclass(frozen=True)
class Tube:
    """Elliptic cylinder along z between ``z_range``, its axis through ``centre`` (x, y at height ``centre[2]``)
    tilted by ``slope`` (dx/dz, dy/dz)."""

    centre: tuple[float, float, float]
    radii: tuple[float, float]
    z_range: tuple[float, float]
    slope: tuple[float, float] = (0.0, 0.0)

    def _axis(self, z):
        dz = z - self.centre[2]
        return self.centre[0] + self.slope[0] * dz, self.centre[1] + self.slope[1] * dz

    def bounds(self):
        ends = [self._axis(z) for z in self.z_range]
        xs, ys = [e[0] for e in ends], [e[1] for e in ends]
        return (np.array([min(xs) - self.radii[0], min(ys) - self.radii[1], self.z_range[0]]),
                np.array([max(xs) + self.radii[0], max(ys) + self.radii[1], self.z_range[1]]))

    def depth(self, x, y, z):
        cx, cy = self._axis(z)
        across = ellipsoidal_depth((x - cx, y - cy), self.radii)
        return np.minimum(across, np.minimum(z - self.z_range[0], self.z_range[1] - z))


@dataclass(frozen=True)
class Cone:
    """Capsule whose radius runs linearly from ``ra`` at ``a`` to ``rb`` at ``b`` (approximate depth)."""

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    ra: float
    rb: float

    def bounds(self):
        a, b, r = np.asarray(self.a), np.asarray(self.b), max(self.ra, self.rb)
        return np.minimum(a, b) - r, np.maximum(a, b) + r

    def depth(self, x, y, z):
        a, ab = np.asarray(self.a), np.asarray(self.b) - np.asarray(self.a)
        p = (x - a[0], y - a[1], z - a[2])
        t = np.clip(sum(pi * ab[i] for i, pi in enumerate(p)) / float(ab @ ab), 0.0, 1.0)
        dist2 = sum((pi - t * ab[i]) ** 2 for i, pi in enumerate(p))
        return self.ra + (self.rb - self.ra) * t - np.sqrt(dist2)


@dataclass(frozen=True)
class TurnedEllipsoid:
    """Ellipsoid turned about the z axis by ``angle`` (rad, from +x towards +y)."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    angle: float

    def bounds(self):
        c, r = np.asarray(self.centre), np.asarray(self.radii)
        cos, sin = abs(np.cos(self.angle)), abs(np.sin(self.angle))
        half = np.array([np.hypot(r[0] * cos, r[1] * sin), np.hypot(r[0] * sin, r[1] * cos), r[2]])
        return c - half, c + half

    def depth(self, x, y, z):
        dx, dy = x - self.centre[0], y - self.centre[1]
        cos, sin = np.float32(np.cos(self.angle)), np.float32(np.sin(self.angle))
        return ellipsoidal_depth((cos * dx + sin * dy, -sin * dx + cos * dy, z - self.centre[2]), self.radii)

    def point(self, u: float, v: float, w: float) -> tuple[float, float, float]:
        """The point at (u, v, w) radii along the ellipsoid's own axes."""
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        du, dv = u * self.radii[0], v * self.radii[1]
        return (self.centre[0] + cos * du - sin * dv, self.centre[1] + sin * du + cos * dv,
                self.centre[2] + w * self.radii[2])


@dataclass(frozen=True)
class Diaphragm:
    """The diaphragm's surface: the higher of two paraboloid domes (each flatter in front than behind), never
    below ``floor``. ``sign`` +1: depth above the surface (less ``offset``), -1: below it."""

    domes: tuple  # (x, y, top z, half-width, front half-depth, back half-depth, drop at those) per dome
    floor: float
    sign: int = 1
    offset: float = 0.0

    def height(self, x, y):
        """Height of the surface at (x, y) and the slope factor sqrt(1 + |grad|^2)."""
        best = grad = None
        for xc, yc, top, ax, ay_front, ay_back, drop in self.domes:
            ay = np.where(y < yc, np.float32(ay_front), np.float32(ay_back))
            h = top - drop * (((x - xc) / ax) ** 2 + ((y - yc) / ay) ** 2)
            g = 1 + (2 * drop * (x - xc) / ax**2) ** 2 + (2 * drop * (y - yc) / ay**2) ** 2
            h, g = np.broadcast_arrays(h, g)
            best, grad = (h, g) if best is None else (np.where(h > best, h, best), np.where(h > best, g, grad))
        grad = np.where(best > self.floor, grad, 1.0)
        return np.maximum(best, self.floor), np.sqrt(grad)

    @property
    def top(self) -> float:
        return max(d[2] for d in self.domes)

    def bounds(self):
        lo, hi = np.full(3, -np.inf), np.full(3, np.inf)
        if self.sign > 0:
            lo[2] = self.floor + self.offset
        else:
            hi[2] = self.top - self.offset
        return lo, hi

    def depth(self, x, y, z):
        h, slope = self.height(x, y)
        return (self.sign * (z - h) / slope - self.offset).astype(np.float32)


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


# --------------------------------------------------------------------------------------------------------------- #
# the case's values and its frame
# --------------------------------------------------------------------------------------------------------------- #
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


def _frame(case: AbdomenCase, b: Outline, rng) -> Frame:
    """Draw the spine's sizes and place the landmarks in the body ``b`` under the subcutaneous fat."""
    top = (case.slices - 1) * SPACING[2]
    dome_r = top - case.dome_depth
    vb = (rng.uniform(20, 26), rng.uniform(15, 19))
    return Frame(top=top, ix=b.semi_x - case.fat - case.wall, front=-(b.front - case.fat - 0.75 * case.wall),
                 back=b.back_y - case.fat - case.wall, dome_r=dome_r, dome_l=dome_r - rng.uniform(5, 20),
                 z_l1=dome_r - case.dome_to_l1, period=rng.uniform(32, 37),
                 y_vb=b.back_y - case.fat - rng.uniform(66, 76), lordosis=rng.uniform(0.05, 0.15), vb=vb)


# --------------------------------------------------------------------------------------------------------------- #
# the canvas: labels and who owns each voxel
# --------------------------------------------------------------------------------------------------------------- #
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
        sl, x, y, z = self.grid.crop(*shape.bounds())
        view = self.labels[sl]
        if view.size == 0:
            return
        inside = np.broadcast_to(shape.depth(x, y, z) > margin, view.shape)
        if where is not None:
            inside = inside & where[sl]
        if only is not None:
            inside = inside & np.isin(view, only)
        view[inside] = tissue
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


# --------------------------------------------------------------------------------------------------------------- #
# the draw
# --------------------------------------------------------------------------------------------------------------- #
def draw_labels(rng, scale=(1.0, 1.0, 1.0), anatomy: AbdomenAnatomy = DEFAULT_ABDOMEN) -> Drawn:
    """Draw an abdomen's field of view, its tissue label map and its planning structures from ``anatomy``'s
    ranges; ``scale``: voxels per phantom voxel along (x, y, z) (the field of view in mm stays the one drawn)."""
    case = draw_case(rng, anatomy)
    # obesity: a third of the extra fat is visceral (the abdominal wall moves out), the rest subcutaneous
    muscular = case.body.grown(VISCERAL_SHARE * case.extra_fat)
    outline = case.body.grown(case.extra_fat)
    frame = _frame(case, muscular, rng)
    grid, extent = _field_of_view(case, outline, rng, anatomy, scale)
    canvas = _body_layers(case, muscular, outline, grid, rng)
    noise = _smooth_noise(rng, grid, extent, 15.0)
    _paint_mesentery(canvas, frame, case, noise)
    stomach = _paint_stomach(canvas, frame, case, rng)
    liver, pancreas, kidneys, organs = _paint_organs(canvas, frame, case, rng)
    _paint_bowel(canvas, frame, case, rng, anatomy, organs + [stomach], pancreas[0])
    diaphragm = _paint_thorax_base(canvas, frame, case, rng)
    _paint_target(canvas, frame, case, liver, pancreas, kidneys, diaphragm, rng)
    _paint_vessels(canvas, frame, case, kidneys, pancreas, rng)
    _paint_muscles(canvas, frame, rng)
    _paint_skeleton(canvas, frame, case, rng)
    if case.arms_in:
        _paint_arms(canvas, outline, case, rng)
    structures = {name: canvas.owner == k for name, k in _ID.items()}
    return Drawn(labels=canvas.labels, spacing=grid_spacing(scale), structures=structures)


def grid_spacing(scale=(1.0, 1.0, 1.0)) -> tuple[float, float, float]:
    """The voxel spacing (x, y, z mm) at ``scale``."""
    return tuple(float(s / f) for s, f in zip(SPACING, scale))


def _field_of_view(case: AbdomenCase, outline: Outline, rng, anatomy: AbdomenAnatomy, scale):
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


def _body_layers(case: AbdomenCase, lean: Outline, outline: Outline, grid: Grid, rng) -> Canvas:
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


def _smooth_noise(rng, grid: Grid, extent, cell: float) -> np.ndarray:
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


# --------------------------------------------------------------------------------------------------------------- #
# the peritoneal space
# --------------------------------------------------------------------------------------------------------------- #
def _paint_mesentery(canvas: Canvas, frame: Frame, case: AbdomenCase, noise: np.ndarray) -> None:
    """Visceral fat filling the abdominal cavity, mottled in front of the spine with soft tissue (collapsed bowel,
    mesentery, vessels): the fatter the patient, the less of it."""
    fat_share = float(np.clip(case.visceral_fat + case.extra_fat / 100.0, 0.05, 0.95))
    labels = canvas.labels
    labels[canvas.inner] = Tissue.FAT
    _, y, z = canvas.grid.full()
    front_of_spine = y < (frame.y_vb + frame.lordosis * (z - frame.z_l1)) - frame.vb[1] + 5
    soft = canvas.inner & front_of_spine & (noise > statistics.NormalDist().inv_cdf(fat_share))
    labels[soft] = Tissue.SOFT


def _polyline(points, radius, radius_end=None) -> Union:
    """Capsules (or cones, radius running to ``radius_end``) joining successive points."""
    n = len(points) - 1
    radius_end = radius if radius_end is None else radius_end
    radii = np.linspace(radius, radius_end, n + 1)
    return Union(tuple(Cone(tuple(points[i]), tuple(points[i + 1]), radii[i], radii[i + 1]) for i in range(n)))


def _point(v) -> list:
    """A point as the axis arrays a solid's depth takes."""
    return [np.float32(c).reshape(1, 1, 1) for c in v]


def _paint_bowel(canvas: Canvas, frame: Frame, case: AbdomenCase, rng, anatomy: AbdomenAnatomy, organs,
                 head) -> None:
    """Into the space the organs leave: small-bowel loops in the lower, anterior abdomen (each centred on the
    first of a few drawn points outside the ``organs``), the duodenum's C round the pancreatic ``head`` and the colon
    (ascending in the right flank, transverse hanging in front, descending in the left flank)."""
    f, a = frame, anatomy
    free = canvas.inner & ~canvas.occupied
    spine_front = f.y_vb - f.vb[1]
    for i in range(case.bowel_loops):
        r = rng.uniform(*a.loop_radius)
        low = np.array([-0.65 * f.ix, f.front + 0.5 * r, -20.0])
        high = np.array([0.65 * f.ix, max(spine_front + 5, f.front + r), f.z_l1 + 25])
        candidates = rng.uniform(low, high, size=(6, 3))
        inside = [max(float(o.depth(*_point(c)).item()) for o in organs) for c in candidates]
        centre = candidates[int(np.argmax(np.asarray(inside) < -0.3 * r)) if min(inside) < -0.3 * r
                            else int(np.argmin(inside))]
        direction = rng.normal(size=3)
        half = rng.uniform(0.5, 2.5) * r * direction / np.linalg.norm(direction)
        loop = Capsule(tuple(centre - half), tuple(centre + half), r)
        # the first loop holds gas unless the case is nearly gasless
        gassy = rng.random() < case.loop_gas_p or (i == 0 and case.loop_gas_p > 0.1)
        canvas.hollow(loop, 1.5, rng.uniform(*a.gas_level) if gassy else 0.0, _ID["bowel"], where=free)

    hx, hy, hz = head
    duodenum = _polyline([(hx + 25, hy - 35, hz + 25), (hx - 15, hy - 15, hz + 22), (hx - 22, hy + 5, hz),
                          (hx - 12, hy + 5, hz - 35), (hx + 35, hy + 10, hz - 40), (hx + 80, hy + 5, hz - 20)],
                         rng.uniform(9, 13))
    canvas.hollow(duodenum, 1.5, rng.uniform(*a.gas_level) if rng.random() < case.loop_gas_p else 0.0, _ID["bowel"],
                  where=free)

    r = case.colon_r
    hepatic = (-(f.ix - r - 15), f.front * 0.3, f.z_l1 - rng.uniform(0, 30))
    splenic = (f.ix - r - 10, rng.uniform(0.0, 0.3) * f.back, f.z_l1 + rng.uniform(10, 45))
    sag = f.z_l1 - rng.uniform(20, 80)
    segments = (
        [(-(f.ix - r - 5), rng.uniform(0.0, 0.3) * f.back, -40.0), hepatic],  # ascending
        [hepatic, (-0.4 * f.ix, f.front + r + 5, sag + 10), (0.0, f.front + r + 2, sag),
         (0.4 * f.ix, f.front + r + 5, sag + 10), splenic],  # transverse
        [splenic, (f.ix - 0.8 * r - 5, rng.uniform(0.2, 0.5) * f.back, -40.0)],  # descending
    )
    for points, radius in zip(segments, (r, 0.85 * r, 0.75 * r)):
        colon = _polyline(points, radius)
        canvas.hollow(colon, 2.0, case.colon_gas, _ID["bowel"], rng, bubbles=int(rng.integers(4, 12)), where=free)


def _paint_stomach(canvas: Canvas, frame: Frame, case: AbdomenCase, rng) -> Union:
    """The stomach under the left dome: fundus (posterior, high), body running down and forwards, antrum to the
    pylorus right of the midline; thick wall, content, gas anteriorly."""
    f, s = frame, case.stomach_scale
    fundus = (f.ix * rng.uniform(0.35, 0.5), rng.uniform(-0.1, 0.15) * f.back, f.dome_l - rng.uniform(25, 40))
    body_low = (f.ix * rng.uniform(0.15, 0.3), f.front * rng.uniform(0.4, 0.6), f.z_l1 + rng.uniform(-10, 10))
    pylorus = (-rng.uniform(15, 30), f.front * rng.uniform(0.45, 0.6), f.z_l1 + rng.uniform(5, 20))
    stomach = Union((
        Ellipsoid(fundus, tuple(s * rng.uniform(35, 45, size=3))),
        Cone(fundus, body_low, s * rng.uniform(30, 38), s * rng.uniform(24, 30)),
        Cone(body_low, pylorus, s * rng.uniform(18, 24), s * rng.uniform(11, 14)),
    ))
    canvas.hollow(stomach, rng.uniform(3, 5), case.stomach_gas, _ID["stomach"])
    return stomach


# --------------------------------------------------------------------------------------------------------------- #
# solid organs
# --------------------------------------------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Kidney:
    """A kidney's solid, hilum and side."""

    shape: TurnedEllipsoid
    hilum: tuple[float, float, float]
    side: int


def _paint_organs(canvas: Canvas, frame: Frame, case: AbdomenCase, rng):
    """Liver (with the hepatic and portal veins painted later), gallbladder, spleen, kidneys in perirenal fat,
    pancreas, each marking its place taken. Returns the liver's solid, the pancreas' points (head to tail), the
    kidneys and all the organs' solids."""
    f, inner = frame, canvas.inner
    ls = case.liver_scale
    # a large liver reaches lower and further left; the right wall and the AP depth hold it
    rx, ry, rz = np.sqrt(ls) * rng.uniform(80, 95), rng.uniform(0.85, 1.0) * (f.back - f.front) / 2, ls * rng.uniform(
        80, 100)
    right = Ellipsoid((-(f.ix - 0.9 * rx), (f.back + f.front) / 2 + rng.uniform(-5, 5), f.dome_r - 0.4 * rz),
                      (rx, ry, rz))
    left = Ellipsoid((rng.uniform(10, 35), f.front * rng.uniform(0.35, 0.5), f.dome_r - rng.uniform(25, 40)),
                     (ls * rng.uniform(55, 75), ls * rng.uniform(30, 45), ls * rng.uniform(35, 45)))
    caudate = Ellipsoid((-rng.uniform(5, 20), f.spine_y(f.dome_r - 50) - f.vb[1] - 25, f.dome_r - 55),
                        (18.0, 18.0, ls * 35))
    liver = Union((right, left, caudate))
    canvas.paint(liver, Tissue.LIVER, _ID["liver"], where=inner, occupy=True)
    organs = [liver]

    gb_centre = (-rng.uniform(30, 55), f.front + rng.uniform(30, 50), right.centre[2] - rz * rng.uniform(0.5, 0.8))
    gb_radii = (rng.uniform(12, 18), rng.uniform(12, 18), rng.uniform(28, 40))
    if rng.random() < 0.8:
        gallbladder = Ellipsoid(gb_centre, gb_radii)
        canvas.paint(gallbladder, Tissue.SOFT, where=inner, occupy=True)
        canvas.paint(gallbladder, Tissue.URINE, margin=2.0, where=inner)
        organs.append(gallbladder)

    ss = case.spleen_scale
    spleen = TurnedEllipsoid((f.ix - ss * rng.uniform(25, 35) - 12, f.back - ss * rng.uniform(35, 50),
                              f.dome_l - ss * rng.uniform(45, 60)),
                             (ss * rng.uniform(22, 28), ss * rng.uniform(45, 60), ss * rng.uniform(45, 60)),
                             np.deg2rad(rng.uniform(30, 50)))  # along the ribs, hollow towards the stomach
    notch = Ellipsoid(spleen.point(-1.7, 0.0, 0.0), (35.0 * ss, 40.0 * ss, 80.0 * ss))
    organs.append(Intersection((spleen, Outside(notch))))
    canvas.paint(organs[-1], Tissue.SPLEEN, where=inner, occupy=True)

    kidneys = []
    ks, z_left = case.kidney_scale, f.z_l1 - rng.uniform(0, 20)
    for side, name in ((1, "kidney_left"), (-1, "kidney_right")):
        z = z_left if side > 0 else z_left - rng.uniform(10, 25)
        radii = (ks * rng.uniform(26, 32), ks * rng.uniform(20, 25), ks * rng.uniform(50, 60))
        angle = np.deg2rad(rng.uniform(25, 45))  # the hilum faces forwards and inwards
        kidney = TurnedEllipsoid((side * (f.vb[0] + 32 + radii[0]), f.spine_y(z) + rng.uniform(0, 12), z),
                                 radii, np.pi + angle if side > 0 else -angle)
        perirenal = rng.uniform(3, 10) + 0.3 * case.extra_fat + 8 * case.visceral_fat
        fat_centre = kidney.point(-0.4 * perirenal / radii[0], 0.0, 0.0)
        organs.append(TurnedEllipsoid(fat_centre, tuple(r + perirenal for r in radii), kidney.angle))
        canvas.paint(organs[-1], Tissue.FAT, where=inner, occupy=True)
        hilum = kidney.point(0.75, 0.0, 0.0)
        canvas.paint(Intersection((kidney, Outside(Ellipsoid(kidney.point(1.05, 0.0, 0.0), (12.0, 12.0, 22.0))))),
                     Tissue.KIDNEY, _ID[name], where=inner)
        canvas.paint(Ellipsoid(hilum, (14.0, 10.0, 0.45 * radii[2])), Tissue.FAT, _ID[name], where=inner)
        canvas.paint(Ellipsoid(kidney.point(0.6, 0.0, 0.0), (8.0, 6.0, 12.0)), Tissue.URINE, _ID[name], where=inner)
        kidneys.append(Kidney(kidney, hilum, side))

    z_p = f.z_l1 - rng.uniform(0, 15)
    y_p = f.y_vb - f.vb[1] - rng.uniform(30, 40)
    pancreas = [(-45.0, y_p + 10, z_p - 10), (-10.0, y_p - 5, z_p), (35.0, y_p, z_p + 8),
                (spleen.centre[0] - 40, spleen.centre[1] - 25, z_p + rng.uniform(15, 30))]
    organs.append(Union((Cone(pancreas[0], pancreas[1], rng.uniform(14, 19), rng.uniform(9, 12)),
                         Cone(pancreas[1], pancreas[2], rng.uniform(9, 12), rng.uniform(9, 12)),
                         Cone(pancreas[2], pancreas[3], rng.uniform(9, 12), rng.uniform(7, 10)))))
    canvas.paint(organs[-1], Tissue.SOFT, _ID["pancreas"], where=inner, occupy=True)
    return liver, pancreas, kidneys, organs


def _paint_thorax_base(canvas: Canvas, frame: Frame, case: AbdomenCase, rng) -> Diaphragm:
    """The diaphragm (a muscle sheet under two domes), the lungs above it, their vessels, and the heart's base on
    the central tendon in front. Returns the diaphragm's surface."""
    f, inner = frame, canvas.inner
    drop = rng.uniform(45, 65)  # the domes' fall over their half-widths
    y_top = f.front * rng.uniform(0.0, 0.2)
    lateral, front, back = rng.uniform(40, 60), rng.uniform(15, 30), rng.uniform(60, 85)  # recesses, below a dome
    half_front, half_back = ((y_top - f.front) / np.sqrt(front / drop), (f.back - y_top) / np.sqrt(back / drop))
    domes = []
    for side, top in ((-1, f.dome_r), (1, f.dome_l)):
        x_top = side * f.ix * rng.uniform(0.4, 0.5)
        domes.append((x_top, y_top, top, (f.ix - abs(x_top)) / np.sqrt(lateral / drop), half_front, half_back, drop))
    # the central tendon between the domes, under the heart
    domes.append((rng.uniform(-10, 20), y_top, f.dome_l - rng.uniform(10, 25), 0.5 * f.ix, half_front, half_back, drop))
    surface = Diaphragm(tuple(domes), floor=f.dome_r - back - 10)
    thickness, slit = rng.uniform(4, 7), rng.uniform(15, 25)
    # low down the lungs are slits between the diaphragm and the chest wall, widening upwards
    z = canvas.grid.full()[2]
    lung_space = inner & (canvas.wall_depth < slit + 2.5 * np.maximum(z - (f.dome_l - 55), 0))
    behind_spine = Outside(Tube((0.0, f.y_vb + 60, f.z_l1), (f.vb[0] + 15, 60.0), (-100.0, f.top + 100),
                                (0.0, f.lordosis)))
    canvas.paint(Intersection((surface, behind_spine)), Tissue.SOFT, where=lung_space)
    canvas.paint(Intersection((replace(surface, offset=thickness), behind_spine)), Tissue.LUNG, where=lung_space)
    lung = canvas.labels == Tissue.LUNG
    for _ in range(int(rng.integers(8, 16))):
        centre = np.array([f.ix * rng.uniform(-0.9, 0.9), rng.uniform(f.front * 0.3, f.back), rng.uniform(
            f.dome_l - 60, f.top + 20)])
        direction = rng.normal(size=3)
        half = rng.uniform(8, 20) * direction / np.linalg.norm(direction)
        canvas.paint(Capsule(tuple(centre - half), tuple(centre + half), rng.uniform(1.5, 3.5)), Tissue.BLOOD,
                     where=lung)

    above = replace(surface, offset=thickness)
    heart_x, heart_y = rng.uniform(10, 35), f.front * rng.uniform(0.3, 0.5)
    base = float(surface.height(np.float32(heart_x), np.float32(heart_y))[0])
    radii = np.array([rng.uniform(55, 70), rng.uniform(40, 50), rng.uniform(45, 55)])
    centre = (heart_x, heart_y, base + rng.uniform(30, 45))
    pad = rng.uniform(4, 10)
    for grow, tissue in ((pad, Tissue.FAT), (0.0, Tissue.SOFT), (-rng.uniform(8, 11), Tissue.BLOOD)):
        canvas.paint(Intersection((Ellipsoid(centre, tuple(radii + grow)), above)), tissue, where=inner)
    return surface


def _paint_target(canvas: Canvas, frame: Frame, case: AbdomenCase, liver: Union, pancreas, kidneys, diaphragm,
                  rng) -> None:
    """A tumour (soft tissue, a slightly irregular ellipsoid) deep in the liver, away from the kidney and under
    the diaphragm, or in the pancreas' head or body."""
    f, r = frame, case.tumour_r
    radii = tuple(r * rng.uniform(0.85, 1.15, size=3))
    if case.liver_tumour:
        right = liver.shapes[0]
        candidates = np.asarray(right.centre) + rng.uniform(-0.6, 0.6, size=(12, 3)) * np.asarray(right.radii)

        def score(p):
            point = [np.float32(v).reshape(1, 1, 1) for v in p]
            kidney = max(float(k.shape.depth(*point).item()) for k in kidneys)
            above = float(diaphragm.depth(*point).item())
            return min(float(liver.depth(*point).item()) - 0.9 * r, -above - 0.7 * r - 5, -kidney - 0.5 * r,
                       p[2] - 0.5 * r, f.top - 0.5 * r - p[2])

        scores = [score(p) for p in candidates]
        ok = [i for i, s in enumerate(scores) if s > 0]
        centre = candidates[ok[0] if ok else int(np.argmax(scores))]
    else:
        t = rng.uniform(0.0, 1.5)
        i = min(int(t), 1)
        a, b = np.asarray(pancreas[i]), np.asarray(pancreas[i + 1])
        centre = a + (t - i) * (b - a) + rng.uniform(-5, 5, size=3)
    canvas.paint(Ellipsoid(tuple(centre), radii), Tissue.SOFT, _ID["target"], where=canvas.inner)


def _paint_vessels(canvas: Canvas, frame: Frame, case: AbdomenCase, kidneys, pancreas, rng) -> None:
    """Aorta (and its bifurcation when in view, calcified walls sometimes), IVC, hepatic and portal veins in the
    liver, splenic, mesenteric and renal vessels."""
    f, inner = frame, canvas.inner
    blood = Tissue.BLOOD
    r_ao = rng.uniform(9, 12)
    ao = (rng.uniform(6, 15), f.y_vb - f.vb[1] - r_ao - 2)
    r_ivc = (rng.uniform(11, 15), rng.uniform(8, 11))
    ivc = (-rng.uniform(18, 26), f.y_vb - f.vb[1] - 0.7 * r_ivc[1])
    bifurcation = f.level_z(-3) + rng.uniform(-10, 10)
    slope = (0.0, f.lordosis)
    aorta = Tube((ao[0], ao[1], f.z_l1), (r_ao, r_ao), (bifurcation, f.top + 30), slope)
    canvas.paint(aorta, blood, where=canvas.in_body)
    y_bif = ao[1] + f.lordosis * (bifurcation - f.z_l1)
    iliacs = [Capsule((ao[0], y_bif, bifurcation), (s * 45.0, y_bif + 12, bifurcation - 90), r_ao * 0.65)
              for s in (1, -1)]
    for iliac in iliacs:
        canvas.paint(iliac, blood, where=inner)
    canvas.paint(Tube((ivc[0], ivc[1], f.z_l1), r_ivc, (-30.0, f.top + 30), slope), blood, where=canvas.in_body)

    hv_z = f.dome_r - rng.uniform(15, 30)
    hv_root = (ivc[0], f.spine_y(hv_z) - f.vb[1] - 15, hv_z)
    for dx, dy in ((-80, 10), (-40, -60), (30, -60)):
        tip = (hv_root[0] + dx + rng.uniform(-10, 10), hv_root[1] + dy + rng.uniform(-10, 10), hv_z + rng.uniform(
            -15, 10))
        canvas.paint(Cone(hv_root, tip, rng.uniform(5, 7), 2.0), blood, only=(Tissue.LIVER,))
    confluence = (pancreas[1][0] + 5, pancreas[1][1] + 12, pancreas[1][2])
    hilum = (-rng.uniform(35, 55), f.front * rng.uniform(0.0, 0.2), confluence[2] + rng.uniform(35, 50))
    canvas.paint(Cone(confluence, hilum, rng.uniform(6, 8), 5.0), blood, where=inner)
    for dx, dy, dz in ((-50, 10, 25), (40, -20, 25)):
        canvas.paint(Cone(hilum, (hilum[0] + dx, hilum[1] + dy, hilum[2] + dz), 4.5, 2.0), blood,
                     only=(Tissue.LIVER,))
    splenic = (pancreas[3][0] + 10, pancreas[3][1] + 8, pancreas[3][2])
    canvas.paint(_polyline([confluence, (pancreas[2][0], pancreas[2][1] + 12, pancreas[2][2]), splenic], 4.0),
                 blood, where=inner)
    sma = (ao[0] - 3, ao[1] - r_ao - 8)
    canvas.paint(Capsule((ao[0], ao[1], confluence[2] + 10), (sma[0], sma[1], confluence[2] - 10), 4.0), blood,
                 where=inner)
    canvas.paint(Capsule((sma[0], sma[1], confluence[2] - 10), (sma[0] + 5, sma[1] - 20, -30), 4.0), blood,
                 where=inner)
    canvas.paint(Capsule(confluence, (confluence[0] - 8, sma[1] - 15, -30), 5.5), blood, where=inner)
    for kidney in kidneys:
        z = kidney.hilum[2]
        aorta_y = ao[1] + f.lordosis * (z - f.z_l1)
        vein_end = (ivc[0], ivc[1] + f.lordosis * (z - f.z_l1), z + 5)
        via = [(ao[0], aorta_y - r_ao - 6, z + 5)] if kidney.side > 0 else []
        canvas.paint(_polyline([kidney.hilum] + via + [vein_end], 5.0), blood, where=inner)
        canvas.paint(Capsule((ao[0], aorta_y, z - 5), kidney.hilum, 3.0), blood, where=inner)
    if case.calcified:
        for _ in range(int(rng.integers(3, 10))):
            angle, z, r = rng.uniform(0, 2 * np.pi), rng.uniform(bifurcation - 30, f.z_l1), rng.uniform(1.5, 3)
            y = ao[1] + f.lordosis * (z - f.z_l1)
            spot = (ao[0] + r_ao * np.cos(angle), y + r_ao * np.sin(angle), z)
            canvas.paint(Ellipsoid(spot, (r, r, r + 1.5)), Tissue.CORTICAL, where=canvas.in_body)


def _paint_muscles(canvas: Canvas, frame: Frame, rng) -> None:
    """Paraspinal muscles, quadratus lumborum, psoas (from L1, widening downwards) and the diaphragmatic crura."""
    f = frame
    canal_y = f.y_vb + f.vb[1] + 10
    for s in (1, -1):
        canvas.paint(Tube((s * rng.uniform(30, 40), canal_y + rng.uniform(25, 35), f.z_l1),
                          (rng.uniform(25, 35), rng.uniform(25, 32)), (-50.0, f.top + 50), (0.0, f.lordosis)),
                     Tissue.SOFT, where=canvas.under_fat)
        canvas.paint(Cone((s * (f.vb[0] + 30), canal_y - 5, f.z_l1 + 30), (s * (f.vb[0] + 45), canal_y, -60.0),
                          rng.uniform(6, 9), rng.uniform(11, 15)), Tissue.SOFT, where=canvas.under_fat)
        top, bottom = f.z_l1 + rng.uniform(0, 15), -60.0
        canvas.paint(Cone((s * (f.vb[0] + 2), f.spine_y(top) - 2, top),
                          (s * (f.vb[0] + 20), f.spine_y(bottom) - 12, bottom), rng.uniform(5, 8),
                          rng.uniform(22, 28)), Tissue.SOFT, where=canvas.inner)
        crus_low, crus_high = f.level_z(-1), f.level_z(2)
        canvas.paint(Capsule((s * 8.0, f.spine_y(crus_low) - f.vb[1], crus_low),
                             (s * 18.0, f.spine_y(crus_high) - f.vb[1] - 22, crus_high), rng.uniform(3.5, 5.5)),
                     Tissue.SOFT, where=canvas.inner)


# --------------------------------------------------------------------------------------------------------------- #
# skeleton
# --------------------------------------------------------------------------------------------------------------- #
_RIB_END_DEG = {1: (75, 105), 2: (105, 135), 3: (140, 160), 4: (150, 170), 5: (155, 175), 6: (160, 175)}


def _paint_skeleton(canvas: Canvas, frame: Frame, case: AbdomenCase, rng) -> None:
    """Vertebrae, discs and canal (epidural fat, dural sac, cord or cauda equina), the lower ribs and, when low
    enough, the iliac crests."""
    f, grid = frame, canvas.grid
    disc = rng.uniform(8, 11)
    bones, discs = [], []
    for k in range(-5, 7):
        zc = f.level_z(k)
        if zc < -2 * f.period or zc > f.top + 2 * f.period:
            continue
        bones += _vertebra(f, k, zc, disc, rng)
        shrink = 0.88 if k > 0 else 1.0
        z_up = zc + f.period * shrink / 2
        discs.append(Tube((0.0, f.spine_y(z_up), z_up), (f.vb[0] * shrink, f.vb[1] * shrink),
                          (z_up - disc * shrink / 2 - 1.5, z_up + disc * shrink / 2 + 1.5), (0.0, f.lordosis)))
    for k in range(1, 7):
        bones += _ribs(f, case, k, rng)
    crest = f.level_z(-3) + rng.uniform(-15, 10)
    if crest > 0:
        for s in (1, -1):
            wing_cx = rng.uniform(30, 45)
            bones.append(IliacWing(s, (wing_cx, f.spine_y(crest) - rng.uniform(5, 20)),
                                   (f.ix - 5 - wing_cx, rng.uniform(45, 60)), (crest - 130, crest),
                                   tuple(np.deg2rad((rng.uniform(-45, -35), rng.uniform(100, 115)))),
                                   rng.uniform(5, 7)))
    for d in discs:
        canvas.paint(d, Tissue.SOFT, where=canvas.in_body)
    depth = np.full(grid.shape, _FLOOR, np.float32)
    for shape in bones:
        sl, x, y, z = grid.crop(*shape.bounds())
        view = depth[sl]
        if view.size:
            np.maximum(view, np.broadcast_to(shape.depth(x, y, z), view.shape), out=view)
    bone = (depth > 0) & canvas.in_body
    canvas.labels[bone] = Tissue.CORTICAL
    canvas.labels[bone & (depth > rng.uniform(1.5, 2.5))] = Tissue.MARROW
    canvas.owner[bone] = 0
    _paint_canal(canvas, f, rng)


def _vertebra(f: Frame, k: int, zc: float, disc: float, rng) -> list:
    """Body, pedicles, laminae, spinous, transverse and articular processes of vertebra ``k`` centred at ``zc``."""
    shrink = 0.88 if k > 0 else 1.0
    height = f.period * shrink - disc * shrink
    y, (rx, ry) = f.spine_y(zc), (f.vb[0] * shrink, f.vb[1] * shrink)
    canal_y, canal_r = y + ry + 9, (10.0, 8.0)
    lamina_y = canal_y + canal_r[1] + 3
    spinous_len = rng.uniform(22, 30)
    tp = rng.uniform(25, 38) if k <= 0 else rng.uniform(15, 22)
    parts = [
        Intersection((Tube((0.0, y, zc), (rx, ry), (zc - height / 2, zc + height / 2), (0.0, f.lordosis)),
                      HalfSpace(1, y + 0.8 * ry, 1))),
        Capsule((0.0, lamina_y, zc + 2), (0.0, lamina_y + spinous_len, zc - (12 if k <= 0 else 22)),
                rng.uniform(3.5, 5)),
    ]
    for s in (1, -1):
        pedicle_x = s * (canal_r[0] + 3)
        parts += [
            Capsule((pedicle_x, y + 0.5 * ry, zc + 4), (pedicle_x, canal_y + 2, zc + 4), 5.0),
            Capsule((pedicle_x, canal_y + 3, zc), (s * 3.0, lamina_y, zc - 2), 4.0),
            Capsule((pedicle_x, canal_y + 2, zc + 3), (s * (canal_r[0] + tp), canal_y + 8, zc + 3), 4.0),
            Capsule((s * (canal_r[0] + 6), canal_y + 5, zc - height / 2), (s * (canal_r[0] + 7), canal_y + 8,
                                                                           zc + height / 2 + disc), 4.5),
        ]
    return parts


def _ribs(f: Frame, case: AbdomenCase, k: int, rng) -> list:
    """The pair of ribs of thoracic vertebra ``k`` (1: T12, 2: T11, ...): from the body's side past the transverse
    process, then round an ellipse in the chest wall and down, to an end angle that grows up the chest."""
    zc = f.level_z(k)
    end = np.deg2rad(rng.uniform(*_RIB_END_DEG[k]))
    drop = rng.uniform(0.45, 0.65) * np.rad2deg(end)
    radius = rng.uniform(4.0, 5.5)
    if zc - drop > f.top + 20 or zc < -20:
        return []
    y = f.spine_y(zc)
    canal_y = y + f.vb[1] + 9
    back, front = canal_y + 20, f.front - 3
    yc, ry, rx = (back + front) / 2, (back - front) / 2, f.ix + 3
    start = np.arcsin(min(0.9, (f.vb[0] + 40) / rx))
    angles = np.linspace(start, end, 10)
    parts = []
    for s in (1, -1):
        points = [(s * f.vb[0] * 0.8, y + 0.3 * f.vb[1], zc + 6), (s * (f.vb[0] + 22), canal_y + 5, zc)]
        points += [(s * rx * np.sin(a), yc + ry * np.cos(a), zc - drop * (a - start) / (end - start))
                   for a in angles]
        parts += [Capsule(points[i], points[i + 1], radius) for i in range(len(points) - 1)]
    return parts


def _paint_canal(canvas: Canvas, f: Frame, rng) -> None:
    """The spinal canal over the whole height: epidural fat, the dural sac (CSF), the cord tapering to the conus
    at L1-L2, the cauda equina below (lying dorsally)."""
    canal_y = f.y_vb + f.vb[1] + 9
    conus = f.z_l1 - rng.uniform(0, 25)
    slope, zr = (0.0, f.lordosis), (-60.0, f.top + 60)
    canvas.paint(Tube((0.0, canal_y, f.z_l1), (10.0, 8.0), zr, slope), Tissue.FAT, where=canvas.in_body)
    canvas.paint(Tube((0.0, canal_y, f.z_l1), (8.0, 6.5), zr, slope), Tissue.CSF, where=canvas.in_body)
    cord = _ID["spinal_cord"]
    y_at = f.spine_y
    canvas.paint(Tube((0.0, canal_y - 1, f.z_l1), (4.5, 3.5), (conus + 20, f.top + 60), slope), Tissue.SOFT, cord,
                 where=canvas.in_body)
    canvas.paint(Cone((0.0, y_at(conus + 20) + f.vb[1] + 8, conus + 20), (0.0, y_at(conus) + f.vb[1] + 9, conus),
                      4.0, 1.5), Tissue.SOFT, cord, where=canvas.in_body)
    canvas.paint(Tube((0.0, canal_y + 2.5, f.z_l1), (3.5, 2.5), (-60.0, conus + 5), slope), Tissue.SOFT, cord,
                 where=canvas.in_body)


def _paint_arms(canvas: Canvas, outline: Outline, case: AbdomenCase, rng) -> None:
    """Arms down at the sides (the elbows and forearms at this height): skin, fat, muscle, radius and ulna."""
    height = case.slices * SPACING[2]
    for s in (1, -1):
        radii = (rng.uniform(32, 42), rng.uniform(38, 48))
        centre = (s * (outline.semi_x * 1.02 + rng.uniform(8, 25) + radii[0]), rng.uniform(-0.1, 0.3) * outline.front,
                  height / 2)
        slope = tuple(rng.uniform(-0.15, 0.15, size=2))
        arm = Tube(centre, radii, (-30.0, height + 30), slope)
        canvas.paint(arm, Tissue.SOFT, where=canvas.outside)
        fat = rng.uniform(4, 12) + 0.4 * case.extra_fat
        canvas.paint(arm, Tissue.FAT, margin=rng.uniform(1.5, 2.5), where=canvas.outside)
        canvas.paint(arm, Tissue.SOFT, margin=fat, where=canvas.outside)
        for dx, dy in ((-10, 8), (10, -8)):
            bone = Tube((centre[0] + s * dx, centre[1] + dy, centre[2]), (rng.uniform(6, 8),) * 2,
                        (-30.0, height + 30), slope)
            canvas.paint(bone, Tissue.CORTICAL, where=canvas.outside)
            canvas.paint(bone, Tissue.MARROW, margin=2.0, where=canvas.outside)
