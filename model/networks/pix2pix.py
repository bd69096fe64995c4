"""Networks built from the ``networks`` section of a model config (MONAI core)."""
from __future__ import annotations

import torch
from monai.networks.nets import PatchDiscriminator, UNet
from torch import nn


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


def build_generator(config: dict) -> Pix2PixGenerator:
    return Pix2PixGenerator(**config)


def build_discriminator(config: dict) -> PatchDiscriminator:
    """Conditional 3-D PatchGAN on cat([MR, CT]); its forward returns a list, logits last."""
    return PatchDiscriminator(
        spatial_dims=3,
        in_channels=2,
        out_channels=1,
        channels=config.get("channels", 32),
        num_layers_d=config.get("num_layers_d", 3),
        norm=config.get("norm", "INSTANCE"),
    )


def downsampling_factors(strides) -> tuple[int, int, int]:
    """Total downsampling of the U-Net per axis: window sizes must divide by it."""
    total = [1, 1, 1]
    for s in strides:
        per_axis = s if isinstance(s, (list, tuple)) else (s, s, s)
        total = [t * f for t, f in zip(total, per_axis)]
    return tuple(total)
