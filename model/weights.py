"""Model folders: ``config.json`` + ``*.safetensors`` + ``manifest.sha256``.

A model folder is self-describing: the config holds everything needed to
rebuild the networks and run them, and the manifest (``sha256sum`` format, so
``sha256sum -c manifest.sha256`` works too) is checked before anything is loaded.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from model.errors import WeightsError

CONFIG = "config.json"
MANIFEST = "manifest.sha256"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path) -> Path:
    """Hash every file of the model folder except the manifest itself."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST and not p.name.startswith("."))
    lines = [f"{sha256(p)}  {p.name}\n" for p in files]
    (folder / MANIFEST).write_text("".join(lines))
    return folder / MANIFEST


def verify_manifest(folder: Path, required=(CONFIG,)) -> None:
    """Check every file the manifest lists, and that it lists the ``required`` ones.

    Raises :class:`WeightsError` naming the file that is missing, unlisted or whose hash differs.
    """
    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise WeightsError(manifest, "missing: a model folder needs its sha256 manifest")
    listed = {}
    for number, line in enumerate(manifest.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise WeightsError(manifest, f"line {number} is not '<sha256>  <file name>'")
        name = parts[1].strip().lstrip("*")
        if "/" in name or "\\" in name or name in (".", ".."):
            raise WeightsError(manifest, f"line {number}: {name!r} is not a file name inside the model folder")
        listed[name] = parts[0].lower()
    for name in required:
        if name not in listed:
            raise WeightsError(folder / name, f"not listed in {MANIFEST}, so it cannot be verified")
    for name, expected in listed.items():
        path = folder / name
        if not path.is_file():
            raise WeightsError(path, f"missing (listed in {MANIFEST})")
        actual = sha256(path)
        if actual != expected:
            raise WeightsError(path, f"sha256 {actual[:12]}... does not match {MANIFEST} ({expected[:12]}...): the file is corrupted or was replaced")


def read_config(folder: Path) -> dict:
    path = Path(folder) / CONFIG
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise WeightsError(path, "missing: a model folder needs its config") from None
    except json.JSONDecodeError as err:
        raise WeightsError(path, f"not valid JSON ({err})") from None


def write_config(folder: Path, config: dict) -> None:
    (Path(folder) / CONFIG).write_text(json.dumps(config, indent=2) + "\n")


def save_weights(module: torch.nn.Module, path: Path) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(path))


def load_weights(module: torch.nn.Module, path: Path) -> torch.nn.Module:
    """Load a safetensors state dict into ``module``; any mismatch names the file."""
    try:
        state = load_file(str(path))
    except FileNotFoundError:
        raise WeightsError(path, "missing") from None
    except (SafetensorError, OSError) as err:
        raise WeightsError(path, f"cannot read weights ({err})") from None
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise WeightsError(path, f"weights do not fit the network in {CONFIG}: {' '.join(first[:2])}") from None
    return module
