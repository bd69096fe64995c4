"""The Pix2Pix networks (MONAI core), built from a config's ``networks`` section (model.config)."""
from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from monai.networks.nets import PatchDiscriminator, UNet
from torch import nn

from model.config import Discriminator, Generator


class ResizeConvUNet(UNet):
    """MONAI's ``UNet`` with each transposed convolution of the decoder replaced by a nearest-neighbour resize and
    a stride-1 convolution of the same kernel size (Odena et al., "Deconvolution and checkerboard artifacts",
    Distill 2016): a stride-2 transposed convolution of kernel 3 gives every other output voxel a different
    number of kernel taps, and the pattern it leaves shows in the sCT; a resize gives none. The same layers
    otherwise (normalisation, activation, residual units), so the parameter count barely changes."""

    def _get_up_layer(self, in_channels: int, out_channels: int, strides, is_top: bool) -> nn.Module:
        layer = super()._get_up_layer(in_channels, out_channels, strides, is_top)
        transposed = layer if isinstance(layer, Convolution) else layer[0]  # (Convolution, ResidualUnit) with res units
        transposed.conv = nn.Sequential(
            nn.Upsample(scale_factor=strides if isinstance(strides, (list, tuple)) else (strides,) * 3, mode="nearest"),
            nn.Conv3d(in_channels, out_channels, kernel_size=self.up_kernel_size, padding=self.up_kernel_size // 2,
                      bias=self.bias))
        return layer


UPSAMPLING = {"transpose": UNet, "resize_conv": ResizeConvUNet}


class Pix2PixGenerator(nn.Module):
    """A 3-D U-Net (MONAI ``UNet``) with a tanh head: MR in [-1, 1] -> CT in [-1, 1]."""

    def __init__(self, channels, strides, num_res_units=2, norm="instance", dropout=0.0, upsample="transpose"):
        super().__init__()
        self.unet = UPSAMPLING[upsample](
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
    return Pix2PixGenerator(settings.channels, settings.strides, settings.num_res_units, settings.norm, settings.dropout,
                            settings.upsample)


def build_discriminator(settings: Discriminator, in_channels: int = 2) -> PatchDiscriminator:
    """A 3-D PatchGAN; its forward returns a list, logits last. Pix2Pix's is conditional, on cat([MR, CT])
    (2 channels); the brain autoencoder's sees the CT alone (1)."""
    return PatchDiscriminator(spatial_dims=3, in_channels=in_channels, out_channels=1, channels=settings.channels,
                              num_layers_d=settings.num_layers_d, norm=settings.norm)
