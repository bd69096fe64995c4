"""The head and neck (SynthRAD2025 Task 1, region "Head and Neck"): its anatomy's ranges, its solids, its label map,
its planning structures and the streaks its dental fillings make on CT.

What is drawn (mm, h = height above the sternal notch, +x = patient's left, +y = posterior; ranges of the default):

* field of view: from 20-50 mm above the hard palate (maxillary sinuses, skull base, sometimes the lower orbits)
  down to 10-35 mm below the sternal notch (clavicles, lung apices), 50-80 slices of 3 mm, 220-260 x 220-250 mm
  in-plane; the shoulders flare beyond it at the bottom and are cut by it.
* outline: the head (egg-shaped, narrower in front), nose and ears, the lofted neck (notch to palate: 135-160 mm;
  lean half-width 50-57 mm) and the shoulders (trapezius rising towards the neck); skin, subcutaneous FAT
  (4-12 mm, half of it on the face), SOFT muscle below, with FAT spaces between the muscles (posterior triangle,
  parapharyngeal, submandibular, buccal, nuchal, thoracic inlet, carotid sheaths).
* skeleton (cortical shell with MARROW inside): cervical and upper thoracic vertebrae (bodies, discs between them,
  arches, pillars, transverse processes with their foramina, spinous processes; atlas ring and dens), mandible
  (U-shaped arch, rami, condyles; it rotates about the condyles when the mouth is open), maxillary alveolar arch
  and hard palate, hyoid, clavicles, manubrium, first and second ribs, scapulae, humeral heads (when the field of
  view reaches them), and at the top the skull base: clivus, occipital condyles, mastoids with air cells, petrous
  ridges, occipital bone (DIPLOE) around the cerebellum (GREY, WHITE, CSF), middle fossae with the temporal lobes,
  zygomas, pterygoid plates, bony orbits with the eyes (VITREOUS) in orbital fat.
* teeth along both arches (ENAMEL crowns, dense CORTICAL roots in the alveolar bone; each present with a drawn
  chance), dental fillings (METAL, 0-3, 1.5-3 mm) in premolars and molars, and ``ct_artefact``: the streaks they
  make on CT (radial bright/dark streaks decaying with distance, dark bands between two fillings) in the slices
  holding metal, inside the body only. MR shows only the signal void of the metal.
* spinal canal (CSF) with the cord (SOFT); airway (GAS): nostrils, nasal cavity with septum and turbinates,
  maxillary (mucosa drawn), sphenoid and ethmoid sinuses, mastoid air cells, ear canals, nasopharynx, oropharynx,
  hypopharynx, larynx (thyroid and cricoid cartilage, sometimes calcified, paraglottic fat, narrow glottis), trachea
  (lumen radius 7-9.5 mm, SOFT wall), oesophagus (sometimes a little gas); oral air above the tongue (0-3 mm, more
  when the mouth is open: 0-4 degrees).
* GLAND: parotids (superficial and deep lobe, behind the rami) and submandibular glands; thyroid (SOFT) around the
  trachea; BLOOD: common and internal carotids, external carotids, internal jugular veins (asymmetric), vertebral
  arteries in their foramina; LUNG apices in the lowest slices.
* the target: a tumour (SOFT, the volume of a sphere of radius 12-20 mm, sometimes with a necrotic CSF-like core)
  at the base of the tongue / oropharynx (narrowing the airway) or a lymph node lateral to one jugular vein.

Structures: "target", "spinal_cord", "parotid_left", "parotid_right", "larynx", "oral_cavity", "mandible".
:data:`ENGINE_HEADNECK` widens the ranges (neck length and width, fat 1.5-25 mm, teeth missing, 0-6 fillings, mouth
open up to 18 degrees, airway and gland sizes, tumour 10-25 mm, the field of view ending above the shoulders);
:data:`UNSEEN_HEADNECK` lies outside it in three ways: very thick fat, many large fillings / metal crowns, a very
large tumour.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from tools.phantom.shapes import (
    Capsule,
    Drawn,
    Ellipsoid,
    Grid,
    HalfSpace,
    Intersection,
    accumulate_union,
    draw,
    ellipsoidal_depth,
    paint,
    paint_bone,
)
from tools.phantom.tissues import Tissue

SPACING = (1.0, 1.0, 3.0)  # SimpleITK (x, y, z) order, mm
SLICES = (50, 80)  # the field of view's slice count is clipped to this
BONE = (Tissue.CORTICAL, Tissue.MARROW, Tissue.DIPLOE, Tissue.ENAMEL, Tissue.METAL)


@dataclass(frozen=True)
class HeadNeckAnatomy:
    """The ranges a head and neck is drawn from (uniformly; integers for counts, [lo, hi)). The data engine trains
    on :data:`ENGINE_HEADNECK`; the unseen-anatomy held-out set (:data:`UNSEEN_HEADNECK`) lies outside it."""

    name: str
    neck_length: tuple[float, float] = (135.0, 160.0)  # sternal notch to hard palate, mm
    neck_semi_x: tuple[float, float] = (50.0, 57.0)  # lean half-width of the mid-neck, mm
    head_scale: tuple[float, float] = (0.96, 1.04)
    shoulder_semi_x: tuple[float, float] = (160.0, 180.0)
    shoulder_top: tuple[float, float] = (40.0, 60.0)  # the trapezius beside the neck, mm above the notch
    fat_mm: tuple[float, float] = (4.0, 12.0)  # subcutaneous fat of the neck (half of it on the face)
    deep_fat: tuple[float, float] = (0.8, 1.2)  # size factor of the fat spaces between the muscles
    tooth_p: tuple[float, float] = (0.85, 1.0)  # each tooth's chance of being there (drawn per case)
    fillings: tuple[int, int] = (0, 4)  # count, [lo, hi)
    filling_r: tuple[float, float] = (1.5, 3.0)  # radius, mm
    mouth_open_deg: tuple[float, float] = (0.0, 4.0)
    oral_air_mm: tuple[float, float] = (0.0, 3.0)  # air between tongue and palate
    airway_r: tuple[float, float] = (7.0, 9.5)  # tracheal lumen radius, mm
    pharynx_scale: tuple[float, float] = (0.8, 1.2)
    gland_scale: tuple[float, float] = (0.9, 1.1)
    tumour_r: tuple[float, float] = (12.0, 20.0)
    node_p: float = 0.5  # chance that the target is a neck node rather than an oropharyngeal primary
    fov_top: tuple[float, float] = (20.0, 50.0)  # mm above the hard palate
    fov_bottom: tuple[float, float] = (10.0, 35.0)  # mm below the sternal notch (negative: above it)
    fov_x: tuple[int, int] = (220, 260)  # voxels (1 mm); the shoulders are cut
    fov_y: tuple[int, int] = (220, 250)


DEFAULT_HEADNECK = HeadNeckAnatomy("default")
ENGINE_HEADNECK = HeadNeckAnatomy(
    "engine", neck_length=(115.0, 180.0), neck_semi_x=(44.0, 66.0), head_scale=(0.9, 1.1),
    shoulder_semi_x=(145.0, 195.0), shoulder_top=(25.0, 75.0), fat_mm=(1.5, 25.0), deep_fat=(0.5, 1.6),
    tooth_p=(0.2, 1.0), fillings=(0, 7), filling_r=(1.2, 4.0), mouth_open_deg=(0.0, 18.0), oral_air_mm=(0.0, 10.0),
    airway_r=(5.0, 12.0), pharynx_scale=(0.4, 1.6), gland_scale=(0.7, 1.35), tumour_r=(10.0, 25.0),
    fov_top=(5.0, 65.0), fov_bottom=(-50.0, 45.0), fov_x=(200, 300), fov_y=(200, 290),
)
#: Outside the engine's ranges: very thick fat (30-38 mm), many large fillings and metal crowns (8-12 of 4.5-5.5 mm
#: radius), a very large tumour (radius 28-33 mm). The field of view grows with the fat.
UNSEEN_HEADNECK = HeadNeckAnatomy(
    "unseen", fat_mm=(30.0, 38.0), fillings=(8, 13), filling_r=(4.5, 5.5), tumour_r=(28.0, 33.0),
    fov_x=(260, 330), fov_y=(260, 330),
)
ANATOMIES = {a.name: a for a in (DEFAULT_HEADNECK, ENGINE_HEADNECK, UNSEEN_HEADNECK)}


# --------------------------------------------------------------------------- #
# solids
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Tube:
    """A vertical-ish tube: its axial cross-sections are ellipses whose centre and semi-axes are interpolated
    between control heights ``h`` (increasing); flat ends at the first and last height."""

    h: tuple
    x: tuple
    y: tuple
    semi_x: tuple
    semi_y: tuple

    def bounds(self):
        rx, ry = max(self.semi_x), max(self.semi_y)
        return (np.array([min(self.x) - rx, min(self.y) - ry, self.h[0]]),
                np.array([max(self.x) + rx, max(self.y) + ry, self.h[-1]]))

    def depth(self, x, y, z):
        def at(values):
            return np.interp(z, self.h, values).astype(np.float32)

        inplane = ellipsoidal_depth((x - at(self.x), y - at(self.y)), (at(self.semi_x), at(self.semi_y)))
        return np.minimum(inplane, np.minimum(z - self.h[0], self.h[-1] - z))


@dataclass(frozen=True)
class Exclude:
    """``shape`` without ``minus``."""

    shape: object
    minus: object

    def bounds(self):
        return self.shape.bounds()

    def depth(self, x, y, z):
        return np.minimum(self.shape.depth(x, y, z), -self.minus.depth(x, y, z))


@dataclass(frozen=True)
class Rotated:
    """``shape`` rotated by ``angle`` (rad) about the x-parallel axis through (y, z) = ``centre``; a positive angle
    moves what lies in front of the axis (smaller y) down: the mandible opening about its condyles."""

    shape: object
    centre: tuple[float, float]
    angle: float

    def bounds(self):
        lo, hi = self.shape.bounds()
        cy, cz = self.centre
        c, s = np.cos(self.angle), np.sin(self.angle)
        ys, zs = np.meshgrid([lo[1], hi[1]], [lo[2], hi[2]])
        ny = cy + (ys - cy) * c - (zs - cz) * s
        nz = cz + (ys - cy) * s + (zs - cz) * c
        return np.array([lo[0], ny.min(), nz.min()]), np.array([hi[0], ny.max(), nz.max()])

    def depth(self, x, y, z):
        cy, cz = self.centre
        c, s = np.float32(np.cos(self.angle)), np.float32(np.sin(self.angle))
        dy, dz = y - cy, z - cz
        return self.shape.depth(x, cy + dy * c + dz * s, cz - dy * s + dz * c)


def _rotated(shape, jaw_axis, angle):
    """``shape`` opened with the mandible (no wrapper when the mouth is closed)."""
    return shape if angle == 0.0 else Rotated(shape, jaw_axis, angle)


@dataclass(frozen=True)
class TiltedEllipsoid:
    """Ellipsoid rotated by ``pitch`` about x (its +z axis leaning towards +y) and then by ``yaw`` about z."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    pitch: float = 0.0
    yaw: float = 0.0

    def _matrix(self):
        cp, sp, cw, sw = np.cos(self.pitch), np.sin(self.pitch), np.cos(self.yaw), np.sin(self.yaw)
        rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
        rz = np.array([[cw, -sw, 0], [sw, cw, 0], [0, 0, 1]])
        return rz @ rx  # columns: the ellipsoid's axes in world coordinates

    def bounds(self):
        half = np.sqrt(((self._matrix() * np.asarray(self.radii)) ** 2).sum(axis=1))
        return np.asarray(self.centre) - half, np.asarray(self.centre) + half

    def depth(self, x, y, z):
        m = self._matrix().astype(np.float32)
        d = (x - self.centre[0], y - self.centre[1], z - self.centre[2])
        local = tuple(d[0] * m[0, i] + d[1] * m[1, i] + d[2] * m[2, i] for i in range(3))
        return ellipsoidal_depth(local, self.radii)


