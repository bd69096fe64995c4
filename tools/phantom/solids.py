"""More solids, built on :mod:`tools.phantom.shapes`: unions, complements and differences, boxes, slabs, tapered
capsules and chains of them, oriented and turned ellipsoids, a solid rotated about an x-parallel axis, lofts and
tilted cylinders along z. Like the solids there, each gives its bounding box (x, y, z mm) and an approximate depth
(mm, > 0 inside) on the broadcastable coordinate arrays that :meth:`Grid.crop` gives.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from tools.phantom.shapes import Intersection, ellipsoidal_depth

FLOOR = np.float32(-1e3)  # the depth of "far outside"


@dataclass(frozen=True)
class Complement:
    """Everything outside ``shape``."""

    shape: object

    def bounds(self):
        return np.full(3, -np.inf), np.full(3, np.inf)

    def depth(self, x, y, z):
        return -self.shape.depth(x, y, z)


def depth_at(shape, point) -> float:
    """``shape``'s depth at one point (x, y, z mm), its coordinates float32 as a grid's."""
    return float(shape.depth(*(np.float32(c).reshape(1, 1, 1) for c in point)).item())


def difference(shape, minus) -> Intersection:
    """``shape`` without ``minus`` (its bounding box ``shape``'s)."""
    return Intersection((shape, Complement(minus)))


@dataclass(frozen=True)
class Union:
    """Union of solids (maximum of their depths), each evaluated only in its own box; :data:`FLOOR` where none is.
    Takes the axis coordinate arrays that :meth:`Grid.crop` gives."""

    shapes: tuple

    def bounds(self):
        boxes = [s.bounds() for s in self.shapes]
        return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)

    def depth(self, x, y, z):
        axes = [np.asarray(a).ravel() for a in (x, y, z)]
        out = np.full((axes[2].size, axes[1].size, axes[0].size), FLOOR, np.float32)
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
    """A tapered capsule: its radius runs linearly from ``ra`` at ``a`` to ``rb`` at ``b`` (approximate depth)."""

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


def polyline(points, radius, radius_end=None) -> Union:
    """A tube along ``points``: the union of the cones joining successive points, the radius running linearly from
    ``radius`` to ``radius_end`` (default: ``radius``) point by point."""
    n = len(points) - 1
    radius_end = radius if radius_end is None else radius_end
    radii = np.linspace(radius, radius_end, n + 1)
    return Union(tuple(Cone(tuple(points[i]), tuple(points[i + 1]), radii[i], radii[i + 1]) for i in range(n)))


@dataclass(frozen=True)
class OrientedEllipsoid:
    """Ellipsoid with semi-axes ``radii`` along the orthonormal ``axes`` (rows: unit vectors x, y, z).
    ``single``: its depth is evaluated with the axes rounded to float32 (:meth:`tilted`'s, as the head and neck's
    label maps were drawn)."""

    centre: tuple[float, float, float]
    axes: tuple  # three unit vectors (x, y, z)
    radii: tuple[float, float, float]
    single: bool = False

    @classmethod
    def tilted(cls, centre, radii, pitch: float = 0.0, yaw: float = 0.0) -> OrientedEllipsoid:
        """The axis-aligned ellipsoid rotated by ``pitch`` about x (its +z axis leaning towards +y), then by ``yaw``
        about z."""
        cp, sp, cw, sw = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
        rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
        rz = np.array([[cw, -sw, 0], [sw, cw, 0], [0, 0, 1]])
        columns = (rz @ rx).T  # the rotation's columns: the ellipsoid's axes in world coordinates
        return cls(centre, tuple(tuple(float(v) for v in axis) for axis in columns), radii, single=True)

    def half_extent(self) -> np.ndarray:
        a, r = np.asarray(self.axes), np.asarray(self.radii)
        return np.sqrt(((a * r[:, None]) ** 2).sum(axis=0))

    def bounds(self):
        c = np.asarray(self.centre)
        return c - self.half_extent(), c + self.half_extent()

    def depth(self, x, y, z):
        p = (x - self.centre[0], y - self.centre[1], z - self.centre[2])
        axes = np.asarray(self.axes, np.float32) if self.single else self.axes
        local = tuple(float(a[0]) * p[0] + float(a[1]) * p[1] + float(a[2]) * p[2] for a in axes)
        return ellipsoidal_depth(local, self.radii)

    def grown(self, mm: float) -> OrientedEllipsoid:
        return replace(self, radii=tuple(r + mm for r in self.radii))


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
class Rotated:
    """``shape`` rotated by ``angle`` (rad) about the x-parallel axis through (y, z) = ``centre``; a positive angle
    moves what lies in front of the axis (smaller y) down (a mandible opening about its condyles)."""

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


def rotated(shape, centre: tuple[float, float], angle: float):
    """:class:`Rotated`, or ``shape`` itself where the angle is 0."""
    return shape if angle == 0.0 else Rotated(shape, centre, angle)


@dataclass(frozen=True)
class Loft:
    """A vertical-ish tube: its axial cross-sections are ellipses whose centre (``x``, ``y``) and semi-axes are
    interpolated between control heights ``h`` (increasing); flat ends at the first and last height."""

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

    def grown(self, mm: float) -> Loft:
        """The loft with its cross-sections' semi-axes ``mm`` longer (the same heights)."""
        return replace(self, semi_x=tuple(v + mm for v in self.semi_x), semi_y=tuple(v + mm for v in self.semi_y))


@dataclass(frozen=True)
class TiltedCylinder:
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
