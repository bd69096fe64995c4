"""The head and neck's soft tissue: the neck's organs placed before painting (:class:`Neck`: larynx, pharynx,
trachea), the fat spaces and the muscles over them, the lung apices, the vessels in their sheaths, the glands, the
brain at the top of the field with the eyes, the larynx's walls, the trachea and the oesophagus."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.phantom.headneck.body import Canvas, Frame, Outline
from tools.phantom.headneck.jaw import Jaw
from tools.phantom.headneck.ranges import HeadNeckAnatomy
from tools.phantom.shapes import Ellipsoid, HalfSpace, Intersection, draw
from tools.phantom.solids import Loft, difference, rotated
from tools.phantom.tissues import Tissue


@dataclass(frozen=True)
class Neck:
    """Positions of the neck's soft organs, drawn before painting (the bones and glands are placed by them)."""

    larynx_y: float  # centre of the thyroid cartilage
    larynx_semi: tuple[float, float]
    glottis: float  # h
    cricoid: tuple[float, float]  # h range
    trachea_r: float
    pharynx: Loft
    carotid_x: float


def draw_neck(rng, f: Frame, outline: Outline, jaw: Jaw, a: HeadNeckAnatomy) -> Neck:
    """Larynx, cricoid, trachea size, pharynx lumen, carotid position."""
    ps = draw(rng, a.pharynx_scale)
    glottis = f.hyoid - rng.uniform(22, 28)
    cricoid_hi = glottis - rng.uniform(3, 6)
    cricoid = (cricoid_hi - rng.uniform(10, 14), cricoid_hi)
    semi = (rng.uniform(18, 22), rng.uniform(14, 17))
    larynx_y = outline.front_y(glottis) + 4 + semi[1]
    trachea_r = draw(rng, a.airway_r)
    p = f.palate

    def wall(h, prevert):
        """y of the pharynx's posterior wall: in front of the vertebral bodies."""
        return float(f.spine_y(h)) - 8 - prevert

    hs = (f.hyoid - 12, f.hyoid, jaw.occlusal, p, p + 22)
    semis_y = (3.0 * ps, 4.5 * ps, 6.0 * ps, 7.5 * ps, 6.0 * ps)
    semis_x = (15.0, 15.0 * ps ** 0.5, 13.0 * ps ** 0.5, 12.0, 9.0)
    prevert = rng.uniform(3, 6, size=5) + np.array([0, 0, 0, 6, 8])
    ys = tuple(wall(h, pv) - sy for h, pv, sy in zip(hs, prevert, semis_y))
    pharynx = Loft(hs, (0.0,) * 5, ys, semis_x, semis_y)
    carotid_x = trachea_r + rng.uniform(12, 16)
    return Neck(larynx_y, semi, glottis, cricoid, trachea_r, pharynx, carotid_x)


