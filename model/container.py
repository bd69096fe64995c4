"""The grand-challenge job: read /input, write /output (see shared notes, interface.md).

Inputs: ``images/mri/*.mha`` and ``images/body/*.mha`` (one of each, or pairs
with identical file names) and ``region.json`` (a bare JSON string). Outputs:
``images/synthetic-ct/<mr file name>`` and ``results.json``. Every output is
first written into a hidden staging folder inside the output folder and moved
into place only when all cases succeeded, so a failure leaves nothing behind.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import SimpleITK as sitk
import torch

from model.budget import TimeBudget, budget_seconds, positive_seconds
from model.cases import CaseInput, CasePaths, read_case
from model.contract import (BODY_DIR, MRI_DIR, PLATFORM_INPUT, PLATFORM_OUTPUT, REGION_FILE, RESULTS_FILE, SCT_DIR,
                            UNCERTAINTY_DIR)
from model.device import choose_device, peak_memory_summary, report
from model.errors import InputError, NonFiniteOutput
from model.files import staged_files
from model.imageio import hu_to_sct, is_image_file, write_image
from model.pipelines import load_pipeline
from model.precision import configure_inference
from model.preprocessing.intensity import FlatMRError
from model.registry import WeightsChoice, available_regions, discover_models, find_model

log = logging.getLogger("process")


def read_region(input_dir: Path) -> str:
    path = input_dir / REGION_FILE
    if not path.is_file():
        raise InputError(path, 'missing: it must hold the region as a JSON string, e.g. "Pelvis"')
    try:
        region = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(path, f"not valid JSON ({err}); expected a JSON string such as \"Pelvis\"") from None
    if not isinstance(region, str) or not region.strip():
        raise InputError(path, f"expected a JSON string such as \"Pelvis\", got {json.dumps(region)[:60]}")
    return region.strip()


def pair_input_images(input_dir: Path) -> list[CasePaths]:
    """One MR with one mask, or several paired by identical file name; anything else is refused."""
    folders = {}
    for sub in (MRI_DIR, BODY_DIR):
        folder = input_dir / sub
        files = sorted(p for p in folder.iterdir() if is_image_file(p)) if folder.is_dir() else []
        folders[sub] = files
    mrs, masks = folders[MRI_DIR], folders[BODY_DIR]
    if not mrs and not masks:
        raise InputError(input_dir / MRI_DIR, "no MR images found (and no masks in images/body)")
    if len(mrs) == 1 and len(masks) == 1:
        return [CasePaths(mrs[0], masks[0])]
    by_name = {p.name: p for p in masks}
    for mr in mrs:
        if mr.name not in by_name:
            raise InputError(mr, f"no body mask with the same file name in {BODY_DIR}/ ({len(masks)} mask(s) there)")
    mr_names = {p.name for p in mrs}
    for mask in masks:
        if mask.name not in mr_names:
            raise InputError(mask, f"no MR with the same file name in {MRI_DIR}/ ({len(mrs)} MR(s) there)")
    return [CasePaths(mr, by_name[mr.name]) for mr in mrs]


def one_line(err: Exception, limit: int = 400) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def result_entry(paths: CasePaths, input_dir: Path, uncertainty: bool = False) -> dict:
    def platform(path: Path, root: Path, platform_root: Path) -> str:
        return str(platform_root / path.relative_to(root))

    return {
        "outputs": [{"type": "metaio_image", "filename": str(PLATFORM_OUTPUT / folder / paths.mr.name)}
                    for folder in ((SCT_DIR, UNCERTAINTY_DIR) if uncertainty else (SCT_DIR,))],
        "inputs": [
            {"type": "metaio_image", "filename": platform(paths.mr, input_dir, PLATFORM_INPUT)},
            {"type": "metaio_image", "filename": platform(paths.mask, input_dir, PLATFORM_INPUT)},
            {"type": "String", "filename": str(PLATFORM_INPUT / REGION_FILE)},
        ],
        "error_messages": [],
    }


def as_choice(weights: Path | WeightsChoice) -> WeightsChoice:
    """A weights folder given as such, or :func:`model.registry.choose_weights`'s choice."""
    return weights if isinstance(weights, WeightsChoice) else WeightsChoice(Path(weights), "given")


def log_choice(choice: WeightsChoice) -> None:
    log.log(logging.WARNING if choice.warning else logging.INFO, "weights: %s (%s)", choice.folder, choice.why)


