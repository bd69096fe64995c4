"""An MR at another voxel size through the pelvis pipeline: its sCT scored on that grid, next to the native one.

    python scripts/spacing_check.py [--weights weights] [--spacing 2 2 3] [--seeds 1000 ... 1004] [--work DIR]

Each held-out phantom (seeds 1000-1004 by default, never trained on) is written
twice in the container layout: as generated (1 x 1 x 2.5 mm) and with MR, body
mask and CT resampled to ``--spacing`` (x, y, z mm; MR and CT linearly, the mask
by nearest neighbour, over the same physical extent). process.py - the real
entry point - makes an sCT of each; each is scored with the SynthRAD2023 metrics
against the CT on its own grid. The ratio of the MAEs says how much the voxel
size costs: a model folder with ``preprocessing.spacing_mm`` resamples the MR to
its own voxel size and back; one without runs on whatever voxels it is given.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def resampled(image: sitk.Image, spacing_xyz, interpolator, fill: float = 0.0) -> sitk.Image:
    """``image`` on voxels of ``spacing_xyz`` over the same extent (the first voxel's corner kept), interpolated in
    float32 and rounded back to the image's pixel type; ``fill`` outside it."""
    old_spacing, size = np.array(image.GetSpacing()), np.array(image.GetSize())
    spacing = np.asarray(spacing_xyz, dtype=float)
    new_size = np.maximum(1, np.round(size * old_spacing / spacing)).astype(int)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    corner = np.array(image.GetOrigin()) - direction @ (old_spacing / 2)
    origin = corner + direction @ (spacing / 2)
    out = sitk.Resample(sitk.Cast(image, sitk.sitkFloat32), [int(n) for n in new_size], sitk.Transform(), interpolator,
                        tuple(origin), tuple(spacing), image.GetDirection(), fill, sitk.sitkFloat32)
    rounded = sitk.GetImageFromArray(np.rint(sitk.GetArrayFromImage(out)).astype(sitk.GetArrayViewFromImage(image).dtype))
    rounded.CopyInformation(out)
    return rounded


def write_input(folder: Path, cases) -> None:
    for sub in ("images/mri", "images/body", "ground-truth"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for name, (mr, mask, ct) in cases.items():
        sitk.WriteImage(mr, str(folder / "images/mri" / f"{name}.mha"))
        sitk.WriteImage(mask, str(folder / "images/body" / f"{name}.mha"))
        sitk.WriteImage(ct, str(folder / "ground-truth" / f"{name}.mha"))
    (folder / "region.json").write_text('"Pelvis"')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--spacing", type=float, nargs=3, default=(2.0, 2.0, 3.0), help="x y z, mm")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1000, 1005)))
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "spacing-check")
    args = parser.parse_args(argv)
    import process  # the entry point, the evaluation and the phantoms: imported after --help has answered
    from tools.evaluation.evaluate import evaluate
    from tools.phantom import make_case

    shutil.rmtree(args.work, ignore_errors=True)
    native, coarse = {}, {}
    for seed in args.seeds:
        case = make_case("pelvis", seed)
        native[case.case_id] = (case.mr, case.mask, case.ct)
        coarse[case.case_id] = (resampled(case.mr, args.spacing, sitk.sitkLinear),
                                resampled(case.mask, args.spacing, sitk.sitkNearestNeighbor),
                                resampled(case.ct, args.spacing, sitk.sitkLinear, fill=-1024.0))
    results = {}
    for name, cases in (("native", native), ("resampled", coarse)):
        folder = args.work / name
        write_input(folder / "input", cases)
        if process.main(["--input", str(folder / "input"), "--output", str(folder / "output"),
                         "--weights", str(args.weights), "--device", "cpu"]) != 0:
            return 1
        results[name] = evaluate(folder / "output" / "images" / "synthetic-ct", folder / "input" / "ground-truth",
                                 folder / "input" / "images" / "body")
    first = next(iter(coarse.values()))[0]
    print(f"weights {args.weights}; resampled MR {first.GetSize()} voxels of {first.GetSpacing()} mm for the first case")
    print("| case | MAE native (HU) | MAE at " + " x ".join(f"{s:g}" for s in args.spacing) + " mm (HU) | ratio |")
    print("|---|---|---|---|")
    for case in results["native"]["cases"]:
        a, b = results["native"]["cases"][case]["mae"], results["resampled"]["cases"][case]["mae"]
        print(f"| {case} | {a:.2f} | {b:.2f} | {b / a:.3f} |")
    a, b = results["native"]["mean"]["mae"], results["resampled"]["mean"]["mae"]
    print(f"| **mean** | **{a:.2f}** | **{b:.2f}** | **{b / a:.3f}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
