"""Inference pipelines, one per model family, chosen by a model folder's ``pipeline``.

A pipeline is built from a verified model folder and turns one case (MR image,
MR voxels, body mask) into HU on the MR's own grid.
"""
from __future__ import annotations

import torch

from model.errors import WeightsError
from model.registry import ModelEntry
from model.weights import CONFIG, read_config, verify_manifest


def pipeline_classes() -> dict:
    from model.pipelines.ldm import LatentDiffusionPipeline
    from model.pipelines.pix2pix import Pix2PixPipeline

    return {p.name: p for p in (Pix2PixPipeline, LatentDiffusionPipeline)}


def load_pipeline(entry: ModelEntry, device: torch.device):
    """Verify the model folder (config and every weights file it names), then build its pipeline on ``device``."""
    config_path = entry.folder / CONFIG
    config = read_config(entry.folder)
    weights = config.get("weights")
    if not isinstance(weights, dict) or not all(isinstance(v, str) for v in weights.values()):
        raise WeightsError(config_path, "needs a 'weights' table of file names, e.g. {\"generator\": \"generator.safetensors\"}")
    verify_manifest(entry.folder, required=(CONFIG, *weights.values()))
    classes = pipeline_classes()
    if entry.pipeline not in classes:
        raise WeightsError(config_path, f"unknown pipeline {entry.pipeline!r} (known: {', '.join(sorted(classes))})")
    try:
        return classes[entry.pipeline].from_folder(entry.folder, config, device)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise WeightsError(config_path, f"malformed {entry.pipeline} config: {type(err).__name__}: {err}") from None