def process_folder(input_dir: Path, output_dir: Path, weights: Path | WeightsChoice, device_name: str = "auto",
        uncertainty_samples: int = 0, time_budget: float | None = None, loaded: dict | None = None) -> list[dict]:
    """Process every case of ``input_dir``; returns the results.json entries.

    ``uncertainty_samples`` >= 2 (sampling pipelines only): the sCT is the mean of that many samples
    (seeds seed .. seed + N - 1) and their per-voxel standard deviation (HU, float32) is written too.
    ``weights``: a weights folder, or :func:`model.registry.choose_weights`'s choice (logged with its reason).
    ``time_budget``: seconds a case may take from its reading to its sCT (model.budget); None: the model
    folder's ``inference.time_budget_s``, else 900 s. ``loaded``: pipelines already loaded, by model folder
    (:func:`load_every_model`: the invoke server loads them once); a folder not in it is loaded now.
    """
    if time_budget is not None and not positive_seconds(time_budget):
        raise InputError("--time-budget", f"must be a positive number of seconds, got {time_budget:g}")
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    choice = as_choice(weights)
    weights_dir = choice.folder
    region = read_region(input_dir)
    entry = find_model(weights_dir, region)
    if entry is None:
        raise InputError(input_dir / REGION_FILE, f"no model for region {region!r} (available in {weights_dir}: "
                                                   f"{', '.join(available_regions(weights_dir)) or 'none'})")
    cases = pair_input_images(input_dir)
    log_choice(choice)
    log.info("model folder for %s: %s", entry.region, entry.folder)
    device = choose_device(device_name)  # after the cheap input checks: their error stays the only line
    pipeline = (loaded or {}).get(entry.folder)
    if pipeline is None:
        pipeline = load_pipeline(entry, device)
    configure_inference(device)
    report(device, f"{entry.pipeline}: {pipeline.precision.describe()}")
    if uncertainty_samples and (uncertainty_samples < 2 or not pipeline.samples_cases):
        raise InputError("--uncertainty-samples", f"needs at least 2 samples and a sampling pipeline "
                                                  f"({entry.region} uses {entry.pipeline})")
    seconds, source = budget_seconds(time_budget, pipeline.config)
    log.info("time budget: %g s a case (%s)", seconds, source)

    output_dir.mkdir(parents=True, exist_ok=True)
    # results.json moves last, so that it only names files that exist
    with staged_files(output_dir, last=RESULTS_FILE) as staging:
        results = []
        for paths in cases:
            budget = TimeBudget(seconds)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            case = read_case(paths)
            try:
                if uncertainty_samples:
                    hu, std = pipeline.predict_with_uncertainty(case, uncertainty_samples, budget=budget)
                    write_image(std_image(std, case), staging / UNCERTAINTY_DIR / paths.mr.name)
                else:
                    hu = pipeline.predict(case, budget=budget)
            except FlatMRError as err:
                raise InputError(paths.mr, str(err)) from None
            except NonFiniteOutput as err:
                raise InputError(paths.mr, f"no sCT written: {err}") from None
            except Exception as err:  # out of memory after every fallback, or anything else: still the one line
                raise InputError(paths.mr, f"no sCT written: {type(err).__name__}: {one_line(err)}") from None
            write_image(hu_to_sct(hu, case.body, case.mr_image), staging / SCT_DIR / paths.mr.name)
            results.append(result_entry(paths, input_dir, bool(uncertainty_samples)))
            log.info("%s: region %s, pipeline %s, device %s, %.1f s (budget %g s), %s", paths.mr.name, entry.region,
                     entry.pipeline, device, budget.elapsed(), seconds, peak_memory_summary(device))
        (staging / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n")
    return results


def load_every_model(weights: Path | WeightsChoice, device_name: str = "auto") -> dict:
    """Every model folder's pipeline, by folder, on the chosen device (the invoke server's start-up)."""
    choice = as_choice(weights)
    log_choice(choice)
    device = choose_device(device_name)
    configure_inference(device)
    loaded = {entry.folder: load_pipeline(entry, device) for entry in discover_models(choice.folder).values()}
    for folder, pipeline in loaded.items():
        report(device, f"{folder.name}: {pipeline.config.pipeline}: {pipeline.precision.describe()}")
    return loaded


def std_image(std, case: CaseInput) -> sitk.Image:
    """The per-voxel standard deviation (HU) on the MR's grid; 0 outside the body."""
    image = sitk.GetImageFromArray((std * case.body).astype("float32"))
    image.CopyInformation(case.mr_image)
    return image
