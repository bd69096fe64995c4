"""The pelvis: its anatomy's ranges, its solids (body outline, bones, viscera), its label map and its planning
structures."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tools.phantom.shapes import (Capsule, Ellipsoid, Grid, HalfSpace, Intersection, SphericalShell, accumulate_union,
                                  draw, ellipsoidal_depth, paint, paint_bone)
from tools.phantom.tissues import Tissue

PELVIS_SPACING = (1.0, 1.0, 2.5)  # SimpleITK (x, y, z) order, mm


@dataclass(frozen=True)
class PelvisAnatomy:
    """The ranges a pelvis's anatomy is drawn from (uniformly; integers for counts). :data:`DEFAULT_PELVIS` is the
    generator's own (its draws, in order, exactly as they always were: a degenerate range, lo == hi, draws
    nothing); the data engine (tools.synth) trains on the wide :data:`ENGINE_PELVIS`, and the unseen-anatomy
    held-out set (:data:`UNSEEN_PELVIS`, case ids ``1PU...``) lies outside it."""

    name: str
    semi_x: tuple[float, float] = (150.0, 190.0)  # body half-width, mm, before any extra fat
    semi_y: tuple[float, float] = (100.0, 125.0)
    fat_mm: tuple[float, float] = (10.0, 30.0)  # subcutaneous fat
    extra_fat_mm: tuple[float, float] = (0.0, 0.0)  # obesity: added to the fat and to the body outline
    fov_x: tuple[int, int] = (330, 420)  # field of view, voxels (the body may be cut at its edges)
    fov_y: tuple[int, int] = (230, 290)
    head_r: tuple[float, float] = (22.0, 27.0)  # femoral head radius, mm
    sacrum_half_width: tuple[float, float] = (45.0, 55.0)
    bowel_loops: tuple[int, int] = (6, 14)  # [lo, hi)
    loop_radius: tuple[float, float] = (10.0, 22.0)
    loop_gas_p: float = 0.6  # each loop's chance of gas (the first two always have some)
    gas_level: tuple[float, float] = (0.4, 0.7)  # gas-fluid level, fraction of the loop's AP extent
    rectum_r: tuple[float, float] = (10.0, 16.0)
    rectum_gas_p: float = 0.6
    bladder_radii: tuple[tuple[float, float], ...] = ((30.0, 55.0), (25.0, 40.0), (20.0, 40.0))


DEFAULT_PELVIS = PelvisAnatomy("default")
ENGINE_PELVIS = PelvisAnatomy(
    "engine", semi_x=(140.0, 195.0), semi_y=(95.0, 130.0), fat_mm=(4.0, 35.0), extra_fat_mm=(0.0, 45.0),
    fov_x=(330, 480), fov_y=(230, 340), head_r=(20.0, 29.0), sacrum_half_width=(40.0, 60.0), bowel_loops=(3, 18),
    loop_radius=(8.0, 26.0), loop_gas_p=0.5, gas_level=(0.1, 0.9), rectum_r=(8.0, 22.0), rectum_gas_p=0.5,
    bladder_radii=((20.0, 65.0), (15.0, 55.0), (12.0, 50.0)),
)
#: Outside the engine's ranges: very obese, a very full bladder, large gas in wide bowel loops and rectum.
UNSEEN_PELVIS = PelvisAnatomy(
    "unseen", semi_x=(150.0, 190.0), semi_y=(100.0, 125.0), fat_mm=(30.0, 40.0), extra_fat_mm=(50.0, 65.0),
    fov_x=(420, 520), fov_y=(300, 380), bowel_loops=(8, 14), loop_radius=(26.0, 32.0), loop_gas_p=0.9,
    gas_level=(0.9, 0.97), rectum_r=(22.0, 26.0), rectum_gas_p=1.0,
    bladder_radii=((66.0, 75.0), (56.0, 62.0), (51.0, 56.0)),
)
PELVIS_ANATOMIES = {a.name: a for a in (DEFAULT_PELVIS, ENGINE_PELVIS, UNSEEN_PELVIS)}


@dataclass(frozen=True)
class PelvisBody:
    """Axial ellipse with a smooth angular perturbation, slow z variation and a flat back."""

    semi_x: float
    semi_y: float
    harmonics: np.ndarray  # (k, 2): cos/sin amplitudes of orders 2.. on the radius
    z_slope: tuple[float, float]  # relative size change per unit height (x, y)
    height: float
    back_y: float  # posterior flattening (patient lies on the table)

    def extent(self) -> tuple[float, float]:
        """Largest x and |y| reached by the outline (for choosing the FOV)."""
        grow = 1.0 + np.abs(self.harmonics).sum()
        zs = 1.0 + 0.5 * np.abs(np.asarray(self.z_slope))
        return self.semi_x * grow * zs[0], self.semi_y * grow * zs[1]

    def angular_scale(self, x, y) -> np.ndarray:
        """Relative outline radius as a function of the (normalised) polar angle."""
        theta = np.arctan2(y / self.semi_y, x / self.semi_x)
        scale = np.ones_like(theta)
        for order, (c, s) in enumerate(self.harmonics, start=2):
            scale += c * np.cos(order * theta) + s * np.sin(order * theta)
        return scale

    def depth(self, x, y, z):
        rel = z / self.height - 0.5
        semi_x = self.semi_x * (1.0 + self.z_slope[0] * rel)
        semi_y = self.semi_y * (1.0 + self.z_slope[1] * rel)
        outline = ellipsoidal_depth((x, y), (semi_x, semi_y), self.angular_scale(x, y))
        return np.minimum(outline, self.back_y - y)


@dataclass(frozen=True)
class IliacWing:
    """Curved bony plate along an elliptic arc, flaring laterally towards the crest."""

    side: int  # +1: x > 0, -1: x < 0
    centre: tuple[float, float]  # (lateral offset, y) of the arc ellipse
    semi_axes: tuple[float, float]  # at the crest
    z_range: tuple[float, float]
    arc: tuple[float, float]  # polar angles (rad) of the ends, 0 = lateral, pi/2 = posterior
    half_thickness: float
    low_scale: float = 0.7  # relative size of the arc at the bottom

    def bounds(self):
        cx, cy = self.centre
        ax, ay = self.semi_axes[0] + self.half_thickness, self.semi_axes[1] + self.half_thickness
        xs = sorted((self.side * (cx - ax), self.side * (cx + ax)))
        return (
            np.array([xs[0], cy - ay, self.z_range[0]]),
            np.array([xs[1], cy + ay, self.z_range[1]]),
        )

    def depth(self, x, y, z):
        z0, z1 = self.z_range
        grow = self.low_scale + (1 - self.low_scale) * np.clip((z - z0) / (z1 - z0), 0, 1)
        lx, ly = self.side * x - self.centre[0], y - self.centre[1]
        axes = (self.semi_axes[0] * grow, self.semi_axes[1] * grow)
        across = self.half_thickness - np.abs(ellipsoidal_depth((lx, ly), axes))
        phi = np.arctan2(ly * self.semi_axes[0], lx * self.semi_axes[1])
        along = np.minimum(phi - self.arc[0], self.arc[1] - phi) * np.sqrt(lx**2 + ly**2)
        return np.minimum(np.minimum(across, along), np.minimum(z - z0, z1 - z))


@dataclass(frozen=True)
class Sacrum:
    """Posterior midline wedge, wide at the top, curving forward to the coccyx."""

    y_centre: float
    half_width: float  # at the top
    half_depth: float
    z_range: tuple[float, float]
    curve: float  # anterior shift (mm) of the tip

    def bounds(self):
        z0, z1 = self.z_range
        return (
            np.array([-self.half_width, self.y_centre - self.curve - self.half_depth, z0]),
            np.array([self.half_width, self.y_centre + self.half_depth, z1]),
        )

    def depth(self, x, y, z):
        z0, z1 = self.z_range
        u = np.clip((z - z0) / (z1 - z0), 0, 1)
        w = self.half_width * (0.35 + 0.65 * u)
        h = self.half_depth * (0.6 + 0.4 * u)
        dy = y - (self.y_centre - self.curve * (1 - u) ** 2)
        body = ellipsoidal_depth((x, dy), (w, h))
        canal = ellipsoidal_depth((x, dy - 0.3 * h), (0.22 * w, 0.3 * h))
        return np.minimum(np.minimum(body, -canal), np.minimum(z - z0, z1 - z))


def pelvis_labels(rng, scale=(1.0, 1.0, 1.0), anatomy: PelvisAnatomy = DEFAULT_PELVIS
                  ) -> tuple[np.ndarray, tuple[float, float, float], dict[str, np.ndarray]]:
    """Draw a pelvis field of view, its tissue label map and its planning structures from ``anatomy``'s ranges;
    ``scale``: voxels per default voxel along (x, y, z) (the field of view in mm stays the one drawn)."""
    a = anatomy
    nz = int(rng.integers(40, 65))
    semi_y = rng.uniform(*a.semi_y)
    body = PelvisBody(
        semi_x=rng.uniform(*a.semi_x),
        semi_y=semi_y,
        harmonics=rng.uniform(-0.008, 0.008, size=(3, 2)),
        z_slope=tuple(rng.uniform(-0.1, 0.1, size=2)),
        height=nz * PELVIS_SPACING[2],
        back_y=semi_y * rng.uniform(0.85, 0.95),
    )
    # obesity: the outline grows by the extra fat, the skeleton and viscera are placed in the lean body
    extra = draw(rng, a.extra_fat_mm)
    outline = replace(body, semi_x=body.semi_x + extra, semi_y=body.semi_y + extra, back_y=body.back_y + extra)
    ext_x, ext_y = outline.extent()
    nx = int(np.clip(round(2 * ext_x + rng.uniform(16, 40)), *a.fov_x))
    ny = int(np.clip(round(ext_y + outline.back_y + rng.uniform(16, 40)), *a.fov_y))
    # shift so that the FOV is centred on the body's AP extent, plus a small offset
    shift = (rng.uniform(-5, 5), (outline.back_y - ext_y) / 2 + rng.uniform(-5, 5), 0.0)
    spacing = tuple(s / f for s, f in zip(PELVIS_SPACING, scale))
    grid = Grid.centred(tuple(round(n * f) for n, f in zip((nx, ny, nz), scale)), spacing, shift)

    x, y, z = grid.full()
    depth = outline.depth(x, y, z).astype(np.float32)
    skin = rng.uniform(1.5, 2.5)
    fat_thickness = rng.uniform(*a.fat_mm) * (1 + 0.3 * np.cos(
        np.arctan2(y, x) - rng.uniform(-np.pi, np.pi))) + extra
    labels = np.where(depth > 0, Tissue.SOFT, Tissue.AIR).astype(np.uint8)
    labels[(depth > skin) & (depth <= fat_thickness)] = Tissue.FAT
    inner = depth > fat_thickness + 3

    bones = _pelvis_bones(body, fat_thickness.mean() - extra, rng, a)
    bladder, rectum = _pelvis_viscera(labels, grid, body, bones, inner, rng, a)
    bone_depth = np.full(grid.shape, -1e3, np.float32)
    for shape in bones.solids:
        accumulate_union(bone_depth, grid, shape)
    paint_bone(labels, bone_depth, rng.uniform(2, 4), where=depth > skin + 2)
    return labels, spacing, _pelvis_structures(grid, bladder, rectum, inner)


# The pelvis phantom's target: a prostate-like sphere of this radius (mm) between the bladder's base and the rectum.
PELVIS_TARGET_RADIUS = 20.0


def _pelvis_structures(grid, bladder, rectum, inner) -> dict[str, np.ndarray]:
    """Bladder and rectum as drawn (their walls included), and a target sphere centred halfway between the
    bladder's posterior wall and the rectum's anterior wall, at the height of the bladder's lower part - all
    inside the pelvic cavity."""
    x, y, z = grid.full()
    height = bladder.centre[2] - 0.6 * bladder.radii[2]
    a, b = np.asarray(rectum.a), np.asarray(rectum.b)
    t = float(np.clip((height - a[2]) / (b[2] - a[2]), 0.0, 1.0)) if b[2] != a[2] else 0.0
    rectum_y = a[1] + t * (b[1] - a[1])
    between = 0.5 * ((bladder.centre[1] + bladder.radii[1]) + (rectum_y - rectum.radius))
    target = Ellipsoid((bladder.centre[0], between, height), (PELVIS_TARGET_RADIUS,) * 3)
    return {"target": (target.depth(x, y, z) > 0) & inner, "bladder": (bladder.depth(x, y, z) > 0) & inner,
            "rectum": (rectum.depth(x, y, z) > 0) & inner}


@dataclass(frozen=True)
class PelvisBones:
    """Bony solids of the pelvis and the landmarks the viscera are placed against."""

    solids: list
    head_z: float  # height of the femoral head centres
    symphysis: tuple[float, float, float]  # right end of the pubic symphysis
    sacrum: Sacrum


def _pelvis_bones(body: PelvisBody, fat: float, rng, anatomy: PelvisAnatomy = DEFAULT_PELVIS) -> PelvisBones:
    """Femora, acetabula, ilia, pubic and ischial rami and sacrum (both sides)."""
    a, b = body.semi_x, body.semi_y
    head_x = float(np.clip(a * rng.uniform(0.52, 0.6), 85, 100))
    head_y = b * rng.uniform(-0.15, 0.0)
    head_z = rng.uniform(35, 50)
    head_r = rng.uniform(*anatomy.head_r)
    ramus_r = rng.uniform(8, 10)
    symphysis = (ramus_r + rng.uniform(1.5, 3), -(b - fat - rng.uniform(20, 30)),
                 head_z - rng.uniform(5, 15))
    ischium = (head_x - rng.uniform(15, 25), head_y + rng.uniform(25, 35),
               head_z - rng.uniform(30, 40))
    trochanter = (head_x + rng.uniform(35, 45), head_y + rng.uniform(5, 15),
                  head_z - rng.uniform(25, 35))
    knee_x = head_x + rng.uniform(20, 30)
    wing_cx = a * rng.uniform(0.25, 0.32)
    wing_cy = b * rng.uniform(0.0, 0.1)
    wing_a = (head_x + 5 - wing_cx) / 0.7
    wing_b = b * rng.uniform(0.4, 0.5)
    wing_z = (head_z + 15, head_z + rng.uniform(90, 130))
    wing_arc = np.deg2rad((rng.uniform(-45, -35), rng.uniform(110, 120)))
    wing_half = rng.uniform(5.5, 8)
    neck_r, shaft_r, troch_r = head_r * 0.6, rng.uniform(13, 16), rng.uniform(16, 20)

    solids = []
    for s in (1, -1):
        head = (s * head_x, head_y, head_z)
        solids += [
            Ellipsoid(head, (head_r,) * 3),
            Capsule(head, (s * trochanter[0], *trochanter[1:]), neck_r),
            Ellipsoid((s * trochanter[0], *trochanter[1:]), (troch_r,) * 3),
            Capsule((s * (trochanter[0] - 5), *trochanter[1:]),
                    (s * knee_x, head_y + 10, head_z - 250), shaft_r),
            Intersection((SphericalShell(head, head_r + 2, head_r + 10),
                          HalfSpace(0, s * (head_x + 0.35 * head_r), s))),
            Capsule((s * (head_x - 8), head_y + 5, head_z + 10),
                    (s * (head_x - 5), wing_cy + 0.3 * wing_b, wing_z[0] + 15), 14.0),
            IliacWing(s, (wing_cx, wing_cy), (wing_a, wing_b), wing_z, tuple(wing_arc),
                      wing_half),
            Capsule((s * (head_x - 10), head_y - 0.6 * head_r, head_z + 3),
                    (s * symphysis[0], *symphysis[1:]), ramus_r),
            Capsule((s * symphysis[0], symphysis[1], symphysis[2] - 10),
                    (s * ischium[0], *ischium[1:]), ramus_r),
            Capsule((s * (head_x - 5), head_y + 0.6 * head_r, head_z - 5),
                    (s * ischium[0], *ischium[1:]), rng.uniform(11, 14)),
            Ellipsoid((s * ischium[0], *ischium[1:]), (14.0,) * 3),
        ]
    sacrum = Sacrum(
        y_centre=wing_cy + 0.9 * wing_b,
        half_width=rng.uniform(*anatomy.sacrum_half_width),
        half_depth=rng.uniform(12, 18),
        z_range=(head_z - rng.uniform(10, 20), wing_z[1] + 20),
        curve=rng.uniform(10, 20),
    )
    solids.append(sacrum)
    return PelvisBones(solids, head_z, symphysis, sacrum)


def _pelvis_viscera(labels, grid, body, bones, inner, rng, anatomy: PelvisAnatomy = DEFAULT_PELVIS) -> None:
    """Paint pelvic-cavity fat, psoas muscles, bowel loops with gas, rectum and bladder; returns the bladder and
    the rectum solids."""
    a, b = body.semi_x, body.semi_y
    head_z, symphysis, sacrum = bones.head_z, bones.symphysis, bones.sacrum
    cavity = Intersection((
        Ellipsoid((0, b * rng.uniform(-0.15, 0), head_z + 120),
                  (a * rng.uniform(0.35, 0.45), b * rng.uniform(0.45, 0.55), 160)),
        HalfSpace(2, head_z - 10, -1),
    ))
    paint(labels, grid, cavity, Tissue.FAT, where=inner)
    for s in (1, -1):
        psoas = Capsule((s * rng.uniform(35, 50), b * rng.uniform(0.1, 0.25), head_z + 30),
                        (s * rng.uniform(45, 60), b * rng.uniform(0.0, 0.15), head_z + 400),
                        rng.uniform(15, 22))
        paint(labels, grid, psoas, Tissue.SOFT, where=inner)

    n_loops = int(rng.integers(*anatomy.bowel_loops))
    for i in range(n_loops):
        loop = Ellipsoid(
            (a * rng.uniform(-0.35, 0.35), b * rng.uniform(-0.55, 0.1),
             rng.uniform(head_z + 25, body.height + 10)),
            tuple(rng.uniform(*anatomy.loop_radius, size=3)),
        )
        has_gas = rng.random() < anatomy.loop_gas_p or i < 2  # at least two loops hold gas
        _paint_bowel(labels, grid, loop, has_gas, rng, inner, anatomy.gas_level)

    tip_z = sacrum.z_range[0]
    rectum_r = rng.uniform(*anatomy.rectum_r)
    rectum = Capsule(
        (0.0, sacrum.y_centre - sacrum.curve - 0.6 * sacrum.half_depth - rectum_r - 6, tip_z - 20),
        (rng.uniform(-10, 10), sacrum.y_centre - sacrum.half_depth - rectum_r - 8, head_z + 50),
        rectum_r,
    )
    paint(labels, grid, Capsule(rectum.a, rectum.b, rectum_r + rng.uniform(8, 15)),
          Tissue.FAT, where=inner)
    _paint_bowel(labels, grid, rectum, rng.random() < anatomy.rectum_gas_p, rng, inner, anatomy.gas_level)

    bladder = Ellipsoid(
        (0.0, symphysis[1] + rng.uniform(35, 45), head_z + rng.uniform(0, 20)),
        tuple(rng.uniform(*r) for r in anatomy.bladder_radii),
    )
    paint(labels, grid, bladder, Tissue.SOFT, where=inner)
    paint(labels, grid, bladder, Tissue.URINE, margin=2.0, where=inner)
    return bladder, rectum


def _paint_bowel(labels, grid, loop, has_gas, rng, where, gas_level=(0.4, 0.7)) -> None:
    """A bowel segment: soft-tissue wall, content and, optionally, a gas cap.

    The patient lies supine, so gas collects anteriorly (small y) above a
    horizontal gas-fluid level.
    """
    wall = 1.5
    paint(labels, grid, loop, Tissue.SOFT, where=where)
    paint(labels, grid, loop, Tissue.BOWEL, margin=wall, where=where)
    if has_gas:
        lo, hi = loop.bounds()
        level = lo[1] + (hi[1] - lo[1]) * rng.uniform(*gas_level)
        gas = Intersection((loop, HalfSpace(1, level, 1)))
        paint(labels, grid, gas, Tissue.GAS, margin=wall, where=where)
