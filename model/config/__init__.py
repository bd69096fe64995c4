"""Every setting a config can hold, its type, range and default, in one place.

A training config (``configs/*.json``) and a model folder's ``config.json`` are
the same JSON: a model folder adds ``weights`` (network -> file), ``latent`` (the
brain's scale factor) and ``provenance``. :func:`parse_config` reads one once into
frozen dataclasses (:class:`Pix2PixConfig` or :class:`LatentDiffusionConfig`,
chosen by ``pipeline``) and runs the family's cross-field checks (its config's
``validate()``); the code reads attributes, never ``.get(key, default)``.
A misspelled key, a wrong type, a value out of range, a missing required
value or shapes that do not fit are refused with one line naming the file, the key
path and what is expected, with "did you mean" for a near miss::

    configs/pelvis.json: training.lr_decay_form: unknown key (did you mean 'lr_decay_from'?)

A config goes both ways: ``config.to_json()`` is the JSON again (every key the
file held, provenance included, and whatever was changed), and
``config.with_overrides({"training.iterations": 10})`` is a changed copy, checked
and validated again - no code edits a config's JSON. Model folders written before
this module existed load as they are. A default here applies only where a key is
absent; changing one changes every config that leaves that key out (the shipped
configs spell out what their weights were trained with).

The modules: the settings engine (reading, writing, overrides, the error lines) is
model.settings, which knows no model; here ``sections`` (what every family
shares), ``base`` (:class:`ModelConfig`), ``pix2pix`` and ``ldm`` (the families'
configs), ``families`` (:data:`FAMILIES`: the one declaration of each family) and
``reading`` (:func:`load_config`, :func:`parse_config`).

Adding a setting: add a field to the section's dataclass, with its default and
range (``setting(...)``); the parser and the error messages need nothing else, and
the table of every setting in docs/config.md is regenerated with
``python -m tools.config_reference --write`` (a test fails while it is stale).
Adding a model family: see model/pipelines/__init__.py.
"""
from __future__ import annotations

from model.config.base import ConfigError, ModelConfig
from model.config.families import CONFIGS, FAMILIES, Family, load_object
from model.config.ldm import (DEFAULT_MIN_STEPS, Autoencoder, AutoencoderLosses, AutoencoderTraining,
                              ControlNetSettings, DiffusionUNet, Grid, Latent, LatentDiffusionConfig, LatentInference,
                              LatentNetworks, LatentStages, LatentTraining, Sampler, Scheduler)
from model.config.pix2pix import (Generator, Pix2PixConfig, Pix2PixNetworks, Pix2PixPreprocessing, Pix2PixTraining,
                                  SlidingWindow)
from model.config.reading import load_config, parse_config
from model.config.sections import (AmpSetting, Discriminator, MRAugmentation, MRFamilies, Preprocessing, SynthData,
                                   Training, Triple)
from model.settings import REQUIRED, UNSET, Invalid, parse_settings, read_json, setting

__all__ = [
    "AmpSetting", "Autoencoder", "AutoencoderLosses", "AutoencoderTraining", "CONFIGS", "ConfigError",
    "ControlNetSettings", "DEFAULT_MIN_STEPS", "DiffusionUNet", "Discriminator", "FAMILIES", "Family", "Generator",
    "Grid", "Invalid", "Latent", "LatentDiffusionConfig", "LatentInference", "LatentNetworks", "LatentStages",
    "LatentTraining", "MRAugmentation", "MRFamilies", "ModelConfig", "Pix2PixConfig", "Pix2PixNetworks",
    "Pix2PixPreprocessing", "Pix2PixTraining", "Preprocessing", "REQUIRED", "Sampler", "Scheduler", "SlidingWindow",
    "SynthData", "Training", "Triple", "UNSET", "load_config", "load_object", "parse_config", "parse_settings",
    "read_json", "setting",
]
