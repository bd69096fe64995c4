"""The DICOM path against the .mha path on the sample cases, with an independent validator and reader.

    python scripts/dicom_check.py [--runs 3] [--device cpu] [--work runs/dicom-check]

For each sample case (test/cases/pelvis, test/cases/brain), axial as it is, and the pelvis also turned 20
degrees about x (an oblique acquisition: the same voxels on a rotated grid), and as one enhanced multi-frame
file:
- the MR written as a DICOM MR series (tools.dicom_mr), then ``python -m model.dicom --mask <the case's mask>``
  and ``python process.py`` on the same MR and mask as .mha: the sCT voxels and grid compared (identical?);
- ``dciodvfy`` (Debian's dicom3tools) on every file of the sCT series: errors and warnings counted, the distinct
  warnings listed;
- ``dcm2niix`` converts the sCT series to NIfTI: its corners' distance from the .mha sCT's (mm) and the largest
  |HU| difference at the same points;
- timing, side by side, alternating, ``--runs`` times (medians): the whole command (``process.py`` against
  ``model.dicom``), and the parts that differ: reading the MR (+ mask) and writing the sCT, .mha against DICOM;
- the body mask model.dicom makes when no ``--mask`` is given, against the case's mask (Dice).
"""
from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.body_mask import body_mask  # noqa: E402 (after the path)
from model.dicom.read import read_series  # noqa: E402
from model.dicom.write import write_ct_series  # noqa: E402
from tools.dicom_mr import oblique, write_mr_series  # noqa: E402


