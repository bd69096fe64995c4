"""Where the error is: the sCT scored by the ground-truth CT's tissue class, beside bulk water.

A mean MAE hides which tissue a model gets wrong. The body's voxels are split
by the CT's HU into classes (lower bound inclusive):

    gas < -400 <= low density < -200 <= fat < -30 <= soft tissue < 150 <= spongy bone < 500 <= cortical bone

For each class: its share of the body's voxels, the sCT's MAE, bulk water's MAE
(an sCT of 0 HU: |CT|), and the sCT's mean error (sCT - CT, the bias). A model
earns its place only in the classes where its MAE is below water's. Bone Dice
is the overlap of CT > 300 HU and sCT > 300 HU inside the body (1.0 where
neither has bone).

Each class is scored again on its interior alone: its voxels at least
``INTERIOR_VOXELS`` voxels (in every direction, diagonals included) from a voxel
of another class or outside the body. An edge voxel pays for a boundary drawn a
voxel off or blurred - there a soft-tissue voxel beside lung or bone can be
hundreds of HU off while water, which draws no boundary, is not - so the
interior says whether a class's excess over water is its values or its edges.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

CLASSES = (("gas", -np.inf, -400.0), ("low density", -400.0, -200.0), ("fat", -200.0, -30.0),
           ("soft tissue", -30.0, 150.0), ("spongy bone", 150.0, 500.0), ("cortical bone", 500.0, np.inf))
BONE_HU = 300.0
INTERIOR_VOXELS = 2
ROW_ERRORS = ("mae", "water_mae", "mean_error", "interior_mae", "interior_water_mae")


def tissue_table(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> dict:
    """``{"classes": {name: {share, mae, water_mae, mean_error, voxels, interior_voxels, interior_mae,
    interior_water_mae}}, "bone_dice": d}`` of one case; a class (or its interior) with no voxels has NaN errors."""
    inside = mask > 0
    labels = np.zeros(gt.shape, np.uint8)  # 0 outside the body, 1.. the classes
    for index, (_, low, high) in enumerate(CLASSES, start=1):
        labels[inside & (gt >= low) & (gt < high)] = index
    size = 2 * INTERIOR_VOXELS + 1
    interior = ndi.maximum_filter(labels, size=size, mode="nearest") == ndi.minimum_filter(labels, size=size,
                                                                                           mode="nearest")
    labels, interior = labels[inside], interior[inside]
    ct = gt[inside].astype(np.float64)
    sct = pred[inside].astype(np.float64)
    classes = {}
    for index, (name, _, _) in enumerate(CLASSES, start=1):
        where = labels == index
        core = where & interior
        n, n_core = int(where.sum()), int(core.sum())
        error = sct[where] - ct[where]
        classes[name] = {"share": n / ct.size, "voxels": n, "interior_voxels": n_core,
                         "mae": float(np.abs(error).mean()) if n else float("nan"),
                         "water_mae": float(np.abs(ct[where]).mean()) if n else float("nan"),
                         "mean_error": float(error.mean()) if n else float("nan"),
                         "interior_mae": float(np.abs(sct[core] - ct[core]).mean()) if n_core else float("nan"),
                         "interior_water_mae": float(np.abs(ct[core]).mean()) if n_core else float("nan")}
    bone_ct, bone_sct = ct > BONE_HU, sct > BONE_HU
    total = int(bone_ct.sum() + bone_sct.sum())
    dice = 2.0 * int((bone_ct & bone_sct).sum()) / total if total else 1.0
    return {"classes": classes, "bone_dice": dice}


def mean_table(cases: list[dict]) -> dict:
    """Over cases: each class's share, errors and water's MAE pooled by voxel (every voxel of every case weighs
    the same; the interior's over interior voxels), and the mean bone Dice over cases."""
    classes = {}
    for name, _, _ in CLASSES:
        rows = [c["classes"][name] for c in cases]
        pooled = {}
        for key in ROW_ERRORS:
            count = "interior_voxels" if key.startswith("interior") else "voxels"
            total = sum(r[count] for r in rows)
            pooled[key] = (sum(r[key] * r[count] for r in rows if r[count]) / total if total else float("nan"))
        classes[name] = {"share": float(np.mean([r["share"] for r in rows])),
                         "voxels": sum(r["voxels"] for r in rows),
                         "interior_voxels": sum(r["interior_voxels"] for r in rows), **pooled}
    return {"classes": classes, "bone_dice": float(np.mean([c["bone_dice"] for c in cases]))}


def worse_than_water(table: dict) -> list[str]:
    """The classes (with voxels) where the sCT's MAE is above water's."""
    return [name for name, row in table["classes"].items() if row["voxels"] and row["mae"] > row["water_mae"]]


def format_tissue_table(table: dict) -> str:
    """The table as text; the last three columns are the interior's (the class's share of it, MAE, water)."""
    lines = [f"{'tissue (CT HU)':<16}  {'share':>6}  {'MAE':>8}  {'water':>8}  {'x water':>7}  {'mean err':>8}  "
             f"{'interior':>8}  {'MAE':>8}  {'water':>8}"]
    for name, row in table["classes"].items():
        if not row["voxels"]:
            dashes = "  ".join(f"{'-':>{width}}" for width in (8, 8, 7, 8, 8, 8, 8))
            lines.append(f"{name:<16}  {0.0:6.1%}  {dashes}")
            continue
        ratio = row["mae"] / row["water_mae"] if row["water_mae"] > 0 else float("nan")
        core = row["interior_voxels"]
        interior = (f"{core / row['voxels']:8.1%}  {row['interior_mae']:8.1f}  {row['interior_water_mae']:8.1f}"
                    if core else f"{0.0:8.1%}  {'-':>8}  {'-':>8}")
        lines.append(f"{name:<16}  {row['share']:6.1%}  {row['mae']:8.1f}  {row['water_mae']:8.1f}  {ratio:7.2f}  "
                     f"{row['mean_error']:+8.1f}  {interior}")
    lines.append(f"interior: at least {INTERIOR_VOXELS} voxels from another class or the body's edge")
    lines.append(f"bone Dice (> {BONE_HU:.0f} HU): {table['bone_dice']:.3f}")
    worse = worse_than_water(table)
    lines.append("worse than water in: " + (", ".join(worse) if worse else "no class"))
    return "\n".join(lines)
