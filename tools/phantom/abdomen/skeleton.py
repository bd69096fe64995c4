"""The abdomen's skeleton and the muscles by the spine: vertebrae and discs, the lower ribs, the iliac crests,
the canal (epidural fat, dural sac, cord, conus, cauda equina); paraspinal muscles, quadratus lumborum, psoas,
diaphragmatic crura."""
from __future__ import annotations

import numpy as np

from tools.phantom.abdomen.body import ORGAN_ID, Canvas
from tools.phantom.abdomen.frame import AbdomenCase, Frame
from tools.phantom.pelvis import IliacWing
from tools.phantom.shapes import Capsule, HalfSpace, Intersection, accumulate_union, paint_bone
from tools.phantom.solids import FLOOR, Cone, TiltedCylinder
from tools.phantom.tissues import Tissue

_RIB_END_DEG = {1: (75, 105), 2: (105, 135), 3: (140, 160), 4: (150, 170), 5: (155, 175), 6: (160, 175)}


def paint_skeleton(canvas: Canvas, frame: Frame, case: AbdomenCase, rng) -> None:
    """Vertebrae, discs and canal (epidural fat, dural sac, cord or cauda equina), the lower ribs and, when low
    enough, the iliac crests."""
    f, grid = frame, canvas.grid
    disc = rng.uniform(8, 11)
    bones, discs = [], []
    for k in range(-5, 7):
        zc = f.level_z(k)
        if zc < -2 * f.period or zc > f.top + 2 * f.period:
            continue
        bones += _vertebra(f, k, zc, disc, rng)
        shrink = 0.88 if k > 0 else 1.0
        z_up = zc + f.period * shrink / 2
        discs.append(TiltedCylinder((0.0, f.spine_y(z_up), z_up), (f.vb[0] * shrink, f.vb[1] * shrink),
                                    (z_up - disc * shrink / 2 - 1.5, z_up + disc * shrink / 2 + 1.5),
                                    (0.0, f.lordosis)))
    for k in range(1, 7):
        bones += _ribs(f, case, k, rng)
    crest = f.level_z(-3) + rng.uniform(-15, 10)
    if crest > 0:
        for s in (1, -1):
            wing_cx = rng.uniform(30, 45)
            bones.append(IliacWing(s, (wing_cx, f.spine_y(crest) - rng.uniform(5, 20)),
                                   (f.ix - 5 - wing_cx, rng.uniform(45, 60)), (crest - 130, crest),
                                   tuple(np.deg2rad((rng.uniform(-45, -35), rng.uniform(100, 115)))),
                                   rng.uniform(5, 7)))
    for d in discs:
        canvas.paint(d, Tissue.SOFT, where=canvas.in_body)
    depth = np.full(grid.shape, FLOOR, np.float32)
    for shape in bones:
        accumulate_union(depth, grid, shape)
    paint_bone(canvas.labels, depth, rng.uniform(1.5, 2.5), where=canvas.in_body)
    canvas.owner[(depth > 0) & canvas.in_body] = 0  # bone is no structure's
    _paint_canal(canvas, f, rng)


def _vertebra(f: Frame, k: int, zc: float, disc: float, rng) -> list:
    """Body, pedicles, laminae, spinous, transverse and articular processes of vertebra ``k`` centred at ``zc``."""
    shrink = 0.88 if k > 0 else 1.0
    height = f.period * shrink - disc * shrink
    y, (rx, ry) = f.spine_y(zc), (f.vb[0] * shrink, f.vb[1] * shrink)
    canal_y, canal_r = y + ry + 9, (10.0, 8.0)
    lamina_y = canal_y + canal_r[1] + 3
    spinous_len = rng.uniform(22, 30)
    tp = rng.uniform(25, 38) if k <= 0 else rng.uniform(15, 22)
    parts = [
        Intersection((TiltedCylinder((0.0, y, zc), (rx, ry), (zc - height / 2, zc + height / 2), (0.0, f.lordosis)),
                      HalfSpace(1, y + 0.8 * ry, 1))),
        Capsule((0.0, lamina_y, zc + 2), (0.0, lamina_y + spinous_len, zc - (12 if k <= 0 else 22)),
                rng.uniform(3.5, 5)),
    ]
    for s in (1, -1):
        pedicle_x = s * (canal_r[0] + 3)
        parts += [
            Capsule((pedicle_x, y + 0.5 * ry, zc + 4), (pedicle_x, canal_y + 2, zc + 4), 5.0),
            Capsule((pedicle_x, canal_y + 3, zc), (s * 3.0, lamina_y, zc - 2), 4.0),
            Capsule((pedicle_x, canal_y + 2, zc + 3), (s * (canal_r[0] + tp), canal_y + 8, zc + 3), 4.0),
            Capsule((s * (canal_r[0] + 6), canal_y + 5, zc - height / 2), (s * (canal_r[0] + 7), canal_y + 8,
                                                                           zc + height / 2 + disc), 4.5),
        ]
    return parts


