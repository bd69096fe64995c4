"""A config file read into its family's config class: :func:`load_config`, :func:`parse_config`."""
from __future__ import annotations

from pathlib import Path

from model.config.base import ModelConfig, parse_family
from model.config.families import FAMILIES
from model.errors import InputError
from model.settings import did_you_mean, read_json


def load_config(path: Path, error: type[InputError] = InputError) -> ModelConfig:
    """Read and parse a config file (a training config, or a model folder's config.json)."""
    return parse_config(read_json(path, error), path, error)


def parse_config(data: dict, source: str | Path, error: type[InputError] = InputError) -> ModelConfig:
    """``data`` (a config as JSON gives it) checked, typed as its family's config class (by ``pipeline``) and
    validated; ``source`` is the file the errors name. ``error``: the exception class (WeightsError for a model
    folder)."""
    if not isinstance(data, dict):
        raise error(source, "must be a JSON object")
    pipeline = data.get("pipeline")
    if not isinstance(pipeline, str) or pipeline not in FAMILIES:
        known = ", ".join(sorted(FAMILIES))
        problem = "missing (the model family" if pipeline is None else f"unknown pipeline {pipeline!r} (known"
        raise error(source, f"pipeline: {problem}: {known}){did_you_mean(pipeline, FAMILIES)}")
    return parse_family(FAMILIES[pipeline].config_class, data, source, error)
