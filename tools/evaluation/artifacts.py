"""A checkerboard figure for an sCT: how much its error has at the highest frequency the grid holds.

A stride-2 transposed convolution of kernel 3 gives alternate output voxels a
different number of kernel taps, and its output carries a period-2 pattern
(Odena et al., Distill 2016). On the error map (sCT - CT inside the body) such a
pattern is a spike at the Nyquist frequency (0.5 cycles per voxel) of the power
spectrum along the axis it runs on; anatomy and CT noise have a smooth spectrum
there. The figure, per axis, is the power at the Nyquist bin over the mean power of
the bins from 0.375 cycles per voxel up to it: about 1 without a pattern, far above
with one.

    python -m tools.evaluation.artifacts --pred SCT_DIR --gt CT_DIR --mask MASK_DIR
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

AXES = ("z", "y", "x")
BAND_FROM = 0.375  # cycles per voxel


def nyquist_ratio(error: np.ndarray, axis: int) -> float:
    """Power at 0.5 cycles per voxel over the mean power in [0.375, 0.5) along ``axis`` (an even length is needed
    for a Nyquist bin: an odd one drops its last voxel)."""
    n = error.shape[axis] - error.shape[axis] % 2
    e = np.take(error, np.arange(n), axis=axis).astype(np.float64)
    power = np.abs(np.fft.rfft(e, axis=axis)) ** 2
    power = power.mean(axis=tuple(a for a in range(error.ndim) if a != axis))
    freqs = np.fft.rfftfreq(n)
    band = power[(freqs >= BAND_FROM) & (freqs < 0.5)]
    return float(power[-1] / band.mean()) if band.size and band.mean() > 0 else float("nan")


def checkerboard_figure(sct: np.ndarray, ct: np.ndarray, body: np.ndarray) -> dict[str, float]:
    """:func:`nyquist_ratio` of the error map (zero outside the body, cropped to its bounding box), per axis."""
    error = np.where(body, sct.astype(np.float32) - ct.astype(np.float32), 0.0)
    inside = np.argwhere(body)
    box = tuple(slice(lo, hi + 1) for lo, hi in zip(inside.min(0), inside.max(0)))
    error = error[box]
    return {name: nyquist_ratio(error, axis) for axis, name in enumerate(AXES) if error.shape[axis] >= 8}


def main(argv=None) -> int:
    from pathlib import Path

    from model.cli import exit_code
    from model.imageio import check_mask, to_array
    from tools.dataset.images import read_image, read_on_grid
    from tools.evaluation.evaluate import pair_evaluation_files  # SimpleITK: only for the command

    parser = argparse.ArgumentParser(prog="python -m tools.evaluation.artifacts", description=__doc__.split("\n")[0])
    parser.add_argument("--pred", required=True, type=Path, help="sCT folder")
    parser.add_argument("--gt", required=True, type=Path, help="CT folder")
    parser.add_argument("--mask", required=True, type=Path, help="body mask folder")
    args = parser.parse_args(argv)

    def report():
        rows = []
        for case, (pred, gt, mask) in pair_evaluation_files(args.pred, args.gt, args.mask).items():
            ct_image = read_image(gt)
            body = check_mask(to_array(read_on_grid(mask, ct_image, "CT")), mask)
            figure = checkerboard_figure(to_array(read_on_grid(pred, ct_image, "CT")), to_array(ct_image), body)
            rows.append(figure)
            print(case, " ".join(f"{k} {v:.2f}" for k, v in figure.items()))
        if rows:
            print("median", " ".join(f"{k} {np.nanmedian([r.get(k, np.nan) for r in rows]):.2f}" for k in AXES
                                     if any(k in r for r in rows)))

    return exit_code(report)

if __name__ == "__main__":
    sys.exit(main())
