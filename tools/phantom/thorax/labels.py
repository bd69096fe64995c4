"""A thorax's label map: :func:`draw_plan` draws every quantity (from ``rng`` alone, in a fixed order, no
grid), then the body, chest wall, cavity (lungs, diaphragm, abdomen, ribs), mediastinum, lung trees, tumour and
skeleton are painted on the grid, and the planning structures read from them."""
from __future__ import annotations

import numpy as np

from tools.phantom.shapes import Drawn, Grid, Intersection, accumulate_union, mask, paint, paint_bone
from tools.phantom.solids import Box, Union
from tools.phantom.thorax.frame import ThoraxPlan, draw_field_of_view, draw_frame
from tools.phantom.thorax.organs import (
    draw_abdomen,
    draw_breasts,
    draw_lung_trees,
    draw_mediastinum,
    draw_tumour,
    lung_depth,
)
from tools.phantom.thorax.ranges import DEFAULT_THORAX, LEFT, RIGHT, SPACING, ThoraxAnatomy
from tools.phantom.thorax.skeleton import draw_cage_and_spine, draw_shoulders
from tools.phantom.tissues import Tissue


def draw_labels(rng, scale=(1.0, 1.0, 1.0), anatomy: ThoraxAnatomy = DEFAULT_THORAX) -> Drawn:
    """Draw a thorax from ``anatomy``'s ranges: its field of view, tissue label map and planning structures;
    ``scale``: voxels per default voxel along (x, y, z) (the field of view in mm stays the one drawn, and so does
    the anatomy: every draw comes before the grid)."""
    plan = draw_plan(rng, anatomy)
    spacing = tuple(float(s / f) for s, f in zip(SPACING, scale))
    size = tuple(round(n * f) for n, f in zip((plan.nx, plan.ny, plan.nz), scale))
    grid = Grid.centred(size, spacing, plan.shift)
    labels, structures = _paint_thorax(plan, grid)
    return Drawn(labels=labels, spacing=spacing, structures=structures)


def draw_plan(rng, a: ThoraxAnatomy) -> ThoraxPlan:
    """Every random quantity of a thorax, in a fixed order."""
    plan = draw_frame(rng, a)
    draw_cage_and_spine(plan, rng, a)
    draw_mediastinum(plan, rng, a)
    draw_abdomen(plan, rng)
    draw_shoulders(plan, rng, a)
    draw_breasts(plan, rng, a)
    draw_lung_trees(plan, rng, a)
    draw_tumour(plan, rng, a)
    draw_field_of_view(plan, rng, a)
    return plan


def _paint_thorax(plan: ThoraxPlan, grid: Grid) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The label map and the planning structures of ``plan`` on ``grid``."""
    x, y, z = grid.full()
    depth = plan.outline.depth(x, y, z).astype(np.float32)
    for mound, _ in plan.breasts:
        accumulate_union(depth, grid, mound)
    for outline, _ in plan.arms:
        for solid in outline:
            accumulate_union(depth, grid, solid)
    body = depth > 0
    labels = np.where(body, np.uint8(Tissue.SOFT), np.uint8(Tissue.AIR))
    labels[(depth > plan.skin) & (depth <= plan.fat_thickness(x, y))] = Tissue.FAT
    _paint_breasts(labels, grid, plan, depth)

    for outline, _ in plan.arms:  # the arms' fat is thinner than the trunk's
        for solid in outline:
            paint(labels, grid, solid.grown(-plan.arm_fat), Tissue.SOFT, only=(Tissue.FAT,))
    for pad in plan.fat_pads:  # in the muscle
        paint(labels, grid, pad, Tissue.FAT, only=(Tissue.SOFT,))

    mediastinum = np.full(grid.shape, -1e3, np.float32)
    for solid in plan.mediastinum:
        accumulate_union(mediastinum, grid, solid)
    bone = np.full(grid.shape, -1e3, np.float32)
    lungs, cavity, abdomen = _paint_cavity(labels, grid, plan, body, mediastinum, bone)
    _paint_abdomen(labels, grid, plan, abdomen)
    _paint_mediastinum(labels, grid, plan, cavity)
    for side in (RIGHT, LEFT):
        for vessel in plan.lung_vessels[side]:
            paint(labels, grid, vessel, Tissue.BLOOD, where=lungs[side])
        for airway in plan.lung_airways[side]:
            paint(labels, grid, airway.outer(), Tissue.SOFT, where=lungs[side])
            paint(labels, grid, airway.lumen, airway.tissue, where=lungs[side])
    for lobe in plan.tumour:
        paint(labels, grid, lobe, Tissue.SOFT, where=cavity)
    _paint_skeleton(labels, grid, plan, body, bone)

    target = mask(grid, Union(tuple(plan.tumour))) & (labels == Tissue.SOFT)  # not the ribs it may touch
    heart = mask(grid, Union((plan.heart,))) & np.isin(labels, (Tissue.SOFT, Tissue.BLOOD))
    cord = mask(grid, Union((plan.cord,))) & body
    aerated = np.isin(labels, (Tissue.LUNG, Tissue.BLOOD))
    structures = {"target": target, "lung_left": lungs[LEFT] & aerated & ~target,
                  "lung_right": lungs[RIGHT] & aerated & ~target, "heart": heart, "spinal_cord": cord}
    return labels, structures


def _paint_breasts(labels, grid: Grid, plan: ThoraxPlan, depth) -> None:
    """Breast fat outside the lean body's muscle, fibroglandular tissue in it, under the skin."""
    for mound, glands in plan.breasts:
        def outside_muscle(x, y, z, sl):
            lean = plan.body.depth(x, y, z)
            return (lean <= plan.fat_thickness(x, y) - plan.extra) & (depth[sl] > plan.skin)

        paint(labels, grid, mound, Tissue.FAT, where=outside_muscle)
        for gland in glands:
            paint(labels, grid, Intersection((gland, mound)), Tissue.GLAND, where=outside_muscle)


