"""The body mask made from the MR alone (model.body_mask) against the phantoms' true masks: Dice per seed.

    python -m tools.bench body-mask --region head-and-neck --acquisition second-centre --seeds 0 8
    python -m tools.bench body-mask --region brain --anatomy unseen --seeds 0 6 [--json FILE]

Draws each phantom case (tools.phantom.make_case: the default look, a second centre's MR, or the unseen
anatomy), makes its mask from the MR as ``python -m model.dicom`` does without ``--mask`` (model.body_mask),
and prints per seed the Dice with the case's own mask, the share of the true mask missed and the share added
(of the true mask's voxels), step 2's noise share and neighbour count ``k``, and the seconds; then the min and
the median. ``--speckle-alpha 1`` switches step 2 off: the mask as it was made before that step. The
phantoms' masks are the outline dilated in-plane by 1 or 2 voxels (drawn per case): one voxel of rim is about
2.4 % of a head. Two more columns say what a score means:

- **shift**: where the outline (the mask before step 6's margin) lies against the anatomy's (the phantom's
  voxels that are not air), in rims of one voxel: (voxels outside the anatomy - anatomy voxels missed) / the
  voxels of one in-plane rim around the anatomy. +1 is the whole outline a voxel out, -1 a voxel in.
- **ceiling**: the Dice a perfect outline would score: step 6's margin around the anatomy itself, against the
  true mask. Below 1 because the true mask's margin (1 or 2 voxels) is drawn at random and the MR cannot show
  which; the summary also gives how well those two admissible masks agree with each other.
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import SimpleITK as sitk

from model.body_mask import SPECKLE_ALPHA, measured_body_voxels, with_margin
from tools.bench.common import add_json_option, write_json
from tools.phantom.acquisition import ACQUISITIONS
from tools.phantom.case import ANATOMIES, REGIONS, make_case
from tools.phantom.render import MASK_MARGINS, outline_with_margin
from tools.phantom.tissues import Tissue


def add_arguments(parser) -> None:
    parser.add_argument("--region", required=True, type=str.lower,
                        choices=sorted(r for r in REGIONS if " " not in r))
    parser.add_argument("--acquisition", choices=ACQUISITIONS, default="default")
    parser.add_argument("--anatomy", choices=ANATOMIES, default="default")
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 4), metavar=("FIRST", "END"),
                        help="seeds FIRST .. END-1 (default 0 4)")
    parser.add_argument("--speckle-alpha", type=float, default=SPECKLE_ALPHA,
                        help=f"step 2's noise probability (default {SPECKLE_ALPHA}; 1 switches the step off)")
    add_json_option(parser)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float(np.count_nonzero(a & b)) / float(np.count_nonzero(a) + np.count_nonzero(b))


def run(args) -> int:
    rows = []
    print(f"{args.region}, acquisition {args.acquisition}, anatomy {args.anatomy}, speckle alpha {args.speckle_alpha}: "
          "the MR's mask against the true one")
    print("| seed | Dice | missed | added | shift, rims | ceiling | noise share | k | seconds |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for seed in range(*args.seeds):
        case = make_case(args.region, seed, acquisition=args.acquisition, anatomy=args.anatomy)
        spacing = np.asarray(case.mr.GetSpacing(), dtype=float)[::-1]  # (z, y, x)
        start = time.perf_counter()  # what model.body_mask.body_mask does, with step 2's measure
        outline, share, k = measured_body_voxels(sitk.GetArrayViewFromImage(case.mr), case.mr.GetSpacing(),
                                                 margin_mm=0.0, speckle_alpha=args.speckle_alpha)
        made = with_margin(outline, spacing)
        seconds = time.perf_counter() - start
        true = sitk.GetArrayViewFromImage(case.mask) > 0
        anatomy = case.labels != Tissue.AIR
        row = {"seed": seed, "case": case.case_id, "dice": round(dice(made, true), 4),
               "missed": round(np.count_nonzero(true & ~made) / np.count_nonzero(true), 4),
               "added": round(np.count_nonzero(made & ~true) / np.count_nonzero(true), 4),
               "shift_rims": round(rim_shift(outline, anatomy), 2),
               "ceiling": round(dice(with_margin(anatomy, spacing), true), 4),
               "admissible": round(dice(*admissible_masks(anatomy)), 4),
               "noise_share": round(share, 4), "k": k, "seconds": round(seconds, 2)}
        rows.append(row)
        print(f"| {seed} | {row['dice']:.4f} | {row['missed']:.4f} | {row['added']:.4f} | {row['shift_rims']:+.2f} "
              f"| {row['ceiling']:.4f} | {share:.4f} | {k} | {seconds:.2f} |", flush=True)
    scores = [r["dice"] for r in rows]
    shifts = [r["shift_rims"] for r in rows]
    summary = {"region": args.region, "acquisition": args.acquisition, "anatomy": args.anatomy,
               "speckle_alpha": args.speckle_alpha,
               "seeds": list(args.seeds), "min": min(scores), "median": statistics.median(scores),
               "ceiling_min": min(r["ceiling"] for r in rows), "shift_rims": [min(shifts), max(shifts)],
               "admissible": [min(r["admissible"] for r in rows), max(r["admissible"] for r in rows)],
               "cases": rows}
    print(f"Dice min {summary['min']:.4f}, median {summary['median']:.4f} over {len(scores)} seeds; outline shift "
          f"{min(shifts):+.2f} to {max(shifts):+.2f} rims; a perfect outline's Dice (ceiling) min "
          f"{summary['ceiling_min']:.4f}; the two admissible true masks (margin 1 or 2) agree at "
          f"{summary['admissible'][0]:.4f}-{summary['admissible'][1]:.4f}")
    write_json(args, summary)
    return 0


def admissible_masks(anatomy: np.ndarray) -> tuple[np.ndarray, ...]:
    """The masks the phantom generator could have drawn for ``anatomy``: one for each of its margins."""
    return tuple(outline_with_margin(anatomy, margin) for margin in MASK_MARGINS)


def rim_shift(outline: np.ndarray, anatomy: np.ndarray) -> float:
    """Where ``outline`` lies against ``anatomy`` (both (z, y, x) bool), in in-plane rims of one voxel: voxels
    outside the anatomy less anatomy voxels missed, over the voxels of one 4-neighbour rim around the anatomy."""
    rim = np.count_nonzero(outline_with_margin(anatomy, 1) & ~anatomy)
    return (np.count_nonzero(outline & ~anatomy) - np.count_nonzero(anatomy & ~outline)) / max(rim, 1)
