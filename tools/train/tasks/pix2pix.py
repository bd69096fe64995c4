"""3-D Pix2Pix: U-Net generator + conditional PatchGAN, loss = adversarial + lambda_L1 x L1."""
from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import numpy as np
import torch

from model.config import Pix2PixConfig
from model.networks.pix2pix import build_discriminator, build_generator
from model.pipelines.pix2pix import Pix2PixPipeline
from model.preprocessing.resample import plan_spacing
from model.weights import save_networks
from tools.dataset.cache import CaseFit
from tools.dataset.cases import TrainingCase, UnitCase, patch_centres
from tools.train.frozen import set_requires_grad
from tools.train.losses.gan import GanLoss
from tools.train.tasks.base import TrainingTask

log = logging.getLogger("train")


def at_spacing(case: TrainingCase, spacing_mm) -> UnitCase:
    """A case at the model's voxel size: MR (normalised on its own voxels) and CT resampled trilinearly, patch
    centres in the resampled body; the case's own arrays where it already has that size."""
    plan = plan_spacing(case.mr_unit.shape, case.inputs.mr_image.GetSpacing(), spacing_mm)
    if plan is None:
        return UnitCase(case.case_id, case.mr_unit, case.ct_unit, case.centres)
    centres = patch_centres(plan.body_to_model(case.inputs.body))
    return UnitCase(case.case_id, plan.to_model(case.mr_unit), plan.to_model(case.ct_unit), centres)


class Pix2PixTask(TrainingTask):
    name = "pix2pix"
    config_class = Pix2PixConfig

    def __init__(self, config: Pix2PixConfig, device: torch.device):
        super().__init__(config, device)
        training, networks = self.training, config.networks
        self.nets = {
            "generator": build_generator(networks.generator).to(device),
            "discriminator": build_discriminator(networks.discriminator).to(device),
        }
        self.optimizers = {k: torch.optim.Adam(net.parameters(), lr=training.lr, betas=training.betas)
                           for k, net in self.nets.items()}
        self.gan_loss = GanLoss(training.gan_loss)
        self.lambda_l1 = training.lambda_l1
        if training.patch_size != config.inference.roi_size:
            log.warning("training.patch_size %s differs from inference.roi_size %s: instance-norm statistics "
                        "of inference windows will differ from those seen in training", list(training.patch_size),
                        list(config.inference.roi_size))

    @classmethod
    def case_fit(cls, config: Pix2PixConfig) -> CaseFit | None:
        """With ``preprocessing.spacing_mm``, cases at another voxel size are resampled to it (as the pipeline
        does at inference) and cached in that form; without, the cases as read."""
        spacing = config.preprocessing.spacing_mm
        if spacing is None:
            return None
        return CaseFit("spacing", {"spacing_mm": list(spacing)}, partial(at_spacing, spacing_mm=spacing))

    def train_step(self, mr: torch.Tensor, ct: torch.Tensor, iteration: int = 0) -> dict[str, torch.Tensor]:
        generator, discriminator = self.train_nets["generator"], self.train_nets["discriminator"]
        with self.autocast():
            fake = generator(mr).float()

        # 1. Discriminator: real pairs -> 1, generated pairs -> 0 (one forward for both).
        set_requires_grad(discriminator, True)
        pairs = torch.cat([torch.cat([mr, ct], 1), torch.cat([mr, fake.detach()], 1)], 0)
        with self.autocast():
            logits = discriminator(pairs)[-1]
        real_logits, fake_logits = logits.float().chunk(2)
        loss_d = 0.5 * (self.gan_loss(real_logits, True) + self.gan_loss(fake_logits, False))
        self.optimise("discriminator", loss_d)

        # 2. Generator: fool the (frozen, unsynchronised) discriminator and stay close to the CT.
        set_requires_grad(discriminator, False)
        with self.autocast():
            logits = self.nets["discriminator"](torch.cat([mr, fake], 1))[-1]
        loss_adv = self.gan_loss(logits.float(), True)
        loss_l1 = torch.nn.functional.l1_loss(fake, ct)
        loss_g = loss_adv + self.lambda_l1 * loss_l1
        self.optimise("generator", loss_g)
        set_requires_grad(discriminator, True)
        return {"loss_d": loss_d.detach(), "loss_g_adv": loss_adv.detach(), "loss_g_l1": loss_l1.detach()}

    def predict_case(self, case) -> np.ndarray:
        """Whole-case HU through the deployment pipeline (same sliding windows as the container)."""
        generator = self.nets["generator"]
        generator.eval()
        try:
            return Pix2PixPipeline(generator, self.config, self.device).predict(case.inputs)
        finally:
            generator.train()

    def export(self, folder: Path) -> dict[str, str]:
        return save_networks(folder, {"generator": self.nets["generator"]}, self.config.pipeline)
