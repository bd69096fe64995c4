"""The training harness every model shares.

It owns what is the same for all models: the data split, distributed training
(torchrun -> DistributedDataParallel, gloo on the CPU, NCCL on GPUs), the
progress bar, resumable checkpoints, learning-rate decay, bfloat16 mixed precision
(``training.amp``, which a task applies to its forward passes), validation with the
SynthRAD metrics through the deployment code path, the CSV logs, the PNG
previews and the export of a self-describing model folder. A task (one per
model) supplies the networks, their optimisers, one training step, a whole-case
prediction and the files to export; optionally its own form of the cached
training cases (``case_fit``) and what it derives from them once (``prepare``),
its own sampler of training batches, state to keep in the checkpoint, and
settings to add to the exported config. Staged tasks (the brain's autoencoder -> diffusion -> ControlNet) read
``training.<task name>`` of a shared config and start from the previous stage's
exported model folder (``previous``). Any task can start its networks from a model folder's weights
(``init``, ``--init``: fine-tuning; every tensor whose name and shape fit, model.weights.warm_start; a narrower
generator of the same layout is widened into a wider one, tools.train.widen).

This module builds the run and holds the training loop; its parts live beside it: ``data`` (the split, the
cached training cases, the batch sampler), ``distributed`` (torchrun's processes), ``checkpoint`` (last.pt,
best.pt, the random streams; resuming), ``validation``, ``logs`` (the CSV logs) and ``export`` (the model folder
and its provenance).

Output folder::

    <out>/checkpoints/last.pt   resumable state (every network, optimiser, scheduler)
    <out>/checkpoints/rng-rank*.pt  each process's random streams (patch sampler, torch)
    <out>/checkpoints/best.pt   networks at the best validation MAE
    <out>/train_log.csv         iteration, seconds, mean losses per logging interval
    <out>/val_log.csv           iteration, case, mae, psnr, ssim (and the mean)
    <out>/previews/iter_*.png   MR | sCT | CT | error mid-slices of the first validation case
    <out>/model/                config.json + weights + manifest.sha256: drop into weights/<region>/
"""
from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from model.config import ModelConfig
from model.device import report
from model.errors import InputError
from model.precision import configure_training
from model.weights import write_config
from tools.dataset.cache import default_cache_dir
from tools.dataset.cases import TrainingCase
from tools.train.checkpoint import Checkpoints, load_training_state, training_state
from tools.train.data import TrainingData, batch_sampler, load_training_data
from tools.train.distributed import Distributed
from tools.train.export import export_model, provenance
from tools.train.loader import Batches
from tools.train.logs import append_csv, drop_rows_after
from tools.train.tasks.base import TrainingTask, section_name, training_section
from tools.train.validation import val_cases, validate_cases
from tools.train.widen import start_networks

