"""The head and neck's air: the tongue with the oral air above it, the pharynx, larynx and trachea lumens, the
piriform sinuses, oesophageal gas, the nasal cavity (septum, turbinates), the sinuses, mastoid air cells and ear
canals."""
from __future__ import annotations

import numpy as np

from tools.phantom.headneck.body import Canvas, Frame
from tools.phantom.headneck.jaw import Jaw
from tools.phantom.headneck.ranges import HeadNeckAnatomy
from tools.phantom.headneck.skeleton import sinuses
from tools.phantom.headneck.soft_tissue import Neck, oesophagus, trachea_lumen
from tools.phantom.shapes import Capsule, Ellipsoid, HalfSpace, Intersection, draw, paint
from tools.phantom.solids import Loft, rotated
from tools.phantom.tissues import Tissue


def paint_airways(rng, canvas: Canvas, f: Frame, jaw: Jaw, neck: Neck,
                   a: HeadNeckAnatomy) -> np.ndarray:
    """Tongue and the oral air above it, pharynx, larynx and trachea lumens, piriform sinuses, oesophageal gas,
    nasal cavity (septum, turbinates), sinuses, mastoid air cells, ear canals; returns the oral cavity's mask."""
    oral = _paint_mouth(rng, canvas, f, jaw, neck, a)
    canvas.paint_protected(neck.pharynx, Tissue.GAS)
    canvas.paint_protected(_larynx_lumen(rng, f, neck), Tissue.GAS)
    canvas.paint_protected(trachea_lumen(f, neck), Tissue.GAS)
    if rng.random() < 0.6:  # piriform sinuses
        for side in (1, -1):
            canvas.paint_protected(Ellipsoid((side * 13.0, neck.larynx_y + 13, neck.glottis + 7), (4.0, 5.0, 8.0)),
                             Tissue.GAS)
    if rng.random() < 0.35:  # a little gas in the oesophagus
        oes = oesophagus(f, neck)
        canvas.paint_protected(Loft(oes.h, oes.x, oes.y, (3.0, 3.0), (1.5, 1.5)), Tissue.GAS)
    _paint_nose_and_sinuses(rng, canvas, f, jaw)
    _paint_ear_air(rng, canvas, f)
    return oral


def _paint_mouth(rng, canvas: Canvas, f: Frame, jaw: Jaw, neck: Neck, a: HeadNeckAnatomy) -> np.ndarray:
    """The tongue (SOFT, opening with half the jaw's angle) and the air between it and the palate (more when the
    mouth is open); returns their mask (the oral cavity)."""
    gap = draw(rng, a.oral_air_mm) + 25.0 * jaw.angle
    y_front = jaw.upper.y0 + 7
    y_back = float(np.interp(jaw.occlusal, neck.pharynx.h, neck.pharynx.y)) - 2
    z0 = jaw.occlusal - 8
    top = f.palate - 3 - gap
    half_x = jaw.upper.at_length(40.0)[0] - 2
    body = Ellipsoid((0.0, (y_front + y_back) / 2 + 4, z0), (half_x, (y_back - y_front) / 2 + 2, top - z0))
    tongue = rotated(body, jaw.axis, jaw.angle / 2)
    oral = canvas.mask(tongue)
    if gap >= 0.5:  # a layer over the tongue's dorsum, not down its sides
        layer = Ellipsoid(body.centre, (half_x + 2, body.radii[1] + 3, body.radii[2] + gap))
        air = rotated(Intersection((layer, HalfSpace(2, top - gap - 6, -1), HalfSpace(1, y_front - 3, -1))),
                       jaw.axis, jaw.angle / 2)
        canvas.paint_protected(air, Tissue.GAS)
        oral |= canvas.mask(air)
    canvas.paint_protected(tongue, Tissue.SOFT)
    return oral


def _larynx_lumen(rng, f: Frame, neck: Neck) -> Loft:
    """Vestibule, glottis (a slit, open by a drawn amount), subglottis."""
    y, g = neck.larynx_y, neck.glottis
    slit = rng.uniform(1.5, 5.0)
    return Loft((neck.cricoid[0] - 4, g - 3, g, g + 4, f.hyoid + 4), (0.0,) * 5, (y + 3, y + 2, y + 1, y + 1, y + 5),
                (7.0, 6.5, slit, 5.0, 9.0), (8.0, 8.5, 9.0, 9.0, 12.0))


def _paint_nose_and_sinuses(rng, canvas: Canvas, f: Frame, jaw: Jaw) -> None:
    """Nasal cavity air with the septum and turbinates, maxillary and sphenoid sinus air (mucosa drawn)."""
    p, s, ys = f.palate, f.head, f.spine_y
    y_front, y_back = jaw.upper.y0 + rng.uniform(4, 8), float(ys(p)) - 26
    yc, ry = (y_front + y_back) / 2, (y_back - y_front) / 2
    cavity = Ellipsoid((0.0, yc, p + 23), (rng.uniform(11, 14) * s, ry, 21.0))
    canvas.paint_protected(cavity, Tissue.GAS)
    soft = [Intersection((cavity, HalfSpace(0, 1.2, 1), HalfSpace(0, -1.2, -1)))]
    for side in (1, -1):
        soft += [Ellipsoid((side * 9.0, yc + 4, p + 9), (4.5, ry * 0.75, rng.uniform(4, 6))),
                 Ellipsoid((side * 8.0, yc + 8, p + 24), (3.5, ry * 0.6, rng.uniform(4, 6)))]
    for shape in soft:
        canvas.paint_protected(Intersection((shape, cavity)), Tissue.SOFT)
    for sinus in sinuses(f, jaw):
        mucosa = rng.uniform(0, 4) if rng.random() < 0.5 else 0.0
        canvas.paint_protected(sinus, Tissue.SOFT)
        canvas.paint_protected(sinus, Tissue.GAS, margin=mucosa)


def _paint_ear_air(rng, canvas: Canvas, f: Frame) -> None:
    """Air cells in the mastoids' marrow (a drawn pneumatisation) and the external ear canals."""
    p = f.palate
    y1 = float(f.spine_y(p))
    cells = int(rng.integers(3, 12))
    for side in (1, -1):
        mastoid = np.array([side * canvas.mastoid_x, y1 + 22, p + 20])
        for _ in range(cells):
            centre = mastoid + rng.uniform(-1, 1, 3) * (7.0, 9.0, 12.0)
            cell = Ellipsoid(tuple(centre), (rng.uniform(1.5, 3.5),) * 3)
            canvas.paint_over(cell, Tissue.GAS, Tissue.MARROW)
        x_ear, y_ear, z_ear = canvas.ear
        canal = Capsule((side * (x_ear - 4), y_ear - 2, z_ear - 3), (side * (x_ear - 28), y_ear - 2, z_ear - 4), 3.5)
        paint(canvas.labels, canvas.grid, canal, Tissue.GAS, where=canvas.body)