def paint_soft_tissue(rng, canvas: Canvas, f: Frame, outline: Outline, jaw: Jaw, neck: Neck,
                       a: HeadNeckAnatomy) -> dict:
    """Fat spaces between the muscles, the muscles over them, lung apices, vessels in their fat sheaths, the
    tongue; returns the vessels' tubes by name."""
    p, df = f.palate, draw(rng, a.deep_fat)
    ys = f.spine_y
    mid = (f.hyoid + 20) / 2
    hw = outline.half_width_at(mid)
    fat = [
        Ellipsoid((0.0, ys(mid) + 52, mid + 10), (4 * df, 6 * df, 40.0)),  # nuchal
        Ellipsoid((0.0, jaw.arch.y0 + 24, jaw.lower_border - 1), (20 * df, 13 * df, 4 * df)),  # submental
        Ellipsoid((0.0, ys(-30) - 34, -30.0), (26 * df, 18 * df, 40.0)),  # thoracic inlet
    ]
    for side in (1, -1):
        fat += [
            Loft((5.0, mid, f.hyoid + 15), (side * (hw - 18),) * 3, (ys(5) + 10, ys(mid) + 12, ys(f.hyoid) + 10),
                 (9 * df, 10 * df, 7 * df), (13 * df, 15 * df, 11 * df)),  # posterior triangle
            Ellipsoid((side * 24.0, ys(p - 25) - 20, p - 22), (7 * df, 10 * df, 24.0)),  # parapharyngeal
            Ellipsoid((side * (jaw.x_angle + 2), jaw.upper.y0 + jaw.upper.length - 6, jaw.occlusal + 6),
                      (8 * df, 11 * df, 14 * df)),  # buccal
            Ellipsoid((side * 30.0, ys(mid) + 42, mid + 15), (3.5 * df, 14.0, 50.0)),  # between neck muscles
        ]
    for shape in fat:
        canvas.paint(shape, Tissue.FAT)
    # muscles over the fat: sternocleidomastoids, scalenes, paraspinals, prevertebral, masseters, pterygoids
    for side in (1, -1):
        x_ang = side * jaw.x_angle
        scm = Loft((0.0, 45.0, f.hyoid, p - 10), (side * 18.0, side * 30.0, side * (hw - 14), side * 46.0),
                   (ys(0) - 58, ys(45) - 40, ys(f.hyoid) - 18, ys(p) + 12), (6.0, 9.0, 10.0, 9.0),
                   (5.0, 7.0, 8.0, 9.0))
        scalene = Loft((-10.0, 40.0, f.hyoid - 10), (side * 40.0, side * 30.0, side * 22.0),
                       (ys(-10) - 2, ys(40) + 2, ys(f.hyoid) + 4), (7.0, 7.0, 6.0), (8.0, 8.0, 7.0))
        paraspinal = Loft((-60.0, mid, p + 20), (side * 26.0, side * 20.0, side * 20.0),
                          (ys(-60) + 48, ys(mid) + 40, ys(p) + 42), (20.0, 17.0, 18.0), (22.0, 20.0, 22.0))
        masseter = Ellipsoid((x_ang * 1.03 + side * 9, jaw.y_angle - 4, jaw.occlusal + 2),
                             (6.0, 13.0, 24.0))
        pterygoid = Ellipsoid((x_ang - side * 10, jaw.y_angle + 2, jaw.occlusal + 6),
                              (5.0, 10.0, 18.0))
        for shape in (scm, scalene, paraspinal, rotated(masseter, jaw.axis, jaw.angle / 2), pterygoid):
            canvas.paint(shape, Tissue.SOFT)
    _paint_lungs(rng, canvas, f)
    return _paint_vessels(rng, canvas, f, neck, df)


def _paint_lungs(rng, canvas: Canvas, f: Frame) -> None:
    """Lung apices, rising above the clavicles beside the trachea."""
    for side in (1, -1):
        apex = rng.uniform(15, 35)
        rz = rng.uniform(70, 90)
        lung = Ellipsoid((side * rng.uniform(40, 46), float(f.spine_y(0)) - rng.uniform(-2, 6), apex - rz),
                         (rng.uniform(27, 32), rng.uniform(34, 42), rz))
        canvas.paint(lung, Tissue.LUNG)


