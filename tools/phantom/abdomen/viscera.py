"""The abdomen's viscera: the visceral fat mottled with mesentery, the stomach, the solid organs (liver,
gallbladder, spleen, kidneys in perirenal fat, pancreas), the bowel in the space they leave (small-bowel loops,
the duodenum, the colon), the diaphragm (:class:`Diaphragm`) with the lungs and the heart's base above it, and the
vessels (aorta, vena cava; hepatic, portal, splenic, mesenteric and renal vessels)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

import numpy as np

from tools.phantom.abdomen.body import ORGAN_ID, Canvas
from tools.phantom.abdomen.frame import AbdomenCase, Frame
from tools.phantom.abdomen.ranges import AbdomenAnatomy
from tools.phantom.shapes import Capsule, Ellipsoid, Intersection
from tools.phantom.solids import (
    Complement,
    Cone,
    TiltedCylinder,
    TurnedEllipsoid,
    Union,
    depth_at,
    difference,
    polyline,
)
from tools.phantom.tissues import Tissue


def paint_mesentery(canvas: Canvas, frame: Frame, case: AbdomenCase, noise: np.ndarray) -> None:
    """Visceral fat filling the abdominal cavity, mottled in front of the spine with soft tissue (collapsed bowel,
    mesentery, vessels): the fatter the patient, the less of it."""
    fat_share = float(np.clip(case.visceral_fat + case.extra_fat / 100.0, 0.05, 0.95))
    labels = canvas.labels
    labels[canvas.inner] = Tissue.FAT
    _, y, z = canvas.grid.full()
    front_of_spine = y < (frame.y_vb + frame.lordosis * (z - frame.z_l1)) - frame.vb[1] + 5
    soft = canvas.inner & front_of_spine & (noise > statistics.NormalDist().inv_cdf(fat_share))
    labels[soft] = Tissue.SOFT


def paint_bowel(canvas: Canvas, frame: Frame, case: AbdomenCase, rng, anatomy: AbdomenAnatomy, organs,
                 head) -> None:
    """Into the space the organs leave: small-bowel loops in the lower, anterior abdomen (each centred on the
    first of a few drawn points outside the ``organs``), the duodenum's C round the pancreatic ``head`` and the colon
    (ascending in the right flank, transverse hanging in front, descending in the left flank)."""
    f, a = frame, anatomy
    free = canvas.inner & ~canvas.occupied
    spine_front = f.y_vb - f.vb[1]
    for i in range(case.bowel_loops):
        r = rng.uniform(*a.loop_radius)
        low = np.array([-0.65 * f.ix, f.front + 0.5 * r, -20.0])
        high = np.array([0.65 * f.ix, max(spine_front + 5, f.front + r), f.z_l1 + 25])
        candidates = rng.uniform(low, high, size=(6, 3))
        inside = [max(depth_at(o, c) for o in organs) for c in candidates]
        centre = candidates[int(np.argmax(np.asarray(inside) < -0.3 * r)) if min(inside) < -0.3 * r
                            else int(np.argmin(inside))]
        direction = rng.normal(size=3)
        half = rng.uniform(0.5, 2.5) * r * direction / np.linalg.norm(direction)
        loop = Capsule(tuple(centre - half), tuple(centre + half), r)
        # the first loop holds gas unless the case is nearly gasless
        gassy = rng.random() < case.loop_gas_p or (i == 0 and case.loop_gas_p > 0.1)
        canvas.hollow(loop, 1.5, rng.uniform(*a.gas_level) if gassy else 0.0, ORGAN_ID["bowel"], where=free)

    hx, hy, hz = head
    duodenum = polyline([(hx + 25, hy - 35, hz + 25), (hx - 15, hy - 15, hz + 22), (hx - 22, hy + 5, hz),
                          (hx - 12, hy + 5, hz - 35), (hx + 35, hy + 10, hz - 40), (hx + 80, hy + 5, hz - 20)],
                         rng.uniform(9, 13))
    canvas.hollow(duodenum, 1.5, rng.uniform(*a.gas_level) if rng.random() < case.loop_gas_p else 0.0,
                  ORGAN_ID["bowel"], where=free)

    r = case.colon_r
    hepatic = (-(f.ix - r - 15), f.front * 0.3, f.z_l1 - rng.uniform(0, 30))
    splenic = (f.ix - r - 10, rng.uniform(0.0, 0.3) * f.back, f.z_l1 + rng.uniform(10, 45))
    sag = f.z_l1 - rng.uniform(20, 80)
    segments = (
        [(-(f.ix - r - 5), rng.uniform(0.0, 0.3) * f.back, -40.0), hepatic],  # ascending
        [hepatic, (-0.4 * f.ix, f.front + r + 5, sag + 10), (0.0, f.front + r + 2, sag),
         (0.4 * f.ix, f.front + r + 5, sag + 10), splenic],  # transverse
        [splenic, (f.ix - 0.8 * r - 5, rng.uniform(0.2, 0.5) * f.back, -40.0)],  # descending
    )
    for points, radius in zip(segments, (r, 0.85 * r, 0.75 * r)):
        colon = polyline(points, radius)
        canvas.hollow(colon, 2.0, case.colon_gas, ORGAN_ID["bowel"], rng, bubbles=int(rng.integers(4, 12)), where=free)


def paint_stomach(canvas: Canvas, frame: Frame, case: AbdomenCase, rng) -> Union:
    """The stomach under the left dome: fundus (posterior, high), body running down and forwards, antrum to the
    pylorus right of the midline; thick wall, content, gas anteriorly."""
    f, s = frame, case.stomach_scale
    fundus = (f.ix * rng.uniform(0.35, 0.5), rng.uniform(-0.1, 0.15) * f.back, f.dome_l - rng.uniform(25, 40))
    body_low = (f.ix * rng.uniform(0.15, 0.3), f.front * rng.uniform(0.4, 0.6), f.z_l1 + rng.uniform(-10, 10))
    pylorus = (-rng.uniform(15, 30), f.front * rng.uniform(0.45, 0.6), f.z_l1 + rng.uniform(5, 20))
    stomach = Union((
        Ellipsoid(fundus, tuple(s * rng.uniform(35, 45, size=3))),
        Cone(fundus, body_low, s * rng.uniform(30, 38), s * rng.uniform(24, 30)),
        Cone(body_low, pylorus, s * rng.uniform(18, 24), s * rng.uniform(11, 14)),
    ))
    canvas.hollow(stomach, rng.uniform(3, 5), case.stomach_gas, ORGAN_ID["stomach"])
    return stomach


@dataclass(frozen=True)
class Kidney:
    """A kidney's solid, hilum and side."""

    shape: TurnedEllipsoid
    hilum: tuple[float, float, float]
    side: int


