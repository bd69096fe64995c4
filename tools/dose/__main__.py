"""Dose evaluation of one sCT: photon and proton plans optimised on the CT, recalculated on the sCT and on bulk
water, scored (dose difference, gamma, DVH, proton range), with pictures.

    python -m tools.dose --ct CT --sct SCT --mask BODY [--target MASK] [--oar NAME=MASK ...] [--mr MR]
        [--modality photon|proton|both] [--prescription GY] [--region pelvis|brain|head-and-neck|thorax|abdomen]
        [--config FILE]
        --out DIR [--json FILE]

Needs the optional dose tools: pip install --no-deps -r requirements-dose.txt
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from model.cli import exit_code
from model.errors import InputError
from tools.dose import MODALITY_CHOICES, chosen_modalities
from tools.dose.config import REGIONS


def _organ(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=MASK, got {text!r}")
    return name, Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dose", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ct", type=Path, required=True, help="the planning CT (the reference)")
    parser.add_argument("--sct", type=Path, required=True, help="the sCT, on the CT's grid")
    parser.add_argument("--mask", type=Path, required=True, help="the body mask, on the CT's grid")
    parser.add_argument("--target", type=Path, help="the target mask (default: a sphere by the documented rule)")
    parser.add_argument("--oar", type=_organ, action="append", default=[], metavar="NAME=MASK", help="an organ at risk")
    parser.add_argument("--mr", type=Path, help="the MR, for the report's pictures only")
    parser.add_argument("--modality", choices=MODALITY_CHOICES, default="both")
    parser.add_argument("--prescription", type=float, help="Gy (default: the region's, from the config)")
    parser.add_argument("--region", choices=REGIONS, default="pelvis", type=str.lower,
                        help="picks the default prescription, the beams and the target rule (default pelvis)")
    parser.add_argument("--config", type=Path, help="dose settings (default configs/dose/default.json)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the doses, metrics.json, report.md, pictures")
    parser.add_argument("--json", type=Path, help="write metrics.json here as well")
    args = parser.parse_args(argv)

    def run() -> None:
        from tools.dose.config import load_dose_config
        from tools.dose.run import run_case

        if args.prescription is not None and args.prescription <= 0:
            raise InputError(Path("--prescription"), f"{args.prescription:g} Gy: must be above 0")
        organs = dict(args.oar)
        if len(organs) != len(args.oar):
            raise InputError(Path("--oar"), "an organ name is given twice")
        config = load_dose_config(args.config)
        modalities = chosen_modalities(args.modality)
        paths = {"ct": args.ct, "sct": args.sct, "mask": args.mask, "target": args.target, "organs": organs, "mr": args.mr}
        result = run_case(args.sct.name.split(".")[0], paths, config, args.region, modalities, args.prescription, args.out)
        from tools.dose.report import markdown_table, summary_rows

        print(markdown_table(summary_rows(result["case"], result)), end="")
        print(f"{args.out}: metrics.json, report.md, pictures ({result['seconds']} s, peak RSS {result['peak_rss_gib']} GiB)")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=2) + "\n")

    return exit_code(run)


if __name__ == "__main__":
    raise SystemExit(main())
