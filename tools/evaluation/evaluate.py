"""Score sCTs against ground-truth CTs with the SynthRAD image metrics (2023's by default, or 2025's).

    python -m tools.evaluation --pred DIR --gt DIR --mask DIR [--challenge 2023|2025] [--json FILE] [--structures DIR]
    python -m tools.evaluation --baseline water --gt DIR --mask DIR
    python -m tools.evaluation --pred DIR --gt DIR --mask DIR --dose OUT [--structures DIR] [--region pelvis|brain|head-and-neck|...]
        [--modality photon|proton|both] [--dose-config FILE]

``--dose``: each case's dose evaluation as well (python -m tools.dose: photon and proton plans on the CT,
recalculated on the sCT and on bulk water) into ``OUT/<case>/``, and ``OUT/summary.md`` over the cases. Targets and
organs at risk come from ``--structures DIR/<case>/<name>.*`` (``target`` the target, every other mask an organ at
risk; the phantom generator writes them), else the target is placed by tools.dose's rule.

SynthRAD2023: MAE, PSNR (clipped to [-1024, 3000]), SSIM. SynthRAD2025: MAE, PSNR
(clipped to [-1024, 3071]), masked MS-SSIM (tools.metrics.image_2025). Both: a table by the
CT's tissue class (gas, low density, fat, soft tissue, spongy and cortical bone: share, MAE, bulk
water's MAE, mean error) and bone Dice (> 300 HU), in the report and under ``tissues`` in the JSON
(tools.metrics.tissue). With ``--structures DIR`` (``DIR/<case>/<name>.*``, as the phantom generator writes them),
a table by planning structure as well (CT and sCT mean HU, mean error, MAE, the lung-like share:
tools.metrics.structures), under ``structures`` in the JSON.

Files are paired by case: either the same file name (``<name>.mha`` in each
folder, as the container writes them) or the same case folder (``<case>/ct.nii.gz``
and ``<case>/mask.nii.gz``, the SynthRAD2023 dataset layout).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from model.cli import exit_code
from model.errors import InputError
from model.imageio import check_mask, image_stem, is_image_file, to_array
from tools.dataset.images import read_image, read_on_grid
from tools.dose import MODALITY_CHOICES, chosen_modalities, require_dose_tools
from tools.dose.config import REGIONS as DOSE_REGIONS
from tools.metrics.image import CHALLENGES, image_metrics, water_baseline
from tools.metrics.structures import format_structure_table, pooled_table, structure_table
from tools.metrics.tissue import format_tissue_table, mean_table, tissue_table

# Column headings and formats of the table, by metric.
COLUMNS = {"mae": ("MAE (HU)", "9.2f"), "psnr": ("PSNR (dB)", "9.3f"), "ssim": ("SSIM", "7.4f"), "ms_ssim": ("MS-SSIM", "7.4f")}


def is_dicom_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a DICOM file (the preamble's "DICM" marker)."""
    for path in folder.iterdir():
        if path.is_file():
            with path.open("rb") as f:
                if f.read(132)[128:] == b"DICM":
                    return True
    return False


