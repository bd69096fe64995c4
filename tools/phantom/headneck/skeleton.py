"""The head and neck's skeleton: the vertebrae with the canal, cord and vertebral arteries through them, and the
bones painted from them and the jaws, hyoid, shoulder girdle and skull base (cortex and marrow), the skull's
tables, the sinus walls, calcified laryngeal cartilage; the canal's contents."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.phantom.headneck.body import Canvas, Frame, Outline
from tools.phantom.headneck.jaw import Arch, ArchPlate, Jaw, jaw_solids
from tools.phantom.headneck.soft_tissue import Neck
from tools.phantom.shapes import (
    Capsule,
    Ellipsoid,
    HalfSpace,
    Intersection,
    accumulate_union,
    ellipsoidal_depth,
    paint,
    paint_bone,
)
from tools.phantom.solids import Loft, OrientedEllipsoid, difference
from tools.phantom.tissues import Tissue


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


@dataclass(frozen=True)
class Spine:
    """The vertebrae (C1 first) and the canal, cord and vertebral arteries that run through them."""

    vertebrae: list
    dens: Capsule
    canal: Loft
    cord: Loft
    arteries: list  # the vertebral arteries' tubes (left, right)


def draw_spine(rng, f: Frame) -> Spine:
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
    canal = Loft(tuple(hs), zeros, tuple(cys), cx, cy_semi)
    cord_r = rng.uniform(0.9, 1.1)
    cord = Loft(tuple(hs), zeros, tuple(c + 0.5 for c in cys), tuple(min(7.0, 0.55 * c) * cord_r for c in cx),
                tuple(min(4.5, 0.55 * c) * cord_r for c in cy_semi))
    arteries = []
    for side in (1, -1):
        pts = [(v.z_lo - 5, side * v.foramen_x(), v.y + 1) for v in spine] + [(f.palate + 2, side * 24.0, y1 + 2)]
        hh, xx, yy = zip(*pts)
        r = (rng.uniform(1.6, 2.2),) * len(hh)
        arteries.append(Loft(hh, xx, yy, r, r))
    return Spine(levels, dens, canal, cord, arteries)


def paint_bones(rng, canvas: Canvas, f: Frame, outline: Outline, spine: Spine, jaw: Jaw, neck: Neck) -> np.ndarray:
    """Spine, jaws, hyoid, shoulder girdle, ribs, skull base (cortex with marrow, DIPLOE in the occipital bone),
    sinus walls, calcified laryngeal cartilage (sometimes); returns the mandible's mask."""
    grid, labels = canvas.grid, canvas.labels
    # prevertebral and posterior column SOFT: discs and ligaments between the bones
    for v in spine.vertebrae[1:]:
        canvas.paint(Ellipsoid((0.0, v.y, (v.z_lo + v.z_hi) / 2), (v.body[0] + 1.5, v.body[1] + 1.5,
                                                                       (v.z_hi - v.z_lo) / 2 + 4)), Tissue.SOFT)
    bone = np.full(grid.shape, -1e3, np.float32)
    mandible, maxilla = jaw_solids(jaw, f)
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
    shield = Intersection((Loft(hs, (0.0, 0.0), (y, y - 2), (sx, sx), (sy, sy)), HalfSpace(1, y + 6, 1)))
    inside = Loft(hs, (0.0, 0.0), (y, y - 2), (sx - 1.8, sx - 1.8), (sy - 1.8, sy - 1.8))
    canvas.paint(difference(shield, inside), Tissue.CORTICAL)
    ring = Loft(neck.cricoid, (0.0, 0.0), (y + 3, y + 3), (12.5, 12.5), (13.0, 13.0))
    canvas.paint(difference(ring, Loft(ring.h, ring.x, ring.y, (10.0, 10.0), (10.5, 10.5))), Tissue.CORTICAL)


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
            OrientedEllipsoid.tilted((scapula_x, tcy + b - 24, rng.uniform(-60, -40)), (42.0, 3.5, 55.0),
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
    grown = fossa.grown(thick)
    shells = [Intersection((difference(grown, fossa), HalfSpace(1, ys(p) - 5, -1)))]
    for side in (1, -1):
        lobe = Ellipsoid((side * 34 * s, ys(p) - 14 * s, p + 65), (20 * s, 28 * s, 24.0))
        shells.append(Intersection((difference(lobe.grown(4), lobe),
                                    HalfSpace(2, p + 62, 1))))
    for shell in shells:
        canvas.paint(shell, Tissue.CORTICAL)
    canvas.paint(shells[0], Tissue.DIPLOE, margin=1.8)
    # the foramen magnum stays open for the canal (painted later)


def _paint_sinus_walls(canvas: Canvas, f: Frame, jaw: Jaw) -> None:
    """Cortical walls of the maxillary and sphenoid sinuses and the nasal cavity (their air comes later)."""
    for shape in sinuses(f, jaw):
        wall = shape.grown(1.8)
        canvas.paint(difference(wall, shape), Tissue.CORTICAL)


def sinuses(f: Frame, jaw: Jaw) -> list:
    """Maxillary sinuses above the molars, the sphenoid sinus above the nasopharynx, the ethmoid cells between the
    orbits (deterministic from the landmarks)."""
    p, s = f.palate, f.head
    y_mol = jaw.upper.y0 + jaw.upper.length - 4
    shapes = [Ellipsoid((side * 27 * s, y_mol - 6, p + 22), (13 * s, 16 * s, 16.0)) for side in (1, -1)]
    shapes.append(Ellipsoid((0.0, float(f.spine_y(p)) - 30, p + 42), (12.0, 10.0, 10.0)))  # sphenoid
    shapes.append(Ellipsoid((0.0, jaw.upper.y0 + 28 * s, p + 54), (11.0 * s, 17.0 * s, 11.0)))  # ethmoid
    return shapes


def paint_canal(canvas: Canvas, spine: Spine) -> None:
    """CSF in the spinal canal, the cord (SOFT) in it, the vertebral arteries (BLOOD)."""
    paint(canvas.labels, canvas.grid, spine.canal, Tissue.CSF, where=canvas.inner)
    paint(canvas.labels, canvas.grid, spine.cord, Tissue.SOFT, where=canvas.inner)
    for artery in spine.arteries:
        paint(canvas.labels, canvas.grid, artery, Tissue.BLOOD, where=canvas.inner)
