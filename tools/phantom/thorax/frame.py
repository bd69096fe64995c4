"""The thorax's frame, which everything else is placed by: the body outline, the ribs' centre line (the cage),
the diaphragm, the lung apices, the spine's curve and the cylinders that follow it; :class:`ThoraxPlan` (every
quantity drawn for one thorax) with its first draws (outline, fat, heights) and its last (the field of view)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tools.phantom.shapes import Ellipsoid, draw, ellipsoidal_depth
from tools.phantom.solids import OrientedEllipsoid
from tools.phantom.thorax.ranges import LEFT, SPACING, ThoraxAnatomy


def unit(v) -> np.ndarray:
    """The unit vector along ``v``."""
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def floats(v) -> tuple[float, ...]:
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


def draw_frame(rng, a: ThoraxAnatomy) -> ThoraxPlan:
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


def draw_field_of_view(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
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
