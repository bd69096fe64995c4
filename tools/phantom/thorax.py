"""The thorax (SynthRAD2025 Task 1 region "Thorax"): its anatomy's ranges, its solids, its label map and its
planning structures.

Patient supine, LPS-like array axes: +x is the patient's left, +y posterior (the flat back lies on the table at
large y), z counts up from the first slice (feet -> head). The field of view runs from the lower neck just above
the lung apices down past the diaphragm's domes, so that the tops of the liver, stomach and spleen show in the
lowest slices (default: lungs 150-190 mm from apex to the right dome, 8-20 mm above, 28-45 mm below: 63-86
slices of 3 mm; 360-500 x 250-350 voxels of 1 mm in-plane, the arms cut at the edge in many cases).

Drawn (mm; the default's ranges, :class:`ThoraxAnatomy`):

* body: an axial ellipse (half-width 150-180, half-depth 100-125) with smooth perturbations and a flat back;
  skin 1.5-2.5 mm, subcutaneous fat 6-20 mm (the engine: 4-35 plus 0-45 of obesity); breasts (fat mounds with
  fibroglandular streaks, GLAND) in a third of the cases; the arms at the sides (skin, thinner fat, muscle, the
  humerus with its head at the shoulder, an armpit of fat) in half of them, raised above the head (out of the
  field) in the others.
* chest wall: muscle (SOFT) between the fat and the ribs (2-6 mm at the sides, 4-10 in front, 12-22 behind, the
  paraspinal muscles round the posterior elements), a patchy thin fat plane on the ribs, fat pads above the
  clavicles; scapulae (thin bony plates with a thicker lateral border and neck, a spine up to the acromion).
* skeleton (cortical shell, marrow inside): thoracic vertebrae every 22-26 mm (body, arch, spinous and
  transverse processes; discs of SOFT between; a CSF canal round a SOFT cord) on a kyphotic curve; twelve rib
  pairs, each an arc 7-10 x 9-13 mm round the cage's elliptic centre line (which narrows towards the top) from
  the transverse process to the front (true ribs), the costal margin (false) or the side (floating), falling
  60-100 mm on the way (the upper ribs less); sternum (manubrium, body, xiphoid); clavicles at the top. Cortical
  bone is as dark on MR as lung and air.
* lungs (LUNG) filling the rib cage above the diaphragm (the right dome 8-22 mm above the left, deep posterior
  recesses), domed apices, vessel trees (BLOOD: 3-5 branches from each hilum, forking four times, thinner and
  shorter outward), now and then small airways (GAS); trachea (GAS in a SOFT wall) splitting at the carina into
  the main and lobar bronchi.
* mediastinum (FAT) with the heart (tilted ellipsoid, 0.9-1.1 of an adult's size: SOFT myocardium, BLOOD
  chambers, septa; pericardium and its fat) on the diaphragm, left and in front; aorta (root, ascending, arch
  with its three branches, descending beside the spine into the abdomen), superior and inferior venae cavae,
  brachiocephalic veins, pulmonary trunk and arteries, pulmonary veins (all BLOOD in a SOFT wall); oesophagus
  (SOFT, sometimes a little GAS) behind the trachea.
* under the diaphragm: the liver's dome (LIVER) on the right and across the front, the stomach (SOFT wall, BOWEL
  content, GAS in front: the patient lies supine) and the spleen (SPLEEN) on the left, in abdominal FAT.
* a target: a lobulated, roughly spherical tumour (SOFT, radius 10-25 mm) in one lung.

Planning structures: "target" (the tumour's SOFT voxels), "lung_left", "lung_right" (LUNG and the lung's vessels,
less the target), "heart", "spinal_cord".

Every quantity is drawn first (:func:`_draw_plan`, from ``rng`` alone, in a fixed order, no grid), then painted on
the grid, so that a seed gives bit-identical labels and ``scale`` changes the voxels only. Most solids are evaluated
in their bounding box's crop; the body outline, the rib cage (with all the ribs at once, on the voxels near its
centre line) and the lungs use the whole grid once.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field, replace

import numpy as np

from tools.phantom.shapes import (
    Capsule,
    Drawn,
    Ellipsoid,
    Grid,
    accumulate_union,
    draw,
    ellipsoidal_depth,
    paint_bone,
)
from tools.phantom.tissues import Tissue

SPACING = (1.0, 1.0, 3.0)  # SimpleITK (x, y, z) order, mm
RIGHT, LEFT = -1, 1  # the sign of x on the patient's right and left (LPS)


@dataclass(frozen=True)
class ThoraxAnatomy:
    """The ranges a thorax's anatomy is drawn from (uniformly; integers ``[lo, hi)`` for counts; ``*_p`` a
    probability). :data:`DEFAULT_THORAX` gives the sample and held-out default cases, the data engine trains on the
    wide :data:`ENGINE_THORAX`, and the unseen-anatomy held-out set (:data:`UNSEEN_THORAX`, case ids ``1THU...``)
    lies outside it."""

    name: str
    semi_x: tuple[float, float] = (150.0, 180.0)  # body half-width, mm, before any extra fat
    semi_y: tuple[float, float] = (100.0, 125.0)  # body half-depth
    fat_mm: tuple[float, float] = (6.0, 20.0)  # subcutaneous fat
    extra_fat_mm: tuple[float, float] = (0.0, 0.0)  # obesity: added to the fat and to the body outline
    fov_x: tuple[int, int] = (360, 500)  # field of view, voxels (the arms, and the body, may be cut at its edges)
    fov_y: tuple[int, int] = (250, 350)
    lung_height: tuple[float, float] = (150.0, 190.0)  # apex to the right dome of the diaphragm
    dome_drop: tuple[float, float] = (8.0, 22.0)  # the left dome below the right one
    heart_scale: tuple[float, float] = (0.9, 1.1)  # on an adult heart's radii (56, 43, 33 mm)
    heart_x: tuple[float, float] = (12.0, 30.0)  # the heart's centre left of the midline
    rib_level: tuple[float, float] = (22.0, 26.0)  # one vertebra and disc: the ribs' spacing at the spine
    rib_drop: tuple[float, float] = (60.0, 100.0)  # how far a mid rib runs down from the spine to its front end
    arms_in_p: float = 0.5  # arms along the sides (else raised above the head, out of the field)
    arm_r: tuple[float, float] = (38.0, 50.0)  # upper arm's radius, before the extra fat
    arm_gap: tuple[float, float] = (2.0, 20.0)  # between the arm and the chest wall
    breast_p: float = 0.35
    breast_mm: tuple[float, float] = (25.0, 55.0)  # how far a breast stands out of the chest wall
    vessel_branches: tuple[int, int] = (3, 6)  # main vessel branches per hilum, [lo, hi)
    airway_p: float = 0.5  # small airways visible in the lungs
    tumour_r: tuple[float, float] = (10.0, 25.0)


DEFAULT_THORAX = ThoraxAnatomy("default")
ENGINE_THORAX = ThoraxAnatomy(
    "engine", semi_x=(140.0, 195.0), semi_y=(95.0, 132.0), fat_mm=(4.0, 35.0), extra_fat_mm=(0.0, 45.0),
    fov_x=(340, 540), fov_y=(240, 390), lung_height=(130.0, 215.0), dome_drop=(0.0, 32.0),
    heart_scale=(0.8, 1.25), heart_x=(5.0, 38.0), rib_level=(19.0, 28.0), rib_drop=(45.0, 110.0),
    arms_in_p=0.5, arm_r=(32.0, 58.0), arm_gap=(0.0, 30.0), breast_p=0.4, breast_mm=(15.0, 75.0),
    vessel_branches=(2, 8), airway_p=0.5, tumour_r=(8.0, 28.0),
)
#: Outside the engine's ranges: very obese (32-40 mm of fat and 52-65 more), cardiomegaly (the heart 1.35-1.5 times an
#: adult's), and small lungs under a high diaphragm (105-125 mm from apex to dome).
UNSEEN_THORAX = ThoraxAnatomy(
    "unseen", fat_mm=(32.0, 40.0), extra_fat_mm=(52.0, 65.0), fov_x=(440, 600), fov_y=(330, 460),
    lung_height=(105.0, 125.0),
    heart_scale=(1.35, 1.5),
)
ANATOMIES = {a.name: a for a in (DEFAULT_THORAX, ENGINE_THORAX, UNSEEN_THORAX)}


# --------------------------------------------------------------------------- #
# solids
# --------------------------------------------------------------------------- #
def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _f(v) -> tuple[float, ...]:
    """A point as a tuple of Python floats (numpy float64 scalars would promote the float32 grid)."""
    return tuple(float(c) for c in v)


@dataclass(frozen=True)
class ThoraxBody:
    """Axial ellipse with a smooth angular perturbation, a slow change of size along z and a flat back."""

    semi_x: float
    semi_y: float
    harmonics: np.ndarray  # (k, 2): cos/sin amplitudes of orders 2.. on the radius
    z_slope: float  # relative size change from the middle to the top (and, opposite, the bottom) slice, x 2
    height: float
    back_y: float  # posterior flattening (the patient lies on the table)

    def extent(self) -> tuple[float, float]:
        """Largest x and -y reached by the outline (for choosing the FOV)."""
        grow = (1.0 + float(np.abs(self.harmonics).sum())) * (1.0 + 0.5 * abs(self.z_slope))
        return self.semi_x * grow, self.semi_y * grow

    def front_y(self, x: float) -> float:
        """y of the (unperturbed) anterior surface at ``x``."""
        return -self.semi_y * float(np.sqrt(max(0.0, 1.0 - (x / self.semi_x) ** 2)))

    def depth(self, x, y, z):
        theta = np.arctan2(y / self.semi_y, x / self.semi_x)
        outline = 1.0 + sum(c * np.cos(k * theta) + s * np.sin(k * theta)
                            for k, (c, s) in enumerate(self.harmonics.tolist(), start=2))
        rho2 = (x / self.semi_x) ** 2 + (y / self.semi_y) ** 2
        ratio = np.where(rho2 < 1e-12, np.float32(self.semi_y), np.sqrt((x**2 + y**2) / np.maximum(rho2, 1e-12)))
        size = 1.0 + self.z_slope * (z / self.height - 0.5)
        return np.minimum((size * outline - np.sqrt(rho2)) * ratio, self.back_y - y)


@dataclass(frozen=True)
class RibCage:
    """The ribs' centre line in every axial slice: an ellipse (deeper in front than behind) that narrows towards
    the thoracic inlet. ``psi`` is the angle round it from the back (0) over the side to the front (pi)."""

    centre_y: float
    semi_x: float
    semi_front: float
    semi_back: float
    z_wide: float  # the cage is widest up to here
    z_narrow: float  # and narrowed by ``taper`` at this height
    taper: float

    def scale(self, z):
        """Relative size of the ellipse at height z."""
        u = np.clip((z - self.z_wide) / (self.z_narrow - self.z_wide), 0.0, 1.2)
        return 1.0 - self.taper * u**2.5

    def _polar(self, x, y):
        dy = y - self.centre_y
        semi_y = np.where(dy < 0, np.float32(self.semi_front), np.float32(self.semi_back))
        rho2 = (x / self.semi_x) ** 2 + (dy / semi_y) ** 2
        ratio = np.where(rho2 < 1e-12, np.float32(self.semi_back), np.sqrt((x**2 + dy**2) / np.maximum(rho2, 1e-12)))
        return np.sqrt(rho2), ratio, dy, semi_y

    def offset(self, x, y, z):
        """Approximate distance (mm) inside the centre line (negative outside it)."""
        rho, ratio, _, _ = self._polar(x, y)
        return (self.scale(z) - rho) * ratio

    def angle(self, x, y):
        """``psi`` of (x, y), either side."""
        _, _, dy, semi_y = self._polar(x, y)
        return np.arctan2(np.abs(x) / self.semi_x, dy / semi_y)

    def point(self, side: int, psi: float, z: float, out: float = 0.0) -> tuple[float, float]:
        """(x, y) on the centre line at angle ``psi`` on ``side``, moved ``out`` mm outward."""
        s = float(self.scale(z))
        semi_y = self.semi_back if np.cos(psi) > 0 else self.semi_front
        return (side * (self.semi_x * s + out) * float(np.sin(psi)),
                self.centre_y + (semi_y * s + out) * float(np.cos(psi)))

    def front_y(self, z: float) -> float:
        """y of the centre line's front at height z."""
        return self.centre_y - self.semi_front * float(self.scale(z))