def paint_organs(canvas: Canvas, frame: Frame, case: AbdomenCase, rng):
    """Liver (with the hepatic and portal veins painted later), gallbladder, spleen, kidneys in perirenal fat,
    pancreas, each marking its place taken. Returns the liver's solid, the pancreas' points (head to tail), the
    kidneys and all the organs' solids."""
    f, inner = frame, canvas.inner
    ls = case.liver_scale
    # a large liver reaches lower and further left; the right wall and the AP depth hold it
    rx, ry, rz = np.sqrt(ls) * rng.uniform(80, 95), rng.uniform(0.85, 1.0) * (f.back - f.front) / 2, ls * rng.uniform(
        80, 100)
    right = Ellipsoid((-(f.ix - 0.9 * rx), (f.back + f.front) / 2 + rng.uniform(-5, 5), f.dome_r - 0.4 * rz),
                      (rx, ry, rz))
    left = Ellipsoid((rng.uniform(10, 35), f.front * rng.uniform(0.35, 0.5), f.dome_r - rng.uniform(25, 40)),
                     (ls * rng.uniform(55, 75), ls * rng.uniform(30, 45), ls * rng.uniform(35, 45)))
    caudate = Ellipsoid((-rng.uniform(5, 20), f.spine_y(f.dome_r - 50) - f.vb[1] - 25, f.dome_r - 55),
                        (18.0, 18.0, ls * 35))
    liver = Union((right, left, caudate))
    canvas.paint(liver, Tissue.LIVER, ORGAN_ID["liver"], where=inner, occupy=True)
    organs = [liver]

    gb_centre = (-rng.uniform(30, 55), f.front + rng.uniform(30, 50), right.centre[2] - rz * rng.uniform(0.5, 0.8))
    gb_radii = (rng.uniform(12, 18), rng.uniform(12, 18), rng.uniform(28, 40))
    if rng.random() < 0.8:
        gallbladder = Ellipsoid(gb_centre, gb_radii)
        canvas.paint(gallbladder, Tissue.SOFT, where=inner, occupy=True)
        canvas.paint(gallbladder, Tissue.URINE, margin=2.0, where=inner)
        organs.append(gallbladder)

    ss = case.spleen_scale
    spleen = TurnedEllipsoid((f.ix - ss * rng.uniform(25, 35) - 12, f.back - ss * rng.uniform(35, 50),
                              f.dome_l - ss * rng.uniform(45, 60)),
                             (ss * rng.uniform(22, 28), ss * rng.uniform(45, 60), ss * rng.uniform(45, 60)),
                             np.deg2rad(rng.uniform(30, 50)))  # along the ribs, hollow towards the stomach
    notch = Ellipsoid(spleen.point(-1.7, 0.0, 0.0), (35.0 * ss, 40.0 * ss, 80.0 * ss))
    organs.append(difference(spleen, notch))
    canvas.paint(organs[-1], Tissue.SPLEEN, where=inner, occupy=True)

    kidneys = []
    ks, z_left = case.kidney_scale, f.z_l1 - rng.uniform(0, 20)
    for side, name in ((1, "kidney_left"), (-1, "kidney_right")):
        z = z_left if side > 0 else z_left - rng.uniform(10, 25)
        radii = (ks * rng.uniform(26, 32), ks * rng.uniform(20, 25), ks * rng.uniform(50, 60))
        angle = np.deg2rad(rng.uniform(25, 45))  # the hilum faces forwards and inwards
        kidney = TurnedEllipsoid((side * (f.vb[0] + 32 + radii[0]), f.spine_y(z) + rng.uniform(0, 12), z),
                                 radii, np.pi + angle if side > 0 else -angle)
        perirenal = rng.uniform(3, 10) + 0.3 * case.extra_fat + 8 * case.visceral_fat
        fat_centre = kidney.point(-0.4 * perirenal / radii[0], 0.0, 0.0)
        organs.append(TurnedEllipsoid(fat_centre, tuple(r + perirenal for r in radii), kidney.angle))
        canvas.paint(organs[-1], Tissue.FAT, where=inner, occupy=True)
        hilum = kidney.point(0.75, 0.0, 0.0)
        canvas.paint(difference(kidney, Ellipsoid(kidney.point(1.05, 0.0, 0.0), (12.0, 12.0, 22.0))),
                     Tissue.KIDNEY, ORGAN_ID[name], where=inner)
        canvas.paint(Ellipsoid(hilum, (14.0, 10.0, 0.45 * radii[2])), Tissue.FAT, ORGAN_ID[name], where=inner)
        canvas.paint(Ellipsoid(kidney.point(0.6, 0.0, 0.0), (8.0, 6.0, 12.0)), Tissue.URINE, ORGAN_ID[name],
                     where=inner)
        kidneys.append(Kidney(kidney, hilum, side))

    z_p = f.z_l1 - rng.uniform(0, 15)
    y_p = f.y_vb - f.vb[1] - rng.uniform(30, 40)
    pancreas = [(-45.0, y_p + 10, z_p - 10), (-10.0, y_p - 5, z_p), (35.0, y_p, z_p + 8),
                (spleen.centre[0] - 40, spleen.centre[1] - 25, z_p + rng.uniform(15, 30))]
    organs.append(Union((Cone(pancreas[0], pancreas[1], rng.uniform(14, 19), rng.uniform(9, 12)),
                         Cone(pancreas[1], pancreas[2], rng.uniform(9, 12), rng.uniform(9, 12)),
                         Cone(pancreas[2], pancreas[3], rng.uniform(9, 12), rng.uniform(7, 10)))))
    canvas.paint(organs[-1], Tissue.SOFT, ORGAN_ID["pancreas"], where=inner, occupy=True)
    return liver, pancreas, kidneys, organs


