"""3-D Pix2Pix: U-Net generator + conditional PatchGAN, loss = adversarial + lambda_L1 x L1."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from model.losses.gan import GanLoss
from model.networks.frozen import set_requires_grad
from model.networks.pix2pix import build_discriminator, build_generator
from model.pipelines.pix2pix import Pix2PixPipeline
from model.train.harness import mixed_precision, unwrap
from model.weights import save_networks

log = logging.getLogger("train")


class Pix2PixTask:
    name = "pix2pix"

    def __init__(self, config: dict, device: torch.device):
        self.config = config
        self.device = device
        training = config["training"]
        networks = config["networks"]
        self.nets = {
            "generator": build_generator(networks["generator"]).to(device),
            "discriminator": build_discriminator(networks["discriminator"]).to(device),
        }
        betas = tuple(training.get("betas", (0.5, 0.999)))
        lr = float(training.get("lr", 1e-3))
        self.optimizers = {k: torch.optim.Adam(net.parameters(), lr=lr, betas=betas) for k, net in self.nets.items()}
        self.autocast = mixed_precision(config, type(self), device)
        self.gan_loss = GanLoss(training.get("gan_loss", "bce"))
        self.lambda_l1 = float(training.get("lambda_l1", 100.0))
        if list(training["patch_size"]) != list(config["inference"]["roi_size"]):
            log.warning("training.patch_size %s differs from inference.roi_size %s: instance-norm statistics "
                        "of inference windows will differ from those seen in training", training["patch_size"],
                        config["inference"]["roi_size"])

    def train_step(self, mr: torch.Tensor, ct: torch.Tensor, iteration: int = 0) -> dict[str, float]:
        generator, discriminator = self.nets["generator"], self.nets["discriminator"]
        with self.autocast():
            fake = generator(mr).float()

        # 1. Discriminator: real pairs -> 1, generated pairs -> 0 (one forward for both).
        set_requires_grad(discriminator, True)
        pairs = torch.cat([torch.cat([mr, ct], 1), torch.cat([mr, fake.detach()], 1)], 0)
        with self.autocast():
            logits = discriminator(pairs)[-1]
        real_logits, fake_logits = logits.float().chunk(2)
        loss_d = 0.5 * (self.gan_loss(real_logits, True) + self.gan_loss(fake_logits, False))
        self.optimizers["discriminator"].zero_grad(set_to_none=True)
        loss_d.backward()
        self.optimizers["discriminator"].step()

        # 2. Generator: fool the (frozen, unsynchronised) discriminator and stay close to the CT.
        set_requires_grad(discriminator, False)
        with self.autocast():
            logits = unwrap(discriminator)(torch.cat([mr, fake], 1))[-1]
        loss_adv = self.gan_loss(logits.float(), True)
        loss_l1 = torch.nn.functional.l1_loss(fake, ct)
        loss_g = loss_adv + self.lambda_l1 * loss_l1
        self.optimizers["generator"].zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizers["generator"].step()
        set_requires_grad(discriminator, True)
        return {"loss_d": loss_d.detach(), "loss_g_adv": loss_adv.detach(), "loss_g_l1": loss_l1.detach()}

    def predict_case(self, case) -> np.ndarray:
        """Whole-case HU through the deployment pipeline (same sliding windows as the container)."""
        generator = unwrap(self.nets["generator"])
        generator.eval()
        try:
            return Pix2PixPipeline(generator, self.config, self.device).predict(case.inputs)
        finally:
            generator.train()

    def export(self, folder: Path) -> dict[str, str]:
        return save_networks(folder, {"generator": unwrap(self.nets["generator"])})
