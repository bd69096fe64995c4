"""The thorax's skeleton: the sternum, scapulae and ribs as solids; the draws of the rib cage, diaphragm, lung
apices and vertebrae (with canal and cord), of the ribs, and of the shoulder girdle with the arms (when in the
field)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.phantom.shapes import Capsule, Ellipsoid, draw, ellipsoidal_depth
from tools.phantom.solids import Cone
from tools.phantom.thorax.frame import Column, Diaphragm, Kyphosis, LungApex, RibCage, ThoraxPlan
from tools.phantom.thorax.ranges import LEFT, RIGHT, ThoraxAnatomy


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


def draw_cage_and_spine(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
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


def draw_shoulders(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
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
