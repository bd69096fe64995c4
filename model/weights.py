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
from safetensors.torch import load_file, save_file

from model.config import FAMILIES
from model.errors import WeightsError
from model.files import atomic_path, write_text_atomic
from model.settings import read_json

CONFIG = "config.json"
MANIFEST = "manifest.sha256"
# Weights are safetensors; torch checkpoints (e.g. trained with monai-generative) load too.
TORCH_SUFFIXES = {".pt", ".pth"}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, names=None) -> Path:
    """Hash every file of the model folder except the manifest itself (or only the files ``names``)."""
    folder = Path(folder)
    if names is None:
        names = [p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")]
    lines = [f"{sha256(folder / name)}  {name}\n" for name in sorted(names)]
    write_text_atomic(folder / MANIFEST, "".join(lines))
    return folder / MANIFEST


def manifest_entries(folder: Path) -> dict[str, str]:
    """The manifest's files and their sha256, as listed; a malformed manifest is a :class:`WeightsError`."""
    manifest = Path(folder) / MANIFEST
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
    return listed


def verify_manifest(folder: Path, required=(CONFIG,)) -> None:
    """Check every file the manifest lists, and that it lists the ``required`` ones.

    Raises :class:`WeightsError` naming the file that is missing, unlisted or whose hash differs.
    """
    folder = Path(folder)
    listed = manifest_entries(folder)
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
    """A model folder's config.json as JSON (model.config.load_config parses it)."""
    return read_json(Path(folder) / CONFIG, WeightsError, "missing: a model folder needs its config")


def write_config(folder: Path, config: dict) -> None:
    write_text_atomic(Path(folder) / CONFIG, json.dumps(config, indent=2) + "\n")


def save_weights(module: torch.nn.Module, path: Path) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))


def save_networks(folder: Path, nets: dict[str, torch.nn.Module], pipeline: str) -> dict[str, str]:
    """Each network into the file the model family ``pipeline`` declares for it (``Family.weights``,
    model.config.families) in ``folder``; returns the config's ``weights`` table."""
    files = FAMILIES[pipeline].weights
    for name, net in nets.items():
        save_weights(net, Path(folder) / files[name])
    return {name: files[name] for name in nets}


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from safetensors or a torch checkpoint; anything else is a WeightsError naming the file."""
    try:
        if path.suffix in TORCH_SUFFIXES:
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get("state_dict", state) if isinstance(state, dict) else state
        else:
            state = load_file(str(path))
    except FileNotFoundError:
        raise WeightsError(path, "missing") from None
    except Exception as err:  # noqa: BLE001 - a truncated or foreign file fails in many ways; all mean "unreadable"
        raise WeightsError(path, f"cannot read weights ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(path, "is not a state dict (names -> tensors)")
    return state


def load_weights(module: torch.nn.Module, path: Path) -> torch.nn.Module:
    """Load a state dict (safetensors, or a torch checkpoint) into ``module``; any mismatch names the file.

    Networks that had other parameter names in monai-generative (AutoencoderKL,
    DiffusionModelUNet, ControlNet) accept those names too.
    """
    path = Path(path)
    state = read_state_dict(path)
    try:
        if set(state) != set(module.state_dict()) and hasattr(module, "load_old_state_dict"):
            load_old_state_dict(module, state)  # a MONAI generative network: accept monai-generative names
        else:
            module.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError) as err:
        first = str(err).strip().splitlines()
        raise WeightsError(path, f"weights do not fit the network in {CONFIG}: {' '.join(first[:2])}") from None
    return module


def warm_start(nets: dict[str, torch.nn.Module], folder: Path) -> dict[str, tuple[int, int]]:
    """Start ``nets`` from a verified model folder's weights (fine-tuning, ``tools.train --init``): every tensor
    whose name and shape match is copied, the rest keep their fresh values (a network the folder lacks, or a
    layer built otherwise). Returns name -> (tensors copied, tensors in the network) for the networks the folder
    has; a folder that gives nothing is refused."""
    from monai.networks.utils import copy_model_state  # training only: the container never warm-starts

    folder = Path(folder)
    config = read_config(folder)
    table = config.get("weights") or {}
    found = {name: table[name] for name in nets if name in table}
    if not found:
        raise WeightsError(folder / CONFIG, f"has no weights for {', '.join(nets)}")
    verify_manifest(folder, required=(CONFIG, *found.values()))
    copied = {}
    for name, file in found.items():
        _, updated, _ = copy_model_state(nets[name], read_state_dict(folder / file))  # names and shapes that fit
        copied[name] = (len(updated), len(nets[name].state_dict()))
    if not any(n for n, _ in copied.values()):
        raise WeightsError(folder / CONFIG, "no tensor fits these networks: is it a model of the same family?")
    return copied


# monai-generative name -> MONAI core name, tried in turn for every parameter a core network expects.
OLD_NAMES = ((".attn.to_q.", ".to_q."), (".attn.to_k.", ".to_k."), (".attn.to_v.", ".to_v."),
             (".attn.out_proj.", ".proj_attn."), (".out_proj.", ".to_out.0."), (".postconv.", ".conv."))


def load_old_state_dict(module: torch.nn.Module, state: dict) -> None:
    """Weights saved with the archived monai-generative package (old parameter names) into a MONAI core
    AutoencoderKL, DiffusionModelUNet or ControlNet. Every parameter must be found, and every old one used.

    (The core networks' own ``load_old_state_dict`` covers the same renames, but not the self-attention
    blocks of a ControlNet, and it fills what it cannot find with defaults instead of failing.)
    """
    new_state, unused = {}, dict(state)
    for key in module.state_dict():
        candidates = [key] + [key.replace(new, old) for new, old in OLD_NAMES if new in key]
        found = next((c for c in candidates if c in unused), None)
        if found is None:
            raise KeyError(f"no parameter for {key!r} (tried {', '.join(candidates)})")
        new_state[key] = unused.pop(found)
    if unused:
        raise KeyError(f"parameters the network does not have: {', '.join(sorted(unused)[:3])}")
    module.load_state_dict(new_state, strict=True)
