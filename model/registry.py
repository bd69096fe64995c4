"""Which model serves which region: one folder per region under the weights folder.

``weights/<folder>/config.json`` names its ``region`` and ``pipeline``; adding a
region means adding a folder, not code. Regions match case-insensitively.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.errors import WeightsError
from model.weights import CONFIG, read_config


@dataclass(frozen=True)
class ModelEntry:
    region: str
    pipeline: str
    folder: Path


def discover_models(weights_dir: Path) -> dict[str, ModelEntry]:
    """Map lower-cased region name -> model entry for every model folder."""
    weights_dir = Path(weights_dir)
    if not weights_dir.is_dir():
        raise WeightsError(weights_dir, "weights folder not found")
    models: dict[str, ModelEntry] = {}
    for folder in sorted(p for p in weights_dir.iterdir() if (p / CONFIG).is_file()):
        config = read_config(folder)
        if not isinstance(config, dict):
            raise WeightsError(folder / CONFIG, "must be a JSON object")
        for key in ("region", "pipeline"):
            if not isinstance(config.get(key), str):
                raise WeightsError(folder / CONFIG, f"needs a string '{key}'")
        region = config["region"].strip()
        if region.casefold() in models:
            raise WeightsError(folder / CONFIG, f"region {region!r} is already served by {models[region.casefold()].folder}")
        models[region.casefold()] = ModelEntry(region, config["pipeline"], folder)
    return models


def find_model(weights_dir: Path, region: str) -> ModelEntry | None:
    return discover_models(weights_dir).get(region.strip().casefold())


def available_regions(weights_dir: Path) -> list[str]:
    return sorted(entry.region for entry in discover_models(weights_dir).values())