@dataclass(frozen=True)
class Arch:
    """A U-shaped curve (dental arches, mandible, hyoid): the front half of an ellipse (half-width ``width``,
    depth ``length``, front at y0) continued backwards by straight parallel lines at |x| = width."""

    y0: float
    width: float
    length: float

    def y(self, x):
        """y of the curve's front half at |x| <= width."""
        u = np.clip(np.abs(x) / self.width, 0, 1)
        return self.y0 + self.length * (1 - np.sqrt(1 - u * u))

    def offset(self, x, y):
        """Approximate signed distance (mm) from the curve, positive inside the U."""
        behind = y > self.y0 + self.length
        ellipse = ellipsoidal_depth((x, np.where(behind, 0, y - self.y0 - self.length)), (self.width, self.length))
        return np.where(behind, self.width - np.abs(x), ellipse)

    def at_length(self, s: float) -> tuple[float, float]:
        """(x >= 0, y) at arc length ``s`` from the midline."""
        t = np.linspace(0.0, np.pi / 2, 400)
        xs = np.concatenate([self.width * np.sin(t), np.full(100, self.width)])
        behind = self.y0 + self.length + np.linspace(0, 60, 101)[1:]
        ys = np.concatenate([self.y0 + self.length * (1 - np.cos(t)), behind])
        length = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))])
        return float(np.interp(s, length, xs)), float(np.interp(s, length, ys))


@dataclass(frozen=True)
class ArchPlate:
    """A vertical plate of half-thickness ``half`` along an :class:`Arch`, up to y_end, z_lo..z_hi."""

    arch: Arch
    y_end: float
    half: float
    z_lo: float
    z_hi: float

    def bounds(self):
        w = self.arch.width + self.half
        return (np.array([-w, self.arch.y0 - self.half, self.z_lo]), np.array([w, self.y_end, self.z_hi]))

    def depth(self, x, y, z):
        across = self.half - np.abs(self.arch.offset(x, y))
        return np.minimum(np.minimum(across, self.y_end - y), np.minimum(z - self.z_lo, self.z_hi - z))


@dataclass(frozen=True)
class Bar:
    """A vertical plate of half-thickness ``half`` along the segment a-b (x, y), z_lo..z_hi, rounded ends."""

    a: tuple[float, float]
    b: tuple[float, float]
    half: float
    z_lo: float
    z_hi: float

    def bounds(self):
        (ax, ay), (bx, by) = self.a, self.b
        return (np.array([min(ax, bx) - self.half, min(ay, by) - self.half, self.z_lo]),
                np.array([max(ax, bx) + self.half, max(ay, by) + self.half, self.z_hi]))

    def depth(self, x, y, z):
        (ax, ay), (bx, by) = self.a, self.b
        ux, uy = bx - ax, by - ay
        t = np.clip(((x - ax) * ux + (y - ay) * uy) / (ux * ux + uy * uy), 0, 1)
        across = self.half - np.hypot(x - ax - t * ux, y - ay - t * uy)
        return np.minimum(across, np.minimum(z - self.z_lo, self.z_hi - z))


@dataclass(frozen=True)
class Palate:
    """The region inside an :class:`Arch` (inside the U, ``inset`` mm from it) up to ``y_back``, z_lo..z_hi."""

    arch: Arch
    y_back: float
    z_lo: float
    z_hi: float
    inset: float = 0.0

    def bounds(self):
        w = self.arch.width
        return (np.array([-w, self.arch.y0, self.z_lo]), np.array([w, self.y_back, self.z_hi]))

    def depth(self, x, y, z):
        inside = self.arch.offset(x, y) - self.inset
        return np.minimum(np.minimum(inside, self.y_back - y), np.minimum(z - self.z_lo, self.z_hi - z))


@dataclass(frozen=True)
class Vertebra:
    """A vertebra between z_lo and z_hi: body, the arch around the canal, articular pillars, transverse processes
    (with the vertebral artery's foramina) and spinous process."""

    y: float  # body centre
    z_lo: float
    z_hi: float
    body: tuple[float, float]  # semi-axes
    canal: tuple[float, float]
    arch: float  # lamina thickness
    spinous: float  # length
    transverse: float  # lateral end, |x|
    foramen: float  # radius of the transverse foramina (0: none)
    pillar: tuple[float, float] = (5.5, 7.0)

    @property
    def canal_y(self) -> float:
        return self.y + self.body[1] + self.canal[1]

    def bounds(self):
        half_x = max(self.transverse, self.canal[0] + self.arch + 3 + self.pillar[0])
        y_hi = self.canal_y + self.canal[1] + self.arch + self.spinous + 1
        z_lo = self.z_lo - 0.35 * (self.z_hi - self.z_lo)
        return (np.array([-half_x, self.y - self.body[1] - 1, z_lo]), np.array([half_x, y_hi, self.z_hi]))

    def foramen_x(self) -> float:
        return max(self.body[0] - 2, self.canal[0]) + 0.4 * (self.transverse - max(self.body[0] - 2, self.canal[0]))

    def depth(self, x, y, z):
        (bx, by), (cx, cy), t = self.body, self.canal, self.arch
        ax, yb, yc = np.abs(x), y - self.y, y - self.canal_y
        height = self.z_hi - self.z_lo
        # the spinous process slopes down: it spans the lower half of the level and reaches below it
        spinous = np.minimum(ellipsoidal_depth((x, yc - (cy + t + self.spinous / 2)), (2.5, self.spinous / 2 + 1)),
                             2 * np.minimum(z - self.z_lo + 0.35 * height, self.z_lo + 0.55 * height - z))
        shapes = [
            ellipsoidal_depth((x, yb), (bx, by)),
            np.minimum(ellipsoidal_depth((x, yc), (cx + t, cy + t)), -ellipsoidal_depth((x, yc), (cx, cy))),
            ellipsoidal_depth((ax - (cx + t + 3), yc), self.pillar),
            spinous,
        ]
        x0 = max(bx - 2, cx)
        shapes.append(ellipsoidal_depth((ax - (x0 + self.transverse) / 2, yb - 1), ((self.transverse - x0) / 2, 4.5)))
        bone = np.maximum.reduce(np.broadcast_arrays(*shapes))
        if self.foramen:
            bone = np.minimum(bone, np.hypot(ax - self.foramen_x(), yb - 1) - self.foramen)
        # thin endplates: the distance to the level's ends counts double
        ends = 2 * np.minimum(z - self.z_lo + 0.35 * height * (yc > cy), self.z_hi - z)
        return np.minimum(bone, ends)


# --------------------------------------------------------------------------- #
# the frame: landmarks, outline, field of view
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Frame:
    """Landmark heights (h, mm above the sternal notch) and the spine's curve that everything is placed by."""

    palate: float
    head: float  # size factor of head and face
    lordosis: float  # mm the mid-neck spine lies anterior to its ends
    c2_bottom: float
    pitch: float  # cervical level height (body + disc), C3..C7
    hyoid: float
    top: float  # first and last slice's h
    bottom: float

    def spine_y(self, h):
        """y of the vertebral bodies' centres at height h (cervical lordosis)."""
        lo, hi = self.c2_bottom - 5 * self.pitch, self.palate
        t = (np.clip(h, lo - 40, hi + 10) - (lo + hi) / 2) / ((hi - lo) / 2)
        return self.lordosis * (t * t - 1)


def _draw_frame(rng, a: HeadNeckAnatomy) -> Frame:
    """Palate height, head size, lordosis, cervical levels, hyoid, and the field of view's extent."""
    palate = draw(rng, a.neck_length)
    head = draw(rng, a.head_scale)
    lordosis = rng.uniform(2, 9)
    c2_bottom = palate - rng.uniform(36, 44)
    pitch = float(np.clip((c2_bottom - 5 - rng.uniform(4, 14)) / 5, 14.5, 24.0))
    hyoid = palate - rng.uniform(62, 74)
    top = palate + draw(rng, a.fov_top)
    bottom = -draw(rng, a.fov_bottom)
    slices = int(np.clip(round((top - bottom) / SPACING[2]) + 1, *SLICES))
    top = bottom + (slices - 1) * SPACING[2]
    return Frame(palate, head, lordosis, c2_bottom, pitch, hyoid, top, bottom)