def _paint_vessels(rng, canvas: Canvas, f: Frame, neck: Neck, df: float) -> dict:
    """Common/internal/external carotids and internal jugular veins (BLOOD) in fat sheaths."""
    p, ys = f.palate, f.spine_y
    low = f.bottom - 20
    bif = f.hyoid + rng.uniform(-5, 10)
    vessels = {}
    for side, name in ((1, "left"), (-1, "right")):
        cx = side * neck.carotid_x
        r_cca, r_ica, r_eca = rng.uniform(3.3, 4.3), rng.uniform(2.4, 3.0), rng.uniform(1.8, 2.3)
        r_ij = rng.uniform(4, 8)
        top_x = side * rng.uniform(28, 32)
        cca = Loft((low, 30.0, bif), (cx * 0.8, cx, cx * 1.05), (ys(low) - 24, ys(30) - 16, ys(bif) - 14),
                   (r_cca,) * 3, (r_cca,) * 3)
        ica = Loft((bif - 2, p - 20, p + 25), (cx * 1.05, side * 28.0, top_x),
                   (ys(bif) - 12, ys(p - 20) - 10, ys(p) - 4), (r_ica,) * 3, (r_ica,) * 3)
        eca = Loft((bif - 2, p - 30, p + 5), (cx * 1.1, side * 34.0, side * 40.0),
                   (ys(bif) - 18, ys(p - 30) - 26, ys(p) - 22), (r_eca,) * 3, (r_eca,) * 3)
        ij = Loft((low, 30.0, bif, p + 22), (cx + side * 8, cx + side * 10, cx + side * 11, top_x + side * 3),
                  (ys(low) - 22, ys(30) - 12, ys(bif) - 8, ys(p) + 6), (r_ij * 1.2,) * 4, (r_ij * 0.8,) * 4)
        sheath = Loft(ij.h, tuple((a + b) / 2 for a, b in zip(ij.x, (cx * 0.8, cx, cx * 1.05, top_x))),
                      tuple(v + 4 for v in ij.y), (r_ij + 10 * df,) * 4, (r_ij + 5 * df,) * 4)
        canvas.paint(Intersection((sheath, HalfSpace(2, p - 20, 1))), Tissue.FAT)
        for tube in (cca, ica, eca, ij):
            canvas.paint(tube, Tissue.BLOOD)
        vessels[f"carotid_{name}"], vessels[f"jugular_{name}"] = cca, ij
    return vessels


def paint_glands(rng, canvas: Canvas, f: Frame, jaw: Jaw, neck: Neck, a: HeadNeckAnatomy) -> list:
    """Parotids (a superficial lobe over the ramus' back and a deep lobe behind it), submandibular glands,
    thyroid; returns the parotids' masks (left, right)."""
    gs = draw(rng, a.gland_scale)
    y_ramus = float(jaw.y_angle)
    parotids = []
    for side in (1, -1):
        x_r = side * (jaw.x_angle + 2)
        superficial = Ellipsoid((x_r + side * 10, y_ramus + 8, jaw.occlusal + rng.uniform(6, 12)),
                                tuple(np.array([rng.uniform(9, 12), rng.uniform(15, 19), rng.uniform(22, 27)]) * gs))
        deep = Ellipsoid((x_r - side * 4, y_ramus + 14, jaw.occlusal + 8),
                         tuple(np.array([rng.uniform(7, 9), rng.uniform(8, 10), rng.uniform(13, 17)]) * gs))
        sub = Ellipsoid((side * (jaw.x_angle - 9), jaw.body_y(jaw.x_angle - 14), jaw.lower_border - 2),
                        tuple(np.array([rng.uniform(8, 10), rng.uniform(12, 15), rng.uniform(8, 11)]) * gs))
        for shape in (superficial, deep, sub):
            canvas.paint(shape, Tissue.GLAND)
        parotids.append(canvas.mask(superficial) | canvas.mask(deep))
    # thyroid lobes around the trachea, and the isthmus in front of it
    lo = neck.cricoid[0]
    y_tr = float(f.spine_y(lo - 15)) - 22 - neck.trachea_r
    for side in (1, -1):
        lobe = Ellipsoid((side * (neck.trachea_r + rng.uniform(8, 11)), y_tr - 2, lo - rng.uniform(8, 14)),
                         (rng.uniform(7, 10), rng.uniform(9, 12), rng.uniform(18, 24)))
        canvas.paint(lobe.grown(1.2), Tissue.FAT)
        canvas.paint(lobe, Tissue.SOFT)
    canvas.paint(Ellipsoid((0.0, y_tr - neck.trachea_r - 4, lo - 12), (neck.trachea_r + 6, 3.5, 6.0)), Tissue.SOFT)
    return parotids


