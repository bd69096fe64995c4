"""A run's product: ``<out>/model/``, a self-describing model folder (config + weights + manifest.sha256, drop it
into weights/<region>/), with the provenance of its weights."""
from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path

import monai
import torch

from model.weights import read_config, write_config, write_manifest


def export_model(folder: Path, task, config: dict, provenance: dict) -> Path:
    """Write ``folder`` afresh: the task's networks as they are now (their weights files), the run's ``config``
    with the task's exported settings, the weights and ``provenance`` added, and the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    weights = task.export(folder)
    write_config(folder, {**config, **task.exported_settings(), "weights": weights, "provenance": provenance})
    write_manifest(folder)
    return folder


def provenance(*, commands: list[str], seed: int, data_dir: Path, previous: Path | None, init: Path | None,
               training_cases: list[str], validation_cases: list[str], iterations: int, processes: int,
               best: dict) -> dict:
    """Where the weights come from: every command that trained them, the data and its split, the stage and the
    model folder they started from (with those folders' own provenance), the processes, the best validation,
    the date and the versions."""
    return {
        "commands": commands,
        "seed": seed,
        "data": str(data_dir),
        "previous_stage": str(previous) if previous else None,
        # the previous stage's own provenance, nested: a final model folder records every stage's training
        "previous_provenance": read_config(Path(previous)).get("provenance") if previous else None,
        "init": str(init) if init else None,
        "init_provenance": read_config(init).get("provenance") if init else None,
        "training_cases": training_cases,
        "validation_cases": validation_cases,
        "iterations": iterations,
        "processes": processes,
        "best_validation": best,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "monai": monai.__version__},
    }