def _paint_cavity(labels, grid: Grid, plan: ThoraxPlan, body, mediastinum, bone):
    """Inside the rib cage: lungs, mediastinal fat, diaphragm, abdominal fat; the fat plane on the ribs; the ribs
    into ``bone``. Returns the lungs' masks (by side), the cavity's and the abdomen's."""
    cage = plan.cage
    reach = plan.ribs[LEFT].half_radial + plan.fat_plane + 3
    lo = (-cage.semi_x - reach, cage.centre_y - cage.semi_front - reach, -np.inf)
    hi = (cage.semi_x + reach, cage.centre_y + cage.semi_back + reach, np.inf)
    sl, X, Y, Z = grid.crop(lo, hi)
    view, med, inside_body = labels[sl], mediastinum[sl], body[sl]
    offset = cage.offset(X, Y, Z).astype(np.float32)
    psi = cage.angle(X, Y).astype(np.float32)
    half_r = plan.ribs[LEFT].half_radial
    plane_mm = plan.fat_plane * (0.4 + 0.9 * np.sin(3 * psi + plan.fat_plane_phase))
    plane = (offset < -half_r - 1) & (offset > -half_r - 1 - plane_mm) & (psi > 1.0) & inside_body
    view[plane] = Tissue.FAT

    cavity_depth = offset - plan.inset
    inside = (cavity_depth > 0) & inside_body
    height = plan.diaphragm.height(X, Y).astype(np.float32)
    above = inside & (Z > height)
    view[above] = Tissue.SOFT
    view[above & (med > 0)] = Tissue.FAT
    view[inside & (Z <= height)] = Tissue.SOFT
    below = inside & (Z <= height - plan.diaphragm.thickness)
    view[below] = Tissue.FAT
    view[above & (plan.paraspinal.depth(X, Y, Z) > 0)] = Tissue.SOFT

    lungs, cavity, abdomen = {}, np.zeros(grid.shape, bool), np.zeros(grid.shape, bool)
    cavity[sl], abdomen[sl] = inside, below & (med <= 0)
    for side in (RIGHT, LEFT):
        lung = (lung_depth(plan, side, X, Y, Z, med) > 0) & inside_body
        view[lung] = Tissue.LUNG
        lungs[side] = np.zeros(grid.shape, bool)
        lungs[side][sl] = lung

    band = (np.abs(offset) < half_r + 0.5) & inside_body
    if band.any():
        zb, psib = np.broadcast_to(Z, band.shape)[band], np.broadcast_to(psi, band.shape)[band]
        xb = np.broadcast_to(X, band.shape)[band]
        rib = np.full(zb.shape, -1e3, np.float32)
        for side in (RIGHT, LEFT):
            mine = (side * xb) > 0
            rib[mine] = plan.ribs[side].depth(offset[band][mine], psib[mine], zb[mine])
        view_bone = bone[sl]
        view_bone[band] = np.maximum(view_bone[band], rib)
    return lungs, cavity, abdomen


