"""Switching a network's gradients: one way to freeze it, one way to toggle it for a GAN step."""
from __future__ import annotations

from torch import nn


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    """Gradients on or off for every parameter (a discriminator while its generator steps, and back)."""
    for p in net.parameters():
        p.requires_grad_(flag)


def freeze(net: nn.Module) -> nn.Module:
    """No gradients and evaluation mode for good: a network a loss or a later stage only uses."""
    set_requires_grad(net, False)
    return net.eval()