def _ribs(f: Frame, case: AbdomenCase, k: int, rng) -> list:
    """The pair of ribs of thoracic vertebra ``k`` (1: T12, 2: T11, ...): from the body's side past the transverse
    process, then round an ellipse in the chest wall and down, to an end angle that grows up the chest."""
    zc = f.level_z(k)
    end = np.deg2rad(rng.uniform(*_RIB_END_DEG[k]))
    drop = rng.uniform(0.45, 0.65) * np.rad2deg(end)
    radius = rng.uniform(4.0, 5.5)
    if zc - drop > f.top + 20 or zc < -20:
        return []
    y = f.spine_y(zc)
    canal_y = y + f.vb[1] + 9
    back, front = canal_y + 20, f.front - 3
    yc, ry, rx = (back + front) / 2, (back - front) / 2, f.ix + 3
    start = np.arcsin(min(0.9, (f.vb[0] + 40) / rx))
    angles = np.linspace(start, end, 10)
    parts = []
    for s in (1, -1):
        points = [(s * f.vb[0] * 0.8, y + 0.3 * f.vb[1], zc + 6), (s * (f.vb[0] + 22), canal_y + 5, zc)]
        points += [(s * rx * np.sin(a), yc + ry * np.cos(a), zc - drop * (a - start) / (end - start))
                   for a in angles]
        parts += [Capsule(points[i], points[i + 1], radius) for i in range(len(points) - 1)]
    return parts


def _paint_canal(canvas: Canvas, f: Frame, rng) -> None:
    """The spinal canal over the whole height: epidural fat, the dural sac (CSF), the cord tapering to the conus
    at L1-L2, the cauda equina below (lying dorsally)."""
    canal_y = f.y_vb + f.vb[1] + 9
    conus = f.z_l1 - rng.uniform(0, 25)
    slope, zr = (0.0, f.lordosis), (-60.0, f.top + 60)
    canvas.paint(TiltedCylinder((0.0, canal_y, f.z_l1), (10.0, 8.0), zr, slope), Tissue.FAT, where=canvas.in_body)
    canvas.paint(TiltedCylinder((0.0, canal_y, f.z_l1), (8.0, 6.5), zr, slope), Tissue.CSF, where=canvas.in_body)
    cord = ORGAN_ID["spinal_cord"]
    y_at = f.spine_y
    canvas.paint(TiltedCylinder((0.0, canal_y - 1, f.z_l1), (4.5, 3.5), (conus + 20, f.top + 60), slope), Tissue.SOFT,
                 cord, where=canvas.in_body)
    canvas.paint(Cone((0.0, y_at(conus + 20) + f.vb[1] + 8, conus + 20), (0.0, y_at(conus) + f.vb[1] + 9, conus),
                      4.0, 1.5), Tissue.SOFT, cord, where=canvas.in_body)
    canvas.paint(TiltedCylinder((0.0, canal_y + 2.5, f.z_l1), (3.5, 2.5), (-60.0, conus + 5), slope), Tissue.SOFT, cord,
                 where=canvas.in_body)


def paint_muscles(canvas: Canvas, frame: Frame, rng) -> None:
    """Paraspinal muscles, quadratus lumborum, psoas (from L1, widening downwards) and the diaphragmatic crura."""
    f = frame
    canal_y = f.y_vb + f.vb[1] + 10
    for s in (1, -1):
        canvas.paint(TiltedCylinder((s * rng.uniform(30, 40), canal_y + rng.uniform(25, 35), f.z_l1),
                                    (rng.uniform(25, 35), rng.uniform(25, 32)), (-50.0, f.top + 50), (0.0, f.lordosis)),
                     Tissue.SOFT, where=canvas.under_fat)
        canvas.paint(Cone((s * (f.vb[0] + 30), canal_y - 5, f.z_l1 + 30), (s * (f.vb[0] + 45), canal_y, -60.0),
                          rng.uniform(6, 9), rng.uniform(11, 15)), Tissue.SOFT, where=canvas.under_fat)
        top, bottom = f.z_l1 + rng.uniform(0, 15), -60.0
        canvas.paint(Cone((s * (f.vb[0] + 2), f.spine_y(top) - 2, top),
                          (s * (f.vb[0] + 20), f.spine_y(bottom) - 12, bottom), rng.uniform(5, 8),
                          rng.uniform(22, 28)), Tissue.SOFT, where=canvas.inner)
        crus_low, crus_high = f.level_z(-1), f.level_z(2)
        canvas.paint(Capsule((s * 8.0, f.spine_y(crus_low) - f.vb[1], crus_low),
                             (s * 18.0, f.spine_y(crus_high) - f.vb[1] - 22, crus_high), rng.uniform(3.5, 5.5)),
                     Tissue.SOFT, where=canvas.inner)