@dataclass(frozen=True)
class Diaphragm:
    """Two domes (right higher) falling away as paraboloids, faster behind (deep posterior recesses)."""

    domes: tuple  # ((x, y, z) of the right dome's top, (x, y, z) of the left's)
    curvature: float  # mm of drop per mm^2 of distance
    posterior: float  # factor on the curvature behind a dome's top
    thickness: float

    def height(self, x, y):
        """z of the diaphragm's upper surface at (x, y)."""
        heights = []
        for dx, dy, dz in self.domes:
            ry = y - dy
            factor = np.where(ry > 0, np.float32(self.posterior), np.float32(0.7))
            heights.append(dz - self.curvature * ((x - dx) ** 2 + factor * ry**2))
        return np.maximum(*heights)


@dataclass(frozen=True)
class LungApex:
    """A lung's dome: the height of its top falls as a paraboloid from the apex."""

    x: float
    y: float
    z: float
    curvature: float

    def top(self, x, y):
        return self.z - self.curvature * ((x - self.x) ** 2 + (y - self.y) ** 2)


@dataclass(frozen=True)
class Kyphosis:
    """y of the vertebral bodies' centres along z: most posterior at ``z_mid``."""

    y_mid: float
    z_mid: float
    bend: float  # anterior shift (mm) 100 mm above and below z_mid

    def y(self, z):
        return self.y_mid - self.bend * ((z - self.z_mid) / 100.0) ** 2

    def y_range(self, z0: float, z1: float) -> tuple[float, float]:
        ys = [float(self.y(z)) for z in (z0, z1, float(np.clip(self.z_mid, z0, z1)))]
        return min(ys), max(ys)


@dataclass(frozen=True)
class Column:
    """Elliptic cylinder along z whose centre follows the spine (plus dx, dy); hollow around ``hole`` if given."""

    spine: Kyphosis
    dx: float
    dy: float
    semi: tuple[float, float]
    z_range: tuple[float, float]
    hole: tuple[float, float] | None = None
    hole_dy: float = 0.0
    end_scale: float = 1.0  # > 1: thinner end plates (the depth grows faster along z than across)

    def bounds(self):
        y0, y1 = self.spine.y_range(*self.z_range)
        return (np.array([self.dx - self.semi[0], y0 + self.dy - self.semi[1], self.z_range[0]]),
                np.array([self.dx + self.semi[0], y1 + self.dy + self.semi[1], self.z_range[1]]))

    def depth(self, x, y, z):
        cy = self.spine.y(z) + self.dy
        d = ellipsoidal_depth((x - self.dx, y - cy), self.semi)
        if self.hole is not None:
            d = np.minimum(d, -ellipsoidal_depth((x - self.dx, y - cy - self.hole_dy), self.hole))
        return np.minimum(d, np.minimum(z - self.z_range[0], self.z_range[1] - z) * self.end_scale)


@dataclass(frozen=True)
class MediastinumCore:
    """The central mediastinum: in each slice an ellipse from behind the sternum to the vertebral bodies, narrow
    (``half_width[0]``) up to ``z_widen`` (the top of the heart), wide (``half_width[1]``) at the top of the field,
    round the great vessels."""

    cage: RibCage
    spine: Kyphosis
    x: float
    half_width: tuple[float, float]
    z_widen: tuple[float, float]  # from narrow to wide between these heights
    inset: float  # from the ribs' centre line to the inside of the chest wall
    z_range: tuple[float, float]

    def bounds(self):
        _, y1 = self.spine.y_range(*self.z_range)
        front, wide = self.cage.centre_y - self.cage.semi_front, max(self.half_width)
        return (np.array([self.x - wide, front, self.z_range[0]]), np.array([self.x + wide, y1, self.z_range[1]]))

    def depth(self, x, y, z):
        front = self.cage.centre_y - self.cage.semi_front * self.cage.scale(z) + self.inset
        back = self.spine.y(z)
        u = np.clip((z - self.z_widen[0]) / (self.z_widen[1] - self.z_widen[0]), 0.0, 1.0)
        width = self.half_width[0] + (self.half_width[1] - self.half_width[0]) * u
        d = ellipsoidal_depth((x - self.x, y - (front + back) / 2), (width, (back - front) / 2 + 2.0))
        return np.minimum(d, np.minimum(z - self.z_range[0], self.z_range[1] - z))


@dataclass(frozen=True)
class OrientedEllipsoid:
    """Ellipsoid with semi-axes ``radii`` along the orthonormal ``axes`` (rows)."""

    centre: tuple[float, float, float]
    axes: tuple  # three unit vectors (x, y, z)
    radii: tuple[float, float, float]

    def half_extent(self) -> np.ndarray:
        a, r = np.asarray(self.axes), np.asarray(self.radii)
        return np.sqrt(((a * r[:, None]) ** 2).sum(axis=0))

    def bounds(self):
        c = np.asarray(self.centre)
        return c - self.half_extent(), c + self.half_extent()

    def depth(self, x, y, z):
        p = (x - self.centre[0], y - self.centre[1], z - self.centre[2])
        local = tuple(float(a[0]) * p[0] + float(a[1]) * p[1] + float(a[2]) * p[2] for a in self.axes)
        return ellipsoidal_depth(local, self.radii)

    def grown(self, mm: float) -> OrientedEllipsoid:
        return replace(self, radii=tuple(r + mm for r in self.radii))