def timed(command: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.monotonic() - start


def corners(image: sitk.Image) -> np.ndarray:
    return np.array([image.TransformIndexToPhysicalPoint(i)
                     for i in itertools.product(*[(0, n - 1) for n in image.GetSize()])])


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


def check(name: str, mr: sitk.Image, mask: sitk.Image, region: str, work: Path, args, enhanced=False) -> dict:
    work.mkdir(parents=True)
    job = work / "job"
    for folder, image in (("images/mri", mr), ("images/body", mask)):
        (job / folder).mkdir(parents=True)
        sitk.WriteImage(image, str(job / folder / "case.mha"), useCompression=True)
    (job / "region.json").write_text(json.dumps(region))
    sitk.WriteImage(mask, str(work / "mask.mha"), useCompression=True)
    write_mr_series(mr, work / "mr", enhanced=enhanced, body_part=region.upper(), file_names="shuffled")
    mha = [sys.executable, "process.py", "--input", str(job), "--output", str(work / "out"), "--device", args.device]
    dcm = [sys.executable, "-m", "model.dicom", "--mr", str(work / "mr"), "--out", str(work / "ct"), "--mask",
           str(work / "mask.mha"), "--device", args.device]
    seconds = {"mha": [], "dicom": []}
    for _ in range(args.runs):
        for path, command, output in (("mha", mha, work / "out"), ("dicom", dcm, work / "ct")):
            shutil.rmtree(output, ignore_errors=True)
            seconds[path].append(timed(command))
    sct_mha = sitk.ReadImage(str(work / "out" / "images" / "synthetic-ct" / "case.mha"))
    sct_dicom = read_series(work / "ct", modality="CT").image
    same_grid = all(np.allclose(f(sct_mha), f(sct_dicom), atol=1e-4)
                    for f in (sitk.Image.GetSpacing, sitk.Image.GetOrigin, sitk.Image.GetDirection))
    identical = same_grid and np.array_equal(sitk.GetArrayFromImage(sct_mha), sitk.GetArrayFromImage(sct_dicom))

    files = sorted((work / "ct").iterdir())
    errors, warnings = 0, {}
    for path in files:
        report = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        for line in (report.stdout + report.stderr).splitlines():
            errors += line.startswith("Error")
            if line.startswith("Warning"):
                key = re.sub(r"\s+", " ", line)
                warnings[key] = warnings.get(key, 0) + 1

    (work / "nii").mkdir()
    subprocess.run(["dcm2niix", "-o", str(work / "nii"), "-f", "sct", "-z", "n", str(work / "ct")], check=True,
                   capture_output=True)
    theirs = sitk.ReadImage(str(work / "nii" / "sct.nii"))
    ours_corners = corners(sct_mha)
    corner_mm = max(np.linalg.norm(ours_corners - p, axis=1).min() for p in corners(theirs))
    resampled = sitk.Resample(theirs, sct_mha, sitk.Transform(), sitk.sitkNearestNeighbor, -5000.0)
    hu = int(np.abs(sitk.GetArrayFromImage(resampled).astype(int) - sitk.GetArrayFromImage(sct_mha)).max())

    parts = {"read mha": [], "read dicom": [], "write mha": [], "write dicom": []}
    for k in range(args.runs):
        start = time.monotonic()
        sitk.ReadImage(str(job / "images/mri/case.mha")), sitk.ReadImage(str(job / "images/body/case.mha"))
        parts["read mha"].append(time.monotonic() - start)
        start = time.monotonic()
        series = read_series(work / "mr")
        sitk.ReadImage(str(work / "mask.mha"))
        parts["read dicom"].append(time.monotonic() - start)
        start = time.monotonic()
        sitk.WriteImage(sct_mha, str(work / f"w{k}.mha"), useCompression=True)
        parts["write mha"].append(time.monotonic() - start)
        start = time.monotonic()
        write_ct_series(sct_mha, series, work / f"w{k}", "sCT timing", "timing", region.upper())
        parts["write dicom"].append(time.monotonic() - start)
    made = sitk.GetArrayFromImage(body_mask(mr)) > 0
    return {"case": name, "slices": len(files), "identical": identical, "errors": errors, "warnings": warnings,
            "corner_mm": corner_mm, "hu": hu, "mha_s": statistics.median(seconds["mha"]),
            "dicom_s": statistics.median(seconds["dicom"]),
            **{k: statistics.median(v) for k, v in parts.items()},
            "dice": dice(made, sitk.GetArrayFromImage(mask) > 0)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/dicom_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "dicom-check")
    args = parser.parse_args(argv)
    for tool in ("dciodvfy", "dcm2niix"):
        if shutil.which(tool) is None:
            raise SystemExit(f"error: {tool} not found (dciodvfy: apt-get install dicom3tools; dcm2niix: pip)")
    shutil.rmtree(args.work, ignore_errors=True)
    rows = []
    for region in ("pelvis", "brain"):
        case = ROOT / "test" / "cases" / region
        mr = sitk.ReadImage(str(next((case / "images" / "mri").glob("*.mha"))))
        mask = sitk.ReadImage(str(next((case / "images" / "body").glob("*.mha"))))
        name = json.loads((case / "region.json").read_text())
        variants = [(f"{region}, axial", mr, mask, False)]
        if region == "pelvis":
            turned = oblique(mr, 20, "x")
            turned_mask = sitk.Image(mask)
            turned_mask.CopyInformation(turned)
            variants += [(f"{region}, oblique 20 deg", turned, turned_mask, False),
                         (f"{region}, enhanced", mr, mask, True)]
        for label, image, body, enhanced in variants:
            rows.append(check(label, image, body, name, args.work / label.replace(", ", "-").replace(" ", "-"),
                              args, enhanced))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "warnings"}), flush=True)

    print(f"\n{args.device}, medians of {args.runs} runs side by side\n")
    print("| case | slices | sCT voxels, DICOM = .mha | dciodvfy errors | dcm2niix corners | dcm2niix max abs HU "
          "| process.py | model.dicom | read: .mha / DICOM | write: .mha / DICOM | body mask Dice |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['slices']} | {'identical' if r['identical'] else 'DIFFER'} | {r['errors']} | "
              f"{r['corner_mm']:.1e} mm | {r['hu']} | {r['mha_s']:.1f} s | {r['dicom_s']:.1f} s | "
              f"{r['read mha']:.2f} / {r['read dicom']:.2f} s | {r['write mha']:.2f} / {r['write dicom']:.2f} s | "
              f"{r['dice']:.4f} |")
    warnings = {}
    for r in rows:
        for line, count in r["warnings"].items():
            warnings[line] = warnings.get(line, 0) + count
    print("\ndciodvfy warnings (files):" + ("".join(f"\n- {line} ({n})" for line, n in warnings.items()) or " none"))
    return 0 if all(r["identical"] and r["errors"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
