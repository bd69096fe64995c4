"""Where a brain model's error comes from, stage by stage and tissue by tissue.

    python -m tools.evaluation.error_budget --model weights/brain --data runs/data/brain-train --cases 1BX0004 1BX0018 [--sample]

For each case (the SynthRAD2023 dataset layout: ``<case>/mr, ct, mask``), the MAE
inside the body mask of three volumes on the MR's own voxels, each against the
case's CT:

- ``grid``: the CT itself fitted to the model grid and mapped back (the floor of
  any model working on this grid: resampling and partial volume);
- ``autoencoder``: the CT encoded and decoded by the model's autoencoder on the
  grid (the ceiling of any sCT the diffusion model can decode to);
- ``sampler`` (with ``--sample``): the sCT the container would write (``--steps``
  and ``--samples`` try other sampler settings).

Each is split by CT class: bone (> 300 HU), air (< -300 HU) and soft tissue
(the rest), with the class's share of the body's voxels.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

from model.cli import exit_code
from model.config import LatentDiffusionConfig, load_config
from model.errors import InputError, WeightsError
from model.imageio import hu_to_sct, to_array
from model.pipelines.latent_windows import reconstruct_hu
from model.pipelines.ldm import LatentDiffusionPipeline
from model.preprocessing.headgrid import fit_case, from_grid, to_grid
from model.preprocessing.intensity import unit_to_ct
from model.weights import CONFIG, verify_manifest
from tools.dataset.cases import find_cases, load_training_case

BONE_HU, AIR_HU = 300.0, -300.0
CLASSES = ("bone", "air", "soft")


def class_masks(ct: np.ndarray, body: np.ndarray) -> dict[str, np.ndarray]:
    """The body, and its bone / air / soft-tissue voxels by the CT's HU (the three cover the body)."""
    return {"body": body, "bone": body & (ct > BONE_HU), "air": body & (ct < AIR_HU),
            "soft": body & (ct >= AIR_HU) & (ct <= BONE_HU)}


def split_mae(volume: np.ndarray, ct: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, float]:
    error = np.abs(volume.astype(np.float32) - ct)
    return {name: float(error[m].mean()) if m.any() else float("nan") for name, m in masks.items()}


@torch.no_grad()
def case_budget(pipeline: LatentDiffusionPipeline, case, sample: bool) -> dict[str, dict[str, float]]:
    config = pipeline.config
    fit = fit_case(case.inputs, config)
    ct_grid = to_grid(case.ct_unit, fit, -1.0)
    volumes = {"grid": unit_to_ct(from_grid(ct_grid, fit, -1.0))}
    volumes["autoencoder"] = reconstruct_hu(pipeline.autoencoder, ct_grid, fit, config)
    if sample:
        sct = hu_to_sct(pipeline.predict(case.inputs), case.inputs.body, case.inputs.mr_image)  # as the container writes it
        volumes["sampler"] = to_array(sct)
    masks = class_masks(case.ct, case.inputs.body > 0)
    budget = {stage: split_mae(v, case.ct, masks) for stage, v in volumes.items()}
    budget["share"] = {name: float(m.sum() / masks["body"].sum()) for name, m in masks.items()}
    return budget


def mean_budget(budgets: list[dict]) -> dict[str, dict[str, float]]:
    return {stage: {k: float(np.mean([b[stage][k] for b in budgets])) for k in budgets[0][stage]} for stage in budgets[0]}


def format_budget(name: str, budget: dict) -> str:
    share = budget["share"]
    head = f"{name:>12s} {'body':>8s}" + "".join(f" {k:>8s} ({share[k]:4.0%})" for k in CLASSES)
    rows = [f"{stage:>12s} {b['body']:8.1f}" + "".join(f" {b[k]:15.1f}" for k in CLASSES)
            for stage, b in budget.items() if stage != "share"]
    return "\n".join([head, *rows])


def budget_report(args) -> dict:
    verify_manifest(args.model)
    config = load_config(args.model / CONFIG, WeightsError)
    if not isinstance(config, LatentDiffusionConfig):
        raise WeightsError(args.model / CONFIG, f"is a {config.pipeline!r} model; the error budget is for the brain's "
                                                f"{LatentDiffusionPipeline.name!r} models")
    changes = {key: getattr(args, key) for key in ("steps", "samples") if getattr(args, key) is not None}
    # other sampler settings, tried without editing the (hashed) folder
    config = dataclasses.replace(config, sampler=dataclasses.replace(config.sampler, **changes))
    pipeline = LatentDiffusionPipeline.from_folder(args.model, config, torch.device("cpu"))
    paths = find_cases(args.data)
    budgets = {}
    for case_id in args.cases:
        if case_id not in paths:
            raise InputError(args.data, f"has no case {case_id}")
        budgets[case_id] = case_budget(pipeline, load_training_case(case_id, paths[case_id], config.preprocessing.mr_percentiles), args.sample)
        print(format_budget(case_id, budgets[case_id]), flush=True)
    report = {"cases": budgets, "mean": mean_budget(list(budgets.values()))}
    print(f"MAE (HU) inside the body, and by CT class (share of the body's voxels); sampler: "
          f"{config.sampler.steps} steps, mean of {config.sampler.samples} sample(s):")
    print(format_budget("mean", report["mean"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.evaluation.error_budget", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("weights/brain"), help="a brain model folder")
    parser.add_argument("--data", type=Path, required=True, help="cases in the dataset layout (<case>/mr, ct, mask)")
    parser.add_argument("--cases", nargs="+", required=True, help="case ids (folder names)")
    parser.add_argument("--sample", action="store_true", help="also run the whole sampler (the container's sCT)")
    parser.add_argument("--steps", type=int, help="DDIM steps instead of the folder's sampler.steps")
    parser.add_argument("--samples", type=int, help="samples averaged instead of the folder's sampler.samples")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    return exit_code(lambda: budget_report(args))


if __name__ == "__main__":
    sys.exit(main())