@dataclass(frozen=True)
class Slab:
    """The slab of half-thickness ``half`` around the plane through ``centre`` normal to ``normal``, inside
    ``within`` (a bounded solid)."""

    within: object
    centre: tuple[float, float, float]
    normal: tuple[float, float, float]
    half: float

    def bounds(self):
        return self.within.bounds()

    def depth(self, x, y, z):
        n, c = self.normal, self.centre
        across = self.half - np.abs(n[0] * (x - c[0]) + n[1] * (y - c[1]) + n[2] * (z - c[2]))
        return np.minimum(across, self.within.depth(x, y, z))


@dataclass(frozen=True)
class Cone:
    """A capsule whose radius changes linearly from ``ra`` at a to ``rb`` at b."""

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
        t = np.clip(sum(pi * float(ab[i]) for i, pi in enumerate(p)) / float(ab @ ab), 0.0, 1.0)
        dist2 = sum((pi - t * float(ab[i])) ** 2 for i, pi in enumerate(p))
        return self.ra + (self.rb - self.ra) * t - np.sqrt(dist2)

    def grown(self, mm: float) -> Cone:
        return replace(self, ra=self.ra + mm, rb=self.rb + mm)


@dataclass(frozen=True)
class Sternum:
    """Flat bone on the front of the rib cage: manubrium (wide, top), body, xiphoid (narrow, bottom)."""

    cage: RibCage
    z_range: tuple[float, float]  # xiphoid tip, top of the manubrium
    half_width: tuple[float, float]  # body, manubrium
    half_thickness: float
    dy: float  # behind the ribs' front

    def _y(self, z):
        return self.cage.centre_y - self.cage.semi_front * self.cage.scale(z) + self.dy

    def bounds(self):
        ys = [float(self._y(z)) for z in self.z_range]
        return (np.array([-max(self.half_width), min(ys) - self.half_thickness, self.z_range[0]]),
                np.array([max(self.half_width), max(ys) + self.half_thickness, self.z_range[1]]))

    def depth(self, x, y, z):
        z0, z1 = self.z_range
        u = np.clip((z - z0) / (z1 - z0), 0.0, 1.0)
        width = self.half_width[0] + (self.half_width[1] - self.half_width[0]) * np.clip((u - 0.7) / 0.3, 0.0, 1.0)
        width = width * np.clip(0.35 + 5.0 * u, 0.35, 1.0)  # the xiphoid
        d = ellipsoidal_depth((x, y - self._y(z)), (width, self.half_thickness))
        return np.minimum(d, np.minimum(z - z0, z1 - z))


@dataclass(frozen=True)
class ScapulaPlate:
    """A thin plate ``out`` mm outside the ribs behind, between its medial border (``psi_medial``) and a lateral
    border that runs from the glenoid (top) to the inferior angle (bottom)."""

    cage: RibCage
    side: int
    psi_medial: float
    width: float  # angle between the borders at the top
    z_range: tuple[float, float]  # inferior angle, superior border
    out: float
    half_thickness: float

    def bounds(self):
        c = self.cage
        reach = max(c.semi_x, c.semi_back) + self.out + self.half_thickness
        xs = sorted((0.0, self.side * reach))
        return (np.array([xs[0], c.centre_y - 20.0, self.z_range[0]]),
                np.array([xs[1], c.centre_y + reach, self.z_range[1]]))

    def depth(self, x, y, z):
        z0, z1 = self.z_range
        u = np.clip((z - z0) / (z1 - z0), 0.0, 1.0)
        psi = self.cage.angle(x, y)
        lateral = self.psi_medial + self.width * (0.08 + 0.92 * u**0.7)
        along = np.minimum(psi - self.psi_medial, lateral - psi) * 100.0
        plate = self.half_thickness - np.abs(self.cage.offset(x, y, z) + self.out)
        return np.minimum(np.minimum(plate, along), np.minimum(np.minimum(z - z0, z1 - z), self.side * x))


@dataclass(frozen=True)
class Ribs:
    """One side's ribs, all of them, as arcs along the cage's centre line from ``start`` (behind, by the spine)
    to ``ends`` (in front), each falling ``drops`` mm from its posterior end at ``heads``; the cross-section is an
    ellipse of half-sizes ``half_radial`` x ``half_height``."""

    heads: tuple[float, ...]
    drops: tuple[float, ...]
    ends: tuple[float, ...]
    start: float
    half_radial: float
    half_height: float

    def depth(self, offset, psi, z) -> np.ndarray:
        """Depth (mm) of the union of the ribs at points given by their offset from the centre line, angle and
        height (flat arrays)."""
        out = np.full(offset.shape, -1e3, np.float32)
        g = np.clip((psi - self.start) / (np.pi - self.start), 0.0, 1.0) ** 1.3
        radial = (offset / self.half_radial) ** 2
        for head, drop, end in zip(self.heads, self.drops, self.ends):
            near = (z < head + self.half_height + 1) & (z > head - drop - self.half_height - 1)
            if not near.any():
                continue
            centre = head - drop * g[near]
            rho = np.sqrt(radial[near] + ((z[near] - centre) / self.half_height) ** 2)
            d = (1.0 - rho) * min(self.half_radial, self.half_height)
            d = np.minimum(d, np.minimum(psi[near] - self.start, end - psi[near]) * 100.0)
            out[near] = np.maximum(out[near], d)
        return out


@dataclass(frozen=True)
class Both:
    """Intersection of two solids, its bounding box the first's."""

    first: object
    second: object

    def bounds(self):
        return self.first.bounds()

    def depth(self, x, y, z):
        return np.minimum(self.first.depth(x, y, z), self.second.depth(x, y, z))


@dataclass(frozen=True)
class Box:
    """Axis-aligned box between the corners ``lo`` and ``hi`` (x, y, z mm; infinite allowed)."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]

    def bounds(self):
        return np.asarray(self.lo, float), np.asarray(self.hi, float)

    def depth(self, x, y, z):
        sides = (np.minimum(p - lo, hi - p) for p, lo, hi in zip((x, y, z), self.lo, self.hi))
        return functools.reduce(np.minimum, sides)


@dataclass(frozen=True)
class Tube:
    """A vessel or airway: ``lumen`` of ``tissue`` inside a SOFT wall ``wall`` mm thick."""

    lumen: object  # Capsule or Cone
    wall: float
    tissue: Tissue = Tissue.BLOOD

    def outer(self):
        return _grown(self.lumen, self.wall)


def _grown(solid, mm: float):
    """The solid (Capsule, Cone, Ellipsoid, OrientedEllipsoid) grown by ``mm``."""
    if isinstance(solid, Capsule):
        return Capsule(solid.a, solid.b, solid.radius + mm)
    if isinstance(solid, Ellipsoid):
        return Ellipsoid(solid.centre, tuple(r + mm for r in solid.radii))
    return solid.grown(mm)


# --------------------------------------------------------------------------- #
# the plan: every draw, no grid
# --------------------------------------------------------------------------- #
@dataclass
class ThoraxPlan:
    """Everything drawn for one thorax (no voxels yet): the solids and the field of view."""

    body: ThoraxBody  # lean
    outline: ThoraxBody  # with the extra fat
    extra: float
    fat: float
    fat_phase: float
    skin: float
    nz: int
    z_dome: float
    z_apex: float
    cage: RibCage = None
    inset: float = 0.0  # cage centre line to the inside of the chest wall
    fat_plane: float = 0.0  # between the chest wall's muscles and the ribs, mm (patchy)
    fat_plane_phase: float = 0.0
    spine: Kyphosis = None
    diaphragm: Diaphragm = None
    apices: dict = field(default_factory=dict)  # side -> LungApex
    bones: list = field(default_factory=list)  # axial skeleton and shoulder girdle, cortex ``cortex``
    ribs: dict = field(default_factory=dict)  # side -> Ribs
    cortex: float = 1.5
    discs: Column = None
    canal: Column = None
    cord: Column = None
    mediastinum: list = field(default_factory=list)  # envelope solids: no lung inside
    paraspinal: Column = None
    heart: OrientedEllipsoid = None
    heart_layers: tuple = ()  # (outer fat, pericardium, epicardial fat) mm
    heart_wall: float = 8.0
    septa: tuple = ()
    veins_in: list = field(default_factory=list)  # tubes painted before the heart (they end in it)
    arteries: list = field(default_factory=list)  # tubes painted after it
    airways: list = field(default_factory=list)
    oesophagus: list = field(default_factory=list)
    oesophagus_gas: list = field(default_factory=list)
    liver_cut: tuple = (0.0, 0.0, 0.0)  # (nx, ny, c): liver where nx x + ny y < c
    stomach: Ellipsoid = None
    stomach_gas: float | None = None  # y of the gas-fluid level
    spleen: Ellipsoid = None
    hila: dict = field(default_factory=dict)  # side -> (x, y, z)
    lung_vessels: dict = field(default_factory=dict)  # side -> Capsules
    lung_airways: dict = field(default_factory=dict)  # side -> Tubes
    tumour_side: int = LEFT
    tumour: list = field(default_factory=list)
    breasts: list = field(default_factory=list)  # (mound, glands)
    arms: list = field(default_factory=list)  # (outline solids, humerus solids)
    arm_cortex: float = 3.0
    arm_fat: float = 10.0
    fat_pads: list = field(default_factory=list)  # Ellipsoids: fat between the shoulder's and neck's muscles
    nx: int = 0
    ny: int = 0
    shift: tuple = (0.0, 0.0, 0.0)

    def fat_thickness(self, x, y):
        """Subcutaneous fat (mm, with the extra fat) as a function of the angle round the body."""
        theta = np.arctan2(y, x)
        return self.fat * (1.0 + 0.3 * np.cos(theta - self.fat_phase)) + self.extra


def draw_labels(rng, scale=(1.0, 1.0, 1.0), anatomy: ThoraxAnatomy = DEFAULT_THORAX) -> Drawn:
    """Draw a thorax from ``anatomy``'s ranges: its field of view, tissue label map and planning structures;
    ``scale``: voxels per default voxel along (x, y, z) (the field of view in mm stays the one drawn, and so does
    the anatomy: every draw comes before the grid)."""
    plan = _draw_plan(rng, anatomy)
    spacing = tuple(float(s / f) for s, f in zip(SPACING, scale))
    size = tuple(round(n * f) for n, f in zip((plan.nx, plan.ny, plan.nz), scale))
    grid = Grid.centred(size, spacing, plan.shift)
    labels, structures = _paint_thorax(plan, grid)
    return Drawn(labels=labels, spacing=spacing, structures=structures)


def _draw_plan(rng, a: ThoraxAnatomy) -> ThoraxPlan:
    """Every random quantity of a thorax, in a fixed order."""
    plan = _draw_frame(rng, a)
    _draw_cage_and_spine(plan, rng, a)
    _draw_mediastinum(plan, rng, a)
    _draw_abdomen(plan, rng)
    _draw_shoulders(plan, rng, a)
    _draw_breasts(plan, rng, a)
    _draw_lung_trees(plan, rng, a)
    _draw_tumour(plan, rng, a)
    _draw_field_of_view(plan, rng, a)
    return plan


def _draw_frame(rng, a: ThoraxAnatomy) -> ThoraxPlan:
    """Body outline, fat and the heights: the lung's apex and the right dome of the diaphragm."""
    semi_y = rng.uniform(*a.semi_y)
    body = ThoraxBody(semi_x=rng.uniform(*a.semi_x), semi_y=semi_y, harmonics=rng.uniform(-0.01, 0.01, size=(3, 2)),
                      z_slope=rng.uniform(-0.08, 0.08), height=1.0, back_y=semi_y * rng.uniform(0.85, 0.95))
    extra = draw(rng, a.extra_fat_mm)
    fat, fat_phase, skin = rng.uniform(*a.fat_mm), rng.uniform(-np.pi, np.pi), rng.uniform(1.5, 2.5)
    lung_height, below, above = rng.uniform(*a.lung_height), rng.uniform(28, 45), rng.uniform(8, 20)
    nz = round((below + lung_height + above) / SPACING[2]) + 1
    body = replace(body, height=(nz - 1) * SPACING[2])
    outline = replace(body, semi_x=body.semi_x + extra, semi_y=body.semi_y + extra, back_y=body.back_y + extra)
    return ThoraxPlan(body=body, outline=outline, extra=extra, fat=fat, fat_phase=fat_phase, skin=skin, nz=nz,
                      z_dome=below, z_apex=below + lung_height)


