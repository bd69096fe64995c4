"""Where the error is, by organ: the sCT inside each planning structure (a target, the organs at risk), beside the CT.

The table by tissue class (tools.metrics.tissue) says which HU range a model gets wrong; this one says which organ.
An organ drawn as soft tissue that the sCT fills with lung-like values (a heart larger than any the model was
trained on, say) shows as a large negative mean error and a share of its voxels below ``LUNG_LIKE_HU`` that the
CT does not have. For each structure: its voxels, the CT's and the sCT's mean HU, the mean error (sCT - CT), the
MAE, and the shares of its voxels below ``LUNG_LIKE_HU`` in the CT and in the sCT. Over several cases the rows are
pooled by voxel (each mean weighted by the structure's voxels in that case).
"""
from __future__ import annotations

import numpy as np

from tools.metrics.tissue import CLASSES

LUNG_LIKE_HU = CLASSES[0][2]  # the tissue table's gas bound (-400 HU)
FIELDS = ("ct_mean", "sct_mean", "mean_error", "mae", "ct_lung_like", "sct_lung_like")


def structure_table(gt: np.ndarray, pred: np.ndarray, structures: dict[str, np.ndarray]) -> dict[str, dict]:
    """``{name: {voxels, ct_mean, sct_mean, mean_error, mae, ct_lung_like, sct_lung_like}}`` of one case, the
    structures in the order given; an empty structure has ``voxels`` 0 and NaN for the rest."""
    table = {}
    for name, mask in structures.items():
        inside = mask > 0
        ct, sct = gt[inside].astype(np.float64), pred[inside].astype(np.float64)
        if ct.size == 0:
            table[name] = {"voxels": 0, **{field: float("nan") for field in FIELDS}}
            continue
        error = sct - ct
        table[name] = {"voxels": int(ct.size), "ct_mean": float(ct.mean()), "sct_mean": float(sct.mean()),
                       "mean_error": float(error.mean()), "mae": float(np.abs(error).mean()),
                       "ct_lung_like": float(np.mean(ct < LUNG_LIKE_HU)),
                       "sct_lung_like": float(np.mean(sct < LUNG_LIKE_HU))}
    return table


def pooled_table(tables: list[dict[str, dict]]) -> dict[str, dict]:
    """The cases' tables pooled by voxel: a structure's every field is the voxel-weighted mean over the cases that
    have it (each field is a mean over voxels, so this is the field over all those voxels at once)."""
    names = list(dict.fromkeys(name for table in tables for name in table))
    pooled = {}
    for name in names:
        rows = [table[name] for table in tables if name in table and table[name]["voxels"]]
        voxels = sum(row["voxels"] for row in rows)
        pooled[name] = {"voxels": voxels, **{
            field: float(sum(row[field] * row["voxels"] for row in rows) / voxels) if voxels else float("nan")
            for field in FIELDS}}
    return pooled


def format_structure_table(table: dict[str, dict]) -> str:
    lines = [f"{'structure':<14}{'voxels':>10}{'CT mean':>9}{'sCT mean':>10}{'mean err':>10}{'MAE':>8}"
             f"{'CT < -400':>11}{'sCT < -400':>12}"]
    for name, row in table.items():
        if not row["voxels"]:
            lines.append(f"{name:<14}{0:>10}{'-':>9}{'-':>10}{'-':>10}{'-':>8}{'-':>11}{'-':>12}")
            continue
        lines.append(f"{name:<14}{row['voxels']:>10}{row['ct_mean']:>9.1f}{row['sct_mean']:>10.1f}"
                     f"{row['mean_error']:>+10.1f}{row['mae']:>8.1f}{row['ct_lung_like']:>10.1%}"
                     f"{row['sct_lung_like']:>12.1%}")
    return "\n".join(lines)
