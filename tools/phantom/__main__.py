"""Deterministic MR / CT / body-mask phantoms: SynthRAD2023 Task 1's regions (pelvis, brain) and SynthRAD2025's
(head and neck, thorax, abdomen).

Command line::

    python -m tools.phantom --region pelvis|brain|head-and-neck|thorax|abdomen --cases 4 --seed 0 --out DIR \\
        [--layout dataset|container] [--format nii.gz|mha] \\
        [--acquisition default|second-centre|second-centre-t2-urine] [--anatomy default|unseen]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from tools.phantom.acquisition import ACQUISITIONS, MR_ACQUISITIONS
from tools.phantom.case import ANATOMIES, REGIONS, canonical_region, make_case, write_case


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point: generate ``--cases`` cases from ``--seed`` on."""
    parser = argparse.ArgumentParser(prog="python -m tools.phantom",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", required=True, type=str.lower, choices=sorted(r for r in REGIONS if " " not in r),
                        help="head-and-neck, thorax and abdomen are SynthRAD2025's regions")
    parser.add_argument("--cases", type=int, default=1, help="number of cases")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first case")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--layout", choices=("dataset", "container"), default="dataset")
    parser.add_argument(
        "--format", choices=("nii.gz", "mha"), default="nii.gz",
        help="file format of the dataset layout (container layout is always .mha)",
    )
    parser.add_argument("--synthrad-size", action="store_true",
                        help="pelvis only: SynthRAD-sized volumes, up to 153 x 410 x 586 voxels (a finer grid)")
    parser.add_argument("--acquisition", choices=ACQUISITIONS, default="default",
                        help="MR acquisition: the training data's (default) or a second centre's (case ids 1PY..., "
                             "1THY..., with T2-bright urine 1PZ..., pelvis only); CT, mask and anatomy are the "
                             "default's")
    parser.add_argument("--anatomy", choices=ANATOMIES, default="default",
                        help="'unseen' draws anatomy outside the data engine's training ranges, a held-out set "
                             "(pelvis: very obese, a very full bladder, large gas; brain: thick skull and scalp fat, large "
                             "ventricles, wide sulci; case ids 1PU..., 1BU...; SynthRAD2025's regions: see their "
                             "modules)")
    args = parser.parse_args(argv)
    region = canonical_region(args.region)
    if args.synthrad_size and region != "Pelvis":
        parser.error("--synthrad-size is for the pelvis")
    if region not in MR_ACQUISITIONS[args.acquisition].regions:
        parser.error(f"--acquisition {args.acquisition} is for the pelvis")
    if args.anatomy != "default" and args.acquisition != "default":
        parser.error("--anatomy unseen is drawn with the default acquisition")
    for i in range(args.cases):
        case = make_case(args.region, args.seed + i, synthrad_size=args.synthrad_size,
                         acquisition=args.acquisition, anatomy=args.anatomy)
        case_dir = write_case(case, args.out, layout=args.layout, fmt=args.format)
        print(f"{case.case_id} {case.region} size={case.ct.GetSize()} -> {case_dir}")


if __name__ == "__main__":
    sys.exit(main())
