"""A head and neck's label map: the order of the draw (frame, outline, grid, body, spine, jaw, neck, then the
painting), the target, the planning structures and the CT's streaks."""
from __future__ import annotations

import numpy as np

from tools.phantom.headneck.airways import paint_airways
from tools.phantom.headneck.body import BONE, Canvas, Frame, draw_frame, draw_outline, fov_grid, paint_body
from tools.phantom.headneck.jaw import Jaw, draw_jaw, metal_artefact, paint_teeth
from tools.phantom.headneck.ranges import DEFAULT_HEADNECK, SPACING, HeadNeckAnatomy
from tools.phantom.headneck.skeleton import draw_spine, paint_bones, paint_canal
from tools.phantom.headneck.soft_tissue import (
    Neck,
    draw_neck,
    paint_brain_and_orbits,
    paint_glands,
    paint_larynx_walls,
    paint_soft_tissue,
)
from tools.phantom.shapes import Drawn, Ellipsoid, draw
from tools.phantom.tissues import Tissue


def draw_labels(rng, scale=(1.0, 1.0, 1.0), anatomy: HeadNeckAnatomy = DEFAULT_HEADNECK) -> Drawn:
    """Draw a head-and-neck field of view, its label map, its structures and its CT streaks from ``anatomy``'s
    ranges; ``scale``: voxels per phantom voxel along (x, y, z) (the field of view in mm stays the one drawn)."""
    a = anatomy
    f = draw_frame(rng, a)
    outline = draw_outline(rng, f, a)
    grid = fov_grid(rng, f, outline, a, scale)
    canvas = paint_body(rng, grid, outline, f)
    spine = draw_spine(rng, f)
    jaw = draw_jaw(rng, f, a)
    neck = draw_neck(rng, f, outline, jaw, a)
    vessels = paint_soft_tissue(rng, canvas, f, outline, jaw, neck, a)
    glands = paint_glands(rng, canvas, f, jaw, neck, a)
    paint_brain_and_orbits(rng, canvas, f, outline)
    larynx = paint_larynx_walls(canvas, f, neck)
    mandible = paint_bones(rng, canvas, f, outline, spine, jaw, neck)
    canvas.fillings = paint_teeth(canvas, jaw)
    paint_canal(canvas, spine)
    oral = paint_airways(rng, canvas, f, jaw, neck, a)
    target = _paint_target(rng, canvas, f, jaw, neck, vessels, a)
    labels = canvas.labels
    structures = {
        "target": target,
        "spinal_cord": canvas.mask(spine.cord) & (labels == Tissue.SOFT),
        "parotid_left": glands[0] & (labels == Tissue.GLAND),
        "parotid_right": glands[1] & (labels == Tissue.GLAND),
        "larynx": larynx & canvas.body,
        "oral_cavity": oral & canvas.inner & ~np.isin(labels, BONE),
        "mandible": mandible & np.isin(labels, (Tissue.CORTICAL, Tissue.MARROW)),
    }
    artefact = metal_artefact(rng, canvas, jaw.fillings)
    spacing = tuple(float(s) / sc for s, sc in zip(SPACING, scale))
    return Drawn(labels=labels, spacing=spacing, structures=structures, ct_artefact=artefact)


def _paint_target(rng, canvas: Canvas, f: Frame, jaw: Jaw, neck: Neck, vessels: dict,
                  a: HeadNeckAnatomy) -> np.ndarray:
    """The target: a tumour (SOFT, sometimes with a necrotic core) at the base of the tongue / oropharynx, or a
    lymph node lateral to one jugular vein; painted over soft tissue and air, not over bone, teeth, metal, the
    canal or the vessels. Returns its mask."""
    r = draw(rng, a.tumour_r)
    node = rng.random() < a.node_p
    side = 1 if rng.random() < 0.5 else -1
    shape = rng.uniform(0.85, 1.15, 3)
    radii = tuple(float(v) for v in r * shape / np.prod(shape) ** (1 / 3))  # the volume of a sphere of radius r
    if node:
        vein = vessels["jugular_left" if side > 0 else "jugular_right"]
        h = rng.uniform(f.hyoid - 20, jaw.lower_border - 5)
        x = float(np.interp(h, vein.h, vein.x)) + side * (0.4 * r + rng.uniform(2, 6))
        y = float(np.interp(h, vein.h, vein.y)) + rng.uniform(0, 8)
    else:
        h = rng.uniform(jaw.occlusal - 35, jaw.occlusal - 12)
        x = side * rng.uniform(0, 12)
        y = float(np.interp(h, neck.pharynx.h, neck.pharynx.y)) - rng.uniform(0, 10)
    tumour = Ellipsoid((x, y, h), radii)
    core = rng.uniform(0.35, 0.55) if rng.random() < (0.3 if node else 0.15) else 0.0
    grid, labels = canvas.grid, canvas.labels
    sl, xx, yy, zz = grid.crop(*tumour.bounds())
    depth = np.broadcast_to(tumour.depth(xx, yy, zz), labels[sl].shape)
    view = labels[sl]
    inside = (depth > 0) & canvas.subskin[sl] & ~np.isin(view, BONE + (Tissue.CSF, Tissue.BLOOD))
    view[inside] = Tissue.SOFT
    if core:
        view[inside & (depth > (1 - core) * min(radii))] = Tissue.CSF
    target = np.zeros(grid.shape, bool)
    target[sl] = inside
    return target
