"""Compare one run's output folder with a sample case's expected output.

    python -m model.compare CASE OUTPUT [--max-abs-hu 2] [--mean-abs-hu HU]

CASE is a sample case folder (``test/cases/<region>``): the container's ``/input`` (``images/mri``,
``images/body``, ``region.json``) plus ``expected_output.json`` and the expected images in ``expected/``.
OUTPUT is the ``/output`` folder a run wrote for it. The checks:

- ``results.json`` equals ``expected_output.json`` exactly: structure, order, file names and JSON types;
- every output image it lists exists, has the expected pixel type and lies exactly on the grid of its
  input MR and of the expected image (size, spacing, origin, direction: compared exactly, not within
  a tolerance);
- its voxels are within the tolerance of the expected image: at most ``--max-abs-hu`` at every voxel
  (same weights and input; only floating-point summation order differs between CPUs), and, when
  given, a mean absolute difference of at most ``--mean-abs-hu`` (for a GPU, whose fp16 sampling
  moves more than the last bits).

``test.sh`` runs this inside the image it tests, so the host needs nothing but the container engine.
Prints one line per image; exits 1 with one line per problem.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path, PurePosixPath

import numpy as np
import SimpleITK as sitk

from model.contract import MRI_DIR, PLATFORM_INPUT, PLATFORM_OUTPUT
from model.imageio import grid_mismatch

# Same weights, same input, same device kind: only floating-point summation order differs (CPU model, thread
# count), which moves a voxel across an int16 rounding boundary at most.
DEFAULT_MAX_ABS_HU = 2.0


def _read_json(path: Path, problems: list[str]):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        problems.append(f"{path}: cannot read JSON ({err})")
        return None


def _local(path: str, platform_root: Path, host_root: Path) -> Path | None:
    """The local path of a ``/output/...`` or ``/input/...`` path named in results.json."""
    try:
        return host_root / PurePosixPath(path).relative_to(PurePosixPath(platform_root))
    except ValueError:
        return None


def compare_image(out_path: Path, expected_path: Path, mr_path: Path,
                  max_abs_hu: float | None, mean_abs_hu: float | None) -> tuple[str, list[str]]:
    """One output image against its expected image: (report line, problems)."""
    problems: list[str] = []
    images = {}
    for role, path in (("output", out_path), ("expected", expected_path), ("input MR", mr_path)):
        try:
            images[role] = sitk.ReadImage(str(path))
        except RuntimeError as err:
            problems.append(f"{path}: cannot read the {role} image ({str(err).strip().splitlines()[-1]})")
    if problems:
        return "", problems
    got, expected = images["output"], images["expected"]
    for what, reference in (("input MR", images["input MR"]), ("expected image", expected)):
        mismatch = grid_mismatch(got, reference, what, tolerance=0)
        if mismatch:
            problems.append(f"{out_path}: geometry differs from the {what}: {mismatch}")
    if got.GetPixelID() != expected.GetPixelID():
        problems.append(f"{out_path}: pixel type {got.GetPixelIDTypeAsString()}, "
                        f"expected {expected.GetPixelIDTypeAsString()}")
    if got.GetSize() != expected.GetSize():
        return "", problems
    diff = np.abs(sitk.GetArrayViewFromImage(got).astype(np.float64)
                  - sitk.GetArrayViewFromImage(expected).astype(np.float64))
    worst, mean = float(diff.max()), float(diff.mean())
    changed = int(np.count_nonzero(diff))
    report = (f"{out_path.name}: {changed} of {diff.size} voxels differ from the expected image, "
              f"max |diff| {worst:g}, mean |diff| {mean:.4f}")
    if max_abs_hu is not None and not worst <= max_abs_hu:  # NaN fails too
        problems.append(f"{out_path}: max |diff| {worst:g} HU > tolerance {max_abs_hu:g} HU")
    if mean_abs_hu is not None and not mean <= mean_abs_hu:
        problems.append(f"{out_path}: mean |diff| {mean:.4f} HU > tolerance {mean_abs_hu:g} HU")
    return report, problems


def compare_case(case: Path, output: Path, max_abs_hu: float | None = DEFAULT_MAX_ABS_HU,
                 mean_abs_hu: float | None = None) -> tuple[list[str], list[str]]:
    """(report lines, problems) for one case; no problems means the output matches."""
    if max_abs_hu is None and mean_abs_hu is None:
        raise ValueError("no voxel tolerance: give max_abs_hu, mean_abs_hu or both")
    case, output = Path(case), Path(output)
    problems: list[str] = []
    expected = _read_json(case / "expected_output.json", problems)
    results = _read_json(output / "results.json", problems)
    if expected is None or results is None:
        return [], problems
    if json.dumps(results) != json.dumps(expected):  # exact: 1, 1.0 and true differ
        problems.append(f"{output / 'results.json'}: differs from {case / 'expected_output.json'}: "
                        f"{json.dumps(results, sort_keys=True)} != {json.dumps(expected, sort_keys=True)}")
        return [], problems
    reports: list[str] = []
    for job in expected:
        mr = next((_local(i["filename"], PLATFORM_INPUT, case) for i in job.get("inputs", [])
                   if PurePosixPath(i["filename"]).parent == PurePosixPath(PLATFORM_INPUT / MRI_DIR)), None)
        if mr is None:
            problems.append(f"{case / 'expected_output.json'}: a job without an input MR under {PLATFORM_INPUT / MRI_DIR}")
            continue
        for item in job.get("outputs", []):
            out_path = _local(item["filename"], PLATFORM_OUTPUT, output)
            if out_path is None:
                problems.append(f"{case / 'expected_output.json'}: output {item['filename']} is not under /output")
                continue
            report, found = compare_image(out_path, case / "expected" / out_path.name, mr, max_abs_hu, mean_abs_hu)
            reports += [report] if report else []
            problems += found
    if not reports and not problems:
        problems.append(f"{case / 'expected_output.json'}: lists no output image, so nothing was compared")
    return reports, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("case", type=Path, help="sample case folder (expected_output.json, expected/, images/)")
    parser.add_argument("output", type=Path, help="the output folder of a run on that case")
    parser.add_argument("--max-abs-hu", type=float, default=DEFAULT_MAX_ABS_HU,
                        help=f"largest |difference| allowed at any voxel (default {DEFAULT_MAX_ABS_HU:g}; "
                             "negative: not checked, which needs --mean-abs-hu)")
    parser.add_argument("--mean-abs-hu", type=float, default=None, help="largest mean |difference| allowed")
    args = parser.parse_args(argv)
    max_abs = args.max_abs_hu if args.max_abs_hu >= 0 else None
    if max_abs is None and args.mean_abs_hu is None:
        parser.error("no voxel tolerance: a negative --max-abs-hu needs --mean-abs-hu")
    reports, problems = compare_case(args.case, args.output, max_abs, args.mean_abs_hu)
    for line in reports:
        print(line)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
