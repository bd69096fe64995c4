"""Solids and the painting of a label map with them.

Anatomy is described by simple solids (ellipsoids, capsules, shells, curved plates) that each provide an
approximate signed distance in mm ("depth", positive inside).  Thresholding these depths gives layered
structures.  Everything is evaluated with vectorised numpy on the voxel-centre coordinates (mm, in array order
z, y, x) of a :class:`Grid`; each solid is only evaluated in the crop of its bounding box.  :func:`draw` is the
one draw of a value from a range (or one of several) that sizes them.  More solids (unions, complements, cones,
oriented ellipsoids, lofts, ...) are in :mod:`tools.phantom.solids`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from tools.phantom.tissues import Tissue


@dataclass
class Drawn:
    """What a region's anatomy draw gives (SynthRAD2025's regions: tools.phantom.headneck, .thorax, .abdomen)."""

    labels: np.ndarray  # (z, y, x) uint8, values of Tissue
    spacing: tuple[float, float, float]  # (x, y, z) mm
    structures: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (z, y, x) bool: "target" and OARs
    #: HU added to the CT after its blur (float32, the labels' shape), or None: what CT shows and MR does not,
    #: e.g. the streaks a dental filling makes.
    ct_artefact: np.ndarray | None = None


@dataclass(frozen=True)
class Grid:
    """Voxel-centre coordinates (mm, float32) of an array in (z, y, x) order."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray

    @classmethod
    def centred(cls, size_xyz, spacing_xyz, shift_xyz) -> "Grid":
        """x and y centred on the array (plus shift), z counted from the first slice."""
        axes = []
        for axis, (n, s, d) in enumerate(zip(size_xyz, spacing_xyz, shift_xyz)):
            centre = 0.0 if axis == 2 else (n - 1) / 2.0
            axes.append(((np.arange(n) - centre) * s + d).astype(np.float32))
        return cls(*axes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (nz, ny, nx)."""
        return (len(self.z), len(self.y), len(self.x))

    def crop(self, lo, hi):
        """Slices (z, y, x) and broadcastable X, Y, Z covering the box lo..hi (x, y, z mm)."""
        ranges = [
            slice(int(np.searchsorted(ax, lo_, "left")), int(np.searchsorted(ax, hi_, "right")))
            for ax, lo_, hi_ in zip((self.x, self.y, self.z), lo, hi)
        ]
        sl = (ranges[2], ranges[1], ranges[0])
        return (
            sl,
            self.x[ranges[0]][None, None, :],
            self.y[ranges[1]][None, :, None],
            self.z[ranges[2]][:, None, None],
        )

    def full(self):
        """Broadcastable X, Y, Z of the whole grid."""
        return self.x[None, None, :], self.y[None, :, None], self.z[:, None, None]


class Shape(Protocol):
    """A solid: bounding box (x, y, z mm) and approximate depth (mm, > 0 inside)."""

    def bounds(self) -> tuple[np.ndarray, np.ndarray]: ...

    def depth(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray: ...


def ellipsoidal_depth(offsets, radii, scale=1.0):
    """Approximate depth below the surface rho = scale of an axis-aligned ellipsoid.

    ``offsets`` are coordinates relative to the centre, ``radii`` the semi-axes
    (scalars or broadcastable arrays).  The depth is measured along the ray from
    the centre, which is exact for spheres and close for moderate eccentricity.
    """
    rho2 = sum((o / r) ** 2 for o, r in zip(offsets, radii))
    dist2 = sum(o**2 for o in offsets)
    centre = rho2 < 1e-12
    ratio = np.sqrt(dist2 / np.where(centre, np.float32(1.0), rho2))
    ratio = np.where(centre, functools.reduce(np.minimum, radii), ratio)
    return (scale - np.sqrt(rho2)) * ratio


@dataclass(frozen=True)
class Ellipsoid:
    """Axis-aligned ellipsoid (a sphere when all radii are equal)."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]

    def bounds(self):
        c, r = np.asarray(self.centre), np.asarray(self.radii)
        return c - r, c + r

    def depth(self, x, y, z):
        offsets = (x - self.centre[0], y - self.centre[1], z - self.centre[2])
        return ellipsoidal_depth(offsets, self.radii)

    def grown(self, mm: float) -> Ellipsoid:
        """The ellipsoid with every radius ``mm`` longer (shorter where negative)."""
        return Ellipsoid(self.centre, tuple(r + mm for r in self.radii))


@dataclass(frozen=True)
class Capsule:
    """Cylinder of ``radius`` around the segment a-b, with spherical caps."""

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    radius: float

    def bounds(self):
        a, b = np.asarray(self.a), np.asarray(self.b)
        return np.minimum(a, b) - self.radius, np.maximum(a, b) + self.radius

    def depth(self, x, y, z):
        a, ab = np.asarray(self.a), np.asarray(self.b) - np.asarray(self.a)
        p = (x - a[0], y - a[1], z - a[2])
        t = np.clip(sum(pi * ab[i] for i, pi in enumerate(p)) / float(ab @ ab), 0.0, 1.0)
        dist2 = sum((pi - t * ab[i]) ** 2 for i, pi in enumerate(p))
        return self.radius - np.sqrt(dist2)

    def grown(self, mm: float) -> Capsule:
        """The capsule with its radius ``mm`` larger."""
        return Capsule(self.a, self.b, self.radius + mm)


@dataclass(frozen=True)
class SphericalShell:
    """Spherical shell between radii ``inner`` and ``outer`` around ``centre``."""

    centre: tuple[float, float, float]
    inner: float
    outer: float

    def bounds(self):
        c = np.asarray(self.centre)
        return c - self.outer, c + self.outer

    def depth(self, x, y, z):
        c = self.centre
        r = np.sqrt((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2)
        return np.minimum(self.outer - r, r - self.inner)


@dataclass(frozen=True)
class HalfSpace:
    """Half space ``coordinate < value`` (sign +1) or ``coordinate > value`` (sign -1)."""

    axis: int  # 0 = x, 1 = y, 2 = z
    value: float
    sign: int

    def bounds(self):
        lo, hi = np.full(3, -np.inf), np.full(3, np.inf)
        (hi if self.sign > 0 else lo)[self.axis] = self.value
        return lo, hi

    def depth(self, x, y, z):
        return self.sign * (self.value - (x, y, z)[self.axis])


@dataclass(frozen=True)
class Intersection:
    """Intersection of solids (minimum of their depths)."""

    shapes: tuple

    def bounds(self):
        boxes = [s.bounds() for s in self.shapes]
        return np.max([b[0] for b in boxes], axis=0), np.min([b[1] for b in boxes], axis=0)

    def depth(self, x, y, z):
        return functools.reduce(np.minimum, (s.depth(x, y, z) for s in self.shapes))


def paint(labels, grid: Grid, shape: Shape, tissue, margin=0.0, where=None, only=None, keep=None):
    """Set ``labels`` to ``tissue`` where depth > margin and, where given, inside ``where`` (a full-grid mask, or a
    function ``(x, y, z, crop slices) -> mask`` of the crop), on a label among ``only`` and on none among ``keep``.
    Returns the crop's slices and the voxels painted in it (None where the crop is empty)."""
    sl, x, y, z = grid.crop(*shape.bounds())
    view = labels[sl]
    if view.size == 0:
        return None
    inside = np.broadcast_to(shape.depth(x, y, z) > margin, view.shape)
    if callable(where):
        inside = inside & where(x, y, z, sl)
    elif where is not None:
        inside = inside & where[sl]
    if only is not None:
        inside = inside & np.isin(view, only)
    if keep is not None:
        inside = inside & ~np.isin(view, keep)
    view[inside] = tissue
    return sl, inside


def mask(grid: Grid, shape: Shape, margin=0.0, out=None) -> np.ndarray:
    """The full-grid boolean mask of where ``shape``'s depth > margin; or'ed into ``out`` (and returned) if given."""
    out = np.zeros(grid.shape, bool) if out is None else out
    sl, x, y, z = grid.crop(*shape.bounds())
    if out[sl].size:
        out[sl] |= np.broadcast_to(shape.depth(x, y, z) > margin, out[sl].shape)
    return out


def accumulate_union(field_, grid: Grid, shape: Shape) -> None:
    """field_ = max(field_, depth of ``shape``): union of solids as a depth field."""
    sl, x, y, z = grid.crop(*shape.bounds())
    view = field_[sl]
    if view.size:
        np.maximum(view, np.broadcast_to(shape.depth(x, y, z), view.shape), out=view)


def paint_bone(labels, depth, cortex_mm, where) -> None:
    """Cortical shell of thickness ``cortex_mm`` with marrow inside, from a depth field."""
    bone = (depth > 0) & where
    labels[bone] = Tissue.CORTICAL
    labels[bone & (depth > cortex_mm)] = Tissue.MARROW


def draw(rng, *ranges: tuple[float, float]) -> float:
    """A uniform draw from one of ``ranges`` (chosen at random where several); lo == hi draws nothing."""
    if len(ranges) > 1:
        ranges = (ranges[int(rng.integers(len(ranges)))],)
    ((lo, hi),) = ranges
    return lo if lo == hi else rng.uniform(lo, hi)