def find_images(folder: Path, role: str) -> dict[str, Path]:
    """Map case id -> image file in ``folder``.

    A loose image file is its own case (id = file name without suffix); a
    sub-folder is a case whose image is the one named ``role`` (``ct``,
    ``mask``...) or, failing that, its only image; a sub-folder without image
    files is a case whose image is a DICOM series: its sub-folder named
    ``role``, else the sub-folder itself (tools.dataset.images.read_image reads it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if is_image_file(entry):
            found[image_stem(entry)] = entry
        elif entry.is_dir():
            images = [p for p in sorted(entry.iterdir()) if is_image_file(p)]
            named = [p for p in images if image_stem(p).lower() == role]
            if len(named) == 1 or len(images) == 1:
                found[entry.name] = (named or images)[0]
            elif not images:
                series = entry / role if (entry / role).is_dir() else entry
                if is_dicom_folder(series):
                    found[entry.name] = series
    if not found:
        raise InputError(folder, f"no {role} images found (expected <case>.mha files or <case>/{role}.* folders)")
    return found


def pair_evaluation_files(pred_dir: Path | None, gt_dir: Path, mask_dir: Path) -> dict[str, tuple[Path | None, Path, Path]]:
    gts = find_images(gt_dir, "ct")
    masks = find_images(mask_dir, "mask")
    preds = find_images(pred_dir, "sct") if pred_dir is not None else {case: None for case in gts}
    for case in preds:
        for name, table, folder in (("ground-truth CT", gts, gt_dir), ("mask", masks, mask_dir)):
            if case not in table:
                raise InputError(folder, f"no {name} for case {case!r}")
    missing = sorted(set(gts) - set(preds))
    if missing:
        raise InputError(pred_dir, f"no sCT for {len(missing)} case(s): {', '.join(missing[:5])}")
    return {case: (preds[case], gts[case], masks[case]) for case in sorted(preds)}


def score_case(pred_path: Path | None, gt_path: Path, mask_path: Path, challenge: str = "2023",
               structures: dict[str, Path] | None = None) -> tuple[dict, dict, dict]:
    """The challenge's three metrics for one case, its table by tissue (tools.metrics.tissue) and its table by
    structure (tools.metrics.structures; empty without ``structures``, name -> mask file); ``pred_path`` None
    scores the water baseline."""
    gt_image = read_image(gt_path)
    mask = to_array(read_on_grid(mask_path, gt_image, "CT"))
    check_mask(mask, mask_path)
    pred = water_baseline(mask) if pred_path is None else to_array(read_on_grid(pred_path, gt_image, "CT"))
    gt = to_array(gt_image)
    masks = {name: to_array(read_on_grid(path, gt_image, "CT")) for name, path in (structures or {}).items()}
    return image_metrics(gt, pred, mask, challenge), tissue_table(gt, pred, mask), structure_table(gt, pred, masks)


def evaluate(pred_dir: Path | None, gt_dir: Path, mask_dir: Path, challenge: str = "2023",
             structures_dir: Path | None = None) -> dict:
    """``cases`` and their ``mean`` (the challenge's metrics), ``tissues``: each case's table by tissue class and
    the table over all cases (``tissues.mean``, pooled by voxel), and with ``structures_dir`` (``<case>/<name>.*``)
    ``structures``: the same by planning structure."""
    scored = {case: score_case(*paths, challenge, case_structure_files(structures_dir, case))
              for case, paths in pair_evaluation_files(pred_dir, gt_dir, mask_dir).items()}
    cases = {case: metrics for case, (metrics, _, _) in scored.items()}
    tissues = {case: table for case, (_, table, _) in scored.items()}
    mean = {k: float(np.mean([c[k] for c in cases.values()])) for k in CHALLENGES[challenge]}
    result = {"challenge": f"SynthRAD{challenge}", "cases": cases, "mean": mean,
              "tissues": {"cases": tissues, "mean": mean_table(list(tissues.values()))}}
    if structures_dir is not None:
        by_case = {case: table for case, (_, _, table) in scored.items()}
        result["structures"] = {"cases": by_case, "mean": pooled_table(list(by_case.values()))}
    return result


def format_table(result: dict) -> str:
    width = max(len("mean"), *(len(c) for c in result["cases"]))
    metrics = list(result["mean"])
    widths = [int(COLUMNS[m][1].split(".")[0]) for m in metrics]
    lines = [f"{'case':<{width}}" + "".join(f"  {COLUMNS[m][0]:>{w}}" for m, w in zip(metrics, widths))]
    for case, values in list(result["cases"].items()) + [("mean", result["mean"])]:
        lines.append(f"{case:<{width}}" + "".join(f"  {values[m]:{COLUMNS[m][1]}}" for m in metrics))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.evaluation", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pred", type=Path, help="folder of sCTs")
    source.add_argument("--baseline", choices=["water"], help="score the bulk-water sCT (0 HU inside the mask)")
    parser.add_argument("--gt", type=Path, required=True, help="folder of ground-truth CTs")
    parser.add_argument("--mask", type=Path, required=True, help="folder of body masks")
    parser.add_argument("--challenge", choices=sorted(CHALLENGES), default="2023",
                        help="whose image metrics: SynthRAD2023 (MAE, PSNR, SSIM; the default) or SynthRAD2025 (MAE, "
                             "PSNR to 3071 HU, masked MS-SSIM)")
    parser.add_argument("--json", type=Path, help="write the scores here as JSON")
    parser.add_argument("--dose", type=Path, metavar="OUT", help="evaluate the dose of every case as well (needs the "
                                                                  "optional dose tools, requirements-dose.txt)")
    parser.add_argument("--structures", type=Path, help="<case>/target.* and organs at risk: the sCT inside each "
                                                        "(a table by structure), and with --dose the plans' target "
                                                        "and organs")
    parser.add_argument("--region", choices=DOSE_REGIONS, default="pelvis", type=str.lower,
                        help="with --dose: prescription, beams and default target (default pelvis)")
    parser.add_argument("--modality", choices=MODALITY_CHOICES, default="both")
    parser.add_argument("--dose-config", type=Path, help="with --dose: dose settings (default configs/dose/default.json)")
    args = parser.parse_args(argv)

    def report() -> None:
        if args.dose is not None and args.pred is None:
            raise InputError(args.dose, "--dose evaluates sCTs: give --pred (the bulk water is scored beside them anyway)")
        result = evaluate(args.pred, args.gt, args.mask, args.challenge, args.structures)
        print(format_table(result))
        print(f"\nby the CT's tissue class, over {len(result['cases'])} case(s) (voxels pooled):")
        print(format_tissue_table(result["tissues"]["mean"]))
        if "structures" in result:
            print(f"\nby planning structure, over {len(result['cases'])} case(s) (voxels pooled; < -400 HU: "
                  f"lung-like):")
            print(format_structure_table(result["structures"]["mean"]))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        if args.dose is not None:
            dose_report(args)

    return exit_code(report)


def case_structure_files(folder: Path | None, case: str) -> dict[str, Path]:
    """Every image in ``folder/<case>/`` by name (none without the folder)."""
    if folder is None or not (Path(folder) / case).is_dir():
        return {}
    return {image_stem(p): p for p in sorted((Path(folder) / case).iterdir()) if is_image_file(p)}


def case_structures(folder: Path | None, case: str) -> tuple[Path | None, dict[str, Path]]:
    """(target, organs) from ``folder/<case>/``: ``target.*`` and every other image."""
    images = case_structure_files(folder, case)
    return images.pop("target", None), images


def dose_report(args) -> None:

    require_dose_tools()
    from model.files import write_text_atomic
    from tools.dose.config import load_dose_config
    from tools.dose.report import summary_markdown
    from tools.dose.run import run_case

    config = load_dose_config(args.dose_config)
    modalities = chosen_modalities(args.modality)
    results = []
    for case, (pred, gt, mask) in pair_evaluation_files(args.pred, args.gt, args.mask).items():
        target, organs = case_structures(args.structures, case)
        paths = {"ct": gt, "sct": pred, "mask": mask, "target": target, "organs": organs}
        results.append(run_case(case, paths, config, args.region, modalities, None, args.dose / case))
        print(f"dose {case}: {results[-1]['seconds']} s")
    table = summary_markdown(results)
    write_text_atomic(args.dose / "summary.md", f"# Dose evaluation ({args.region}, {len(results)} case(s))\n\n{table}")
    print(table, end="")
