"""A run's resumable checkpoints, in ``<out>/checkpoints/``::

    last.pt          the shared state, written by rank 0: every network, optimiser and scheduler, the best
                     validation so far, the commands that trained the weights, the task's own state, --init
    rng-rank<r>.pt   each process's random streams (patch sampler, torch, CUDA) at the same iteration
    best.pt          the networks at the best validation MAE

Each file is written whole or not at all (model.files.atomic_path). A resumed run must have the checkpoint's
config, but for :data:`RESUMABLE_CHANGES`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from model.errors import InputError
from model.files import atomic_path

log = logging.getLogger("train")

# Settings that may change when a run is resumed; anything else must match the checkpoint.
RESUMABLE_CHANGES = {"iterations", "val_interval", "checkpoint_interval", "log_interval", "max_bad_steps", "workers"}


def atomic_torch_save(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def training_state(task, schedulers: dict, *, iteration: int, config: dict, best: dict, commands: list[str],
                   init: Path | None) -> dict:
    """What ``last.pt`` holds."""
    return {
        "task": task.name,
        "iteration": iteration,
        "config": config,
        "nets": {k: v.state_dict() for k, v in task.nets.items()},
        "optimizers": {k: v.state_dict() for k, v in task.optimizers.items()},
        "schedulers": {k: v.state_dict() for k, v in schedulers.items()},
        "best": best,
        "commands": commands,
        "task_state": task.extra_state(),
        "init": str(init) if init else None,
    }


def load_training_state(state: dict, task, schedulers: dict) -> None:
    """Put ``last.pt``'s networks, optimisers, schedulers and task state back."""
    for key, net in task.nets.items():
        net.load_state_dict(state["nets"][key])
    for key, opt in task.optimizers.items():
        opt.load_state_dict(state["optimizers"][key])
    for key, sched in schedulers.items():
        sched.load_state_dict(state["schedulers"][key])
    task.load_extra_state(state.get("task_state", {}))


def check_same_config(saved: dict, config: dict, task_class, path: Path) -> None:
    """The checkpoint's config and this run's agree but for :data:`RESUMABLE_CHANGES` (in the task's own section
    of a staged config)."""
    def strip(whole: dict) -> dict:
        section = whole.get("training", {})
        if task_class.staged:
            return {**whole, "training": {**section, task_class.name: drop(section.get(task_class.name, {}))}}
        return {**whole, "training": drop(section)}

    def drop(section: dict) -> dict:
        return {k: v for k, v in section.items() if k not in RESUMABLE_CHANGES}

    if strip(saved) != strip(config):
        raise InputError(path, f"the config differs from the checkpoint's (only {', '.join(sorted(RESUMABLE_CHANGES))} may change on resume)")


class Checkpoints:
    """The checkpoint files of the run in ``out`` as seen by the process of ``rank`` on ``device``."""

    def __init__(self, out: Path, rank: int, device: torch.device):
        self.folder = Path(out) / "checkpoints"
        self.last = self.folder / "last.pt"
        self.best = self.folder / "best.pt"
        self.rng = self.folder / f"rng-rank{rank}.pt"
        self.device = device

    def check_start(self, resume: bool) -> None:
        """A new run must not overwrite a checkpoint; a resumed one needs one."""
        if self.last.exists() and not resume:
            raise InputError(self.last, "a checkpoint exists; pass --resume to continue it or choose another --out")
        if resume and not self.last.exists():
            raise InputError(self.last, "--resume given but there is no checkpoint to resume")

    def write_last(self, state: dict) -> None:
        atomic_torch_save(state, self.last)

    def read_last(self, task_class, task_name: str, config: dict, init: Path | None) -> dict:
        """``last.pt``, checked against this run: the same task, the same config (but for
        :data:`RESUMABLE_CHANGES`), the same ``--init`` where one is given."""
        state = torch.load(self.last, map_location="cpu", weights_only=False)
        if state["task"] != task_name:
            raise InputError(self.last, f"a {state['task']} checkpoint, not {task_name}")
        check_same_config(state["config"], config, task_class, self.last)
        started_from = state.get("init")
        if init is not None and str(init) != started_from:
            raise InputError(self.last, f"this run started from --init {started_from}, not {init}")
        return state

    def write_rng(self, iteration: int, batches) -> None:
        """This process's random streams: the patch sampler's (``batches``), torch's and CUDA's."""
        state = {"iteration": iteration, "numpy": batches.rng_state(), "torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        atomic_torch_save(state, self.rng)

    def restore_rng(self, iteration: int, batches) -> None:
        """Continue this process's random streams where the checkpoint of ``iteration`` left them."""
        rng = torch.load(self.rng, map_location="cpu", weights_only=False) if self.rng.exists() else None
        if rng is None or rng["iteration"] != iteration:
            log.warning("%s: no random state for iteration %d; patches are drawn from a fresh stream", self.rng, iteration)
            return
        batches.set_rng_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)

    def write_best(self, nets: dict) -> None:
        atomic_torch_save({k: v.state_dict() for k, v in nets.items()}, self.best)

    def load_best(self, nets: dict) -> None:
        """The best validation networks into ``nets``, where there is a ``best.pt``."""
        if self.best.exists():
            for key, state in torch.load(self.best, map_location="cpu", weights_only=True).items():
                nets[key].load_state_dict(state)