@dataclass(frozen=True)
class Outline:
    """The lean body: a loft of egg-shaped axial ellipses (front, back, half-width interpolated between control
    heights) unioned with the shoulders (an elliptic cylinder under a top that rises towards the neck and falls
    towards the front and the acromia); the subcutaneous fat is added outside it."""

    h: tuple
    front: tuple
    back: tuple
    half_width: tuple
    egg: tuple
    shoulders: tuple[float, float, float, float]  # semi_x, semi_y, centre y, top (h beside the neck)
    fat: float
    face: float  # h above which the fat thins to half

    def _at(self, z, values):
        return np.interp(z, self.h, values).astype(np.float32)

    def lean_depth(self, x, y, z):
        front, back = self._at(z, self.front), self._at(z, self.back)
        cy, sy = (front + back) / 2, (back - front) / 2
        sx = self._at(z, self.half_width) * (1 + self._at(z, self.egg) * np.clip((y - cy) / sy, -1, 1))
        neck = ellipsoidal_depth((x, y - cy), (sx, sy))
        w, b, tcy, top = self.shoulders
        front_drop = 55.0 * np.clip((tcy - y) / b, 0, 1) ** 2
        back_drop = 45.0 * np.clip((y - tcy - 0.25 * b) / (0.75 * b), 0, 1) ** 2  # the trapezius' ridge
        roof = top - (top - 15.0) * (np.abs(x) / w) ** 2 - front_drop - back_drop - z
        trunk = np.minimum(ellipsoidal_depth((x, y - tcy), (np.float32(w), np.float32(b))), roof)
        return np.maximum(neck, trunk)

    def fat_depth(self, y, z):
        """Subcutaneous fat thickness: thicker at the back of the neck, half on the face."""
        front, back = self._at(z, self.front), self._at(z, self.back)
        rel = np.clip((2 * y - front - back) / (back - front), -1, 1)
        face = 1 - 0.5 * np.clip((z - self.face) / 25.0, 0, 1)
        return (self.fat * (1 + 0.25 * rel) * face).astype(np.float32)

    def front_y(self, h: float) -> float:
        return float(np.interp(h, self.h, self.front))

    def half_width_at(self, h: float) -> float:
        return float(np.interp(h, self.h, self.half_width))


def _draw_outline(rng, f: Frame, a: HeadNeckAnatomy) -> Outline:
    """Control levels of the loft (relative to the spine) and the shoulders."""
    p, s = f.palate, f.head
    nsx = draw(rng, a.neck_semi_x)
    neck_front, neck_back = rng.uniform(56, 64), rng.uniform(58, 68)
    face_front, face_back = rng.uniform(104, 114) * s, rng.uniform(84, 94) * s
    head_hw = rng.uniform(68, 74) * s
    #            h         front              back            half-width               egg
    rows = [(-200.0, neck_front + 10, neck_back + 8, nsx + 10, 0.0),
            (0.0, neck_front + 4, neck_back + 4, nsx + 6, 0.0),
            (45.0, neck_front, neck_back, nsx + 1, 0.0),
            (f.hyoid - 5, neck_front + 2, neck_back, nsx, 0.05),
            (p - 58, face_front - 8, face_back - 18, max(nsx + 4, 0.8 * head_hw), 0.15),
            (p - 28, face_front - 2, face_back - 8, max(nsx + 8, 0.9 * head_hw), 0.25),
            (p, face_front, face_back, 0.95 * head_hw, 0.2),
            (p + 45, face_front - 2, face_back + 8, head_hw, 0.12),
            (p + 150, face_front - 10, face_back + 10, head_hw, 0.05)]
    h, front, back, hw, egg = (tuple(float(v) for v in col) for col in zip(*rows))
    front = tuple(f.spine_y(hh) - v for hh, v in zip(h, front))
    back = tuple(f.spine_y(hh) + v for hh, v in zip(h, back))
    shoulder_b = rng.uniform(72, 85)
    shoulders = (draw(rng, a.shoulder_semi_x), shoulder_b, f.spine_y(0.0) + rng.uniform(-2, 8),
                 draw(rng, a.shoulder_top))
    return Outline(h, front, back, hw, egg, shoulders, draw(rng, a.fat_mm), p - 40)


def _fov_grid(rng, f: Frame, outline: Outline, a: HeadNeckAnatomy, scale) -> Grid:
    """The grid: wide enough for the head and neck (the shoulders are cut), deep enough for the whole AP extent."""
    hs = np.linspace(f.bottom, f.top, 12)
    fat = outline.fat * 1.3
    half_x = max(outline.half_width_at(h) * 1.25 for h in hs) + fat
    y_lo = min(outline.front_y(h) for h in hs) - fat - 20  # the nose protrudes
    y_hi = max(max(float(np.interp(h, outline.h, outline.back)) for h in hs),
               outline.shoulders[2] + outline.shoulders[1]) + fat
    nx = int(np.clip(round(2 * half_x + rng.uniform(10, 40)), *a.fov_x))
    ny = int(np.clip(round(y_hi - y_lo + rng.uniform(10, 30)), *a.fov_y))
    nz = round((f.top - f.bottom) / SPACING[2]) + 1
    shift = (rng.uniform(-5, 5), (y_lo + y_hi) / 2 + rng.uniform(-5, 5), f.bottom)
    spacing = tuple(sp / sc for sp, sc in zip(SPACING, scale))
    size = tuple(max(1, round(n * sc)) for n, sc in zip((nx, ny, nz), scale))
    return Grid.centred(size, spacing, shift)  # z: the first slice's h upwards


# --------------------------------------------------------------------------- #
# painting helpers
# --------------------------------------------------------------------------- #
@dataclass
class Canvas:
    """The label map being painted, its grid and the masks that limit where things go."""

    labels: np.ndarray
    grid: Grid
    body: np.ndarray  # inside the skin's outer surface
    inner: np.ndarray  # inside the lean outline (below the subcutaneous fat)
    subskin: np.ndarray  # below the skin
    ear: tuple = (0.0, 0.0, 0.0)  # the left ear's centre (x, y, h); the right one is mirrored
    mastoid_x: float = 0.0  # |x| of the mastoids
    fillings: tuple = ()  # the fillings' solids, as painted

    def paint(self, shape, tissue, margin=0.0, where=None):
        """Paint inside the lean body (or ``where``)."""
        paint(self.labels, self.grid, shape, tissue, margin, where=self.inner if where is None else where)

    def mask(self, shape, margin=0.0) -> np.ndarray:
        """The full-size boolean mask of ``shape``'s inside."""
        out = np.zeros(self.grid.shape, bool)
        sl, x, y, z = self.grid.crop(*shape.bounds())
        if out[sl].size:
            out[sl] = np.broadcast_to(shape.depth(x, y, z) > margin, out[sl].shape)
        return out


def _paint_protected(canvas: Canvas, shape, tissue, margin=0.0) -> None:
    """Paint ``shape`` inside the lean body except over bone, teeth and metal (crop-local, no full-size copy)."""
    grid, labels = canvas.grid, canvas.labels
    sl, x, y, z = grid.crop(*shape.bounds())
    view = labels[sl]
    if view.size == 0:
        return
    inside = np.broadcast_to(shape.depth(x, y, z) > margin, view.shape) & canvas.inner[sl]
    view[inside & ~np.isin(view, BONE)] = tissue


def _paint_over(canvas: Canvas, shape, tissue, over) -> None:
    """Paint ``shape`` only where the label map holds ``over`` (crop-local)."""
    sl, x, y, z = canvas.grid.crop(*shape.bounds())
    view = canvas.labels[sl]
    if view.size:
        view[np.broadcast_to(shape.depth(x, y, z) > 0, view.shape) & (view == over)] = tissue


def _paint_body(rng, grid: Grid, outline: Outline, f: Frame) -> Canvas:
    """Skin, subcutaneous fat, SOFT inside; the nose and the ears."""
    x, y, z = grid.full()
    lean = outline.lean_depth(x, y, z).astype(np.float32)
    outer = lean + outline.fat_depth(y, z)
    skin = rng.uniform(1.5, 2.5)
    labels = np.where(outer > 0, Tissue.SOFT, Tissue.AIR).astype(np.uint8)
    labels[(outer > skin) & (lean <= 0)] = Tissue.FAT
    p, s = f.palate, f.head
    # nose: cartilage and skin (SOFT) in front of the face, nostrils
    nose_y = outline.front_y(p + 25) - outline.fat * 0.5 + rng.uniform(2, 6)
    nose = Ellipsoid((0.0, nose_y, p + 22), (rng.uniform(13, 17) * s, rng.uniform(18, 22) * s, 26 * s))
    ear_z = p + rng.uniform(24, 32)
    ear_x = outline.half_width_at(ear_z) * 1.1 + outline.fat * 0.5 + 2
    ear_y = float(f.spine_y(p)) + rng.uniform(4, 12)
    canvas = Canvas(labels, grid, outer > 0, lean > 0, outer > skin + 1, (ear_x, ear_y, ear_z))
    ears = [Ellipsoid((side * ear_x, ear_y, ear_z), (5.0, 15 * s, 28 * s)) for side in (1, -1)]
    for shape in [nose, *ears]:
        paint(labels, grid, shape, Tissue.SOFT)
        _grow(canvas, shape)
    for side in (1, -1):
        nostril = Ellipsoid((side * 6.0, nose_y - nose.radii[1] * 0.45, p + 5), (3.5, 6.0, 5.0))
        paint(labels, grid, nostril, Tissue.GAS, where=canvas.body)
    return canvas


def _grow(canvas: Canvas, shape) -> None:
    """Add ``shape`` to the body mask."""
    sl, x, y, z = canvas.grid.crop(*shape.bounds())
    if canvas.body[sl].size:
        canvas.body[sl] |= np.broadcast_to(shape.depth(x, y, z) > 0, canvas.body[sl].shape)