@dataclass(frozen=True)
class Diaphragm:
    """The diaphragm's surface: the higher of two paraboloid domes (each flatter in front than behind), never
    below ``floor``. ``sign`` +1: depth above the surface (less ``offset``), -1: below it."""

    domes: tuple  # (x, y, top z, half-width, front half-depth, back half-depth, drop at those) per dome
    floor: float
    sign: int = 1
    offset: float = 0.0

    def height(self, x, y):
        """Height of the surface at (x, y) and the slope factor sqrt(1 + |grad|^2)."""
        best = grad = None
        for xc, yc, top, ax, ay_front, ay_back, drop in self.domes:
            ay = np.where(y < yc, np.float32(ay_front), np.float32(ay_back))
            h = top - drop * (((x - xc) / ax) ** 2 + ((y - yc) / ay) ** 2)
            g = 1 + (2 * drop * (x - xc) / ax**2) ** 2 + (2 * drop * (y - yc) / ay**2) ** 2
            h, g = np.broadcast_arrays(h, g)
            best, grad = (h, g) if best is None else (np.where(h > best, h, best), np.where(h > best, g, grad))
        grad = np.where(best > self.floor, grad, 1.0)
        return np.maximum(best, self.floor), np.sqrt(grad)

    @property
    def top(self) -> float:
        return max(d[2] for d in self.domes)

    def bounds(self):
        lo, hi = np.full(3, -np.inf), np.full(3, np.inf)
        if self.sign > 0:
            lo[2] = self.floor + self.offset
        else:
            hi[2] = self.top - self.offset
        return lo, hi

    def depth(self, x, y, z):
        h, slope = self.height(x, y)
        return (self.sign * (z - h) / slope - self.offset).astype(np.float32)


