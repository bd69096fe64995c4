"""Which model serves which region: one folder per region under the weights folder.

``weights/<folder>/config.json`` names its ``region`` and ``pipeline``; adding a
region means adding a folder, not code. Regions match case-insensitively. A weights
folder that holds a ``config.json`` itself is a single model folder.

Where the weights come from (:func:`choose_weights`): ``--weights`` when given; else
grand-challenge's model upload, a ``model.tar.gz`` the platform extracts to
``/opt/ml/model`` for the job, when it holds at least one model folder; else the
weights bundled in the image (``weights/``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from model.errors import InputError, WeightsError
from model.weights import CONFIG, read_config

MODEL_UPLOAD = Path("/opt/ml/model")  # where grand-challenge.org extracts an algorithm's model tarball


@dataclass(frozen=True)
class ModelEntry:
    region: str
    pipeline: str
    folder: Path


def model_folders(weights_dir: Path) -> list[Path]:
    """The model folders of a weights folder: itself where it holds a config.json, else its subfolders that do."""
    weights_dir = Path(weights_dir)
    if (weights_dir / CONFIG).is_file():
        return [weights_dir]
    return sorted(p for p in weights_dir.iterdir() if (p / CONFIG).is_file()) if weights_dir.is_dir() else []


def discover_models(weights_dir: Path) -> dict[str, ModelEntry]:
    """Map lower-cased region name -> model entry for every model folder."""
    weights_dir = Path(weights_dir)
    if not weights_dir.is_dir():
        raise WeightsError(weights_dir, "weights folder not found")
    models: dict[str, ModelEntry] = {}
    for folder in model_folders(weights_dir):
        entry = model_entry(folder)
        if entry.region.casefold() in models:
            raise WeightsError(folder / CONFIG, f"region {entry.region!r} is already served by "
                                                f"{models[entry.region.casefold()].folder}")
        models[entry.region.casefold()] = entry
    return models


def model_entry(folder: Path) -> ModelEntry:
    """A model folder's region and pipeline (its config is checked in full when its pipeline is loaded)."""
    config = read_config(folder)
    for key in ("region", "pipeline"):
        if not isinstance(config.get(key), str):
            raise WeightsError(folder / CONFIG, f"{key}: expected a string")
    return ModelEntry(config["region"].strip(), config["pipeline"], Path(folder))


def find_model(weights_dir: Path, region: str) -> ModelEntry | None:
    return discover_models(weights_dir).get(region.strip().casefold())


def available_regions(weights_dir: Path) -> list[str]:
    return sorted(entry.region for entry in discover_models(weights_dir).values())


class WeightsChoice(NamedTuple):
    folder: Path
    why: str  # for the log: where the weights come from and why
    warning: bool = False  # the log line should be a warning


def choose_weights(explicit: Path | None, bundled: Path, upload: Path | None = None) -> WeightsChoice:
    """The weights folder a run uses, with the reason (the container logs it once the input is checked, so that
    a bad input's error stays the only line): ``explicit`` (``--weights``) when given; else the model upload
    (:data:`MODEL_UPLOAD`) when it holds a model folder; else ``bundled``. An upload with files but no model
    folder is reported as a warning; no weights anywhere is a one-line error."""
    if explicit is not None:
        return WeightsChoice(Path(explicit), "--weights")
    upload = MODEL_UPLOAD if upload is None else Path(upload)
    uploaded = model_folders(upload)
    if uploaded:
        return WeightsChoice(upload, "grand-challenge model upload: " + ", ".join(f.name or str(f) for f in uploaded))
    if not model_folders(bundled):
        raise InputError(upload, "no model folder here (upload the model tarball: ./export.sh --model) and none "
                                 f"bundled in {bundled} (an image built with ./build.sh --no-weights)")
    if upload.is_dir() and any(upload.iterdir()):
        return WeightsChoice(Path(bundled), f"bundled in the image: {upload} holds files but no model folder (a "
                                            "config.json at its top or one folder down), so it is not used", True)
    return WeightsChoice(Path(bundled), f"bundled in the image; no model upload in {upload}")