def _paint_abdomen(labels, grid: Grid, plan: ThoraxPlan, abdomen) -> None:
    """Liver, spleen and stomach under the diaphragm."""
    nx_, ny_, c = plan.liver_cut

    def liver_side(x, y, z, sl):
        return (nx_ * x + ny_ * y < c) & abdomen[sl]

    cage = plan.cage
    below_domes = Box((-cage.semi_x - 10, cage.centre_y - cage.semi_front - 10, -np.inf),
                      (cage.semi_x + 10, cage.centre_y + cage.semi_back + 10, plan.z_dome + 1))
    paint(labels, grid, below_domes, Tissue.LIVER, where=liver_side)
    paint(labels, grid, plan.spleen, Tissue.SPLEEN, where=abdomen)
    paint(labels, grid, plan.stomach, Tissue.SOFT, where=abdomen)
    paint(labels, grid, plan.stomach, Tissue.BOWEL, margin=3.0, where=abdomen)
    if plan.stomach_gas is not None:
        level = plan.stomach_gas

        def in_front(x, y, z, sl):
            return (y < level) & abdomen[sl]

        paint(labels, grid, plan.stomach, Tissue.GAS, margin=3.0, where=in_front)


def _paint_mediastinum(labels, grid: Grid, plan: ThoraxPlan, cavity) -> None:
    """Veins into the heart, the heart (pericardial fat, pericardium, epicardial fat, myocardium, chambers,
    septa), arteries, oesophagus and airways."""
    _paint_tubes(labels, grid, plan.veins_in, cavity)
    heart = plan.heart
    outer_fat, pericardium, epicardial = plan.heart_layers
    for grow, tissue in ((outer_fat + pericardium + epicardial, Tissue.FAT), (pericardium + epicardial, Tissue.SOFT),
                         (epicardial, Tissue.FAT)):
        paint(labels, grid, heart.grown(grow), tissue, where=cavity)
    paint(labels, grid, heart, Tissue.SOFT, where=cavity)
    paint(labels, grid, heart, Tissue.BLOOD, margin=plan.heart_wall, where=cavity)
    for septum in plan.septa:
        paint(labels, grid, septum, Tissue.SOFT, where=cavity)
    _paint_tubes(labels, grid, plan.arteries, cavity)
    for solid in plan.oesophagus:
        paint(labels, grid, solid, Tissue.SOFT, where=cavity)
    for solid in plan.oesophagus_gas:
        paint(labels, grid, solid, Tissue.GAS, where=cavity)
    _paint_tubes(labels, grid, plan.airways, cavity)


def _paint_tubes(labels, grid: Grid, tubes, where) -> None:
    """Joined tubes: all the walls, then all the lumens (a wall never cuts a lumen it joins)."""
    for tube in tubes:
        paint(labels, grid, tube.outer(), Tissue.SOFT, where=where)
    for tube in tubes:
        paint(labels, grid, tube.lumen, tube.tissue, where=where)


def _paint_skeleton(labels, grid: Grid, plan: ThoraxPlan, body, bone) -> None:
    """Discs, the bones (a soft-tissue rim where they meet lung), the canal with its cord, the humeri."""
    for solid in (plan.discs,):
        paint(labels, grid, solid, Tissue.SOFT, where=body)
    for solid in plan.bones:
        accumulate_union(bone, grid, solid)
    labels[(bone > -1.5) & (labels == Tissue.LUNG)] = Tissue.SOFT
    paint_bone(labels, bone, plan.cortex, where=body)
    paint(labels, grid, plan.canal, Tissue.CSF, where=body)
    paint(labels, grid, plan.cord, Tissue.SOFT, where=body)
    humeri = [solid for _, humerus in plan.arms for solid in humerus]
    if humeri:
        field_ = np.full(grid.shape, -1e3, np.float32)
        for solid in humeri:
            accumulate_union(field_, grid, solid)
        paint_bone(labels, field_, plan.arm_cortex, where=body)