# --------------------------------------------------------------------------- #
# skeleton
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Spine:
    """The vertebrae (C1 first) and the canal, cord and vertebral arteries that run through them."""

    vertebrae: list
    dens: Capsule
    canal: Tube
    cord: Tube
    arteries: list  # the vertebral arteries' tubes (left, right)


def _draw_spine(rng, f: Frame) -> Spine:
    """Atlas, axis with its dens, C3-C7 and thoracic vertebrae down below the field of view."""
    disc = rng.uniform(4, 6)
    y1 = float(f.spine_y(f.palate))
    atlas = Vertebra(y1 - 8.0, f.palate - 7, f.palate + 4, (0.5, 0.5), (14.0, 16.0), 3.5, 5.0, 36.0, 2.5,
                     (7.0, 9.0))
    levels = [atlas]
    axis_lo = f.c2_bottom
    levels.append(Vertebra(float(f.spine_y(axis_lo + 10)), axis_lo, f.palate - 10, (8.5, 8.0), (12.5, 8.0), 4.5,
                           rng.uniform(18, 24), 24.0, 2.5))
    dens = Capsule((0.0, levels[-1].y, axis_lo + 12), (0.0, y1 + 0.5, f.palate + 6), rng.uniform(5, 6))
    top = axis_lo - disc
    i = 0
    while top > f.bottom - 30:
        thoracic = i >= 5
        height = (f.pitch if not thoracic else f.pitch * 1.1 + 2) - disc
        mid = top - height / 2
        spinous = rng.uniform(16, 22) if i < 4 else rng.uniform(28, 36)
        body = (8.5 + 0.8 * i, 7.5 + 0.4 * i) if i < 7 else (14.0, 10.5)
        canal = (12.0 - 0.1 * i, 7.5) if not thoracic else (8.5, 8.0)
        levels.append(Vertebra(float(f.spine_y(mid)), top - height, top, body, canal, 4.5 + 0.2 * i, spinous,
                               body[0] + 16 + 2 * thoracic, 2.2 if i < 4 else 0.0))
        top -= height + disc
        i += 1
    # canal and cord through the vertebrae's canals, on up through the foramen magnum
    spine = levels[1:][::-1]
    hs = [v.z_lo for v in spine[:1]] + [(v.z_lo + v.z_hi) / 2 for v in spine]
    cys = [spine[0].canal_y] + [v.canal_y for v in spine]
    semis = [spine[0].canal] + [v.canal for v in spine]
    hs += [f.palate + 20, f.palate + 120]
    cys += [levels[1].canal_y + 2, levels[1].canal_y - 4]
    semis += [(12.0, 12.0), (13.0, 12.0)]
    cx = tuple(c[0] for c in semis)
    cy_semi = tuple(c[1] for c in semis)
    zeros = (0.0,) * len(hs)
    canal = Tube(tuple(hs), zeros, tuple(cys), cx, cy_semi)
    cord_r = rng.uniform(0.9, 1.1)
    cord = Tube(tuple(hs), zeros, tuple(c + 0.5 for c in cys), tuple(min(7.0, 0.55 * c) * cord_r for c in cx),
                tuple(min(4.5, 0.55 * c) * cord_r for c in cy_semi))
    arteries = []
    for side in (1, -1):
        pts = [(v.z_lo - 5, side * v.foramen_x(), v.y + 1) for v in spine] + [(f.palate + 2, side * 24.0, y1 + 2)]
        hh, xx, yy = zip(*pts)
        r = (rng.uniform(1.6, 2.2),) * len(hh)
        arteries.append(Tube(hh, xx, yy, r, r))
    return Spine(levels, dens, canal, cord, arteries)


@dataclass(frozen=True)
class Jaw:
    """Mandible and maxilla (their arches), the teeth, the fillings and the mouth's opening."""

    arch: Arch  # the lower teeth's and the front of the mandible's centre line
    upper: Arch  # the upper teeth's
    y_arch: float  # where the mandible leaves the arch (behind the molars) for a straight line to its angle
    x_angle: float
    y_angle: float
    condyle: tuple[float, float, float]  # right side (x > 0 mirrored)
    occlusal: float  # h of the occlusal plane
    lower_crest: float
    upper_crest: float
    lower_border: float
    angle: float  # mouth opening, rad
    teeth: list  # of Tooth
    fillings: list  # of Filling

    @property
    def axis(self) -> tuple[float, float]:
        return self.condyle[1], self.condyle[2]

    def body_y(self, x: float) -> float:
        """y of the mandible's centre line at |x| (closed mouth)."""
        x = abs(x)
        if x <= self.arch.width:
            return float(self.arch.y(x))
        return float(np.interp(x, (self.arch.width, self.x_angle), (self.y_arch, self.y_angle)))


class Tooth(NamedTuple):
    """A tooth: a vertical crown and root at (x, y) (closed mouth), its place in the half-arch (0: central
    incisor ... 7: third molar)."""

    x: float
    y: float
    crown: tuple[float, float]  # h range
    root: tuple[float, float]
    radius: float
    lower: bool
    index: int


class Filling(NamedTuple):
    """A dental filling (or, large, a metal crown): an ellipsoid of metal in a crown (closed mouth)."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    lower: bool


# per half-arch from the midline: widths (mm) upper / lower, crown heights, root lengths
TOOTH_WIDTH = ((8.5, 6.5, 7.5, 7.0, 6.5, 10.0, 9.0, 8.5), (5.5, 6.0, 7.0, 7.0, 7.0, 11.0, 10.5, 10.0))
CROWN = (9.5, 9.0, 10.0, 8.0, 7.5, 7.0, 7.0, 6.5)
ROOT = (13.0, 13.0, 16.0, 14.0, 14.0, 12.0, 12.0, 11.0)


def _draw_jaw(rng, f: Frame, a: HeadNeckAnatomy) -> Jaw:
    """Arches sized by the face, the occlusal plane, teeth (each present by chance), fillings, mouth opening."""
    p, s = f.palate, f.head
    y_cond = float(f.spine_y(p)) - rng.uniform(5, 11)
    condyle = (rng.uniform(47, 52) * s, y_cond, p + rng.uniform(15, 21))
    x_angle = rng.uniform(43, 49) * s
    y_angle = y_cond - rng.uniform(4, 8)
    y_chin = y_angle - rng.uniform(74, 82) * s
    arch = Arch(y_chin, rng.uniform(23, 27) * s, rng.uniform(36, 42) * s)  # the lower molars at the widest
    upper = Arch(y_chin - rng.uniform(1.5, 3.0), arch.width + 2, arch.length + 1)
    y_arch = arch.at_length(sum(TOOTH_WIDTH[1]) - 6)[1]
    upper_crest = p - rng.uniform(11, 14)
    occlusal = upper_crest - 7.0
    lower_crest = occlusal - 7.0
    lower_border = lower_crest - rng.uniform(24, 31) * s
    angle = float(np.deg2rad(draw(rng, a.mouth_open_deg)))
    present_p = draw(rng, a.tooth_p)
    present = rng.random((2, 2, 8)) < present_p  # (upper/lower, side, tooth)
    teeth = []
    for lower in (0, 1):
        line = arch if lower else upper
        edges = np.cumsum((0.0,) + TOOTH_WIDTH[lower])
        for k in range(8):
            x, y = line.at_length((edges[k] + edges[k + 1]) / 2)
            r = 0.52 * TOOTH_WIDTH[lower][k]
            if lower:
                crown, root = (lower_crest, lower_crest + CROWN[k]), (lower_crest - ROOT[k], lower_crest)
            else:
                crown, root = (upper_crest - CROWN[k], upper_crest), (upper_crest, upper_crest + ROOT[k])
            for side_i, side in enumerate((1, -1)):
                if present[lower, side_i, k]:
                    teeth.append(Tooth(side * x, y, crown, root, r, bool(lower), k))
    fillings = _draw_fillings(rng, teeth, a)
    return Jaw(arch, upper, y_arch, x_angle, y_angle, condyle, occlusal, lower_crest, upper_crest, lower_border, angle,
               teeth, fillings)


def _draw_fillings(rng, teeth, a: HeadNeckAnatomy) -> list:
    """Fillings in premolars and molars: a metal ellipsoid at the occlusal part of the crown."""
    candidates = [t for t in teeth if t.index >= 3]
    n = min(int(rng.integers(*a.fillings)), len(candidates))
    chosen = rng.choice(len(candidates), size=n, replace=False) if n else []
    fillings = []
    for i in sorted(int(j) for j in chosen):
        tooth = candidates[i]
        r = draw(rng, a.filling_r)
        z = tooth.crown[1] - 0.6 * min(r, 3.0) if tooth.lower else tooth.crown[0] + 0.6 * min(r, 3.0)
        fillings.append(Filling((tooth.x, tooth.y + rng.uniform(-1, 1), z), (r, r, 0.8 * r), tooth.lower))
    return fillings


def _jaw_solids(jaw: Jaw, f: Frame) -> tuple[list, list]:
    """Bony solids: the mandible's (opened with the jaw) and the maxilla's."""
    mandible = [ArchPlate(jaw.arch, jaw.y_arch, 6.0, jaw.lower_border, jaw.lower_crest + 1.0)]
    xc, yc, zc = jaw.condyle
    for side in (1, -1):
        x_r = side * (jaw.x_angle + 1.5)
        y_end = jaw.y_angle
        mandible += [
            Bar((side * jaw.arch.width, jaw.y_arch), (side * jaw.x_angle, jaw.y_angle), 5.5, jaw.lower_border,
                jaw.lower_crest + 1.0),
            TiltedEllipsoid((x_r, y_end + 3, (jaw.lower_border + zc) / 2), (4.0, 14.0, (zc - jaw.lower_border) / 2),
                            pitch=np.arctan2(yc - y_end - 3, zc - jaw.lower_border)),
            Ellipsoid((side * xc, yc, zc), (9.0, 5.5, 6.0)),
            Ellipsoid((x_r - side * 2, y_end - 14, jaw.occlusal + 14), (3.0, 5.0, 9.0)),
        ]
    mandible = [_rotated(s, jaw.axis, jaw.angle) for s in mandible]
    y_tuber = jaw.upper.at_length(sum(TOOTH_WIDTH[0]) + 4)[1]
    palate_back = jaw.upper.at_length(sum(TOOTH_WIDTH[0][:7]))[1] + 4
    maxilla = [
        ArchPlate(jaw.upper, y_tuber, 6.5, jaw.upper_crest - 1, f.palate + 4),
        Palate(jaw.upper, palate_back, f.palate - 3, f.palate + 3),
    ]
    return mandible, maxilla


def _paint_teeth(canvas: Canvas, jaw: Jaw) -> list:
    """Roots (dense dentin: CORTICAL), crowns (ENAMEL) and fillings (METAL); returns the fillings' solids."""
    for t in jaw.teeth:
        r = t.radius
        root = Capsule((t.x, t.y, t.root[0] + 0.55 * r), (t.x, t.y, t.root[1]), 0.55 * r)
        crown = Capsule((t.x, t.y, t.crown[0] + r * 0.5), (t.x, t.y, t.crown[1] - r * 0.5), r)
        for shape, tissue in ((root, Tissue.CORTICAL), (crown, Tissue.ENAMEL)):
            paint(canvas.labels, canvas.grid, _rotated(shape, jaw.axis, jaw.angle * t.lower), tissue,
                  where=canvas.body)
    solids = []
    for centre, radii, lower in jaw.fillings:
        shape = _rotated(Ellipsoid(centre, radii), jaw.axis, jaw.angle * lower)
        paint(canvas.labels, canvas.grid, shape, Tissue.METAL, where=canvas.body)
        solids.append(shape)
    return solids


