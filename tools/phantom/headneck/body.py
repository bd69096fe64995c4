"""The head and neck's frame and body: the landmark heights and the spine's curve (:class:`Frame`), the lean
outline (:class:`Outline`), the field of view's grid, the :class:`Canvas` everything is painted on, and the skin,
subcutaneous fat, nose and ears."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.phantom.headneck.ranges import SLICES, SPACING, HeadNeckAnatomy
from tools.phantom.shapes import Ellipsoid, Grid, draw, ellipsoidal_depth, mask, paint
from tools.phantom.tissues import Tissue

BONE = (Tissue.CORTICAL, Tissue.MARROW, Tissue.DIPLOE, Tissue.ENAMEL, Tissue.METAL)  # soft tissue and air spare these


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


def draw_frame(rng, a: HeadNeckAnatomy) -> Frame:
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


def draw_outline(rng, f: Frame, a: HeadNeckAnatomy) -> Outline:
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


def fov_grid(rng, f: Frame, outline: Outline, a: HeadNeckAnatomy, scale) -> Grid:
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

    def paint_protected(self, shape, tissue, margin=0.0) -> None:
        """Paint inside the lean body except over bone, teeth and metal."""
        paint(self.labels, self.grid, shape, tissue, margin, where=self.inner, keep=BONE)

    def paint_over(self, shape, tissue, over) -> None:
        """Paint only where the label map holds ``over``."""
        paint(self.labels, self.grid, shape, tissue, only=(over,))

    def mask(self, shape, margin=0.0) -> np.ndarray:
        """The full-size boolean mask of ``shape``'s inside."""
        return mask(self.grid, shape, margin)


def paint_body(rng, grid: Grid, outline: Outline, f: Frame) -> Canvas:
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
        mask(grid, shape, out=canvas.body)  # the body grows by them
    for side in (1, -1):
        nostril = Ellipsoid((side * 6.0, nose_y - nose.radii[1] * 0.45, p + 5), (3.5, 6.0, 5.0))
        paint(labels, grid, nostril, Tissue.GAS, where=canvas.body)
    return canvas
