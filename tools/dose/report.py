"""Pictures and tables a physicist reads: per case, the images (MR | sCT | CT | |sCT - CT|), each modality's doses
(on the CT | on the sCT | sCT - CT | gamma) through the target's centre, and its DVH (CT solid, sCT dashed, water
dotted); over cases, a Markdown table of image and dose metrics with the bulk-water baseline beside them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tools.dose import MODALITIES
from tools.dose.inputs import DoseCase


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _views(volume: np.ndarray, centre) -> list[np.ndarray]:
    z, y, x = (int(round(c)) for c in centre)
    return [volume[z], volume[:, y, :][::-1], volume[:, :, x][::-1]]  # axial, coronal, sagittal (head up)


def _aspects(spacing_zyx) -> list[float]:
    sz, sy, sx = spacing_zyx
    return [sy / sx, sz / sx, sz / sy]


def images_png(path: Path, case: DoseCase) -> None:
    plt = _pyplot()
    ct, sct, mr = case.native["ct"], case.native["sct"], case.native["mr"]
    spacing_zyx = tuple(case.native["spacing"])[::-1]
    centre = [n / 2 for n in ct.shape]
    columns = [("MR", mr, "gray", None), ("sCT (HU)", sct, "gray", (-1000, 1500)), ("CT (HU)", ct, "gray", (-1000, 1500)),
               ("|sCT - CT| (HU)", np.abs(sct - ct), "magma", (0, 500))]
    columns = [c for c in columns if c[1] is not None]
    (nz, ny, nx), (sz, sy, sx) = ct.shape, spacing_zyx
    heights = [ny * sy, nz * sz, nz * sz * nx * sx / (ny * sy)]  # each view at its physical aspect, one width
    fig, axes = plt.subplots(3, len(columns), figsize=(3.6 * len(columns), 3.6 * sum(heights) / (nx * sx) + 1),
                             squeeze=False, layout="constrained", gridspec_kw={"height_ratios": heights})
    for j, (title, volume, cmap, limits) in enumerate(columns):
        low, high = limits or np.percentile(volume, (1, 99.5))
        for i, (view, aspect) in enumerate(zip(_views(volume, centre), _aspects(spacing_zyx))):
            shown = axes[i, j].imshow(view, cmap=cmap, vmin=low, vmax=high, aspect=aspect)
            axes[i, j].axis("off")
        axes[0, j].set_title(title)
        fig.colorbar(shown, ax=axes[:, j], shrink=0.6)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def dose_png(path: Path, case: DoseCase, doses: dict, gamma: dict, prescription: float, modality: str) -> None:
    plt = _pyplot()
    centre = np.argwhere(case.target).mean(axis=0)
    low_dose = np.maximum(doses["ct"], doses["sct"]) < 0.05 * prescription  # shown as the CT alone
    difference = np.where(low_dose, np.nan, (doses["sct"] - doses["ct"]) / prescription * 100)
    name, gamma_map = next(iter(gamma.items())) if gamma else ("gamma", np.full(case.ct.shape, np.nan))
    columns = [("dose on CT (Gy)", np.where(low_dose, np.nan, doses["ct"]), "jet", (0, 1.1 * prescription)),
               ("dose on sCT (Gy)", np.where(low_dose, np.nan, doses["sct"]), "jet", (0, 1.1 * prescription)),
               ("sCT - CT (% of prescription)", difference, "RdBu_r", (-10, 10)),
               (f"gamma {name} (above the cut-off)", gamma_map, "RdYlGn_r", (0, 1.1))]
    spacing = (case.spacing_mm,) * 3
    fig, axes = plt.subplots(2, 4, figsize=(16, 8), squeeze=False, layout="constrained",
                             gridspec_kw={"height_ratios": [case.ct.shape[1], case.ct.shape[0]]})
    for j, (title, volume, cmap, (low, high)) in enumerate(columns):
        for i, (view, background, aspect) in enumerate(zip(_views(volume, centre)[:2], _views(case.ct, centre)[:2],
                                                           _aspects(spacing)[:2])):
            axes[i, j].imshow(background, cmap="gray", vmin=-1000, vmax=1500, aspect=aspect)
            shown = axes[i, j].imshow(np.ma.masked_invalid(view), cmap=cmap, vmin=low, vmax=high, aspect=aspect, alpha=0.8)
            axes[i, j].contour(_views(case.target.astype(float), centre)[i], levels=[0.5], colors="w", linewidths=0.8)
            axes[i, j].axis("off")
        axes[0, j].set_title(title, fontsize=9)
        fig.colorbar(shown, ax=axes[:, j], shrink=0.6)
    fig.suptitle(f"{modality}: axial and coronal through the target's centre (target outlined)")
    fig.savefig(path, dpi=80)
    plt.close(fig)


def dvh_png(path: Path, case: DoseCase, doses: dict, prescription: float, modality: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    top = 1.2 * max(float(d.max()) for d in doses.values())
    levels = np.linspace(0, top, 300)
    structures = {"target": case.target, **case.organs}
    for k, (name, mask) in enumerate(structures.items()):
        colour = f"C{k}"
        for which, style in (("ct", "-"), ("sct", "--"), ("water", ":")):
            values = doses[which][mask]
            volume = [(values >= level).mean() * 100 for level in levels]
            ax.plot(levels, volume, style, color=colour, label=f"{name} ({which})" if which != "water" else None,
                    linewidth=1.4 if which != "water" else 1.0)
    ax.axvline(prescription, color="gray", linewidth=0.6)
    ax.set_xlabel("dose (Gy)")
    ax.set_ylabel("volume (%)")
    ax.set_title(f"{modality} DVH: CT solid, sCT dashed, bulk water dotted")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _fmt(value, digits=2) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


SUMMARY_COLUMNS = ("case", "MAE (HU)", "PSNR 2025 (dB)", "MS-SSIM", "photon dose MAE (%)", "photon gamma 2%/2mm (%)",
                   "photon gamma 1%/1mm (%)", "photon DVH score", "proton dose MAE (%)", "proton gamma 2%/2mm (%)",
                   "proton gamma 1%/1mm (%)", "proton DVH score", "proton range shift median / p95 (mm)")


def summary_rows(case_id: str, result: dict) -> list[list[str]]:
    """Two rows per case: the sCT and the bulk water."""
    rows = []
    for which in ("sct", "water"):
        image = result["image"][which]
        row = [f"{case_id} {'sCT' if which == 'sct' else 'water'}", _fmt(image["mae_2023"], 1), _fmt(image["psnr_2025"]),
               _fmt(image["ms_ssim_2025"], 4)]
        for modality in MODALITIES:
            entry = result["modalities"].get(modality, {}).get(which)
            if entry is None:
                row += ["-"] * 4
                continue
            rates = list(entry["gamma_pass_percent"].values()) + [None, None]
            row += [_fmt(entry["dose_mae_percent"]), _fmt(rates[0], 1), _fmt(rates[1], 1), _fmt(entry["dvh_score"], 3)]
        shift = result["modalities"].get("proton", {}).get(which, {}).get("range_shift")
        row.append(f"{_fmt(shift['median_mm'], 1)} / {_fmt(shift['p95_mm'], 1)}" if shift else "-")
        rows.append(row)
    return rows


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def _mean_result(results: list[dict]) -> tuple[dict, list[str]]:
    """The mean of every number the summary shows, over ``results`` (cases), and what each mean left out: one line
    per number that is not finite on some case (an infinite DVH score, a gamma with no voxel above the cut-off),
    naming the cases; the mean is over the others."""
    cases = [r["case"] for r in results]
    left_out = []

    def mean(values, label):
        finite = [v is not None and bool(np.isfinite(v)) for v in values]
        kept = [v for v, ok in zip(values, finite) if ok]
        if len(kept) < len(values):
            missing = ", ".join(f"{c} ({v})" for c, v, ok in zip(cases, values, finite) if not ok)
            left_out.append(f"{label}: mean of {len(kept)} of {len(values)}, without {missing}")
        return float(np.mean(kept)) if kept else float("nan")

    merged = {"image": {}, "modalities": {}}
    for which in ("sct", "water"):
        merged["image"][which] = {k: mean([r["image"][which][k] for r in results], f"{which} {k}")
                                  for k in results[0]["image"][which]}
    for modality in results[0]["modalities"]:
        merged["modalities"][modality] = {}
        for which in ("sct", "water"):
            entries = [r["modalities"][modality][which] for r in results]
            name = f"{modality} {which}"
            entry = {"dose_mae_percent": mean([e["dose_mae_percent"] for e in entries], f"{name} dose MAE"),
                     "dvh_score": mean([e["dvh_score"] for e in entries], f"{name} DVH score"),
                     "gamma_pass_percent": {k: mean([e["gamma_pass_percent"][k] for e in entries], f"{name} gamma {k}")
                                            for k in entries[0]["gamma_pass_percent"]}}
            if "range_shift" in entries[0]:
                entry["range_shift"] = {k: mean([e["range_shift"][k] for e in entries], f"{name} range shift {k}")
                                        for k in entries[0]["range_shift"]}
            merged["modalities"][modality][which] = entry
    return merged, left_out


def summary_markdown(results: list[dict]) -> str:
    """Every case's rows (sCT, then bulk water) and the means over the cases, then a line for each mean that left
    a case out (its value not finite there)."""
    rows = [row for r in results for row in summary_rows(r["case"], r)]
    left_out = []
    if len(results) > 1:
        merged, left_out = _mean_result(results)
        rows += summary_rows("mean", merged)
    notes = "".join(f"\n- {line}" for line in left_out)
    return markdown_table(rows) + (f"\nMeans over the finite values only:{notes}\n" if notes else "")
