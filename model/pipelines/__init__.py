"""Inference pipelines, one per model family, chosen by a model folder's ``pipeline``.

A pipeline (:class:`model.pipelines.base.Pipeline`) is built from a verified model
folder and turns one case (MR image, MR voxels, body mask) into HU on the MR's
own grid. :data:`PIPELINES` below is the registry the container reads.

How to add a model family (say ``cyclegan``), step by step:

1. **Its config** - model/config.py: a ``CycleGanConfig(ModelConfig)`` dataclass with
   its sections (networks, inference, training) as frozen dataclasses with their
   defaults and ranges; register it in ``model.config.CONFIGS["cyclegan"]``.
   Every config file with ``"pipeline": "cyclegan"`` is then checked against it.
2. **Its networks** - model/networks/cyclegan.py: builders that take the typed
   sections (as model/networks/pix2pix.py does); losses go in tools/train/losses/.
3. **Its pipeline** - model/pipelines/cyclegan.py: a ``Pipeline`` subclass with
   ``name = "cyclegan"``, ``config_class``, ``from_folder`` (build the networks,
   ``model.weights.load_weights`` each file of ``config.weights``) and ``predict``;
   reuse model/pipelines/sliding.py for windows. Add it to :func:`pipeline_classes`.
4. **Its training** - tools/train/tasks/cyclegan.py: a ``TrainingTask`` subclass
   (tools/train/tasks/__init__.py says what it supplies) registered in
   ``tools.train.tasks.task_classes``; its ``export`` saves with
   ``model.weights.save_networks`` (add the file names to ``WEIGHTS_FILES``).
5. **Its weights** - ``python -m tools.train cyclegan ...`` writes ``<out>/model/``;
   copy it to ``weights/<region>/``. A new region with an existing family needs
   only that folder: no code (model/registry.py).
6. **Tests** - a tiny config in test/, a training run to a model folder, and
   that folder through ``process.py`` (see test/test_train.py).
"""
from __future__ import annotations

import torch

from model.config import load_config
from model.errors import WeightsError
from model.registry import ModelEntry
from model.weights import CONFIG, verify_manifest


def pipeline_classes() -> dict:
    """The registry: ``pipeline`` name -> Pipeline class (imported here, when a model is loaded)."""
    from model.pipelines.ldm import LatentDiffusionPipeline
    from model.pipelines.pix2pix import Pix2PixPipeline

    return {p.name: p for p in (Pix2PixPipeline, LatentDiffusionPipeline)}


def load_pipeline(entry: ModelEntry, device: torch.device):
    """Check the model folder's config (model.config) and every weights file it names (the manifest), then
    build its pipeline on ``device``."""
    config_path = entry.folder / CONFIG
    config = load_config(config_path, WeightsError)
    if not config.weights:
        raise WeightsError(config_path, "weights: missing: a model folder names its weights files, e.g. "
                                        "{\"generator\": \"generator.safetensors\"}")
    verify_manifest(entry.folder, required=(CONFIG, *config.weights.values()))
    classes = pipeline_classes()
    if entry.pipeline not in classes:
        raise WeightsError(config_path, f"unknown pipeline {entry.pipeline!r} (known: {', '.join(sorted(classes))})")
    try:
        return classes[entry.pipeline].from_folder(entry.folder, config, device)
    except KeyError as err:
        raise WeightsError(config_path, f"weights: no file named for the {err} network") from None