def paint_thorax_base(canvas: Canvas, frame: Frame, case: AbdomenCase, rng) -> Diaphragm:
    """The diaphragm (a muscle sheet under two domes), the lungs above it, their vessels, and the heart's base on
    the central tendon in front. Returns the diaphragm's surface."""
    f, inner = frame, canvas.inner
    drop = rng.uniform(45, 65)  # the domes' fall over their half-widths
    y_top = f.front * rng.uniform(0.0, 0.2)
    lateral, front, back = rng.uniform(40, 60), rng.uniform(15, 30), rng.uniform(60, 85)  # recesses, below a dome
    half_front, half_back = ((y_top - f.front) / np.sqrt(front / drop), (f.back - y_top) / np.sqrt(back / drop))
    domes = []
    for side, top in ((-1, f.dome_r), (1, f.dome_l)):
        x_top = side * f.ix * rng.uniform(0.4, 0.5)
        domes.append((x_top, y_top, top, (f.ix - abs(x_top)) / np.sqrt(lateral / drop), half_front, half_back, drop))
    # the central tendon between the domes, under the heart
    domes.append((rng.uniform(-10, 20), y_top, f.dome_l - rng.uniform(10, 25), 0.5 * f.ix, half_front, half_back, drop))
    surface = Diaphragm(tuple(domes), floor=f.dome_r - back - 10)
    thickness, slit = rng.uniform(4, 7), rng.uniform(15, 25)
    # low down the lungs are slits between the diaphragm and the chest wall, widening upwards
    z = canvas.grid.full()[2]
    lung_space = inner & (canvas.wall_depth < slit + 2.5 * np.maximum(z - (f.dome_l - 55), 0))
    behind_spine = Complement(TiltedCylinder((0.0, f.y_vb + 60, f.z_l1), (f.vb[0] + 15, 60.0),
                                             (-100.0, f.top + 100), (0.0, f.lordosis)))
    canvas.paint(Intersection((surface, behind_spine)), Tissue.SOFT, where=lung_space)
    canvas.paint(Intersection((replace(surface, offset=thickness), behind_spine)), Tissue.LUNG, where=lung_space)
    lung = canvas.labels == Tissue.LUNG
    for _ in range(int(rng.integers(8, 16))):
        centre = np.array([f.ix * rng.uniform(-0.9, 0.9), rng.uniform(f.front * 0.3, f.back), rng.uniform(
            f.dome_l - 60, f.top + 20)])
        direction = rng.normal(size=3)
        half = rng.uniform(8, 20) * direction / np.linalg.norm(direction)
        canvas.paint(Capsule(tuple(centre - half), tuple(centre + half), rng.uniform(1.5, 3.5)), Tissue.BLOOD,
                     where=lung)

    above = replace(surface, offset=thickness)
    heart_x, heart_y = rng.uniform(10, 35), f.front * rng.uniform(0.3, 0.5)
    base = float(surface.height(np.float32(heart_x), np.float32(heart_y))[0])
    radii = np.array([rng.uniform(55, 70), rng.uniform(40, 50), rng.uniform(45, 55)])
    centre = (heart_x, heart_y, base + rng.uniform(30, 45))
    pad = rng.uniform(4, 10)
    for grow, tissue in ((pad, Tissue.FAT), (0.0, Tissue.SOFT), (-rng.uniform(8, 11), Tissue.BLOOD)):
        canvas.paint(Intersection((Ellipsoid(centre, tuple(radii + grow)), above)), tissue, where=inner)
    return surface


