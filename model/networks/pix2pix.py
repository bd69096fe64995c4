"""The Pix2Pix networks (MONAI core), built from a config's ``networks`` section (model.config)."""
from __future__ import annotations

import torch
from monai.networks.nets import PatchDiscriminator, UNet
from torch import nn

from model.config import Discriminator, Generator


class Pix2PixGenerator(nn.Module):
    """A 3-D U-Net (MONAI ``UNet``) with a tanh head: MR in [-1, 1] -> CT in [-1, 1]."""

    def __init__(self, channels, strides, num_res_units=2, norm="instance", dropout=0.0):
        super().__init__()
        self.unet = UNet(
            spatial_dims=3,
            in_channels=1,
            out_channels=1,
            channels=tuple(channels),
            strides=tuple(tuple(s) if isinstance(s, (list, tuple)) else s for s in strides),
            num_res_units=num_res_units,
            norm=norm,
            dropout=dropout,
        )

    def forward(self, mr: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.unet(mr))


def build_generator(settings: Generator) -> Pix2PixGenerator:
    return Pix2PixGenerator(settings.channels, settings.strides, settings.num_res_units, settings.norm, settings.dropout)


def build_discriminator(settings: Discriminator, in_channels: int = 2) -> PatchDiscriminator:
    """A 3-D PatchGAN; its forward returns a list, logits last. Pix2Pix's is conditional, on cat([MR, CT])
    (2 channels); the brain autoencoder's sees the CT alone (1)."""
    return PatchDiscriminator(spatial_dims=3, in_channels=in_channels, out_channels=1, channels=settings.channels,
                              num_layers_d=settings.num_layers_d, norm=settings.norm)


def downsampling_factors(strides) -> tuple[int, int, int]:
    """Total downsampling of the U-Net per axis: window sizes must divide by it."""
    total = [1, 1, 1]
    for s in strides:
        per_axis = s if isinstance(s, (list, tuple)) else (s, s, s)
        total = [t * f for t, f in zip(total, per_axis)]
    return tuple(total)
