"""Shared fixtures: real SimpleITK files and real (tiny) MONAI networks, written to tmp folders."""
from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from model.config import parse_config
from model.networks.pix2pix import build_generator
from model.weights import save_weights, write_config, write_manifest

ROOT = Path(__file__).resolve().parents[1]

TINY_CONFIG = {
    "region": "Pelvis",
    "pipeline": "pix2pix",
    "preprocessing": {"mr_percentiles": [0.5, 99.5]},
    "networks": {
        "generator": {"channels": [4, 8], "strides": [2], "num_res_units": 1},
        "discriminator": {"channels": 4, "num_layers_d": 2},
    },
    "inference": {"roi_size": [16, 64, 64], "overlap": 0.25, "sw_batch_size": 4},
    "weights": {"generator": "generator.safetensors"},
}


@functools.lru_cache(maxsize=None)
def drawn(region: str, seed: int, **options):
    """``tools.phantom.make_case(region, seed, **options)``, drawn once for the whole test session (a full-size
    phantom takes about a second): for tests that only read it. A test that checks drawing itself calls
    make_case."""
    from tools.phantom import make_case

    return make_case(region, seed, **options)


def typed(config: dict, source: str = "test config"):
    """A config dict as the code reads it (model.config), as if read from ``source``."""
    return parse_config(config, source)


def write_model_folder(folder: Path, config: dict = TINY_CONFIG, seed: int = 0) -> Path:
    """A real model folder: config, randomly initialised generator weights, manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    save_weights(build_generator(typed(config).networks.generator), folder / "generator.safetensors")
    write_config(folder, config)
    write_manifest(folder)
    return folder


@pytest.fixture
def weights_dir(tmp_path) -> Path:
    write_model_folder(tmp_path / "weights" / "pelvis")
    return tmp_path / "weights"


def make_image(array: np.ndarray, spacing=(1.0, 1.0, 2.5), origin=(-10.0, 20.0, 5.0),
               direction=(-1, 0, 0, 0, -1, 0, 0, 0, 1)) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(direction)
    return image


def small_case(shape=(10, 20, 24), seed=0) -> tuple[sitk.Image, sitk.Image]:
    """An MR (int16) and its body mask (uint8) on the same non-trivial grid."""
    rng = np.random.default_rng(seed)
    mr = rng.integers(0, 1000, shape).astype(np.int16)
    mask = np.zeros(shape, np.uint8)
    mask[1:-1, 3:-3, 4:-4] = 1
    return make_image(mr), make_image(mask)


def write_container_input(folder: Path, cases: dict[str, tuple[sitk.Image, sitk.Image]] | None = None,
                          region="Pelvis", mask_names: dict[str, str] | None = None) -> Path:
    """A container /input folder: images/mri/<name>, images/body/<name>, region.json."""
    cases = cases if cases is not None else {"case.mha": small_case()}
    (folder / "images" / "mri").mkdir(parents=True, exist_ok=True)
    (folder / "images" / "body").mkdir(parents=True, exist_ok=True)
    for name, (mr, mask) in cases.items():
        sitk.WriteImage(mr, str(folder / "images" / "mri" / name))
        sitk.WriteImage(mask, str(folder / "images" / "body" / (mask_names or {}).get(name, name)))
    if region is not None:
        (folder / "region.json").write_text(json.dumps(region))
    return folder


@pytest.fixture
def container_input(tmp_path) -> Path:
    return write_container_input(tmp_path / "input")


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def killed_during_step(monkeypatch, task_class, step: int):
    """A context for a training run killed during its ``step``-th training step (``task_class.train_step`` raises
    KeyboardInterrupt there, as a killed process would stop); the real step is back after the block."""
    from contextlib import contextmanager

    @contextmanager
    def killed():
        real_step, calls = task_class.train_step, []

        def interrupted_step(self, mr, ct, iteration=0):
            calls.append(1)
            if len(calls) == step:
                raise KeyboardInterrupt
            return real_step(self, mr, ct, iteration)

        monkeypatch.setattr(task_class, "train_step", interrupted_step)
        try:
            with pytest.raises(KeyboardInterrupt):
                yield
        finally:
            monkeypatch.setattr(task_class, "train_step", real_step)

    return killed()
