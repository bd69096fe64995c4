"""Inference pipelines, one per model family, chosen by a model folder's ``pipeline``.

A pipeline (:class:`model.pipelines.base.Pipeline`) is built from a verified model
folder and turns one case (MR image, MR voxels, body mask) into HU on the MR's
own grid. :func:`load_pipeline` builds the one a model folder's config names,
through the family table (:data:`model.config.FAMILIES`).

How to add a model family (say ``cyclegan``), step by step:

1. **Its config** - model/config/cyclegan.py: a ``CycleGanConfig(ModelConfig)``
   dataclass with its sections (networks, inference, training) as frozen
   dataclasses with their defaults and ranges (``setting(...)``), and its
   cross-field checks in ``validate()`` (shapes that must divide, settings that
   must agree: raise ``model.settings.Invalid`` naming the key path). Every config
   file with ``"pipeline": "cyclegan"`` is then checked against it when read.
2. **Its declaration** - one ``Family`` in ``FAMILIES`` (model/config/families.py),
   the only registry: ``Family("cyclegan", CycleGanConfig,
   pipeline="model.pipelines.cyclegan:CycleGanPipeline", weights={"generator_ab":
   "generator_ab.safetensors", ...}, tasks=("tools.train.tasks.cyclegan:CycleGanTask",))``.
   The pipeline and the tasks are named, not imported: they are imported when a
   model is loaded or trained, and the runtime never imports tools/.
3. **Its networks** - model/networks/cyclegan.py: builders that take the typed
   sections (as model/networks/pix2pix.py does); losses go in tools/train/losses/.
4. **Its pipeline** - model/pipelines/cyclegan.py: a ``Pipeline`` subclass with
   ``name = "cyclegan"``, ``config_class``, ``from_folder`` (build the networks,
   ``model.weights.load_weights`` each file of ``config.weights``) and ``predict``;
   reuse model/pipelines/sliding.py for windows.
5. **Its training** - tools/train/tasks/cyclegan.py: a ``TrainingTask`` subclass
   (tools/train/tasks/base.py says what it supplies); its ``export`` saves with
   ``model.weights.save_networks``, into the files its ``Family`` declares.
6. **Its weights** - ``python -m tools.train cyclegan ...`` writes ``<out>/model/``;
   copy it to ``weights/<region>/``. A new region with an existing family needs
   only that folder: no code (model/registry.py).
7. **Tests** - a tiny config in test/, a training run to a model folder, and
   that folder through ``process.py`` (see test/test_train.py); test/test_config.py
   checks that every family's pipeline and tasks exist and agree with its config.
"""
from __future__ import annotations

import torch

from model.config import FAMILIES, load_config
from model.errors import WeightsError
from model.registry import ModelEntry
from model.weights import CONFIG, verify_manifest


def load_pipeline(entry: ModelEntry, device: torch.device):
    """Check the model folder's config (model.config) and every weights file it names (the manifest), then
    build its family's pipeline on ``device``."""
    config_path = entry.folder / CONFIG
    config = load_config(config_path, WeightsError)
    if not config.weights:
        raise WeightsError(config_path, "weights: missing: a model folder names its weights files, e.g. "
                                        "{\"generator\": \"generator.safetensors\"}")
    verify_manifest(entry.folder, required=(CONFIG, *config.weights.values()))
    try:
        return FAMILIES[config.pipeline].pipeline_class().from_folder(entry.folder, config, device)
    except KeyError as err:
        raise WeightsError(config_path, f"weights: no file named for the {err} network") from None
