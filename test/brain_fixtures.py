"""A tiny brain model (real MONAI AutoencoderKL, DiffusionModelUNet, ControlNet; random weights)."""
from __future__ import annotations

import copy
from pathlib import Path

import torch

from model.config import parse_config
from model.networks.latent import build_autoencoder, build_controlnet, build_unet
from model.weights import save_weights, write_config, write_manifest

TINY_BRAIN = {
    "region": "Brain",
    "pipeline": "ldm",
    "preprocessing": {"mr_percentiles": [0.5, 99.5]},
    "grid": {"size": [16, 16, 16], "spacing_mm": 4.0},
    "networks": {
        "autoencoder": {"channels": [4, 8], "num_res_blocks": 1, "latent_channels": 2, "norm_num_groups": 4},
        "discriminator": {"channels": 4, "num_layers_d": 2},
        "unet": {"channels": [8, 8], "num_res_blocks": 1, "norm_num_groups": 4},
        "controlnet": {"conditioning_embedding_num_channels": [4, 8]},
    },
    "scheduler": {"num_train_timesteps": 1000, "schedule": "scaled_linear_beta", "prediction_type": "v_prediction"},
    "sampler": {"steps": 3, "seed": 0},
    "inference": {"autoencoder_window": [8, 8, 8]},
    "latent": {"scale_factor": 1.0},
    "weights": {"autoencoder": "autoencoder.safetensors", "unet": "unet.safetensors", "controlnet": "controlnet.safetensors"},
}


def tiny_brain_config(**changes) -> dict:
    config = copy.deepcopy(TINY_BRAIN)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[last] = value
    return config


def tiny_brain_spec(**changes):
    """:func:`tiny_brain_config` as the code reads it (model.config)."""
    return parse_config(tiny_brain_config(**changes), "tiny brain config")


def write_brain_folder(folder: Path, config: dict | None = None, seed: int = 0) -> Path:
    config = config or tiny_brain_config()
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    for key, build in (("autoencoder", build_autoencoder), ("unet", build_unet), ("controlnet", build_controlnet)):
        save_weights(build(parse_config(config, "tiny brain config")), folder / config["weights"][key])
    write_config(folder, config)
    write_manifest(folder)
    return folder
