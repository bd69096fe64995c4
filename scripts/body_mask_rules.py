"""Body-mask rules tried against the second centre's MR, beside the shipped one (model.body_mask): why none ships.

    python scripts/body_mask_rules.py brain:second-centre:0:16 head-and-neck:second-centre:0:8 brain:default:0:6

For each phantom (REGION:ACQUISITION:FIRST:END, seeds FIRST .. END-1) prints, per rule, the Dice of the mask
with the phantom's true mask and the outline's shift against the anatomy in rims of one voxel (tools.bench
body-mask's columns), then each rule's min Dice and its seeds below 0.98. The rules:

- ``shipped``: model.body_mask as it is (log-Otsu threshold, noise step, parts, closing, fill, 1.5 mm margin).
- ``margin-1mm``: the same outline with a 1 mm margin (the 4 in-plane neighbours) instead of 1.5 mm.
- ``oracle-gamma``: the shipped rule on the MR with the acquisition's nonlinear contrast undone by its true
  exponent (``mr ** (1 / gamma)``, recorded from the generator: no real MR would tell it).
- ``noise-free``: the shipped rule on the same MR rendered without its Rician noise (another global scale too,
  which no step sees: the generator draws the scale after the noise).
- ``tissue-fraction``: the threshold at the air's mean plus 0.35 of the way to the tissues' median (the classes
  log-Otsu separates), instead of log-Otsu: independent of the noise floor.
- ``oracle-gamma-fraction``: both: the MR linearised by its true gamma, then thresholded at 0.3 of the way (the
  best of 0.15-0.3 on the second centre's brains): what an intensity rule could do if gamma were known.
- ``second-derivative``: edges from derivatives: from the outline dilated by 2 voxels, peel in-plane boundary
  voxels where the MR (smoothed, sigma 1 voxel in-plane, 0.7 through) is convex along its gradient (Canny's
  criterion: the air side of an edge) or at the air's noise, until none is; then parts, closing and fill.

Not product code: a record of measurements (docs/dicom.md, "Why no rule here closes that"). Slow: several
renders a case; about 10 s a brain on 2 cores.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tools.phantom.acquisition as acquisition  # noqa: E402
import tools.phantom.render as render  # noqa: E402
from model import body_mask as bm  # noqa: E402
from tools.bench.body_mask import dice, rim_shift  # noqa: E402
from tools.phantom.case import make_case  # noqa: E402
from tools.phantom.tissues import Tissue  # noqa: E402

RULES = ("shipped", "margin-1mm", "oracle-gamma", "noise-free", "tissue-fraction", "oracle-gamma-fraction",
         "second-derivative")


@contextlib.contextmanager
def recorded_gamma():
    """The generator's draws watched while the block runs: yields a dict whose "gamma" is the nonlinear
    contrast's exponent the MR was rendered with (the default acquisition's 1.0 draws nothing: absent)."""
    seen = {}
    draw = render.draw

    def recording(rng, *ranges):
        value = draw(rng, *ranges)
        if ranges == acquisition.SECOND_CENTRE.gamma:
            seen["gamma"] = value
        return value
    render.draw = recording
    try:
        yield seen
    finally:
        render.draw = draw


LOG_OTSU = bm.log_otsu_threshold


def tissue_fraction_outline(mr: np.ndarray, spacing_xyz, fraction: float) -> np.ndarray:
    """The shipped outline with its threshold at ``fraction`` of the way from the air's mean to the tissues'
    median (the two classes log-Otsu separates) instead of log-Otsu's."""
    def threshold(image: np.ndarray) -> float:
        sample = image.ravel()[:: max(1, image.size // bm.THRESHOLD_SAMPLE)].astype(np.float64)
        split = LOG_OTSU(image)
        air, tissue = sample[sample <= split].mean(), np.median(sample[sample > split])
        return float(air + fraction * (tissue - air))
    bm.log_otsu_threshold = threshold  # the one step swapped, the others as shipped
    try:
        return bm.measured_body_voxels(mr, spacing_xyz, margin_mm=0)[0]
    finally:
        bm.log_otsu_threshold = LOG_OTSU


def second_derivative_outline(mr: np.ndarray, spacing_xyz, outline: np.ndarray, band: int = 5) -> np.ndarray:
    spacing = np.asarray(spacing_xyz, float)[::-1]
    g = ndimage.gaussian_filter(mr.astype(np.float32), (0.7, 1.0, 1.0))
    gy, gx = np.gradient(g, axis=1), np.gradient(g, axis=2)
    gyy, gxx = np.gradient(gy, axis=1), np.gradient(gx, axis=2)
    gxy = np.gradient(gy, axis=2)
    along = (gx**2 * gxx + 2 * gx * gy * gxy + gy**2 * gyy) / (gx**2 + gy**2 + 1e-12)
    air = ~ndimage.binary_dilation(outline, render.IN_PLANE, iterations=band + 3)
    floor = np.quantile(g[air], 0.99) if air.any() else 0.0
    airy = (along >= 0) | (g <= floor)
    body = ndimage.binary_dilation(outline, render.IN_PLANE, iterations=2)
    for _ in range(band + 2):
        drop = body & ~ndimage.binary_erosion(body, render.IN_PLANE, border_value=1) & airy
        if not drop.any():
            break
        body &= ~drop
    closing = np.rint(bm.CLOSING_MM / spacing).astype(int)
    return bm.outline(body, bm.PART_ML / (float(np.prod(spacing)) / 1000.0), closing)


def outlines(region: str, acq: str, seed: int):
    """The phantom, its MR's gamma, and each rule's outline (before the margin) with the margin it takes."""
    with recorded_gamma() as seen:
        case = make_case(region, seed, acquisition=acq)
    gamma = seen.get("gamma", 1.0)
    mr = sitk.GetArrayFromImage(case.mr).astype(np.float64)
    spacing = case.mr.GetSpacing()
    shipped = bm.measured_body_voxels(mr, spacing, margin_mm=0)[0]
    made = {"shipped": (shipped, bm.MARGIN_MM), "margin-1mm": (shipped, 1.0)}
    made["oracle-gamma"] = (bm.measured_body_voxels(mr ** (1.0 / gamma), spacing, margin_mm=0)[0],
                            bm.MARGIN_MM)
    original = acquisition.MR_ACQUISITIONS[acq]
    acquisition.MR_ACQUISITIONS[acq] = dataclasses.replace(original, noise=(0.0, 0.0))
    try:
        quiet = sitk.GetArrayFromImage(make_case(region, seed, acquisition=acq).mr).astype(np.float64)
    finally:
        acquisition.MR_ACQUISITIONS[acq] = original
    made["noise-free"] = (bm.measured_body_voxels(quiet, spacing, margin_mm=0)[0], bm.MARGIN_MM)
    made["tissue-fraction"] = (tissue_fraction_outline(mr, spacing, 0.35), bm.MARGIN_MM)
    made["oracle-gamma-fraction"] = (tissue_fraction_outline(mr ** (1.0 / gamma), spacing, 0.3), bm.MARGIN_MM)
    made["second-derivative"] = (second_derivative_outline(mr, spacing, shipped), bm.MARGIN_MM)
    return case, gamma, made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="+", metavar="REGION:ACQUISITION:FIRST:END")
    args = parser.parse_args(argv)
    for spec in args.sets:
        region, acq, first, end = spec.split(":")
        scores = {rule: [] for rule in RULES}
        print(f"\n{region}, {acq}: Dice (outline shift, rims)\n| seed | gamma | " + " | ".join(RULES) + " |\n"
              + "|---" * (len(RULES) + 2) + "|")
        for seed in range(int(first), int(end)):
            case, gamma, made = outlines(region, acq, seed)
            true = sitk.GetArrayFromImage(case.mask) > 0
            anatomy = case.labels != Tissue.AIR
            spacing = np.asarray(case.mr.GetSpacing(), float)[::-1]
            cells = []
            for rule in RULES:
                outline, margin = made[rule]
                score = dice(bm.with_margin(outline, spacing, margin), true)
                shift = rim_shift(outline, anatomy)
                scores[rule].append((score, seed, shift))
                cells.append(f"{score:.4f} ({shift:+.2f})")
            print(f"| {seed} | {gamma:.2f} | " + " | ".join(cells) + " |", flush=True)
        for rule in RULES:
            low = [seed for score, seed, _ in scores[rule] if score < 0.98]
            shifts = [shift for _, _, shift in scores[rule]]
            print(f"{rule}: min {min(s for s, _, _ in scores[rule]):.4f}, below 0.98: {low or 'none'}; outline "
                  f"shift {min(shifts):+.2f} to {max(shifts):+.2f} rims")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