@dataclass(frozen=True)
class Neck:
    """Positions of the neck's soft organs, drawn before painting (the bones and glands are placed by them)."""

    larynx_y: float  # centre of the thyroid cartilage
    larynx_semi: tuple[float, float]
    glottis: float  # h
    cricoid: tuple[float, float]  # h range
    trachea_r: float
    pharynx: Tube
    carotid_x: float


def _draw_neck(rng, f: Frame, outline: Outline, jaw: Jaw, a: HeadNeckAnatomy) -> Neck:
    """Larynx, cricoid, trachea size, pharynx lumen, carotid position."""
    ps = draw(rng, a.pharynx_scale)
    glottis = f.hyoid - rng.uniform(22, 28)
    cricoid_hi = glottis - rng.uniform(3, 6)
    cricoid = (cricoid_hi - rng.uniform(10, 14), cricoid_hi)
    semi = (rng.uniform(18, 22), rng.uniform(14, 17))
    larynx_y = outline.front_y(glottis) + 4 + semi[1]
    trachea_r = draw(rng, a.airway_r)
    p = f.palate

    def wall(h, prevert):
        """y of the pharynx's posterior wall: in front of the vertebral bodies."""
        return float(f.spine_y(h)) - 8 - prevert

    hs = (f.hyoid - 12, f.hyoid, jaw.occlusal, p, p + 22)
    semis_y = (3.0 * ps, 4.5 * ps, 6.0 * ps, 7.5 * ps, 6.0 * ps)
    semis_x = (15.0, 15.0 * ps ** 0.5, 13.0 * ps ** 0.5, 12.0, 9.0)
    prevert = rng.uniform(3, 6, size=5) + np.array([0, 0, 0, 6, 8])
    ys = tuple(wall(h, pv) - sy for h, pv, sy in zip(hs, prevert, semis_y))
    pharynx = Tube(hs, (0.0,) * 5, ys, semis_x, semis_y)
    carotid_x = trachea_r + rng.uniform(12, 16)
    return Neck(larynx_y, semi, glottis, cricoid, trachea_r, pharynx, carotid_x)


# --------------------------------------------------------------------------- #
# the label map
# --------------------------------------------------------------------------- #
def draw_labels(rng, scale=(1.0, 1.0, 1.0), anatomy: HeadNeckAnatomy = DEFAULT_HEADNECK) -> Drawn:
    """Draw a head-and-neck field of view, its label map, its structures and its CT streaks from ``anatomy``'s
    ranges; ``scale``: voxels per phantom voxel along (x, y, z) (the field of view in mm stays the one drawn)."""
    a = anatomy
    f = _draw_frame(rng, a)
    outline = _draw_outline(rng, f, a)
    grid = _fov_grid(rng, f, outline, a, scale)
    canvas = _paint_body(rng, grid, outline, f)
    spine = _draw_spine(rng, f)
    jaw = _draw_jaw(rng, f, a)
    neck = _draw_neck(rng, f, outline, jaw, a)
    vessels = _paint_soft_tissue(rng, canvas, f, outline, jaw, neck, a)
    glands = _paint_glands(rng, canvas, f, jaw, neck, a)
    _paint_brain_and_orbits(rng, canvas, f, outline)
    larynx = _paint_larynx_walls(canvas, f, neck)
    mandible = _paint_bones(rng, canvas, f, outline, spine, jaw, neck)
    canvas.fillings = _paint_teeth(canvas, jaw)
    _paint_canal(canvas, spine)
    oral = _paint_airways(rng, canvas, f, jaw, neck, a)
    target = _paint_target(rng, canvas, f, jaw, neck, vessels, a)
    labels = canvas.labels
    structures = {
        "target": target,
        "spinal_cord": canvas.mask(spine.cord) & (labels == Tissue.SOFT),
        "parotid_left": glands[0] & (labels == Tissue.GLAND),
        "parotid_right": glands[1] & (labels == Tissue.GLAND),
        "larynx": larynx & canvas.body,
        "oral_cavity": oral & canvas.inner & ~np.isin(labels, BONE),
        "mandible": mandible & np.isin(labels, (Tissue.CORTICAL, Tissue.MARROW)),
    }
    artefact = _metal_artefact(rng, canvas, jaw.fillings)
    spacing = tuple(float(s) / sc for s, sc in zip(SPACING, scale))
    return Drawn(labels=labels, spacing=spacing, structures=structures, ct_artefact=artefact)


def _paint_soft_tissue(rng, canvas: Canvas, f: Frame, outline: Outline, jaw: Jaw, neck: Neck,
                       a: HeadNeckAnatomy) -> dict:
    """Fat spaces between the muscles, the muscles over them, lung apices, vessels in their fat sheaths, the
    tongue; returns the vessels' tubes by name."""
    p, df = f.palate, draw(rng, a.deep_fat)
    ys = f.spine_y
    mid = (f.hyoid + 20) / 2
    hw = outline.half_width_at(mid)
    fat = [
        Ellipsoid((0.0, ys(mid) + 52, mid + 10), (4 * df, 6 * df, 40.0)),  # nuchal
        Ellipsoid((0.0, jaw.arch.y0 + 24, jaw.lower_border - 1), (20 * df, 13 * df, 4 * df)),  # submental
        Ellipsoid((0.0, ys(-30) - 34, -30.0), (26 * df, 18 * df, 40.0)),  # thoracic inlet
    ]
    for side in (1, -1):
        fat += [
            Tube((5.0, mid, f.hyoid + 15), (side * (hw - 18),) * 3, (ys(5) + 10, ys(mid) + 12, ys(f.hyoid) + 10),
                 (9 * df, 10 * df, 7 * df), (13 * df, 15 * df, 11 * df)),  # posterior triangle
            Ellipsoid((side * 24.0, ys(p - 25) - 20, p - 22), (7 * df, 10 * df, 24.0)),  # parapharyngeal
            Ellipsoid((side * (jaw.x_angle + 2), jaw.upper.y0 + jaw.upper.length - 6, jaw.occlusal + 6),
                      (8 * df, 11 * df, 14 * df)),  # buccal
            Ellipsoid((side * 30.0, ys(mid) + 42, mid + 15), (3.5 * df, 14.0, 50.0)),  # between neck muscles
        ]
    for shape in fat:
        canvas.paint(shape, Tissue.FAT)
    # muscles over the fat: sternocleidomastoids, scalenes, paraspinals, prevertebral, masseters, pterygoids
    for side in (1, -1):
        x_ang = side * jaw.x_angle
        scm = Tube((0.0, 45.0, f.hyoid, p - 10), (side * 18.0, side * 30.0, side * (hw - 14), side * 46.0),
                   (ys(0) - 58, ys(45) - 40, ys(f.hyoid) - 18, ys(p) + 12), (6.0, 9.0, 10.0, 9.0),
                   (5.0, 7.0, 8.0, 9.0))
        scalene = Tube((-10.0, 40.0, f.hyoid - 10), (side * 40.0, side * 30.0, side * 22.0),
                       (ys(-10) - 2, ys(40) + 2, ys(f.hyoid) + 4), (7.0, 7.0, 6.0), (8.0, 8.0, 7.0))
        paraspinal = Tube((-60.0, mid, p + 20), (side * 26.0, side * 20.0, side * 20.0),
                          (ys(-60) + 48, ys(mid) + 40, ys(p) + 42), (20.0, 17.0, 18.0), (22.0, 20.0, 22.0))
        masseter = Ellipsoid((x_ang * 1.03 + side * 9, jaw.y_angle - 4, jaw.occlusal + 2),
                             (6.0, 13.0, 24.0))
        pterygoid = Ellipsoid((x_ang - side * 10, jaw.y_angle + 2, jaw.occlusal + 6),
                              (5.0, 10.0, 18.0))
        for shape in (scm, scalene, paraspinal, _rotated(masseter, jaw.axis, jaw.angle / 2), pterygoid):
            canvas.paint(shape, Tissue.SOFT)
    _paint_lungs(rng, canvas, f)
    return _paint_vessels(rng, canvas, f, neck, df)


def _paint_lungs(rng, canvas: Canvas, f: Frame) -> None:
    """Lung apices, rising above the clavicles beside the trachea."""
    for side in (1, -1):
        apex = rng.uniform(15, 35)
        rz = rng.uniform(70, 90)
        lung = Ellipsoid((side * rng.uniform(40, 46), float(f.spine_y(0)) - rng.uniform(-2, 6), apex - rz),
                         (rng.uniform(27, 32), rng.uniform(34, 42), rz))
        canvas.paint(lung, Tissue.LUNG)


