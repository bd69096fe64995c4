"""Evaluate one case into a folder, atomically: the doses (.mha on the dose grid), metrics.json, report.md and the
pictures are written into a hidden folder beside ``out`` and renamed into place when all are done
(model.files.staged_folder: an earlier ``out`` is replaced without ever going missing); an error leaves no ``out``
behind (and an earlier ``out`` untouched)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from model.device import peak_rss_gib
from model.files import staged_folder
from model.imageio import array_to_image
from tools.dose import report, require_dose_tools
from tools.dose.config import DoseConfig
from tools.dose.evaluate import evaluate_case, image_scores
from tools.dose.inputs import read_dose_case


def _write_image(array: np.ndarray, grid: sitk.Image, path: Path) -> None:
    sitk.WriteImage(array_to_image(np.nan_to_num(np.asarray(array, dtype=np.float32), nan=-1.0), grid), str(path),
                    useCompression=True)


def run_case(case_id: str, paths: dict, config: DoseConfig, region: str, modalities, prescription: float | None,
             out: Path) -> dict:
    """``paths``: ct, sct, mask, and optionally target, organs (name -> path), mr. The inputs are read and checked
    before the dose tools are required: a bad input is named at once, whether or not they are installed."""
    start = time.perf_counter()
    case = read_dose_case(paths["ct"], paths["sct"], paths["mask"], config, region, paths.get("target"),
                          paths.get("organs"), paths.get("mr"))
    require_dose_tools()
    prescription = prescription or config.region(region).prescription_gy
    result, volumes = evaluate_case(case, config, modalities, prescription, region)
    result = {"case": case_id, "region": region, **result, "image": image_scores(case)}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with staged_folder(out) as staging:
        report.images_png(staging / "images.png", case)
        for modality, volume in volumes.items():
            for name, dose in volume["doses"].items():
                _write_image(dose, case.grid, staging / f"dose_{modality}_{name}.mha")
            for name, gamma in volume["gamma"].items():
                _write_image(gamma, case.grid, staging / f"gamma_{modality}_{name.replace('%', 'pct').replace('/', '_')}.mha")
            report.dose_png(staging / f"dose_{modality}.png", case, volume["doses"], volume["gamma"], prescription, modality)
            report.dvh_png(staging / f"dvh_{modality}.png", case, volume["doses"], prescription, modality)
        result["seconds"] = round(time.perf_counter() - start, 1)
        result["peak_rss_gib"] = round(peak_rss_gib(), 2)
        (staging / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        pictures = " ".join(f"![{p.stem}]({p.name})" for p in sorted(staging.glob("*.png")))
        (staging / "report.md").write_text(f"# {case_id}: dose evaluation\n\n{report.markdown_table(report.summary_rows(case_id, result))}"
                                           f"\n{pictures}\n")
    return result
