"""Validation during training: each validation case read when it is validated (none is held between
validations), predicted whole by the task, scored with the SynthRAD metrics on exactly the voxels the container
writes, logged to ``val_log.csv``; the first case's mid-slices are saved as a preview."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from model.preprocessing.intensity import sct_voxels
from tools.dataset.cases import TrainingCase, load_training_case
from tools.metrics.image import image_metrics
from tools.train.logs import append_csv


def val_cases(case_ids: list[str], paths: dict, percentiles, seed: int) -> Iterator[TrainingCase]:
    """The validation cases, each read when it is reached."""
    for case_id in case_ids:
        yield load_training_case(case_id, paths[case_id], percentiles, seed)


def validate_cases(task, cases: Iterable[TrainingCase], out: Path, iteration: int) -> dict[str, float]:
    """Score ``task``'s whole-case predictions of ``cases``, append them and their mean to ``<out>/val_log.csv``
    and preview the first in ``<out>/previews/``; returns the mean MAE, PSNR and SSIM."""
    rows = []
    for number, case in enumerate(cases):
        hu = task.predict_case(case)
        sct = sct_voxels(hu, case.inputs.body).astype(np.float32)  # exactly what the container writes
        rows.append({"case": case.case_id, **image_metrics(case.ct, sct, case.inputs.body)})
        if number == 0:
            from tools.train.preview import save_preview  # Pillow: only where a run validates

            save_preview(out / "previews" / f"iter_{iteration:07d}.png", case.mr_unit, sct, case.ct,
                         case.inputs.mr_image.GetSpacing())
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("mae", "psnr", "ssim")}
    rows.append({"case": "mean", **mean})
    append_csv(out / "val_log.csv", [{"iteration": iteration, **r} for r in rows])
    return mean