def _paint_vessels(rng, canvas: Canvas, f: Frame, neck: Neck, df: float) -> dict:
    """Common/internal/external carotids and internal jugular veins (BLOOD) in fat sheaths."""
    p, ys = f.palate, f.spine_y
    low = f.bottom - 20
    bif = f.hyoid + rng.uniform(-5, 10)
    vessels = {}
    for side, name in ((1, "left"), (-1, "right")):
        cx = side * neck.carotid_x
        r_cca, r_ica, r_eca = rng.uniform(3.3, 4.3), rng.uniform(2.4, 3.0), rng.uniform(1.8, 2.3)
        r_ij = rng.uniform(4, 8)
        top_x = side * rng.uniform(28, 32)
        cca = Tube((low, 30.0, bif), (cx * 0.8, cx, cx * 1.05), (ys(low) - 24, ys(30) - 16, ys(bif) - 14),
                   (r_cca,) * 3, (r_cca,) * 3)
        ica = Tube((bif - 2, p - 20, p + 25), (cx * 1.05, side * 28.0, top_x),
                   (ys(bif) - 12, ys(p - 20) - 10, ys(p) - 4), (r_ica,) * 3, (r_ica,) * 3)
        eca = Tube((bif - 2, p - 30, p + 5), (cx * 1.1, side * 34.0, side * 40.0),
                   (ys(bif) - 18, ys(p - 30) - 26, ys(p) - 22), (r_eca,) * 3, (r_eca,) * 3)
        ij = Tube((low, 30.0, bif, p + 22), (cx + side * 8, cx + side * 10, cx + side * 11, top_x + side * 3),
                  (ys(low) - 22, ys(30) - 12, ys(bif) - 8, ys(p) + 6), (r_ij * 1.2,) * 4, (r_ij * 0.8,) * 4)
        sheath = Tube(ij.h, tuple((a + b) / 2 for a, b in zip(ij.x, (cx * 0.8, cx, cx * 1.05, top_x))),
                      tuple(v + 4 for v in ij.y), (r_ij + 10 * df,) * 4, (r_ij + 5 * df,) * 4)
        canvas.paint(Intersection((sheath, HalfSpace(2, p - 20, 1))), Tissue.FAT)
        for tube in (cca, ica, eca, ij):
            canvas.paint(tube, Tissue.BLOOD)
        vessels[f"carotid_{name}"], vessels[f"jugular_{name}"] = cca, ij
    return vessels


def _paint_glands(rng, canvas: Canvas, f: Frame, jaw: Jaw, neck: Neck, a: HeadNeckAnatomy) -> list:
    """Parotids (a superficial lobe over the ramus' back and a deep lobe behind it), submandibular glands,
    thyroid; returns the parotids' masks (left, right)."""
    gs = draw(rng, a.gland_scale)
    y_ramus = float(jaw.y_angle)
    parotids = []
    for side in (1, -1):
        x_r = side * (jaw.x_angle + 2)
        superficial = Ellipsoid((x_r + side * 10, y_ramus + 8, jaw.occlusal + rng.uniform(6, 12)),
                                tuple(np.array([rng.uniform(9, 12), rng.uniform(15, 19), rng.uniform(22, 27)]) * gs))
        deep = Ellipsoid((x_r - side * 4, y_ramus + 14, jaw.occlusal + 8),
                         tuple(np.array([rng.uniform(7, 9), rng.uniform(8, 10), rng.uniform(13, 17)]) * gs))
        sub = Ellipsoid((side * (jaw.x_angle - 9), jaw.body_y(jaw.x_angle - 14), jaw.lower_border - 2),
                        tuple(np.array([rng.uniform(8, 10), rng.uniform(12, 15), rng.uniform(8, 11)]) * gs))
        for shape in (superficial, deep, sub):
            canvas.paint(shape, Tissue.GLAND)
        parotids.append(canvas.mask(superficial) | canvas.mask(deep))
    # thyroid lobes around the trachea, and the isthmus in front of it
    lo = neck.cricoid[0]
    y_tr = float(f.spine_y(lo - 15)) - 22 - neck.trachea_r
    for side in (1, -1):
        lobe = Ellipsoid((side * (neck.trachea_r + rng.uniform(8, 11)), y_tr - 2, lo - rng.uniform(8, 14)),
                         (rng.uniform(7, 10), rng.uniform(9, 12), rng.uniform(18, 24)))
        canvas.paint(Ellipsoid(lobe.centre, tuple(r + 1.2 for r in lobe.radii)), Tissue.FAT)
        canvas.paint(lobe, Tissue.SOFT)
    canvas.paint(Ellipsoid((0.0, y_tr - neck.trachea_r - 4, lo - 12), (neck.trachea_r + 6, 3.5, 6.0)), Tissue.SOFT)
    return parotids


def _paint_brain_and_orbits(rng, canvas: Canvas, f: Frame, outline: Outline) -> None:
    """At the top of some fields of view: the cerebellum in the posterior fossa, the temporal lobes in the middle
    fossae (GREY cortex, WHITE core, CSF around) and the eyes (VITREOUS) in orbital fat."""
    p, s, ys = f.palate, f.head, f.spine_y
    fossa = Ellipsoid((0.0, ys(p) + 35 * s, p + 65), (46 * s, 36 * s, 44.0))
    canvas.paint(fossa, Tissue.CSF)
    canvas.paint(fossa, Tissue.GREY, margin=2.0)
    canvas.paint(fossa, Tissue.WHITE, margin=rng.uniform(12, 16))
    for side in (1, -1):
        lobe = Ellipsoid((side * 34 * s, ys(p) - 14 * s, p + 65), (20 * s, 28 * s, 24.0))
        canvas.paint(lobe, Tissue.CSF)
        canvas.paint(lobe, Tissue.GREY, margin=2.0)
        canvas.paint(lobe, Tissue.WHITE, margin=7.0)
    eye_r, eye_x, eye_z = rng.uniform(11.5, 12.5), rng.uniform(30, 34) * s, p + rng.uniform(50, 56)
    eye_y = outline.front_y(eye_z) + eye_r - outline.fat * 0.2 + rng.uniform(0, 3)
    for side in (1, -1):
        eye = (side * eye_x, eye_y, eye_z)
        canvas.paint(Ellipsoid(eye, (eye_r + 5, eye_r + 9, eye_r + 5)), Tissue.FAT, where=canvas.body)
        canvas.paint(Ellipsoid(eye, (eye_r,) * 3), Tissue.VITREOUS, where=canvas.body)
        canvas.paint(Intersection((Exclude(Ellipsoid(eye, (eye_r + 7, eye_r + 11, eye_r + 7)),
                                           Ellipsoid(eye, (eye_r + 5, eye_r + 9, eye_r + 5))),
                                   HalfSpace(1, eye_y - 3, -1))), Tissue.CORTICAL)  # the bony orbit


def _paint_larynx_walls(canvas: Canvas, f: Frame, neck: Neck) -> np.ndarray:
    """The larynx's soft tissue and paraglottic fat, trachea wall, oesophagus; returns the larynx's mask."""
    (sx, sy), y = neck.larynx_semi, neck.larynx_y
    top, bottom = f.hyoid + 6, neck.cricoid[0]
    larynx = Tube((bottom, neck.glottis, top), (0.0,) * 3, (y + 3, y, y - 4), (12.5, sx, sx + 2), (13.0, sy, sy + 2))
    canvas.paint(larynx, Tissue.SOFT)
    canvas.paint(Ellipsoid((0.0, y - 2, (neck.glottis + top) / 2 + 2), (sx - 5, sy - 3, (top - neck.glottis) / 2)),
                 Tissue.FAT)
    canvas.paint(_oesophagus(f, neck), Tissue.SOFT)
    trachea = _trachea(f, neck)
    canvas.paint(Tube(trachea.h, trachea.x, trachea.y, tuple(v + 2.5 for v in trachea.semi_x),
                      tuple(v + 2.5 for v in trachea.semi_y)), Tissue.SOFT)
    return canvas.mask(larynx)


def _trachea(f: Frame, neck: Neck) -> Tube:
    """The tracheal lumen: from the cricoid down, sinking backwards towards the thorax."""
    low = f.bottom - 20
    r = neck.trachea_r
    h = (low, neck.cricoid[0] - 10, neck.cricoid[1] - 2)
    y = (float(f.spine_y(low)) - 12 - 16 - r, float(f.spine_y(h[1])) - 20 - 8 - r, neck.larynx_y + 3)
    return Tube(h, (0.0,) * 3, y, (r * 1.05, r * 1.05, r * 0.9), (r * 0.95, r * 0.95, r))


def _paint_bones(rng, canvas: Canvas, f: Frame, outline: Outline, spine: Spine, jaw: Jaw, neck: Neck) -> np.ndarray:
    """Spine, jaws, hyoid, shoulder girdle, ribs, skull base (cortex with marrow, DIPLOE in the occipital bone),
    sinus walls, calcified laryngeal cartilage (sometimes); returns the mandible's mask."""
    grid, labels = canvas.grid, canvas.labels
    # prevertebral and posterior column SOFT: discs and ligaments between the bones
    for v in spine.vertebrae[1:]:
        canvas.paint(Ellipsoid((0.0, v.y, (v.z_lo + v.z_hi) / 2), (v.body[0] + 1.5, v.body[1] + 1.5,
                                                                       (v.z_hi - v.z_lo) / 2 + 4)), Tissue.SOFT)
    bone = np.full(grid.shape, -1e3, np.float32)
    mandible, maxilla = _jaw_solids(jaw, f)
    solids = list(spine.vertebrae) + [spine.dens] + mandible + maxilla
    solids += _hyoid_and_girdle(rng, f, outline)
    base, canvas.mastoid_x = _skull_base(rng, f)
    solids += base
    for shape in solids:
        accumulate_union(bone, grid, shape)
    paint_bone(labels, bone, rng.uniform(1.5, 2.2), where=canvas.inner)
    _paint_skull(rng, canvas, f)
    _paint_sinus_walls(canvas, f, jaw)
    if rng.random() < 0.5:
        _paint_calcified_cartilage(canvas, f, neck)
    out = np.zeros(grid.shape, bool)
    for shape in mandible:
        out |= canvas.mask(shape)
    return out


