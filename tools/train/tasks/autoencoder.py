"""Brain stage 1: the KL autoencoder (MONAI ``AutoencoderKL``) that compresses CT to a latent.

Loss = L1 + perceptual (3-D MedicalNet backbone from a local cache; weight 0
switches it off) + KL, plus a least-squares patch adversarial term after a
warm-up. Trained on CT patches cut from the cases fitted to the model grid (CT scaled
to [-1, 1]), which the case cache keeps (tools.train.tasks.brain.grid_fit).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from monai.losses import PatchAdversarialLoss

from model.config import LatentDiffusionConfig
from model.errors import InputError
from model.networks.latent import build_autoencoder
from model.networks.pix2pix import build_discriminator
from model.pipelines.latent_windows import reconstruct_hu
from model.preprocessing.headgrid import fit_case, to_grid
from model.weights import save_networks
from tools.train.frozen import set_requires_grad
from tools.train.losses.perceptual import PerceptualLoss3D, load_backbone
from tools.train.tasks.base import TrainingTask
from tools.train.tasks.brain import grid_fit


def kl_divergence(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, 1)), summed over the latent, averaged over the batch."""
    kl = 0.5 * (mu.pow(2) + sigma.pow(2) - torch.log(sigma.pow(2) + 1e-12) - 1.0)
    return kl.flatten(1).sum(1).mean()


class AutoencoderTask(TrainingTask):
    name = "autoencoder"
    staged = True
    uses_mr = False
    config_class = LatentDiffusionConfig

    def __init__(self, config: LatentDiffusionConfig, device: torch.device, previous: Path | None = None):
        if previous is not None:
            raise InputError(previous, "the autoencoder is the first brain stage; it takes no --previous")
        super().__init__(config, device)
        self.nets = {
            "autoencoder": build_autoencoder(config).to(device),
            "discriminator": build_discriminator(config.networks.discriminator, in_channels=1).to(device),
        }
        lr = self.training.lr
        self.optimizers = {
            "autoencoder": torch.optim.Adam(self.nets["autoencoder"].parameters(), lr=lr),
            "discriminator": torch.optim.Adam(self.nets["discriminator"].parameters(), lr=self.training.lr_discriminator or lr),
        }
        w = self.training.losses
        self.w_perceptual, self.w_kl, self.w_adv = w.perceptual_weight, w.kl_weight, w.adversarial_weight
        self.adv_start = w.adversarial_warmup
        self.perceptual = None
        if self.w_perceptual > 0:
            self.perceptual = PerceptualLoss3D(load_backbone(Path(w.perceptual_cache_dir), w.perceptual_network)).to(device)
        self.adversarial = PatchAdversarialLoss(criterion="least_squares")

    @classmethod
    def case_fit(cls, config: LatentDiffusionConfig):
        return grid_fit(config)  # patches of the cases fitted to the model grid

    def train_step(self, mr: torch.Tensor, ct: torch.Tensor, iteration: int = 0) -> dict[str, float]:
        autoencoder, discriminator = self.train_nets["autoencoder"], self.train_nets["discriminator"]
        adversarial = self.w_adv > 0 and iteration > self.adv_start
        with self.autocast():
            recon, mu, sigma = autoencoder(ct)
        recon, mu, sigma = recon.float(), mu.float(), sigma.float()
        l1 = torch.nn.functional.l1_loss(recon, ct)
        kl = kl_divergence(mu, sigma)
        loss = l1 + self.w_kl * kl
        losses = {"l1": l1.detach(), "kl": kl.detach()}
        if self.perceptual is not None:
            with self.autocast():
                perceptual = self.perceptual(recon, ct).float()
            loss = loss + self.w_perceptual * perceptual
            losses["perceptual"] = perceptual.detach()
        if adversarial:
            set_requires_grad(discriminator, False)
            with self.autocast():
                logits = self.nets["discriminator"](recon)[-1]
            adv = self.adversarial(logits.float(), target_is_real=True, for_discriminator=False)
            loss = loss + self.w_adv * adv
            losses["adv_g"] = adv.detach()
        self.optimise("autoencoder", loss)
        if adversarial:
            set_requires_grad(discriminator, True)
            with self.autocast():
                logits = discriminator(torch.cat([ct, recon.detach()], 0))[-1]
            real, fake = logits.float().chunk(2)
            loss_d = 0.5 * (self.adversarial(real, target_is_real=True, for_discriminator=True)
                            + self.adversarial(fake, target_is_real=False, for_discriminator=True))
            self.optimise("discriminator", loss_d)
            losses["adv_d"] = loss_d.detach()
        return losses

    @torch.no_grad()
    def predict_case(self, case) -> np.ndarray:
        """Validation: the case's CT encoded and decoded on the grid as the sampler does (the autoencoder's
        ceiling for the sCT)."""
        autoencoder = self.nets["autoencoder"]
        autoencoder.eval()
        try:
            fit = fit_case(case.inputs, self.config)
            return reconstruct_hu(autoencoder, to_grid(case.ct_unit, fit, -1.0), fit, self.config)
        finally:
            autoencoder.train()

    def export(self, folder: Path) -> dict[str, str]:
        return save_networks(folder, {"autoencoder": self.nets["autoencoder"]}, self.config.pipeline)
