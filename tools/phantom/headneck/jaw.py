"""The jaws: the U-shaped arches and the bony solids along them (shared with the hyoid), the mandible (opening
about its condyles) and maxilla, the teeth, the dental fillings and the streaks they make on CT (which MR does not
show)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from tools.phantom.headneck.body import Canvas, Frame
from tools.phantom.headneck.ranges import HeadNeckAnatomy
from tools.phantom.shapes import Capsule, Ellipsoid, draw, ellipsoidal_depth, paint
from tools.phantom.solids import OrientedEllipsoid, rotated
from tools.phantom.tissues import Tissue


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


def draw_jaw(rng, f: Frame, a: HeadNeckAnatomy) -> Jaw:
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


def jaw_solids(jaw: Jaw, f: Frame) -> tuple[list, list]:
    """Bony solids: the mandible's (opened with the jaw) and the maxilla's."""
    mandible = [ArchPlate(jaw.arch, jaw.y_arch, 6.0, jaw.lower_border, jaw.lower_crest + 1.0)]
    xc, yc, zc = jaw.condyle
    for side in (1, -1):
        x_r = side * (jaw.x_angle + 1.5)
        y_end = jaw.y_angle
        mandible += [
            Bar((side * jaw.arch.width, jaw.y_arch), (side * jaw.x_angle, jaw.y_angle), 5.5, jaw.lower_border,
                jaw.lower_crest + 1.0),
            OrientedEllipsoid.tilted((x_r, y_end + 3, (jaw.lower_border + zc) / 2),
                                     (4.0, 14.0, (zc - jaw.lower_border) / 2),
                                     pitch=np.arctan2(yc - y_end - 3, zc - jaw.lower_border)),
            Ellipsoid((side * xc, yc, zc), (9.0, 5.5, 6.0)),
            Ellipsoid((x_r - side * 2, y_end - 14, jaw.occlusal + 14), (3.0, 5.0, 9.0)),
        ]
    mandible = [rotated(s, jaw.axis, jaw.angle) for s in mandible]
    y_tuber = jaw.upper.at_length(sum(TOOTH_WIDTH[0]) + 4)[1]
    palate_back = jaw.upper.at_length(sum(TOOTH_WIDTH[0][:7]))[1] + 4
    maxilla = [
        ArchPlate(jaw.upper, y_tuber, 6.5, jaw.upper_crest - 1, f.palate + 4),
        Palate(jaw.upper, palate_back, f.palate - 3, f.palate + 3),
    ]
    return mandible, maxilla


def paint_teeth(canvas: Canvas, jaw: Jaw) -> list:
    """Roots (dense dentin: CORTICAL), crowns (ENAMEL) and fillings (METAL); returns the fillings' solids."""
    for t in jaw.teeth:
        r = t.radius
        root = Capsule((t.x, t.y, t.root[0] + 0.55 * r), (t.x, t.y, t.root[1]), 0.55 * r)
        crown = Capsule((t.x, t.y, t.crown[0] + r * 0.5), (t.x, t.y, t.crown[1] - r * 0.5), r)
        for shape, tissue in ((root, Tissue.CORTICAL), (crown, Tissue.ENAMEL)):
            paint(canvas.labels, canvas.grid, rotated(shape, jaw.axis, jaw.angle * t.lower), tissue,
                  where=canvas.body)
    solids = []
    for centre, radii, lower in jaw.fillings:
        shape = rotated(Ellipsoid(centre, radii), jaw.axis, jaw.angle * lower)
        paint(canvas.labels, canvas.grid, shape, Tissue.METAL, where=canvas.body)
        solids.append(shape)
    return solids


def metal_artefact(rng, canvas: Canvas, fillings: list) -> np.ndarray | None:
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