def _paint_calcified_cartilage(canvas: Canvas, f: Frame, neck: Neck) -> None:
    """Calcified (CORTICAL) thyroid cartilage - a shield open at the back - and cricoid ring: bright on CT, dark on
    MR, where uncalcified cartilage is soft tissue on both."""
    (sx, sy), y = neck.larynx_semi, neck.larynx_y
    hs = (neck.glottis - 10, f.hyoid - 6)
    shield = Intersection((Tube(hs, (0.0, 0.0), (y, y - 2), (sx, sx), (sy, sy)), HalfSpace(1, y + 6, 1)))
    inside = Tube(hs, (0.0, 0.0), (y, y - 2), (sx - 1.8, sx - 1.8), (sy - 1.8, sy - 1.8))
    canvas.paint(Exclude(shield, inside), Tissue.CORTICAL)
    ring = Tube(neck.cricoid, (0.0, 0.0), (y + 3, y + 3), (12.5, 12.5), (13.0, 13.0))
    canvas.paint(Exclude(ring, Tube(ring.h, ring.x, ring.y, (10.0, 10.0), (10.5, 10.5))), Tissue.CORTICAL)


def _hyoid_and_girdle(rng, f: Frame, outline: Outline) -> list:
    """Hyoid (U arch), clavicles, manubrium, first and second ribs, scapulae, humeral heads."""
    ys = f.spine_y
    front = outline.front_y(f.hyoid) + rng.uniform(6, 10)
    hyoid_arch = Arch(front, rng.uniform(17, 21), rng.uniform(20, 26))
    solids = [ArchPlate(hyoid_arch, front + hyoid_arch.length, 2.5, f.hyoid - 5, f.hyoid + 4)]
    w, b, tcy, _ = outline.shoulders
    chest = tcy - b + outline.fat * 0.2
    solids.append(Ellipsoid((0.0, chest + 10, -28.0), (rng.uniform(24, 30), 7.0, 29.0)))  # manubrium
    t1 = ys(0)
    for side in (1, -1):
        sc = (side * rng.uniform(20, 25), chest + 14, rng.uniform(-2, 4))
        mid = (side * rng.uniform(70, 85), chest + 20, sc[2] + rng.uniform(4, 10))
        acromion = (side * (w - rng.uniform(25, 35)), t1 + rng.uniform(5, 15), rng.uniform(14, 24))
        r = rng.uniform(5.5, 7.0)
        solids += [Capsule(sc, mid, r), Capsule(mid, acromion, r * 0.85)]
        for level, drop in ((0.0, 0.0), (-25.0, 12.0)):
            back = (side * 18.0, t1 + 16, level + 2)
            lateral = (side * (68.0 + drop * 1.5), t1 - 10, level - drop * 0.3)
            front_end = (side * (32.0 + drop), chest + 16, level - 26 - drop)
            solids += [Capsule(back, lateral, 5.0), Capsule(lateral, front_end, 5.0)]
        scapula_x = side * rng.uniform(85, 100)
        solids += [
            TiltedEllipsoid((scapula_x, tcy + b - 24, rng.uniform(-60, -40)), (42.0, 3.5, 55.0),
                            yaw=-side * np.deg2rad(rng.uniform(25, 35))),
            Capsule((side * 60.0, tcy + b - 18, 2.0), acromion, rng.uniform(4.5, 5.5)),
            Ellipsoid((side * (w - rng.uniform(15, 25)), t1 + 8, acromion[2] - 30), (24.0,) * 3),
        ]
    return solids


def _skull_base(rng, f: Frame) -> tuple[list, float]:
    """Clivus, occipital condyles, mastoids, petrous ridges, zygomas and their arches, pterygoid plates; and the
    mastoids' |x|."""
    p, s, ys = f.palate, f.head, f.spine_y
    y1 = float(ys(p))
    solids = [Capsule((0.0, y1 - 2, p + 14), (0.0, y1 - 22, p + 48), rng.uniform(6, 8))]
    mastoid = rng.uniform(46, 51) * s
    for side in (1, -1):
        mastoid_x = side * mastoid
        solids += [
            Ellipsoid((side * 15.0, y1 + 6, p + 10), (6.0, 10.0, 6.0)),
            Ellipsoid((mastoid_x, y1 + 22, p + 20), (11.0, 13.0, 17.0)),
            Capsule((mastoid_x, y1 + 14, p + 32), (side * 12.0, y1 - 8, p + 42), rng.uniform(7, 9)),
            Ellipsoid((side * 50 * s, y1 - 62 * s, p + 32), (9.0, 11.0, 13.0)),
            Capsule((side * 56 * s, y1 - 55 * s, p + 26), (side * 58 * s, y1 - 12, p + 24), 3.5),
            Capsule((side * 22.0, y1 - 30, p + 32), (side * 23.0, y1 - 30, p - 5), 2.5),
        ]
    return solids, mastoid


def _paint_skull(rng, canvas: Canvas, f: Frame) -> None:
    """The occipital bone around the posterior fossa and the floor of the middle fossae (cortical tables with
    DIPLOE between them)."""
    p, s, ys = f.palate, f.head, f.spine_y
    thick = rng.uniform(5, 8)
    fossa = Ellipsoid((0.0, ys(p) + 35 * s, p + 65), (46 * s, 36 * s, 44.0))
    grown = Ellipsoid(fossa.centre, tuple(r + thick for r in fossa.radii))
    shells = [Intersection((Exclude(grown, fossa), HalfSpace(1, ys(p) - 5, -1)))]
    for side in (1, -1):
        lobe = Ellipsoid((side * 34 * s, ys(p) - 14 * s, p + 65), (20 * s, 28 * s, 24.0))
        shells.append(Intersection((Exclude(Ellipsoid(lobe.centre, tuple(r + 4 for r in lobe.radii)), lobe),
                                    HalfSpace(2, p + 62, 1))))
    for shell in shells:
        canvas.paint(shell, Tissue.CORTICAL)
    canvas.paint(shells[0], Tissue.DIPLOE, margin=1.8)
    # the foramen magnum stays open for the canal (painted later)


def _paint_sinus_walls(canvas: Canvas, f: Frame, jaw: Jaw) -> None:
    """Cortical walls of the maxillary and sphenoid sinuses and the nasal cavity (their air comes later)."""
    for shape in _sinuses(f, jaw):
        wall = Ellipsoid(shape.centre, tuple(r + 1.8 for r in shape.radii))
        canvas.paint(Exclude(wall, shape), Tissue.CORTICAL)


def _sinuses(f: Frame, jaw: Jaw) -> list:
    """Maxillary sinuses above the molars, the sphenoid sinus above the nasopharynx, the ethmoid cells between the
    orbits (deterministic from the landmarks)."""
    p, s = f.palate, f.head
    y_mol = jaw.upper.y0 + jaw.upper.length - 4
    shapes = [Ellipsoid((side * 27 * s, y_mol - 6, p + 22), (13 * s, 16 * s, 16.0)) for side in (1, -1)]
    shapes.append(Ellipsoid((0.0, float(f.spine_y(p)) - 30, p + 42), (12.0, 10.0, 10.0)))  # sphenoid
    shapes.append(Ellipsoid((0.0, jaw.upper.y0 + 28 * s, p + 54), (11.0 * s, 17.0 * s, 11.0)))  # ethmoid
    return shapes


def _paint_canal(canvas: Canvas, spine: Spine) -> None:
    """CSF in the spinal canal, the cord (SOFT) in it, the vertebral arteries (BLOOD)."""
    paint(canvas.labels, canvas.grid, spine.canal, Tissue.CSF, where=canvas.inner)
    paint(canvas.labels, canvas.grid, spine.cord, Tissue.SOFT, where=canvas.inner)
    for artery in spine.arteries:
        paint(canvas.labels, canvas.grid, artery, Tissue.BLOOD, where=canvas.inner)


def _paint_airways(rng, canvas: Canvas, f: Frame, jaw: Jaw, neck: Neck,
                   a: HeadNeckAnatomy) -> np.ndarray:
    """Tongue and the oral air above it, pharynx, larynx and trachea lumens, piriform sinuses, oesophageal gas,
    nasal cavity (septum, turbinates), sinuses, mastoid air cells, ear canals; returns the oral cavity's mask."""
    oral = _paint_mouth(rng, canvas, f, jaw, neck, a)
    _paint_protected(canvas, neck.pharynx, Tissue.GAS)
    _paint_protected(canvas, _larynx_lumen(rng, f, neck), Tissue.GAS)
    _paint_protected(canvas, _trachea(f, neck), Tissue.GAS)
    if rng.random() < 0.6:  # piriform sinuses
        for side in (1, -1):
            _paint_protected(canvas, Ellipsoid((side * 13.0, neck.larynx_y + 13, neck.glottis + 7), (4.0, 5.0, 8.0)),
                             Tissue.GAS)
    if rng.random() < 0.35:  # a little gas in the oesophagus
        oes = _oesophagus(f, neck)
        _paint_protected(canvas, Tube(oes.h, oes.x, oes.y, (3.0, 3.0), (1.5, 1.5)), Tissue.GAS)
    _paint_nose_and_sinuses(rng, canvas, f, jaw)
    _paint_ear_air(rng, canvas, f)
    return oral