def paint_vessels(canvas: Canvas, frame: Frame, case: AbdomenCase, kidneys, pancreas, rng) -> None:
    """Aorta (and its bifurcation when in view, calcified walls sometimes), IVC, hepatic and portal veins in the
    liver, splenic, mesenteric and renal vessels."""
    f, inner = frame, canvas.inner
    blood = Tissue.BLOOD
    r_ao = rng.uniform(9, 12)
    ao = (rng.uniform(6, 15), f.y_vb - f.vb[1] - r_ao - 2)
    r_ivc = (rng.uniform(11, 15), rng.uniform(8, 11))
    ivc = (-rng.uniform(18, 26), f.y_vb - f.vb[1] - 0.7 * r_ivc[1])
    bifurcation = f.level_z(-3) + rng.uniform(-10, 10)
    slope = (0.0, f.lordosis)
    aorta = TiltedCylinder((ao[0], ao[1], f.z_l1), (r_ao, r_ao), (bifurcation, f.top + 30), slope)
    canvas.paint(aorta, blood, where=canvas.in_body)
    y_bif = ao[1] + f.lordosis * (bifurcation - f.z_l1)
    iliacs = [Capsule((ao[0], y_bif, bifurcation), (s * 45.0, y_bif + 12, bifurcation - 90), r_ao * 0.65)
              for s in (1, -1)]
    for iliac in iliacs:
        canvas.paint(iliac, blood, where=inner)
    canvas.paint(TiltedCylinder((ivc[0], ivc[1], f.z_l1), r_ivc, (-30.0, f.top + 30), slope), blood,
                 where=canvas.in_body)

    hv_z = f.dome_r - rng.uniform(15, 30)
    hv_root = (ivc[0], f.spine_y(hv_z) - f.vb[1] - 15, hv_z)
    for dx, dy in ((-80, 10), (-40, -60), (30, -60)):
        tip = (hv_root[0] + dx + rng.uniform(-10, 10), hv_root[1] + dy + rng.uniform(-10, 10), hv_z + rng.uniform(
            -15, 10))
        canvas.paint(Cone(hv_root, tip, rng.uniform(5, 7), 2.0), blood, only=(Tissue.LIVER,))
    confluence = (pancreas[1][0] + 5, pancreas[1][1] + 12, pancreas[1][2])
    hilum = (-rng.uniform(35, 55), f.front * rng.uniform(0.0, 0.2), confluence[2] + rng.uniform(35, 50))
    canvas.paint(Cone(confluence, hilum, rng.uniform(6, 8), 5.0), blood, where=inner)
    for dx, dy, dz in ((-50, 10, 25), (40, -20, 25)):
        canvas.paint(Cone(hilum, (hilum[0] + dx, hilum[1] + dy, hilum[2] + dz), 4.5, 2.0), blood,
                     only=(Tissue.LIVER,))
    splenic = (pancreas[3][0] + 10, pancreas[3][1] + 8, pancreas[3][2])
    canvas.paint(polyline([confluence, (pancreas[2][0], pancreas[2][1] + 12, pancreas[2][2]), splenic], 4.0),
                 blood, where=inner)
    sma = (ao[0] - 3, ao[1] - r_ao - 8)
    canvas.paint(Capsule((ao[0], ao[1], confluence[2] + 10), (sma[0], sma[1], confluence[2] - 10), 4.0), blood,
                 where=inner)
    canvas.paint(Capsule((sma[0], sma[1], confluence[2] - 10), (sma[0] + 5, sma[1] - 20, -30), 4.0), blood,
                 where=inner)
    canvas.paint(Capsule(confluence, (confluence[0] - 8, sma[1] - 15, -30), 5.5), blood, where=inner)
    for kidney in kidneys:
        z = kidney.hilum[2]
        aorta_y = ao[1] + f.lordosis * (z - f.z_l1)
        vein_end = (ivc[0], ivc[1] + f.lordosis * (z - f.z_l1), z + 5)
        via = [(ao[0], aorta_y - r_ao - 6, z + 5)] if kidney.side > 0 else []
        canvas.paint(polyline([kidney.hilum] + via + [vein_end], 5.0), blood, where=inner)
        canvas.paint(Capsule((ao[0], aorta_y, z - 5), kidney.hilum, 3.0), blood, where=inner)
    if case.calcified:
        for _ in range(int(rng.integers(3, 10))):
            angle, z, r = rng.uniform(0, 2 * np.pi), rng.uniform(bifurcation - 30, f.z_l1), rng.uniform(1.5, 3)
            y = ao[1] + f.lordosis * (z - f.z_l1)
            spot = (ao[0] + r_ao * np.cos(angle), y + r_ao * np.sin(angle), z)
            canvas.paint(Ellipsoid(spot, (r, r, r + 1.5)), Tissue.CORTICAL, where=canvas.in_body)