def paint_brain_and_orbits(rng, canvas: Canvas, f: Frame, outline: Outline) -> None:
    """At the top of some fields of view: the cerebellum in the posterior fossa, the temporal lobes in the middle
    fossae (GREY cortex, WHITE core, CSF around) and the eyes (VITREOUS) in orbital fat."""
    p, s, ys = f.palate, f.head, f.spine_y
    fossa = Ellipsoid((0.0, ys(p) + 35 * s, p + 65), (46 * s, 36 * s, 44.0))
    canvas.paint(fossa, Tissue.CSF)
    canvas.paint(fossa, Tissue.GREY, margin=2.0)
    canvas.paint(fossa, Tissue.WHITE, margin=rng.uniform(12, 16))
    for side in (1, -1):
        lobe = Ellipsoid((side * 34 * s, ys(p) - 14 * s, p + 65), (20 * s, 28 * s, 24.0))
        canvas.paint(lobe, Tissue.CSF)
        canvas.paint(lobe, Tissue.GREY, margin=2.0)
        canvas.paint(lobe, Tissue.WHITE, margin=7.0)
    eye_r, eye_x, eye_z = rng.uniform(11.5, 12.5), rng.uniform(30, 34) * s, p + rng.uniform(50, 56)
    eye_y = outline.front_y(eye_z) + eye_r - outline.fat * 0.2 + rng.uniform(0, 3)
    for side in (1, -1):
        eye = (side * eye_x, eye_y, eye_z)
        canvas.paint(Ellipsoid(eye, (eye_r + 5, eye_r + 9, eye_r + 5)), Tissue.FAT, where=canvas.body)
        canvas.paint(Ellipsoid(eye, (eye_r,) * 3), Tissue.VITREOUS, where=canvas.body)
        canvas.paint(Intersection((difference(Ellipsoid(eye, (eye_r + 7, eye_r + 11, eye_r + 7)),
                                           Ellipsoid(eye, (eye_r + 5, eye_r + 9, eye_r + 5))),
                                   HalfSpace(1, eye_y - 3, -1))), Tissue.CORTICAL)  # the bony orbit


def paint_larynx_walls(canvas: Canvas, f: Frame, neck: Neck) -> np.ndarray:
    """The larynx's soft tissue and paraglottic fat, trachea wall, oesophagus; returns the larynx's mask."""
    (sx, sy), y = neck.larynx_semi, neck.larynx_y
    top, bottom = f.hyoid + 6, neck.cricoid[0]
    larynx = Loft((bottom, neck.glottis, top), (0.0,) * 3, (y + 3, y, y - 4), (12.5, sx, sx + 2), (13.0, sy, sy + 2))
    canvas.paint(larynx, Tissue.SOFT)
    canvas.paint(Ellipsoid((0.0, y - 2, (neck.glottis + top) / 2 + 2), (sx - 5, sy - 3, (top - neck.glottis) / 2)),
                 Tissue.FAT)
    canvas.paint(oesophagus(f, neck), Tissue.SOFT)
    trachea = trachea_lumen(f, neck)
    canvas.paint(trachea.grown(2.5), Tissue.SOFT)
    return canvas.mask(larynx)


def trachea_lumen(f: Frame, neck: Neck) -> Loft:
    """The tracheal lumen: from the cricoid down, sinking backwards towards the thorax."""
    low = f.bottom - 20
    r = neck.trachea_r
    h = (low, neck.cricoid[0] - 10, neck.cricoid[1] - 2)
    y = (float(f.spine_y(low)) - 12 - 16 - r, float(f.spine_y(h[1])) - 20 - 8 - r, neck.larynx_y + 3)
    return Loft(h, (0.0,) * 3, y, (r * 1.05, r * 1.05, r * 0.9), (r * 0.95, r * 0.95, r))


def oesophagus(f: Frame, neck: Neck) -> Loft:
    """The (collapsed) oesophagus behind the trachea, from the cricoid down, a little to the left."""
    h = (f.bottom - 20, neck.cricoid[1])
    return Loft(h, (4.0, 2.0), tuple(float(f.spine_y(v)) - 16 for v in h), (9.0, 10.0), (5.5, 5.5))
