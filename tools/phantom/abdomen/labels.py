"""An abdomen's label map: the order of the draw (the case's values, the frame, the field of view, then the
body, gut, organs, thoracic base, target, vessels, muscles, skeleton and arms as they are painted), the target and
the planning structures."""
from __future__ import annotations

import numpy as np

from tools.phantom.abdomen.body import ORGAN_ID, Canvas, body_layers, paint_arms, smooth_noise
from tools.phantom.abdomen.frame import AbdomenCase, Frame, draw_case, draw_frame, field_of_view, grid_spacing
from tools.phantom.abdomen.ranges import DEFAULT_ABDOMEN, VISCERAL_SHARE, AbdomenAnatomy
from tools.phantom.abdomen.skeleton import paint_muscles, paint_skeleton
from tools.phantom.abdomen.viscera import (
    paint_bowel,
    paint_mesentery,
    paint_organs,
    paint_stomach,
    paint_thorax_base,
    paint_vessels,
)
from tools.phantom.shapes import Drawn, Ellipsoid
from tools.phantom.solids import Union, depth_at
from tools.phantom.tissues import Tissue


def draw_labels(rng, scale=(1.0, 1.0, 1.0), anatomy: AbdomenAnatomy = DEFAULT_ABDOMEN) -> Drawn:
    """Draw an abdomen's field of view, its tissue label map and its planning structures from ``anatomy``'s
    ranges; ``scale``: voxels per phantom voxel along (x, y, z) (the field of view in mm stays the one drawn)."""
    case = draw_case(rng, anatomy)
    # obesity: a third of the extra fat is visceral (the abdominal wall moves out), the rest subcutaneous
    muscular = case.body.grown(VISCERAL_SHARE * case.extra_fat)
    outline = case.body.grown(case.extra_fat)
    frame = draw_frame(case, muscular, rng)
    grid, extent = field_of_view(case, outline, rng, anatomy, scale)
    canvas = body_layers(case, muscular, outline, grid, rng)
    noise = smooth_noise(rng, grid, extent, 15.0)
    paint_mesentery(canvas, frame, case, noise)
    stomach = paint_stomach(canvas, frame, case, rng)
    liver, pancreas, kidneys, organs = paint_organs(canvas, frame, case, rng)
    paint_bowel(canvas, frame, case, rng, anatomy, organs + [stomach], pancreas[0])
    diaphragm = paint_thorax_base(canvas, frame, case, rng)
    _paint_target(canvas, frame, case, liver, pancreas, kidneys, diaphragm, rng)
    paint_vessels(canvas, frame, case, kidneys, pancreas, rng)
    paint_muscles(canvas, frame, rng)
    paint_skeleton(canvas, frame, case, rng)
    if case.arms_in:
        paint_arms(canvas, outline, case, rng)
    structures = {name: canvas.owner == k for name, k in ORGAN_ID.items()}
    return Drawn(labels=canvas.labels, spacing=grid_spacing(scale), structures=structures)


def _paint_target(canvas: Canvas, frame: Frame, case: AbdomenCase, liver: Union, pancreas, kidneys, diaphragm,
                  rng) -> None:
    """A tumour (soft tissue, a slightly irregular ellipsoid) deep in the liver, away from the kidney and under
    the diaphragm, or in the pancreas' head or body."""
    f, r = frame, case.tumour_r
    radii = tuple(r * rng.uniform(0.85, 1.15, size=3))
    if case.liver_tumour:
        right = liver.shapes[0]
        candidates = np.asarray(right.centre) + rng.uniform(-0.6, 0.6, size=(12, 3)) * np.asarray(right.radii)

        def score(p):
            kidney = max(depth_at(k.shape, p) for k in kidneys)
            above = depth_at(diaphragm, p)
            return min(depth_at(liver, p) - 0.9 * r, -above - 0.7 * r - 5, -kidney - 0.5 * r,
                       p[2] - 0.5 * r, f.top - 0.5 * r - p[2])

        scores = [score(p) for p in candidates]
        ok = [i for i, s in enumerate(scores) if s > 0]
        centre = candidates[ok[0] if ok else int(np.argmax(scores))]
    else:
        t = rng.uniform(0.0, 1.5)
        i = min(int(t), 1)
        a, b = np.asarray(pancreas[i]), np.asarray(pancreas[i + 1])
        centre = a + (t - i) * (b - a) + rng.uniform(-5, 5, size=3)
    canvas.paint(Ellipsoid(tuple(centre), radii), Tissue.SOFT, ORGAN_ID["target"], where=canvas.inner)
