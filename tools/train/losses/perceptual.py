"""A 3-D perceptual loss whose backbone is read from a local cache folder, never downloaded.

MONAI's ``PerceptualLoss`` fetches its backbones through torch.hub / Hugging Face
on first use, which cannot happen here nor on grand-challenge. This loss uses the
MedicalNet ResNets (MONAI core ``resnet10`` / ``resnet50``, the 3-D backbones of
MONAI's ``medicalnet_*`` perceptual networks) and loads their released checkpoint
files from ``cache_dir``: MedicalNet's ``{"state_dict": {"module.conv1.weight": ...}}``
layout or a plain state dict. Features of every ResNet stage are unit-normalised
along channels and compared by mean squared difference (the LPIPS recipe without
learned linear weights, as MONAI does for MedicalNet).
"""
from __future__ import annotations

from pathlib import Path

import torch
from monai.networks.nets import resnet10, resnet50
from torch import nn

from model.errors import InputError
from tools.train.frozen import freeze

BACKBONES = {
    "medicalnet_resnet10_23datasets": (resnet10, "resnet_10_23dataset.pth"),
    "medicalnet_resnet50_23datasets": (resnet50, "resnet_50_23dataset.pth"),
}


def backbone_file(cache_dir: Path, network: str) -> Path:
    if network not in BACKBONES:
        raise ValueError(f"perceptual network must be one of {sorted(BACKBONES)}, got {network!r}")
    return Path(cache_dir) / BACKBONES[network][1]


def build_backbone(network: str) -> nn.Module:
    builder, _ = BACKBONES[network]
    return builder(spatial_dims=3, n_input_channels=1, feed_forward=False, shortcut_type="B",
                   bias_downsample=False, conv1_t_stride=2)


def load_backbone(cache_dir: Path, network: str) -> nn.Module:
    """The backbone with its weights from ``cache_dir``; a missing or unfitting file is a one-line InputError."""
    path = backbone_file(cache_dir, network)
    if not path.is_file():
        raise InputError(path, f"perceptual backbone weights missing: put the {network} checkpoint there "
                               "(nothing is downloaded), or set losses.perceptual_weight to 0")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same user error
        raise InputError(path, f"cannot read the perceptual backbone ({type(err).__name__}: {err})") from None
    state = state.get("state_dict", state)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = build_backbone(network)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise InputError(path, f"does not fit {network}: {str(err).splitlines()[0]}") from None
    return net


class PerceptualLoss3D(nn.Module):
    """Distance between normalised ResNet features of two volumes in [-1, 1] (the backbone stays frozen)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = freeze(backbone)

    def train(self, mode: bool = True):  # the batch norms keep their trained statistics
        return super().train(False)

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        b = self.backbone
        x = b.maxpool(b.act(b.bn1(b.conv1(x))))
        features = []
        for layer in (b.layer1, b.layer2, b.layer3, b.layer4):
            x = layer(x)
            features.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return features

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # MedicalNet was trained on z-scored volumes.
        norm = lambda v: (v - v.mean()) / (v.std() + 1e-6)  # noqa: E731
        loss = prediction.new_zeros(())
        for fp, ft in zip(self._features(norm(prediction)), self._features(norm(target))):
            loss = loss + (fp - ft).pow(2).sum(1).mean()
        return loss
