"""DICOM in, a planning-ready sCT series out: an MR series from the scanner or PACS through exactly the
container's case logic (model.container.process_folder: the same checks, routing by region, time budget and
pipelines), the sCT written as a CT series on the MR's grid, in its study and frame of reference.

    python -m model.dicom --mr DIR --out DIR [--region Brain|Pelvis] [--mask FILE] [--series UID]
                          [--weights DIR] [--device auto|cpu|cuda] [--time-budget SECONDS] [--description TEXT]

- ``--mr``: a folder holding the MR series (other series may be there: see model.dicom.read for which is taken).
- ``--region``: else the series' BodyPartExamined where it names one region unambiguously, else refused.
- ``--mask``: a body mask on the MR's grid (any format SimpleITK reads); else one is made from the MR
  (model.body_mask).
- ``--out``: a new folder for the CT series (refused when it exists and is not empty), written whole or not at
  all.
Errors are one line naming the file or series, exit code 1, and no output. Logs name files, UIDs and series
descriptions, never a patient's name, ID or birth date.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import SimpleITK as sitk

from model.body_mask import NoBodyError, body_mask
from model.cli import exit_code, setup_logging
from model.container import process_folder
from model.contract import BODY_DIR, BUNDLED_WEIGHTS, MRI_DIR, REGION_FILE, SCT_DIR
from model.dicom.read import DicomSeries, read_series
from model.dicom.write import check_new_folder, write_ct_series
from model.errors import InputError
from model.imageio import read_image
from model.registry import choose_weights, find_model

log = logging.getLogger("dicom")

# BodyPartExamined (DICOM PS3.16 Annex L terms) -> a region, where the term names one region only
BODY_PARTS = {"BRAIN": "Brain", "HEAD": "Brain", "SKULL": "Brain", "PELVIS": "Pelvis", "PROSTATE": "Pelvis",
              "BLADDER": "Pelvis", "RECTUM": "Pelvis", "CERVIX": "Pelvis", "UTERUS": "Pelvis",
              "HEADNECK": "Head and Neck", "NECK": "Head and Neck", "THORAX": "Thorax", "CHEST": "Thorax",
              "LUNG": "Thorax", "ABDOMEN": "Abdomen", "LIVER": "Abdomen", "KIDNEY": "Abdomen"}
# a region -> the BodyPartExamined of the sCT series where the MR has none
REGION_BODY_PART = {"brain": "BRAIN", "pelvis": "PELVIS", "head and neck": "HEADNECK", "thorax": "CHEST",
                    "abdomen": "ABDOMEN"}


def region_of(mr: DicomSeries, given: str | None, folder: Path) -> str:
    if given:
        return given
    part = str(mr.header.get("BodyPartExamined", "")).strip().upper()
    if part in BODY_PARTS:
        log.info("region %s from BodyPartExamined '%s'", BODY_PARTS[part], part)
        return BODY_PARTS[part]
    raise InputError(f"{folder} (series {mr.series.uid})", f"BodyPartExamined is '{part}', which names no region "
                     f"unambiguously: give --region ({', '.join(sorted(set(BODY_PARTS.values())))})")


def mask_for(mr: DicomSeries, path: Path | None, label: str) -> sitk.Image:
    if path is None:
        log.info("body mask made from the MR (no --mask given)")
        try:
            return body_mask(mr.image)
        except NoBodyError as err:
            raise InputError(label, str(err)) from None
    return read_image(path)


def run(args: argparse.Namespace) -> Path:
    check_new_folder(args.out)  # before the work, not after it
    choice = choose_weights(args.weights, BUNDLED_WEIGHTS)
    mr = read_series(args.mr, args.series)
    region = region_of(mr, args.region, args.mr)
    label = f"{args.mr} (series {mr.series.uid})"
    with tempfile.TemporaryDirectory(prefix="sct-dicom-") as tmp:
        job_in, job_out = Path(tmp) / "input", Path(tmp) / "output"
        name = f"{mr.series.uid}.mha"
        for folder, image in ((MRI_DIR, mr.image), (BODY_DIR, mask_for(mr, args.mask, label))):
            (job_in / folder).mkdir(parents=True)
            sitk.WriteImage(image, str(job_in / folder / name))
        (job_in / REGION_FILE).write_text(json.dumps(region))
        try:
            process_folder(job_in, job_out, choice, args.device, time_budget=args.time_budget)
        except InputError as err:  # the job's own file names mean nothing here: the series, or the option
            where = err.path
            if where.startswith(str(job_in / MRI_DIR)) or where.startswith(str(job_in / REGION_FILE)):
                where = label
            elif where.startswith(str(job_in / BODY_DIR)):
                where = str(args.mask) if args.mask else f"{label}: the body mask made from it"
            raise InputError(where, err.problem) from None
        sct = sitk.ReadImage(str(job_out / SCT_DIR / name))
    entry = find_model(choice.folder, region)
    description = args.description or (
        f"sCT {entry.region} {entry.pipeline}"
        + (" demo weights, not clinical" if choice.folder == BUNDLED_WEIGHTS else f" {entry.folder.name}, not clinical"))
    files = write_ct_series(sct, mr, args.out, description, software=f"synthrad-sct {entry.pipeline}",
                            body_part=REGION_BODY_PART.get(entry.region.casefold(), ""))
    log.info("%s: CT series of %d slices, '%s'", args.out, len(files), description[:64])
    return args.out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.dicom", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mr", type=Path, required=True, help="a folder with the MR series (DICOM)")
    parser.add_argument("--out", type=Path, required=True, help="a new folder for the sCT's CT series")
    parser.add_argument("--region", default=None, help="Brain or Pelvis (default: from BodyPartExamined)")
    parser.add_argument("--mask", type=Path, default=None, help="a body mask on the MR's grid (default: made from the MR)")
    parser.add_argument("--series", default=None, metavar="UID", help="the SeriesInstanceUID to take, where the "
                                                                        "folder holds several MR series")
    parser.add_argument("--weights", type=Path, default=None, help="as process.py's (default: /opt/ml/model when it "
                                                                    "holds a model folder, else the bundled weights/)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--time-budget", type=float, default=None, metavar="SECONDS", help="as process.py's")
    parser.add_argument("--description", default=None, help="the sCT series' SeriesDescription (64 characters "
                                                             "at most; default: the model and its weights)")
    args = parser.parse_args(argv)
    setup_logging()
    return exit_code(lambda: run(args), catch_all=str(args.mr))


if __name__ == "__main__":
    sys.exit(main())
