"""Where the error is: the sCT scored by the ground-truth CT's tissue class, beside bulk water.

A mean MAE hides which tissue a model gets wrong. The body's voxels are split
by the CT's HU into classes (lower bound inclusive):

    gas < -400 <= low density < -200 <= fat < -30 <= soft tissue < 150 <= spongy bone < 500 <= cortical bone

For each class: its share of the body's voxels, the sCT's MAE, bulk water's MAE
(an sCT of 0 HU: |CT|), and the sCT's mean error (sCT - CT, the bias). A model
earns its place only in the classes where its MAE is below water's. Bone Dice
is the overlap of CT > 300 HU and sCT > 300 HU inside the body (1.0 where
neither has bone).
"""
from __future__ import annotations

import numpy as np

CLASSES = (("gas", -np.inf, -400.0), ("low density", -400.0, -200.0), ("fat", -200.0, -30.0),
           ("soft tissue", -30.0, 150.0), ("spongy bone", 150.0, 500.0), ("cortical bone", 500.0, np.inf))
BONE_HU = 300.0


def tissue_table(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> dict:
    """``{"classes": {name: {share, mae, water_mae, mean_error, voxels}}, "bone_dice": d}`` of one case; a class
    with no voxels has share 0 and NaN errors."""
    inside = mask > 0
    ct = gt[inside].astype(np.float64)
    sct = pred[inside].astype(np.float64)
    classes = {}
    for name, low, high in CLASSES:
        where = (ct >= low) & (ct < high)
        n = int(where.sum())
        error = sct[where] - ct[where]
        classes[name] = {"share": n / ct.size, "voxels": n,
                         "mae": float(np.abs(error).mean()) if n else float("nan"),
                         "water_mae": float(np.abs(ct[where]).mean()) if n else float("nan"),
                         "mean_error": float(error.mean()) if n else float("nan")}
    bone_ct, bone_sct = ct > BONE_HU, sct > BONE_HU
    total = int(bone_ct.sum() + bone_sct.sum())
    dice = 2.0 * int((bone_ct & bone_sct).sum()) / total if total else 1.0
    return {"classes": classes, "bone_dice": dice}


def mean_table(cases: list[dict]) -> dict:
    """Over cases: each class's share, errors and water's MAE pooled by voxel (every voxel of every case weighs
    the same), and the mean bone Dice over cases."""
    classes = {}
    for name, _, _ in CLASSES:
        rows = [c["classes"][name] for c in cases]
        voxels = sum(r["voxels"] for r in rows)
        pooled = {k: (sum(r[k] * r["voxels"] for r in rows if r["voxels"]) / voxels if voxels else float("nan"))
                  for k in ("mae", "water_mae", "mean_error")}
        classes[name] = {"share": float(np.mean([r["share"] for r in rows])), "voxels": voxels, **pooled}
    return {"classes": classes, "bone_dice": float(np.mean([c["bone_dice"] for c in cases]))}


def worse_than_water(table: dict) -> list[str]:
    """The classes (with voxels) where the sCT's MAE is above water's."""
    return [name for name, row in table["classes"].items() if row["voxels"] and row["mae"] > row["water_mae"]]


def format_tissue_table(table: dict) -> str:
    lines = [f"{'tissue (CT HU)':<16}  {'share':>6}  {'MAE':>8}  {'water':>8}  {'x water':>7}  {'mean err':>8}"]
    for name, row in table["classes"].items():
        if not row["voxels"]:
            lines.append(f"{name:<16}  {0.0:6.1%}  {'-':>8}  {'-':>8}  {'-':>7}  {'-':>8}")
            continue
        ratio = row["mae"] / row["water_mae"] if row["water_mae"] > 0 else float("nan")
        lines.append(f"{name:<16}  {row['share']:6.1%}  {row['mae']:8.1f}  {row['water_mae']:8.1f}  {ratio:7.2f}  "
                     f"{row['mean_error']:+8.1f}")
    lines.append(f"bone Dice (> {BONE_HU:.0f} HU): {table['bone_dice']:.3f}")
    worse = worse_than_water(table)
    lines.append("worse than water in: " + (", ".join(worse) if worse else "no class"))
    return "\n".join(lines)
