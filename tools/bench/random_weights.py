"""Model folders of random weights: the networks a (training) config describes, for timing (the time does not
depend on the weights, and the method-scale configs have no trained weights here)."""
from __future__ import annotations

from pathlib import Path

from model.config import ModelConfig
from model.networks.latent import build_autoencoder, build_controlnet, build_unet
from model.networks.pix2pix import build_generator
from model.weights import save_networks, write_config, write_manifest

RANDOM_BRAIN_NETS = {"autoencoder": build_autoencoder, "unet": build_unet, "controlnet": build_controlnet}


def random_model_folder(config: ModelConfig, folder: Path, parts=None) -> Path:
    """A model folder (weights, config, manifest) of the networks ``config`` describes (a training config will
    do), random weights; ``parts``: only these brain networks."""
    if config.pipeline == "pix2pix":
        nets, extra = {"generator": build_generator(config.networks.generator)}, {}
    else:
        nets = {name: RANDOM_BRAIN_NETS[name](config) for name in parts or RANDOM_BRAIN_NETS}
        extra = {"latent": {"scale_factor": 1.0}}
    files = save_networks(folder, nets, config.pipeline)
    write_config(folder, config.with_overrides({**extra, "weights": files}).to_json())
    write_manifest(folder)
    return folder


def random_stage_folder(config: ModelConfig, folder: Path) -> Path:
    """The random autoencoder and UNet a later brain training stage starts from (:func:`random_model_folder`)."""
    return random_model_folder(config, folder, ("autoencoder", "unet"))