def _draw_cage_and_spine(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
    """Rib cage, diaphragm, lung apices, vertebrae, canal and cord, ribs."""
    body, top = plan.body, plan.body.height
    half_r, half_z = rng.uniform(3.5, 5.0), rng.uniform(4.5, 6.5)
    lean = 1.0 - 0.5 * abs(body.z_slope)
    cage = RibCage(  # the chest wall: the fat, then 2-6 mm of muscle at the sides, 4-10 in front, 12-22 behind
        centre_y=rng.uniform(-8, 4),
        semi_x=max(body.semi_x * lean - plan.fat - rng.uniform(2, 6) - half_r, 0.7 * body.semi_x),
        semi_front=max(body.semi_y * lean - plan.fat - rng.uniform(4, 10) - half_r, 0.6 * body.semi_y),
        semi_back=max(body.back_y - plan.fat - rng.uniform(12, 22) - half_r, 0.4 * body.semi_y),
        z_wide=plan.z_dome + rng.uniform(0, 30), z_narrow=plan.z_apex + 10, taper=rng.uniform(0.35, 0.45),
    )
    plan.cage, plan.inset = cage, half_r + rng.uniform(1.0, 2.0)
    plan.fat_plane, plan.fat_plane_phase = rng.uniform(0.0, 3.0), rng.uniform(-np.pi, np.pi)
    left_drop = draw(rng, a.dome_drop)
    domes = tuple((side * cage.semi_x * rng.uniform(0.35, 0.5), cage.centre_y + rng.uniform(-10, 15),
                   plan.z_dome - (left_drop if side == LEFT else 0.0)) for side in (RIGHT, LEFT))
    plan.diaphragm = Diaphragm(domes, rng.uniform(0.008, 0.012), rng.uniform(1.2, 1.6), rng.uniform(3, 5))
    apex_scale = float(cage.scale(plan.z_apex))
    plan.apices = {side: LungApex(side * cage.semi_x * apex_scale * rng.uniform(0.45, 0.6),
                                  cage.centre_y + rng.uniform(0, 20), plan.z_apex - rng.uniform(0, 6),
                                  rng.uniform(0.006, 0.01)) for side in (RIGHT, LEFT)}

    # vertebrae: bodies, discs, canal, arches, processes
    semi_vb = (rng.uniform(16, 20), rng.uniform(12, 15))
    spine = Kyphosis(cage.centre_y + cage.semi_back - rng.uniform(30, 38),
                     plan.z_apex - 0.45 * (plan.z_apex - plan.z_dome),
                     rng.uniform(5, 15))
    plan.spine = spine
    level, disc = rng.uniform(*a.rib_level), rng.uniform(4, 6)
    canal = (rng.uniform(7.5, 9), rng.uniform(6.5, 8))
    canal_dy = semi_vb[1] + 2.5 + canal[1]
    cord = (rng.uniform(4.5, 5.5), rng.uniform(3.5, 4.5))
    span = (-40.0, top + 40.0)
    plan.discs = Column(spine, 0.0, 0.0, semi_vb, span)
    plan.canal = Column(spine, 0.0, canal_dy, canal, span)
    plan.cord = Column(spine, 0.0, canal_dy, cord, span)
    first_rib = plan.z_apex - rng.uniform(5, 15)
    heads = tuple(first_rib - k * level for k in range(12))
    bones = plan.bones
    for k in range(-4, 16):
        zk = first_rib - k * level
        if not -level < zk < top + level:
            continue
        half = (level - disc) / 2
        grow = 1.0 + 0.012 * k  # lower vertebrae are larger
        bones.append(Column(spine, 0.0, 0.0, (semi_vb[0] * grow, semi_vb[1] * grow), (zk - half, zk + half),
                            end_scale=3.0))
        bones.append(Column(spine, 0.0, canal_dy, (canal[0] + 5.5, canal[1] + 5.5),
                            (zk - 0.4 * level, zk + 0.45 * level),
                            hole=canal, hole_dy=-1.0))
        back = float(spine.y(zk)) + canal_dy + canal[1]
        bones.append(Capsule((0.0, back + 3, zk), (0.0, back + rng.uniform(26, 36), zk - rng.uniform(15, 25)),
                             rng.uniform(3.5, 5)))
        for side in (RIGHT, LEFT):
            bones.append(Capsule((side * (canal[0] + 3), back - canal[1] - 2, zk + 3),
                                 (side * rng.uniform(27, 32), back - canal[1] + rng.uniform(4, 10), zk + 3),
                                 rng.uniform(4.5, 5.5)))
    # ribs: the posterior end by the transverse process, the front end near the sternum (true ribs), further
    # out for the false ribs, at the side for the floating ones; the upper ribs fall less
    start = rng.uniform(0.28, 0.36)
    for side in (RIGHT, LEFT):
        drops = tuple(rng.uniform(*a.rib_drop) * min(1.0, 0.45 + 0.2 * k) for k in range(12))
        ends = tuple((np.pi - rng.uniform(0.25, 0.35) - 0.05 * k) if k < 7 else (np.pi - 0.75 - 0.24 * (k - 7))
                     for k in range(12))
        plan.ribs[side] = Ribs(heads, drops, ends, start, half_r, half_z)
        for zk in heads:
            if zk > -level:
                end = cage.point(side, start, zk)
                bones.append(Capsule((side * semi_vb[0] * 0.8, float(spine.y(zk)) + semi_vb[1] * 0.4, zk),
                                     (end[0], end[1], zk), half_r * 1.1))
    # no lung round the vertebral bodies, nor behind them between the rib necks (there: soft tissue)
    plan.paraspinal = Column(spine, 0.0, canal_dy, (semi_vb[0] + 10, canal_dy + 4), span)
    plan.mediastinum += [plan.paraspinal, Column(spine, 0.0, 0.0, (semi_vb[0] + 4, semi_vb[1] + 4), span)]
    plan.cortex = rng.uniform(1.2, 2.0)


def _draw_mediastinum(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
    """Trachea and bronchi, oesophagus, heart, great vessels; the mediastinal envelope that keeps lung out."""
    cage, spine, top = plan.cage, plan.spine, plan.body.height
    vb_front = spine.y_mid - plan.discs.semi[1]  # roughly; the spine's y changes slowly
    semi_vb = plan.discs.semi
    # oesophagus (behind the trachea, in front of the spine, a little left) and trachea
    oes = (rng.uniform(8, 11), rng.uniform(6, 8))
    oes_dx = rng.uniform(2, 8)
    tr_r, tr_wall = rng.uniform(8, 11), rng.uniform(1.5, 2.5)
    x_tr = rng.uniform(-4, 3)
    y_tr_top = float(spine.y(top)) - semi_vb[1] - 2 * oes[1] - tr_r - rng.uniform(1, 4)
    z_car = plan.z_apex - rng.uniform(55, 80)
    y_car = y_tr_top + rng.uniform(4, 12)
    carina = (x_tr, y_car, z_car)
    trachea = Tube(Capsule((x_tr, y_tr_top, top + 20), carina, tr_r - tr_wall), tr_wall, Tissue.GAS)
    bronchus_r = Tube(Capsule(carina, (x_tr - rng.uniform(22, 30), y_car + rng.uniform(0, 10),
                                       z_car - rng.uniform(15, 25)),
                              0.7 * tr_r - tr_wall), tr_wall, Tissue.GAS)
    bronchus_l = Tube(Capsule(carina, (x_tr + rng.uniform(38, 50), y_car + rng.uniform(5, 15),
                                       z_car - rng.uniform(20, 35)),
                              0.65 * tr_r - tr_wall), tr_wall, Tissue.GAS)
    lobar = []
    for main, side in ((bronchus_r, RIGHT), (bronchus_l, LEFT)):
        b = main.lumen.b
        for d in ((rng.uniform(10, 20), rng.uniform(-10, 0), rng.uniform(10, 18)),
                  (rng.uniform(3, 10), rng.uniform(5, 15), -rng.uniform(30, 40))):
            end = (b[0] + side * d[0], b[1] + d[1], b[2] + d[2])
            lobar.append(Tube(Capsule(b, end, 0.45 * tr_r - 1.5), 1.5, Tissue.GAS))
    plan.airways = [trachea, bronchus_r, bronchus_l] + lobar
    hila = {side: _f(np.asarray(main.lumen.b) + (side * rng.uniform(4, 10), -rng.uniform(3, 8), rng.uniform(3, 8)))
            for main, side in ((bronchus_r, RIGHT), (bronchus_l, LEFT))}

    # the heart: on the diaphragm, left and in front, its long axis to the left, forwards and down
    scale = draw(rng, a.heart_scale)
    radii = (rng.uniform(52, 60) * scale, rng.uniform(40, 46) * scale, rng.uniform(30, 36) * scale)
    long_axis = _unit((rng.uniform(0.55, 0.8), rng.uniform(-0.45, -0.25), rng.uniform(-0.7, -0.45)))
    across = _unit(np.cross(long_axis, (0.0, 0.0, 1.0)))
    third = np.cross(long_axis, across)
    axes = (_f(long_axis), _f(across), _f(third))
    heart = OrientedEllipsoid((0.0, 0.0, 0.0), axes, _f(radii))
    ext = heart.half_extent()
    x_h = draw(rng, a.heart_x)
    y_h = cage.front_y(plan.z_dome) + plan.inset + ext[1] + rng.uniform(3, 10)
    z_h = float(plan.diaphragm.height(x_h, y_h)) + ext[2] - rng.uniform(3, 8)
    heart = replace(heart, centre=(x_h, y_h, z_h))
    centre = np.asarray(heart.centre)
    plan.heart, plan.heart_wall = heart, rng.uniform(6, 10)
    plan.heart_layers = (rng.uniform(1, 4), 1.2, rng.uniform(1, 3))
    plan.septa = (Slab(heart, _f(centre + third * rng.uniform(-8, 8)), _f(third), rng.uniform(3, 5)),
                  Slab(heart, _f(centre - long_axis * radii[0] * rng.uniform(0.15, 0.3)), _f(long_axis),
                       rng.uniform(1.5, 2.5)))

    # great vessels: the ascending aorta in front of the right pulmonary artery, which runs in front of the
    # bronchi; the arch over the left main bronchus, left of the trachea; the descending aorta left of the spine
    r_asc, r_desc, r_pa = rng.uniform(13, 17), rng.uniform(10, 13), rng.uniform(8, 11)
    root = (x_h - rng.uniform(12, 22), y_h + rng.uniform(-10, 5), z_h + 0.55 * ext[2])
    z_arch = z_car + rng.uniform(5, 20)
    asc_top = (root[0] - rng.uniform(0, 6), min(root[1], y_car - tr_r - 2 * r_pa - r_asc - rng.uniform(3, 8)), z_arch)
    x_d = semi_vb[0] + 0.5 * r_desc + rng.uniform(2, 6)
    lift = rng.uniform(0.2, 0.6) * semi_vb[1]
    d_top = (x_d, float(spine.y(z_arch)) - lift, z_arch)
    h_arch = rng.uniform(12, 22)
    arch = []
    for t in np.linspace(0.0, 1.0, 15):
        w = ((1 - t) ** 2, 2 * t * (1 - t), t**2)
        xy = (w[0] * asc_top[0] + w[1] * (x_d + 8) + w[2] * x_d,
              w[0] * asc_top[1] + w[1] * asc_top[1] + w[2] * d_top[1])
        arch.append((float(xy[0]), float(xy[1]), z_arch + h_arch * float(np.sin(np.pi * t)),
                     r_asc + (r_desc - r_asc) * float(t)))
    wall = rng.uniform(1.5, 2.5)
    aorta = [Cone(root, asc_top, r_asc, r_asc)]
    aorta += [Cone(p[:3], q[:3], p[3], q[3]) for p, q in itertools.pairwise(arch)]
    z_mid = plan.z_dome - 30
    desc_mid = (x_d - 2, float(spine.y(z_mid)) - lift, z_mid)
    desc_low = (rng.uniform(3, 8), float(spine.y(-20)) - semi_vb[1] - r_desc - 1, -20.0)
    aorta += [Cone(d_top, desc_mid, r_desc, r_desc), Cone(desc_mid, desc_low, r_desc, r_desc)]
    branches = []
    for i, (dx, dy, r) in enumerate(((-rng.uniform(12, 20), -rng.uniform(8, 14), rng.uniform(6, 7.5)),
                                     (rng.uniform(12, 18), -rng.uniform(2, 8), rng.uniform(3.5, 5)),
                                     (rng.uniform(25, 38), rng.uniform(2, 12), rng.uniform(4.5, 6)))):
        p = arch[4 + 3 * i]
        branches.append(Cone(p[:3], (x_tr + dx, y_tr_top + dy, top + 10), r, r))
    r_svc = rng.uniform(8, 11)
    svc_top = (asc_top[0] - r_asc - r_svc - rng.uniform(2, 5), asc_top[1] + rng.uniform(0, 10), z_arch + 20)
    svc = Cone(svc_top, (svc_top[0] + rng.uniform(0, 5), svc_top[1] + rng.uniform(0, 8), z_h + 0.3 * ext[2]),
               r_svc, r_svc)
    bcv_r = rng.uniform(5, 7)
    bcv = [Cone((rng.uniform(35, 50), asc_top[1] - rng.uniform(5, 15), z_arch + rng.uniform(30, 45)), svc_top,
                bcv_r, bcv_r),
           Cone((svc_top[0] - rng.uniform(5, 12), svc_top[1], top + 10), svc_top, r_svc * 0.8, r_svc)]
    r_pt = rng.uniform(11, 14)
    outflow = (x_h - rng.uniform(0, 10), y_h - 0.55 * ext[1], z_h + 0.5 * ext[2])
    fork = (asc_top[0] + r_asc + rng.uniform(6, 12), asc_top[1] + rng.uniform(10, 20), z_car - rng.uniform(0, 10))
    behind = (asc_top[0], y_car - tr_r - r_pa - 2, fork[2] - 5)
    pulmonary = [Cone(outflow, fork, r_pt, r_pt), Cone(fork, hila[LEFT], r_pa, r_pa * 0.8),
                 Cone(fork, behind, r_pa, r_pa), Cone(behind, hila[RIGHT], r_pa, r_pa * 0.8)]
    left_atrium = (x_h - rng.uniform(10, 20), y_h + 0.6 * ext[1], z_h + 0.25 * ext[2])
    veins = [Cone(_f(np.asarray(hila[side]) + (0.0, 8.0, dz)), left_atrium, r, r)
             for side in (RIGHT, LEFT)
             for dz, r in ((rng.uniform(5, 15), rng.uniform(5, 7)), (-rng.uniform(15, 25), rng.uniform(5, 7)))]
    r_ivc = rng.uniform(10, 13)
    ivc_low = (-rng.uniform(15, 25), float(spine.y(-20)) - semi_vb[1] - rng.uniform(12, 22), -20.0)
    ivc = Cone(ivc_low, (ivc_low[0] + rng.uniform(0, 8), ivc_low[1] - rng.uniform(0, 10), z_h - 0.3 * ext[2]),
               r_ivc, r_ivc)
    plan.veins_in = [Tube(v, wall * 0.6) for v in [ivc, svc] + bcv + veins]
    plan.arteries = [Tube(v, wall) for v in aorta + branches + pulmonary]

    # oesophagus: down the front of the spine, then through the hiatus forwards and left to the stomach
    z_hiatus = float(plan.diaphragm.height(oes_dx, vb_front)) - 10
    plan.oesophagus = [Column(spine, oes_dx, -(semi_vb[1] + oes[1] + 1), oes, (z_hiatus, top + 20))]
    plan.oesophagus_gas = ([Column(spine, oes_dx, -(semi_vb[1] + oes[1] + 1), (rng.uniform(2, 4), rng.uniform(1.5, 3)),
                                   (z_hiatus, top + 20))] if rng.random() < 0.4 else [])
    core = MediastinumCore(cage, spine, 0.5 * x_tr, (rng.uniform(8, 14), rng.uniform(22, 32)),
                           (z_h + 0.5 * ext[2], z_arch + h_arch), plan.inset, (-40.0, top + 40))
    plan.mediastinum += [core,
                         heart.grown(sum(plan.heart_layers) + 1.0), trachea.outer(), bronchus_r.outer(),
                         bronchus_l.outer(),
                         plan.oesophagus[0]]
    plan.mediastinum += [_grown(t.outer(), 2.0) for t in plan.veins_in + plan.arteries if t.lumen not in veins]
    plan.hila = hila


def _draw_abdomen(plan: ThoraxPlan, rng) -> None:
    """Liver (right and across the front), stomach with gas in front, spleen (left, behind)."""
    cage, dome_l = plan.cage, plan.diaphragm.domes[1]
    normal = _unit((1.0, rng.uniform(0.3, 0.7)))
    plan.liver_cut = (float(normal[0]), float(normal[1]),
                      cage.semi_x * rng.uniform(0.0, 0.3) + normal[1] * cage.centre_y)
    plan.stomach = Ellipsoid((cage.semi_x * rng.uniform(0.4, 0.55), cage.centre_y + rng.uniform(-15, 10),
                              dome_l[2] - rng.uniform(25, 45)),
                             (rng.uniform(35, 50), rng.uniform(30, 45), rng.uniform(35, 55)))
    lo, hi = plan.stomach.bounds()
    level = lo[1] + (hi[1] - lo[1]) * rng.uniform(0.2, 0.5)
    plan.stomach_gas = float(level) if rng.random() < 0.85 else None
    plan.spleen = Ellipsoid((cage.semi_x * rng.uniform(0.58, 0.72),
                             cage.centre_y + cage.semi_back * rng.uniform(0.1, 0.4), dome_l[2] - rng.uniform(15, 30)),
                            (rng.uniform(18, 26), rng.uniform(40, 55), rng.uniform(35, 50)))
    joint = plan.oesophagus[0]
    y_j = float(plan.spine.y(joint.z_range[0])) + joint.dy
    cardia = (plan.stomach.centre[0] - 0.5 * plan.stomach.radii[0],
              plan.stomach.centre[1] + 0.3 * plan.stomach.radii[1],
              plan.stomach.centre[2] + 0.4 * plan.stomach.radii[2])
    plan.oesophagus.append(Capsule((joint.dx, y_j, joint.z_range[0] + 5), cardia, joint.semi[1]))


def _draw_shoulders(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
    """Sternum, clavicles, scapulae and, when in the field, the arms (with their humeri)."""
    cage, body = plan.cage, plan.body
    arms_in = rng.random() < a.arms_in_p
    z_manubrium = plan.z_apex - rng.uniform(25, 45)
    dome_l = plan.diaphragm.domes[1][2]
    manubrium_w = rng.uniform(22, 28)
    sternum = Sternum(cage, (dome_l - rng.uniform(0, 30), z_manubrium), (rng.uniform(12, 17), manubrium_w),
                      rng.uniform(5, 7), rng.uniform(0, 3))
    plan.bones.append(sternum)
    y_sternum = float(sternum._y(z_manubrium))
    raise_ = 0.0 if arms_in else rng.uniform(20, 35)
    for side in (RIGHT, LEFT):
        medial = (side * (manubrium_w + rng.uniform(2, 6)), y_sternum - rng.uniform(4, 10),
                  z_manubrium + rng.uniform(-5, 5))
        lateral = (side * (body.semi_x - rng.uniform(15, 30)), cage.centre_y + rng.uniform(10, 30),
                   z_manubrium + rng.uniform(15, 30) + raise_)
        mid = (0.5 * (medial[0] + lateral[0]), min(medial[1], lateral[1]) - rng.uniform(5, 12),
               0.5 * (medial[2] + lateral[2]))
        r = rng.uniform(5.5, 7.5)
        plan.bones += [Capsule(medial, mid, r), Capsule(mid, lateral, r)]
        # fat pads in the muscle: above the clavicle, and in the armpit between the chest wall and the arm
        plan.fat_pads += [
            Ellipsoid((side * rng.uniform(45, 75), cage.centre_y + rng.uniform(-10, 15),
                       z_manubrium + rng.uniform(15, 35)),
                      (rng.uniform(15, 28), rng.uniform(15, 28), rng.uniform(25, 40))),
            Ellipsoid((side * (cage.semi_x * float(cage.scale(z_manubrium)) + rng.uniform(15, 30)),
                       cage.centre_y + rng.uniform(-10, 20), z_manubrium - rng.uniform(10, 40) + raise_),
                      (rng.uniform(15, 30), rng.uniform(25, 40), rng.uniform(35, 60))),
        ]

        psi_m, width = rng.uniform(0.5, 0.65), rng.uniform(0.55, 0.75) + (0.0 if arms_in else 0.15)
        z_sup = plan.z_apex - rng.uniform(0, 15) + raise_ * 0.5
        z_inf = z_sup - rng.uniform(130, 160)
        out = plan.ribs[side].half_radial + rng.uniform(8, 14)
        plate = ScapulaPlate(cage, side, psi_m, width, (z_inf, z_sup), out, rng.uniform(1.5, 2.5))
        glenoid = (side * body.semi_x * rng.uniform(0.78, 0.88), cage.centre_y + rng.uniform(0, 20), z_sup - 10)
        corner = cage.point(side, psi_m + width, z_sup - 15, out)
        border_lo = cage.point(side, psi_m + 0.06, z_inf + 5, out)
        spine_in = cage.point(side, psi_m, z_sup - 20, out + 3)
        plan.bones += [plate, Capsule(glenoid, (border_lo[0], border_lo[1], z_inf + 5), rng.uniform(3.5, 5)),
                       Capsule((corner[0], corner[1], z_sup - 15), glenoid, rng.uniform(5, 7)),
                       Ellipsoid(glenoid, (6.0, 13.0, 17.0)),
                       Capsule((spine_in[0], spine_in[1], z_sup - 20), (lateral[0], lateral[1] + 8, lateral[2]),
                               rng.uniform(3, 4.5))]
        if arms_in:
            plan.arms.append(_draw_arm(plan, rng, a, side, glenoid))


def _draw_arm(plan: ThoraxPlan, rng, a: ThoraxAnatomy, side: int, glenoid) -> tuple[list, list]:
    """An arm hanging at the side: its outline (the shoulder round the humeral head, joined to the trunk, the
    upper arm clear of the chest wall below the armpit) and its humerus (head against the glenoid, shaft down the
    arm's middle)."""
    outline = plan.outline
    radius = rng.uniform(*a.arm_r) + 0.5 * plan.extra
    gap = rng.uniform(*a.arm_gap)
    ext_x, _ = outline.extent()
    x_low = ext_x + gap + 0.9 * radius
    tilt = rng.uniform(0, 20)
    head_r = rng.uniform(21, 25)
    head = (glenoid[0] + side * (head_r + 3), glenoid[1] - rng.uniform(0, 8), glenoid[2])
    y_arm = min(head[1] + rng.uniform(0, 20), outline.back_y - radius)
    armpit = head[2] - rng.uniform(110, 150)
    shoulder = (head[0] + side * 0.25 * radius, head[1], head[2] + 0.6 * radius)
    elbow = (side * (x_low + tilt), y_arm, -80.0)
    outline_solids = [Cone(shoulder, (side * x_low, y_arm, armpit), radius, 0.9 * radius),
                      Cone((side * x_low, y_arm, armpit), elbow, 0.9 * radius, 0.8 * radius),
                      Ellipsoid((head[0] + side * 0.3 * radius, head[1], head[2]),
                                (0.9 * radius, 0.9 * radius, 1.2 * radius))]
    shaft_r = rng.uniform(10, 13)
    bend = (side * (x_low - 3), y_arm - 3, armpit)
    humerus = [Ellipsoid(head, (head_r,) * 3), Capsule(head, bend, shaft_r * 1.2),
               Capsule(bend, (elbow[0] - side * 3, y_arm - 3, -80.0), shaft_r)]
    plan.arm_cortex = rng.uniform(2.5, 4)
    plan.arm_fat = plan.fat * rng.uniform(0.3, 0.6) + 0.4 * plan.extra + plan.skin
    return outline_solids, humerus


def _draw_breasts(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
    """In some cases two fat mounds on the front of the chest, with fibroglandular tissue (a core and streaks)."""
    if rng.random() >= a.breast_p:
        return
    size = draw(rng, a.breast_mm)
    outline = plan.outline
    z = plan.z_apex - (plan.z_apex - plan.z_dome) * rng.uniform(0.45, 0.65)
    radii = (rng.uniform(55, 75), size + 10, rng.uniform(45, 65))
    for side in (RIGHT, LEFT):
        x = side * (outline.semi_x * rng.uniform(0.4, 0.55) + rng.uniform(10, 20))
        centre = (x, outline.front_y(x) + 10, z + rng.uniform(-5, 5))
        mound = Ellipsoid(centre, radii)
        nipple = (centre[0], centre[1] - 0.8 * radii[1], centre[2])
        glands = [Ellipsoid((centre[0], centre[1] - 0.3 * radii[1], centre[2]),
                            tuple(r * rng.uniform(0.2, 0.5) for r in radii))]
        for _ in range(int(rng.integers(3, 8))):
            end = (centre[0] + rng.uniform(-0.6, 0.6) * radii[0], centre[1] + 10,
                   centre[2] + rng.uniform(-0.6, 0.6) * radii[2])
            glands.append(Capsule(nipple, end, rng.uniform(1.5, 4)))
        plan.breasts.append((mound, glands))


def _tree(rng, root, direction, length, radius, generations) -> list:
    """Capsules of a vessel tree from ``root``: each branch forks in two, thinner and shorter, bending a little."""
    end = _f(np.asarray(root) + np.asarray(direction) * length)
    branches = [Capsule(_f(root), end, radius)]
    if generations > 0 and radius > 1.3:
        for _ in range(2):
            child = _unit(np.asarray(direction) + rng.normal(0.0, 0.5, 3))
            branches += _tree(rng, end, child, length * rng.uniform(0.65, 0.85), radius * rng.uniform(0.6, 0.75),
                              generations - 1)
    return branches


def _draw_lung_trees(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
    """Vessel trees from each hilum and, sometimes, a few small airways."""
    for side in (RIGHT, LEFT):
        vessels = []
        for _ in range(int(rng.integers(*a.vessel_branches))):
            direction = _unit((side * rng.uniform(0.3, 1.0), rng.uniform(-0.7, 0.7), rng.uniform(-1.0, 1.0)))
            vessels += _tree(rng, plan.hila[side], direction, rng.uniform(30, 50), rng.uniform(3.5, 5.5), 4)
        plan.lung_vessels[side] = vessels
    for side in (RIGHT, LEFT):
        plan.lung_airways[side] = []
        if rng.random() < a.airway_p:
            for _ in range(int(rng.integers(2, 5))):
                direction = _unit((side * rng.uniform(0.4, 1.0), rng.uniform(-0.6, 0.6), rng.uniform(-1.0, 1.0)))
                root = np.asarray(plan.hila[side]) + direction * 8
                lumen = Capsule(_f(root), _f(root + direction * rng.uniform(20, 35)), rng.uniform(1.5, 2.5))
                plan.lung_airways[side].append(Tube(lumen, 1.0, Tissue.GAS))


def _lung_depth(plan: ThoraxPlan, side: int, x, y, z, mediastinum):
    """Approximate depth (mm) inside one lung: in the cage, under its apex, above the diaphragm, outside the
    mediastinum (``mediastinum``: the envelope's depth at the points) and on its own side."""
    cavity = plan.cage.offset(x, y, z) - plan.inset
    under_apex = (plan.apices[side].top(x, y) - z) * 0.8
    above = (z - plan.diaphragm.height(x, y)) * 0.8
    return np.minimum(np.minimum(np.minimum(cavity, under_apex), np.minimum(above, -mediastinum)), side * x)


def _envelope_at(plan: ThoraxPlan, point) -> float:
    """The mediastinal envelope's depth at one point."""
    return max(float(s.depth(*point)) for s in plan.mediastinum)


def _draw_tumour(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
    """A lobulated tumour in one lung: its centre drawn until at least 0.6 radius inside that lung."""
    side = LEFT if rng.random() < 0.5 else RIGHT
    radius = draw(rng, a.tumour_r)
    cage = plan.cage
    best, best_depth = None, -np.inf
    for _ in range(200):
        p = (side * rng.uniform(15, cage.semi_x),
             rng.uniform(cage.centre_y - cage.semi_front, cage.centre_y + cage.semi_back),
             rng.uniform(plan.z_dome - 30, plan.z_apex))
        d = float(_lung_depth(plan, side, *(np.float32(c) for c in p), _envelope_at(plan, p)))
        if d > best_depth:
            best, best_depth = p, d
        if d > 0.6 * radius:
            break
    plan.tumour_side = side
    plan.tumour = [Ellipsoid(best, tuple(radius * rng.uniform(0.85, 1.15, 3)))]
    for _ in range(int(rng.integers(0, 4))):
        lobe = np.asarray(best) + 0.7 * radius * _unit(rng.normal(size=3))
        plan.tumour.append(Ellipsoid(_f(lobe), (radius * rng.uniform(0.35, 0.6),) * 3))


def _draw_field_of_view(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
    """In-plane size (the arms and the body may be cut at the edges) and the shift of the grid."""
    ext_x, ext_y = plan.outline.extent()
    for outline, _ in plan.arms:
        lo, hi = outline[0].bounds()
        ext_x = max(ext_x, float(-lo[0]), float(hi[0]))
    for mound, _ in plan.breasts:
        ext_y = max(ext_y, -float(mound.bounds()[0][1]))
    back = plan.outline.back_y
    plan.nx = int(np.clip(round(2 * ext_x + rng.uniform(10, 40)), *a.fov_x))
    plan.ny = int(np.clip(round(ext_y + back + rng.uniform(16, 40)), *a.fov_y))
    plan.shift = (rng.uniform(-5, 5), (back - ext_y) / 2 + rng.uniform(-5, 5), 0.0)


# --------------------------------------------------------------------------- #
# painting
# --------------------------------------------------------------------------- #
def _paint(labels, grid: Grid, solid, tissue, margin=0.0, where=None) -> None:
    """``shapes.paint`` with ``where`` either a full-grid mask or a function (x, y, z, crop slices) -> mask."""
    sl, x, y, z = grid.crop(*solid.bounds())
    view = labels[sl]
    if view.size == 0:
        return
    inside = np.broadcast_to(solid.depth(x, y, z) > margin, view.shape)
    if callable(where):
        inside = inside & where(x, y, z, sl)
    elif where is not None:
        inside = inside & where[sl]
    view[inside] = tissue


def _mask(grid: Grid, solids) -> np.ndarray:
    """Union of solids as a full-grid mask."""
    field_ = np.full(grid.shape, -1.0, np.float32)
    for solid in solids:
        accumulate_union(field_, grid, solid)
    return field_ > 0


def _paint_thorax(plan: ThoraxPlan, grid: Grid) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The label map and the planning structures of ``plan`` on ``grid``."""
    x, y, z = grid.full()
    depth = plan.outline.depth(x, y, z).astype(np.float32)
    for mound, _ in plan.breasts:
        accumulate_union(depth, grid, mound)
    for outline, _ in plan.arms:
        for solid in outline:
            accumulate_union(depth, grid, solid)
    body = depth > 0
    labels = np.where(body, np.uint8(Tissue.SOFT), np.uint8(Tissue.AIR))
    labels[(depth > plan.skin) & (depth <= plan.fat_thickness(x, y))] = Tissue.FAT
    _paint_breasts(labels, grid, plan, depth)

    def fat(x_, y_, z_, sl):
        return labels[sl] == Tissue.FAT

    for outline, _ in plan.arms:  # the arms' fat is thinner than the trunk's
        for solid in outline:
            _paint(labels, grid, _grown(solid, -plan.arm_fat), Tissue.SOFT, where=fat)

    def muscle(x_, y_, z_, sl):
        return labels[sl] == Tissue.SOFT

    for pad in plan.fat_pads:
        _paint(labels, grid, pad, Tissue.FAT, where=muscle)

    mediastinum = np.full(grid.shape, -1e3, np.float32)
    for solid in plan.mediastinum:
        accumulate_union(mediastinum, grid, solid)
    bone = np.full(grid.shape, -1e3, np.float32)
    lungs, cavity, abdomen = _paint_cavity(labels, grid, plan, body, mediastinum, bone)
    _paint_abdomen(labels, grid, plan, abdomen)
    _paint_mediastinum(labels, grid, plan, cavity)
    for side in (RIGHT, LEFT):
        for vessel in plan.lung_vessels[side]:
            _paint(labels, grid, vessel, Tissue.BLOOD, where=lungs[side])
        for airway in plan.lung_airways[side]:
            _paint(labels, grid, airway.outer(), Tissue.SOFT, where=lungs[side])
            _paint(labels, grid, airway.lumen, airway.tissue, where=lungs[side])
    for lobe in plan.tumour:
        _paint(labels, grid, lobe, Tissue.SOFT, where=cavity)
    _paint_skeleton(labels, grid, plan, body, bone)

    target = _mask(grid, plan.tumour) & (labels == Tissue.SOFT)  # not the ribs it may touch
    heart = _mask(grid, [plan.heart]) & np.isin(labels, (Tissue.SOFT, Tissue.BLOOD))
    cord = _mask(grid, [plan.cord]) & body
    aerated = np.isin(labels, (Tissue.LUNG, Tissue.BLOOD))
    structures = {"target": target, "lung_left": lungs[LEFT] & aerated & ~target,
                  "lung_right": lungs[RIGHT] & aerated & ~target, "heart": heart, "spinal_cord": cord}
    return labels, structures


def _paint_breasts(labels, grid: Grid, plan: ThoraxPlan, depth) -> None:
    """Breast fat outside the lean body's muscle, fibroglandular tissue in it, under the skin."""
    for mound, glands in plan.breasts:
        def outside_muscle(x, y, z, sl):
            lean = plan.body.depth(x, y, z)
            return (lean <= plan.fat_thickness(x, y) - plan.extra) & (depth[sl] > plan.skin)

        _paint(labels, grid, mound, Tissue.FAT, where=outside_muscle)
        for gland in glands:
            _paint(labels, grid, Both(gland, mound), Tissue.GLAND, where=outside_muscle)


def _paint_cavity(labels, grid: Grid, plan: ThoraxPlan, body, mediastinum, bone):
    """Inside the rib cage: lungs, mediastinal fat, diaphragm, abdominal fat; the fat plane on the ribs; the ribs
    into ``bone``. Returns the lungs' masks (by side), the cavity's and the abdomen's."""
    cage = plan.cage
    reach = plan.ribs[LEFT].half_radial + plan.fat_plane + 3
    lo = (-cage.semi_x - reach, cage.centre_y - cage.semi_front - reach, -np.inf)
    hi = (cage.semi_x + reach, cage.centre_y + cage.semi_back + reach, np.inf)
    sl, X, Y, Z = grid.crop(lo, hi)
    view, med, inside_body = labels[sl], mediastinum[sl], body[sl]
    offset = cage.offset(X, Y, Z).astype(np.float32)
    psi = cage.angle(X, Y).astype(np.float32)
    half_r = plan.ribs[LEFT].half_radial
    plane_mm = plan.fat_plane * (0.4 + 0.9 * np.sin(3 * psi + plan.fat_plane_phase))
    plane = (offset < -half_r - 1) & (offset > -half_r - 1 - plane_mm) & (psi > 1.0) & inside_body
    view[plane] = Tissue.FAT

    cavity_depth = offset - plan.inset
    inside = (cavity_depth > 0) & inside_body
    height = plan.diaphragm.height(X, Y).astype(np.float32)
    above = inside & (Z > height)
    view[above] = Tissue.SOFT
    view[above & (med > 0)] = Tissue.FAT
    view[inside & (Z <= height)] = Tissue.SOFT
    below = inside & (Z <= height - plan.diaphragm.thickness)
    view[below] = Tissue.FAT
    view[above & (plan.paraspinal.depth(X, Y, Z) > 0)] = Tissue.SOFT

    lungs, cavity, abdomen = {}, np.zeros(grid.shape, bool), np.zeros(grid.shape, bool)
    cavity[sl], abdomen[sl] = inside, below & (med <= 0)
    for side in (RIGHT, LEFT):
        lung = (_lung_depth(plan, side, X, Y, Z, med) > 0) & inside_body
        view[lung] = Tissue.LUNG
        lungs[side] = np.zeros(grid.shape, bool)
        lungs[side][sl] = lung

    band = (np.abs(offset) < half_r + 0.5) & inside_body
    if band.any():
        zb, psib = np.broadcast_to(Z, band.shape)[band], np.broadcast_to(psi, band.shape)[band]
        xb = np.broadcast_to(X, band.shape)[band]
        rib = np.full(zb.shape, -1e3, np.float32)
        for side in (RIGHT, LEFT):
            mine = (side * xb) > 0
            rib[mine] = plan.ribs[side].depth(offset[band][mine], psib[mine], zb[mine])
        view_bone = bone[sl]
        view_bone[band] = np.maximum(view_bone[band], rib)
    return lungs, cavity, abdomen


def _paint_abdomen(labels, grid: Grid, plan: ThoraxPlan, abdomen) -> None:
    """Liver, spleen and stomach under the diaphragm."""
    nx_, ny_, c = plan.liver_cut

    def liver_side(x, y, z, sl):
        return (nx_ * x + ny_ * y < c) & abdomen[sl]

    cage = plan.cage
    below_domes = Box((-cage.semi_x - 10, cage.centre_y - cage.semi_front - 10, -np.inf),
                      (cage.semi_x + 10, cage.centre_y + cage.semi_back + 10, plan.z_dome + 1))
    _paint(labels, grid, below_domes, Tissue.LIVER, where=liver_side)
    _paint(labels, grid, plan.spleen, Tissue.SPLEEN, where=abdomen)
    _paint(labels, grid, plan.stomach, Tissue.SOFT, where=abdomen)
    _paint(labels, grid, plan.stomach, Tissue.BOWEL, margin=3.0, where=abdomen)
    if plan.stomach_gas is not None:
        level = plan.stomach_gas

        def in_front(x, y, z, sl):
            return (y < level) & abdomen[sl]

        _paint(labels, grid, plan.stomach, Tissue.GAS, margin=3.0, where=in_front)


def _paint_mediastinum(labels, grid: Grid, plan: ThoraxPlan, cavity) -> None:
    """Veins into the heart, the heart (pericardial fat, pericardium, epicardial fat, myocardium, chambers,
    septa), arteries, oesophagus and airways."""
    _paint_tubes(labels, grid, plan.veins_in, cavity)
    heart = plan.heart
    outer_fat, pericardium, epicardial = plan.heart_layers
    for grow, tissue in ((outer_fat + pericardium + epicardial, Tissue.FAT), (pericardium + epicardial, Tissue.SOFT),
                         (epicardial, Tissue.FAT)):
        _paint(labels, grid, heart.grown(grow), tissue, where=cavity)
    _paint(labels, grid, heart, Tissue.SOFT, where=cavity)
    _paint(labels, grid, heart, Tissue.BLOOD, margin=plan.heart_wall, where=cavity)
    for septum in plan.septa:
        _paint(labels, grid, septum, Tissue.SOFT, where=cavity)
    _paint_tubes(labels, grid, plan.arteries, cavity)
    for solid in plan.oesophagus:
        _paint(labels, grid, solid, Tissue.SOFT, where=cavity)
    for solid in plan.oesophagus_gas:
        _paint(labels, grid, solid, Tissue.GAS, where=cavity)
    _paint_tubes(labels, grid, plan.airways, cavity)


def _paint_tubes(labels, grid: Grid, tubes, where) -> None:
    """Joined tubes: all the walls, then all the lumens (a wall never cuts a lumen it joins)."""
    for tube in tubes:
        _paint(labels, grid, tube.outer(), Tissue.SOFT, where=where)
    for tube in tubes:
        _paint(labels, grid, tube.lumen, tube.tissue, where=where)


def _paint_skeleton(labels, grid: Grid, plan: ThoraxPlan, body, bone) -> None:
    """Discs, the bones (a soft-tissue rim where they meet lung), the canal with its cord, the humeri."""
    for solid in (plan.discs,):
        _paint(labels, grid, solid, Tissue.SOFT, where=body)
    for solid in plan.bones:
        accumulate_union(bone, grid, solid)
    labels[(bone > -1.5) & (labels == Tissue.LUNG)] = Tissue.SOFT
    paint_bone(labels, bone, plan.cortex, where=body)
    _paint(labels, grid, plan.canal, Tissue.CSF, where=body)
    _paint(labels, grid, plan.cord, Tissue.SOFT, where=body)
    humeri = [solid for _, humerus in plan.arms for solid in humerus]
    if humeri:
        field_ = np.full(grid.shape, -1e3, np.float32)
        for solid in humeri:
            accumulate_union(field_, grid, solid)
        paint_bone(labels, field_, plan.arm_cortex, where=body)
