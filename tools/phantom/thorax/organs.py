"""The thorax's organs: the mediastinum (airways, oesophagus, heart, great vessels and the envelope that keeps
lung out), the upper abdomen under the diaphragm, the breasts, the lungs' vessel and airway trees, the tumour; the
depth inside a lung."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np

from tools.phantom.shapes import Capsule, Ellipsoid, draw, ellipsoidal_depth
from tools.phantom.solids import Cone, OrientedEllipsoid, Slab
from tools.phantom.thorax.frame import Column, Kyphosis, RibCage, ThoraxPlan, floats, unit
from tools.phantom.thorax.ranges import LEFT, RIGHT, ThoraxAnatomy
from tools.phantom.tissues import Tissue


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
class Tube:
    """A vessel or airway: ``lumen`` of ``tissue`` inside a SOFT wall ``wall`` mm thick."""

    lumen: object  # Capsule or Cone
    wall: float
    tissue: Tissue = Tissue.BLOOD

    def outer(self):
        return self.lumen.grown(self.wall)


def draw_mediastinum(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
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
    hila = {side: floats(np.asarray(main.lumen.b) + (side * rng.uniform(4, 10), -rng.uniform(3, 8), rng.uniform(3, 8)))
            for main, side in ((bronchus_r, RIGHT), (bronchus_l, LEFT))}

    # the heart: on the diaphragm, left and in front, its long axis to the left, forwards and down
    scale = draw(rng, a.heart_scale)
    radii = (rng.uniform(52, 60) * scale, rng.uniform(40, 46) * scale, rng.uniform(30, 36) * scale)
    long_axis = unit((rng.uniform(0.55, 0.8), rng.uniform(-0.45, -0.25), rng.uniform(-0.7, -0.45)))
    across = unit(np.cross(long_axis, (0.0, 0.0, 1.0)))
    third = np.cross(long_axis, across)
    axes = (floats(long_axis), floats(across), floats(third))
    heart = OrientedEllipsoid((0.0, 0.0, 0.0), axes, floats(radii))
    ext = heart.half_extent()
    x_h = draw(rng, a.heart_x)
    y_h = cage.front_y(plan.z_dome) + plan.inset + ext[1] + rng.uniform(3, 10)
    z_h = float(plan.diaphragm.height(x_h, y_h)) + ext[2] - rng.uniform(3, 8)
    heart = replace(heart, centre=(x_h, y_h, z_h))
    centre = np.asarray(heart.centre)
    plan.heart, plan.heart_wall = heart, rng.uniform(6, 10)
    plan.heart_layers = (rng.uniform(1, 4), 1.2, rng.uniform(1, 3))
    plan.septa = (Slab(heart, floats(centre + third * rng.uniform(-8, 8)), floats(third), rng.uniform(3, 5)),
                  Slab(heart, floats(centre - long_axis * radii[0] * rng.uniform(0.15, 0.3)), floats(long_axis),
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
    veins = [Cone(floats(np.asarray(hila[side]) + (0.0, 8.0, dz)), left_atrium, r, r)
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
    plan.mediastinum += [t.outer().grown(2.0) for t in plan.veins_in + plan.arteries if t.lumen not in veins]
    plan.hila = hila


def draw_abdomen(plan: ThoraxPlan, rng) -> None:
    """Liver (right and across the front), stomach with gas in front, spleen (left, behind)."""
    cage, dome_l = plan.cage, plan.diaphragm.domes[1]
    normal = unit((1.0, rng.uniform(0.3, 0.7)))
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


def draw_breasts(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
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
    end = floats(np.asarray(root) + np.asarray(direction) * length)
    branches = [Capsule(floats(root), end, radius)]
    if generations > 0 and radius > 1.3:
        for _ in range(2):
            child = unit(np.asarray(direction) + rng.normal(0.0, 0.5, 3))
            branches += _tree(rng, end, child, length * rng.uniform(0.65, 0.85), radius * rng.uniform(0.6, 0.75),
                              generations - 1)
    return branches


def draw_lung_trees(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
    """Vessel trees from each hilum and, sometimes, a few small airways."""
    for side in (RIGHT, LEFT):
        vessels = []
        for _ in range(int(rng.integers(*a.vessel_branches))):
            direction = unit((side * rng.uniform(0.3, 1.0), rng.uniform(-0.7, 0.7), rng.uniform(-1.0, 1.0)))
            vessels += _tree(rng, plan.hila[side], direction, rng.uniform(30, 50), rng.uniform(3.5, 5.5), 4)
        plan.lung_vessels[side] = vessels
    for side in (RIGHT, LEFT):
        plan.lung_airways[side] = []
        if rng.random() < a.airway_p:
            for _ in range(int(rng.integers(2, 5))):
                direction = unit((side * rng.uniform(0.4, 1.0), rng.uniform(-0.6, 0.6), rng.uniform(-1.0, 1.0)))
                root = np.asarray(plan.hila[side]) + direction * 8
                lumen = Capsule(floats(root), floats(root + direction * rng.uniform(20, 35)), rng.uniform(1.5, 2.5))
                plan.lung_airways[side].append(Tube(lumen, 1.0, Tissue.GAS))


def lung_depth(plan: ThoraxPlan, side: int, x, y, z, mediastinum):
    """Approximate depth (mm) inside one lung: in the cage, under its apex, above the diaphragm, outside the
    mediastinum (``mediastinum``: the envelope's depth at the points) and on its own side."""
    cavity = plan.cage.offset(x, y, z) - plan.inset
    under_apex = (plan.apices[side].top(x, y) - z) * 0.8
    above = (z - plan.diaphragm.height(x, y)) * 0.8
    return np.minimum(np.minimum(np.minimum(cavity, under_apex), np.minimum(above, -mediastinum)), side * x)


def _envelope_at(plan: ThoraxPlan, point) -> float:
    """The mediastinal envelope's depth at one point."""
    return max(float(s.depth(*point)) for s in plan.mediastinum)


def draw_tumour(plan: ThoraxPlan, rng, a: ThoraxAnatomy) -> None:
    """A lobulated tumour in one lung: its centre drawn until at least 0.6 radius inside that lung."""
    side = LEFT if rng.random() < 0.5 else RIGHT
    radius = draw(rng, a.tumour_r)
    cage = plan.cage
    best, best_depth = None, -np.inf
    for _ in range(200):
        p = (side * rng.uniform(15, cage.semi_x),
             rng.uniform(cage.centre_y - cage.semi_front, cage.centre_y + cage.semi_back),
             rng.uniform(plan.z_dome - 30, plan.z_apex))
        d = float(lung_depth(plan, side, *(np.float32(c) for c in p), _envelope_at(plan, p)))
        if d > best_depth:
            best, best_depth = p, d
        if d > 0.6 * radius:
            break
    plan.tumour_side = side
    plan.tumour = [Ellipsoid(best, tuple(radius * rng.uniform(0.85, 1.15, 3)))]
    for _ in range(int(rng.integers(0, 4))):
        lobe = np.asarray(best) + 0.7 * radius * unit(rng.normal(size=3))
        plan.tumour.append(Ellipsoid(floats(lobe), (radius * rng.uniform(0.35, 0.6),) * 3))