def _paint_mouth(rng, canvas: Canvas, f: Frame, jaw: Jaw, neck: Neck, a: HeadNeckAnatomy) -> np.ndarray:
    """The tongue (SOFT, opening with half the jaw's angle) and the air between it and the palate (more when the
    mouth is open); returns their mask (the oral cavity)."""
    gap = draw(rng, a.oral_air_mm) + 25.0 * jaw.angle
    y_front = jaw.upper.y0 + 7
    y_back = float(np.interp(jaw.occlusal, neck.pharynx.h, neck.pharynx.y)) - 2
    z0 = jaw.occlusal - 8
    top = f.palate - 3 - gap
    half_x = jaw.upper.at_length(40.0)[0] - 2
    body = Ellipsoid((0.0, (y_front + y_back) / 2 + 4, z0), (half_x, (y_back - y_front) / 2 + 2, top - z0))
    tongue = _rotated(body, jaw.axis, jaw.angle / 2)
    oral = canvas.mask(tongue)
    if gap >= 0.5:  # a layer over the tongue's dorsum, not down its sides
        layer = Ellipsoid(body.centre, (half_x + 2, body.radii[1] + 3, body.radii[2] + gap))
        air = _rotated(Intersection((layer, HalfSpace(2, top - gap - 6, -1), HalfSpace(1, y_front - 3, -1))),
                       jaw.axis, jaw.angle / 2)
        _paint_protected(canvas, air, Tissue.GAS)
        oral |= canvas.mask(air)
    _paint_protected(canvas, tongue, Tissue.SOFT)
    return oral


def _larynx_lumen(rng, f: Frame, neck: Neck) -> Tube:
    """Vestibule, glottis (a slit, open by a drawn amount), subglottis."""
    y, g = neck.larynx_y, neck.glottis
    slit = rng.uniform(1.5, 5.0)
    return Tube((neck.cricoid[0] - 4, g - 3, g, g + 4, f.hyoid + 4), (0.0,) * 5, (y + 3, y + 2, y + 1, y + 1, y + 5),
                (7.0, 6.5, slit, 5.0, 9.0), (8.0, 8.5, 9.0, 9.0, 12.0))


def _oesophagus(f: Frame, neck: Neck) -> Tube:
    """The (collapsed) oesophagus behind the trachea, from the cricoid down, a little to the left."""
    h = (f.bottom - 20, neck.cricoid[1])
    return Tube(h, (4.0, 2.0), tuple(float(f.spine_y(v)) - 16 for v in h), (9.0, 10.0), (5.5, 5.5))


def _paint_nose_and_sinuses(rng, canvas: Canvas, f: Frame, jaw: Jaw) -> None:
    """Nasal cavity air with the septum and turbinates, maxillary and sphenoid sinus air (mucosa drawn)."""
    p, s, ys = f.palate, f.head, f.spine_y
    y_front, y_back = jaw.upper.y0 + rng.uniform(4, 8), float(ys(p)) - 26
    yc, ry = (y_front + y_back) / 2, (y_back - y_front) / 2
    cavity = Ellipsoid((0.0, yc, p + 23), (rng.uniform(11, 14) * s, ry, 21.0))
    _paint_protected(canvas, cavity, Tissue.GAS)
    soft = [Intersection((cavity, HalfSpace(0, 1.2, 1), HalfSpace(0, -1.2, -1)))]
    for side in (1, -1):
        soft += [Ellipsoid((side * 9.0, yc + 4, p + 9), (4.5, ry * 0.75, rng.uniform(4, 6))),
                 Ellipsoid((side * 8.0, yc + 8, p + 24), (3.5, ry * 0.6, rng.uniform(4, 6)))]
    for shape in soft:
        _paint_protected(canvas, Intersection((shape, cavity)), Tissue.SOFT)
    for sinus in _sinuses(f, jaw):
        mucosa = rng.uniform(0, 4) if rng.random() < 0.5 else 0.0
        _paint_protected(canvas, sinus, Tissue.SOFT)
        _paint_protected(canvas, sinus, Tissue.GAS, margin=mucosa)


def _paint_ear_air(rng, canvas: Canvas, f: Frame) -> None:
    """Air cells in the mastoids' marrow (a drawn pneumatisation) and the external ear canals."""
    p = f.palate
    y1 = float(f.spine_y(p))
    cells = int(rng.integers(3, 12))
    for side in (1, -1):
        mastoid = np.array([side * canvas.mastoid_x, y1 + 22, p + 20])
        for _ in range(cells):
            centre = mastoid + rng.uniform(-1, 1, 3) * (7.0, 9.0, 12.0)
            cell = Ellipsoid(tuple(centre), (rng.uniform(1.5, 3.5),) * 3)
            _paint_over(canvas, cell, Tissue.GAS, Tissue.MARROW)
        x_ear, y_ear, z_ear = canvas.ear
        canal = Capsule((side * (x_ear - 4), y_ear - 2, z_ear - 3), (side * (x_ear - 28), y_ear - 2, z_ear - 4), 3.5)
        paint(canvas.labels, canvas.grid, canal, Tissue.GAS, where=canvas.body)


def _paint_target(rng, canvas: Canvas, f: Frame, jaw: Jaw, neck: Neck, vessels: dict,
                  a: HeadNeckAnatomy) -> np.ndarray:
    """The target: a tumour (SOFT, sometimes with a necrotic core) at the base of the tongue / oropharynx, or a
    lymph node lateral to one jugular vein; painted over soft tissue and air, not over bone, teeth, metal, the
    canal or the vessels. Returns its mask."""
    r = draw(rng, a.tumour_r)
    node = rng.random() < a.node_p
    side = 1 if rng.random() < 0.5 else -1
    shape = rng.uniform(0.85, 1.15, 3)
    radii = tuple(float(v) for v in r * shape / np.prod(shape) ** (1 / 3))  # the volume of a sphere of radius r
    if node:
        vein = vessels["jugular_left" if side > 0 else "jugular_right"]
        h = rng.uniform(f.hyoid - 20, jaw.lower_border - 5)
        x = float(np.interp(h, vein.h, vein.x)) + side * (0.4 * r + rng.uniform(2, 6))
        y = float(np.interp(h, vein.h, vein.y)) + rng.uniform(0, 8)
    else:
        h = rng.uniform(jaw.occlusal - 35, jaw.occlusal - 12)
        x = side * rng.uniform(0, 12)
        y = float(np.interp(h, neck.pharynx.h, neck.pharynx.y)) - rng.uniform(0, 10)
    tumour = Ellipsoid((x, y, h), radii)
    core = rng.uniform(0.35, 0.55) if rng.random() < (0.3 if node else 0.15) else 0.0
    grid, labels = canvas.grid, canvas.labels
    sl, xx, yy, zz = grid.crop(*tumour.bounds())
    depth = np.broadcast_to(tumour.depth(xx, yy, zz), labels[sl].shape)
    view = labels[sl]
    inside = (depth > 0) & canvas.subskin[sl] & ~np.isin(view, BONE + (Tissue.CSF, Tissue.BLOOD))
    view[inside] = Tissue.SOFT
    if core:
        view[inside & (depth > (1 - core) * min(radii))] = Tissue.CSF
    target = np.zeros(grid.shape, bool)
    target[sl] = inside
    return target


# --------------------------------------------------------------------------- #
# the CT's metal streaks
# --------------------------------------------------------------------------- #
def _metal_artefact(rng, canvas: Canvas, fillings: list) -> np.ndarray | None:
    """HU added to the CT: in each slice holding a filling's metal, alternating bright and dark radial streaks
    from it (two harmonics in the polar angle, decaying with distance, weighted by how much metal the slice
    holds), and a dark band along the line between two fillings in the same slice (extending past them); inside
    the body only, zero on the metal itself. None without fillings."""
    if not fillings:
        return None
    streaks = [(rng.uniform(250, 500), int(rng.integers(8, 20)), rng.uniform(0, 2 * np.pi), int(rng.integers(24, 44)),
                rng.uniform(0, 2 * np.pi), rng.uniform(12, 25)) for _ in fillings]
    pairs = [(i, j) for i in range(len(fillings)) for j in range(i + 1, len(fillings))]
    bands = {pair: (rng.uniform(150, 350), rng.uniform(2.0, 4.0)) for pair in pairs}
    grid, labels = canvas.grid, canvas.labels
    metal = labels == Tissue.METAL
    dx, dy = float(grid.x[1] - grid.x[0]), float(grid.y[1] - grid.y[0])
    per_slice: dict[int, list] = {}
    for i, (shape, (_, (r, _, _), _)) in enumerate(zip(canvas.fillings, fillings)):
        sl, x, y, z = grid.crop(*shape.bounds())
        inside = np.broadcast_to(shape.depth(x, y, z) > 0, metal[sl].shape) & metal[sl]
        for k in range(inside.shape[0]):
            area = inside[k].sum() * dx * dy
            if area == 0:
                continue
            ky, kx = np.nonzero(inside[k])
            centre = (float(grid.x[sl[2]][kx].mean()), float(grid.y[sl[1]][ky].mean()))
            per_slice.setdefault(sl[0].start + k, []).append((i, centre, min(1.0, area / (np.pi * r * r))))
    out = np.zeros(grid.shape, np.float32)
    x, y = grid.x[None, :], grid.y[:, None]
    for k, items in per_slice.items():
        hu = np.zeros((len(grid.y), len(grid.x)), np.float32)
        for i, (cx, cy), weight in items:
            amp, k1, p1, k2, p2, r0 = streaks[i]
            theta = np.arctan2(y - cy, x - cx)
            dist = np.hypot(x - cx, y - cy)
            pattern = (np.cos(k1 * theta + p1) + 0.6 * np.cos(k2 * theta + p2)) / 1.6
            hu += (amp * weight * r0 / (r0 + dist) * pattern).astype(np.float32)
        for (i, ci, wi), (j, cj, wj) in ((u, v) for u in items for v in items if u[0] < v[0]):
            depth, width = bands[(i, j)]
            seg = np.subtract(cj, ci)
            length2 = float(seg @ seg) or 1.0
            t = ((x - ci[0]) * seg[0] + (y - ci[1]) * seg[1]) / length2
            across = np.hypot(x - ci[0] - t * seg[0], y - ci[1] - t * seg[1])
            beyond = np.maximum(0, np.maximum(-t, t - 1)) * np.sqrt(length2)
            hu -= (depth * min(wi, wj) * np.exp(-(across / width) ** 2) * np.exp(-beyond / 30.0)).astype(np.float32)
        out[k] = np.where((labels[k] != Tissue.AIR) & ~metal[k], hu, 0)
    return out
