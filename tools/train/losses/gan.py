"""The adversarial loss of the Pix2Pix generator and the brain autoencoder."""
from __future__ import annotations

import torch
from torch import nn


class GanLoss(nn.Module):
    """'bce' (the original Pix2Pix, on logits) or 'least_squares' (LSGAN)."""

    def __init__(self, kind: str = "bce"):
        super().__init__()
        losses = {"bce": nn.BCEWithLogitsLoss(), "least_squares": nn.MSELoss()}
        if kind not in losses:
            raise ValueError(f"gan_loss must be one of {sorted(losses)}, got {kind!r}")
        self.loss = losses[kind]

    def forward(self, logits: torch.Tensor, real: bool) -> torch.Tensor:
        return self.loss(logits, torch.full_like(logits, 1.0 if real else 0.0))
