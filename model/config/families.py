"""The model families: one declaration each, the only place a family is registered.

A :class:`Family` names, by its ``pipeline`` name (what a config's ``"pipeline"`` says): its config class, its
inference pipeline, the file each of its networks is saved to, and its training tasks. The pipeline and the
tasks are named as ``"module:Class"`` and imported only when asked for (:func:`load_object`): reading a config
imports no network code, and the runtime (model/) never imports the training tools - tools.train.tasks reads
the task names from here. How to add a family: model/pipelines/__init__.py.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from model.config.base import ModelConfig
from model.config.ldm import LatentDiffusionConfig
from model.config.pix2pix import Pix2PixConfig


@dataclass(frozen=True)
class Family:
    name: str  # a config's "pipeline"
    config_class: type[ModelConfig]
    pipeline: str  # "module:Class" of its model.pipelines.base.Pipeline
    weights: Mapping[str, str]  # network -> the file training saves its weights to (a model folder's "weights")
    tasks: tuple[str, ...]  # "module:Class" of each tools.train TrainingTask (one, or one per stage, in order)

    def pipeline_class(self):
        """The family's Pipeline class (imported now: torch and its networks)."""
        return load_object(self.pipeline)


def load_object(dotted: str):
    """The object ``"package.module:Name"`` names, its module imported now."""
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


FAMILIES: Mapping[str, Family] = MappingProxyType({family.name: family for family in (
    Family("pix2pix", Pix2PixConfig, pipeline="model.pipelines.pix2pix:Pix2PixPipeline",
           weights=MappingProxyType({"generator": "generator.safetensors"}),
           tasks=("tools.train.tasks.pix2pix:Pix2PixTask",)),
    Family("ldm", LatentDiffusionConfig, pipeline="model.pipelines.ldm:LatentDiffusionPipeline",
           weights=MappingProxyType({"autoencoder": "autoencoder.safetensors", "unet": "unet.safetensors",
                                     "controlnet": "controlnet.safetensors"}),
           tasks=("tools.train.tasks.autoencoder:AutoencoderTask", "tools.train.tasks.latent_stages:DiffusionTask",
                  "tools.train.tasks.latent_stages:ControlNetTask")),
)})

# The config class of each family, by its pipeline name (derived from FAMILIES).
CONFIGS: Mapping[str, type[ModelConfig]] = MappingProxyType({name: f.config_class for name, f in FAMILIES.items()})