log = logging.getLogger("train")
# An optimiser may sit out the first steps (a discriminator during its warm-up): its schedule still counts them.
warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`")


def linear_decay(iterations: int, decay_from: float):
    """Constant learning rate, then linear decay to zero from ``decay_from`` x iterations (as Pix2Pix)."""
    start = int(iterations * decay_from)

    def factor(step: int) -> float:
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(1, iterations - start))

    return factor


class Harness:
    """``config``: the run's config, read and checked (model.config.load_config); written back with
    ``to_json()`` into the run, its checkpoints and its model folder."""

    def __init__(self, task_class, config: ModelConfig, data_dir: Path, out_dir: Path, *, resume: bool = False,
                 device: str = "auto", command: str = "", previous: Path | None = None,
                 cache_dir: Path | None = None, init: Path | None = None):
        self.spec = config
        self.config = config.to_json()  # as JSON: what is written, and what a resumed checkpoint must match
        self.task_class = task_class
        self.training = training_section(self.spec, task_class)
        if previous is not None and not task_class.staged:
            raise InputError(previous, f"--previous is for staged tasks; {task_class.name} starts from scratch")
        self.previous = previous
        self.init = None if init is None else Path(init)  # a model folder whose weights the networks start from
        self.data_dir = Path(data_dir)
        self.out = Path(out_dir)
        self.resume = resume
        self.cache_dir = cache_dir
        self.data: TrainingData | None = None  # the split and the cached training cases, from run()
        self.task: TrainingTask | None = None  # the networks, losses and optimisers, from _build()
        self.batches: Batches | None = None  # the training batches (tools.train.loader), from run()
        self.commands = [command]  # every command that trained these weights, recorded in the provenance
        self.dist = Distributed(device)
        self.checkpoints = Checkpoints(self.out, self.dist.rank, self.dist.device)
        self.iterations = self.training.iterations
        self.best = {"mae": float("inf"), "iteration": None}
        self.saved: int | None = None  # the iteration of the last checkpoint written or resumed from

    # ----------------------------------------------------------------- setup
    def _prepare_out(self) -> None:
        self.checkpoints.check_start(self.resume)
        if self.dist.main:
            self.checkpoints.folder.mkdir(parents=True, exist_ok=True)
            write_config(self.out, self.config)

    def _cache_root(self) -> Path:
        return self.cache_dir or default_cache_dir(self.data_dir, self.out)

    def val_cases(self) -> Iterator[TrainingCase]:
        """The validation cases, each read when it is validated (none is held between validations)."""
        return val_cases(self.data.val_ids, self.data.paths, self.spec.preprocessing.mr_percentiles, self.training.seed)

    def _build(self) -> None:
        torch.manual_seed(self.training.seed)  # identical initial weights on every rank
        kwargs = {"previous": self.previous} if self.task_class.staged else {}
        self.task = self.task_class(self.spec, self.dist.device, **kwargs)
        if self.init is not None and not self.resume:  # a resumed run's checkpoint holds the weights
            for name, (copied, total, how) in start_networks(self.task.nets, self.init, self.spec).items():
                if self.dist.main:  # a warning where some tensors start fresh (another layer, or other names)
                    log.log(logging.INFO if copied == total else logging.WARNING,
                            "--init %s: %s starts from %d of its %d tensors there, %s", self.init, name, copied, total,
                            how)
        configure_training(self.dist.device)
        if self.dist.main:
            report(self.dist.device, f"{section_name(self.task_class)}.amp {self.training.amp or 'float32'}"
                                     + (", TF32 on, cudnn.benchmark on" if self.dist.device.type == "cuda" else ""))
        if self.dist.world > 1:  # the training steps run through DDP wrappers; the task keeps its plain networks
            ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
            self.task.distribute(lambda net: DistributedDataParallel(net, device_ids=ids))
        if self.dist.rank:  # each process its own noise and timesteps (rank 0 keeps the single-process stream)
            torch.manual_seed(self.training.seed + 7919 * self.dist.rank)
        factor = linear_decay(self.iterations, self.training.lr_decay_from)
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(opt, factor) for k, opt in self.task.optimizers.items()}

    # ------------------------------------------------------------ checkpoints
    def _save(self, iteration: int) -> None:
        """Rank 0 writes the shared state, every rank its own random state."""
        if self.dist.main:
            self.checkpoints.write_last(training_state(
                self.task, self.schedulers, iteration=iteration, config=self.config, best=self.best,
                commands=self.commands, init=self.init))
        self.checkpoints.write_rng(iteration, self.batches)
        self.saved = iteration
        self.dist.barrier()

    def _restore(self) -> int:
        state = self.checkpoints.read_last(self.task_class, self.task.name, self.config, self.init)
        started_from = state.get("init")
        self.init = Path(started_from) if started_from else None  # kept in the provenance
        load_training_state(state, self.task, self.schedulers)
        self.best = state["best"]
        self.commands = state.get("commands", []) + self.commands
        self.saved = int(state["iteration"])
        return self.saved

    # ------------------------------------------------------------ validation
    def validate(self, iteration: int) -> dict[str, float]:
        mean = validate_cases(self.task, self.val_cases(), self.out, iteration)
        if mean["mae"] < self.best["mae"]:
            self.best = {"mae": mean["mae"], "psnr": mean["psnr"], "ssim": mean["ssim"], "iteration": iteration}
            self.checkpoints.write_best(self.task.nets)
        return mean

    # ---------------------------------------------------------------- export
    def export(self, iteration: int) -> Path:
        """Write <out>/model/: config + weights (best validation networks) + manifest."""
        self.checkpoints.load_best(self.task.nets)
        return export_model(self.out / "model", self.task, self.config, provenance(
            commands=self.commands, seed=self.training.seed, data_dir=self.data_dir, previous=self.previous,
            init=self.init, training_cases=self.data.train_ids, validation_cases=self.data.val_ids, iterations=iteration,
            processes=self.dist.world, best=self.best))

    # ------------------------------------------------------------------- run
    def run(self) -> Path | None:
        finished = False
        try:
            self._prepare_out()
            self.data = load_training_data(self.data_dir, self.spec, self.training, self.task_class, self._cache_root(),
                                           self.dist)
            self._build()
            if self.dist.main:
                self.task.prepare(self.data.train_cases)
            self.dist.barrier()  # what the main process derived, every process reads
            rng = np.random.default_rng([self.training.seed, self.dist.rank])
            sampler = batch_sampler(self.task, self.spec, self.training, self.data.train_cases, self._cache_root(),
                                    self.dist.rank, rng)
            self.batches = Batches(sampler, self.training.workers, pin_memory=self.dist.device.type == "cuda")
            start = 0
            if self.resume:
                start = self._restore()
                self.checkpoints.restore_rng(start, self.batches)
                if self.dist.main:
                    log.info("resuming at iteration %d", start)
                    for name in ("train_log.csv", "val_log.csv"):
                        drop_rows_after(self.out / name, start)
            self._loop(start)
            self.dist.check_identical(self.task.nets)
            folder = None
            if self.dist.main:
                folder = self.export(self.iterations)
                log.info("exported %s (best validation MAE %.1f HU at iteration %s)", folder, self.best["mae"], self.best["iteration"])
            finished = True
            return folder
        finally:
            if self.batches is not None:
                self.batches.close()
            if self.task is not None:
                self.task.undistribute()
            self.dist.close(finished)

    def _loop(self, start: int) -> None:
        log_every, val_every = self.training.log_interval, self.training.val_interval
        save_every = self.training.checkpoint_interval
        bar = tqdm(total=self.iterations, initial=start, disable=not self.dist.main, dynamic_ncols=True, desc=self.task.name,
                   mininterval=0.5 if sys.stderr.isatty() else 30)  # a log file gets a line every 30 s
        sums: dict[str, float] = {}
        count, skipped, in_a_row, t0 = 0, 0, 0, time.perf_counter()
        for iteration in range(start + 1, self.iterations + 1):
            mr, target = (None if t is None else t.to(self.dist.device, non_blocking=True) for t in next(self.batches))
            self.task.skipped = []
            losses = self.task.train_step(mr, target, iteration=iteration)  # tensors: read on the host at log time only
            for sched in self.schedulers.values():
                sched.step()
            if self.task.skipped:  # a non-finite update was skipped (TrainingTask.optimise): the weights are untouched
                skipped, in_a_row = skipped + 1, in_a_row + 1
                if self.dist.main:
                    log.warning("iteration %d: non-finite loss or gradients, %s update skipped (%d in a row)", iteration,
                                " and ".join(self.task.skipped), in_a_row)
                if in_a_row >= self.training.max_bad_steps:
                    bar.close()
                    self._stop_diverged(iteration, in_a_row)
            else:
                in_a_row = 0
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + v.detach()
                count += 1
            bar.update(1)
            if iteration % log_every == 0 or iteration == self.iterations:
                means = {k: float(v) / count for k, v in sums.items()}  # over the iterations that updated
                bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()})
                if self.dist.main:
                    lr = next(iter(self.task.optimizers.values())).param_groups[0]["lr"]
                    append_csv(self.out / "train_log.csv", [{"iteration": iteration, "seconds": round(time.perf_counter() - t0, 1),
                                                              "lr": lr, "skipped_steps": skipped, **means}])
                sums, count, skipped = {}, 0, 0
            validate = iteration % val_every == 0 or iteration == self.iterations
            if validate and self.dist.main:
                mean = self.validate(iteration)
                bar.write(f"iteration {iteration}: validation MAE {mean['mae']:.1f} HU, PSNR {mean['psnr']:.2f} dB, SSIM {mean['ssim']:.4f}")
            # A checkpoint after each validation keeps best.pt and last.pt's record of it in step.
            if validate or iteration % save_every == 0:
                self._save(iteration)
        bar.close()

    def _stop_diverged(self, iteration: int, in_a_row: int) -> None:
        """Too many non-finite steps in a row: stop, naming the iteration and the last good checkpoint (the last
        one saved, before any of them; nothing is saved now)."""
        last = self.checkpoints.last
        where = f"the last good checkpoint is {last} (iteration {self.saved})" if self.saved is not None else "no checkpoint was saved yet"
        raise InputError(last if self.saved is not None else self.out, f"training stopped at iteration {iteration}: {in_a_row} "
                         f"iterations in a row had a non-finite loss or gradients (training.max_bad_steps "
                         f"{self.training.max_bad_steps}; each was skipped, the weights untouched); {where}. Lower "
                         f"training.lr, or set training.amp false, and --resume")
