"""What a training task is: one per trained model (a model family has one, or one per stage); the registry of
them is tools.train.tasks.

A task (:class:`TrainingTask`) supplies what is particular to a model; the
harness (tools/train/harness.py: the loop, precision) and its parts own everything
else: data and the split (data.py), DistributedDataParallel (distributed.py),
checkpoints (checkpoint.py), validation (validation.py), logs (logs.py) and the
exported model folder (export.py).

What a task supplies:
- ``name`` (the command's task argument, and ``training.<name>`` for a staged task);
  ``staged`` (a stage of a family that starts from the previous stage's model
  folder, ``--previous``); ``config_class`` (the family's model.config class);
- in ``__init__``: ``self.nets`` (name -> module; the harness checkpoints, exports
  and validates these) and ``self.optimizers`` (name -> optimiser; each gets the
  linear-decay schedule);
- :meth:`train_step` on one batch, running the networks of ``self.train_nets``
  (the harness sets them to DistributedDataParallel wrappers of ``self.nets``
  under torchrun; in one process they are ``self.nets``) - a network used only
  frozen inside a step (a discriminator while the generator steps) is used
  through ``self.nets``, so that DDP does not wait for its gradients - and
  updating each optimiser through :meth:`optimise` (which skips a non-finite
  update: the harness counts it, and stops the run after ``training.max_bad_steps``
  in a row);
- :meth:`predict_case` (HU on the case's MR grid, through the deployment code)
  and :meth:`export` (save the networks: model.weights.save_networks).
Optional hooks, with their defaults here: :meth:`sampler` (training batches:
random patches of ``training.patch_size``), :meth:`extra_state` /
:meth:`load_extra_state` (kept in the checkpoint), :meth:`exported_settings`
(sections added to the exported config).

To add one: subclass, and name it in its family's ``tasks`` (model.config.families.FAMILIES); the steps
for a whole model family are in model/pipelines/__init__.py.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np
import torch

from model.config import ModelConfig, Training
from model.errors import InputError
from model.precision import training_autocast


def training_section(config: ModelConfig, task_class) -> Training:
    """``training`` of the config, or ``training.<task>`` for a staged task; a missing one names the file."""
    section = config.training
    if task_class.staged:
        section = getattr(section, task_class.name, None) if section is not None else None
    if section is None:
        raise InputError(config.source, f"{section_name(task_class)}: missing: the {task_class.name} task trains "
                                        "with it")
    return section


def section_name(task_class) -> str:
    return f"training.{task_class.name}" if task_class.staged else "training"


class TrainingTask(ABC):
    name: ClassVar[str]
    staged: ClassVar[bool] = False
    uses_mr: ClassVar[bool] = True  # False: trains on the CT alone (the MR in a batch is ignored or None)
    config_class: ClassVar[type[ModelConfig]]
    nets: dict[str, torch.nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]

    def __init__(self, config: ModelConfig, device: torch.device):
        if not isinstance(config, self.config_class):
            raise InputError(config.source, f"pipeline: the {self.name} task trains a {self.config_class.__name__} "
                                            f"model, not {config.pipeline!r}")
        self.config = config
        self.device = device
        self.training = training_section(config, type(self))
        if self.training.augment_mr is not None and not self.uses_mr:
            raise InputError(config.source, f"{section_name(type(self))}.augment_mr: the {self.name} task never sees "
                                            "the MR; augment the stage that does")
        # A context-manager factory for the forward passes of one training step, from ``training[.<stage>].amp``
        # (false or "bf16"; the policy is model.precision's). Validation always runs in float32, as the container
        # does on the CPU.
        self.autocast = training_autocast(self.training.amp, section_name(type(self)), device, config.source)
        self._train_nets: dict[str, torch.nn.Module] | None = None
        self.skipped: list[str] = []  # optimisers whose update this iteration skipped (:meth:`optimise`)

    @property
    def train_nets(self) -> dict[str, torch.nn.Module]:
        """The networks :meth:`train_step` runs: DistributedDataParallel wrappers under torchrun, else ``nets``."""
        return self.nets if self._train_nets is None else self._train_nets

    def distribute(self, wrap: Callable[[torch.nn.Module], torch.nn.Module]) -> None:
        """Called by the harness only: run the training steps through ``wrap(net)`` for every trained network."""
        self._train_nets = {name: wrap(net) for name, net in self.nets.items()}

    def undistribute(self) -> None:
        """Called by the harness only, before it destroys the process group: drop the DDP wrappers (their reducers
        hold the group, which would otherwise outlive its destruction)."""
        self._train_nets = None

    def optimise(self, name: str, loss: torch.Tensor) -> bool:
        """Backpropagate ``loss`` and step optimiser ``name`` - unless the loss or any of its gradients is NaN or
        Inf: then the gradients are dropped and the weights and the optimiser's state stay untouched (the
        harness counts the iteration as bad). Under DDP the gradients are already averaged over the processes,
        so every process decides alike. Returns whether the update was applied."""
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        norms = torch._foreach_norm(grads) if grads else []
        finite = bool(torch.isfinite(torch.stack([loss.detach().float().reshape(()), *(n.float() for n in norms)])).all())
        if not finite:
            optimizer.zero_grad(set_to_none=True)
            self.skipped.append(name)
            return False
        optimizer.step()
        return True

    @abstractmethod
    def train_step(self, mr: torch.Tensor | None, target: torch.Tensor, iteration: int = 0) -> dict[str, torch.Tensor]:
        """One optimisation step on a batch; the losses as detached tensors (read at log time only)."""

    @abstractmethod
    def predict_case(self, case) -> np.ndarray:
        """HU on the validation case's MR grid (a tools.dataset.cases.TrainingCase), as the container would."""

    @abstractmethod
    def export(self, folder: Path) -> dict[str, str]:
        """Save the trained networks into ``folder``; returns the config's ``weights`` table."""

    @classmethod
    def case_fit(cls, config: ModelConfig):
        """The form of a training case this task trains on, as the case cache keeps it
        (a tools.dataset.cache.CaseFit), or None: the case as read, on its MR's grid."""
        return None

    def prepare(self, cases) -> None:
        """Called on the main process only, before every process builds its :meth:`sampler`: derive what the
        sampler reads from the cached cases (``CachedCase.derived``) and cache it, once for all processes."""

    def sampler(self, cases, rng: np.random.Generator):
        """Training batches from the cached cases (tools.dataset.cache.CachedCase): ``sample()`` -> (MR or None,
        target), tensors on the CPU."""
        from tools.dataset.augment import augmenter
        from tools.dataset.cases import PatchSampler

        return PatchSampler(list(cases), self.training.patch_size, rng, self.training.flip_lr,
                            augmenter(self.training.augment_mr))

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def exported_settings(self) -> dict:
        return {}
