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
(``init``, ``--init``: fine-tuning; every tensor whose name and shape fit, model.weights.warm_start).

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

import csv
import logging
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import monai
import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from model.config import parse_config
from model.device import report
from model.errors import InputError
from model.files import atomic_path
from model.precision import configure_training
from model.preprocessing.intensity import sct_voxels
from model.weights import read_config, warm_start, write_config, write_manifest
from tools.dataset.cache import CaseCache, default_cache_dir
from tools.dataset.cases import TrainingCase, find_cases, load_training_case, split_cases
from tools.metrics.image import image_metrics
from tools.train.loader import Batches
from tools.train.tasks.base import section_name, training_section

log = logging.getLogger("train")
# An optimiser may sit out the first steps (a discriminator during its warm-up): its schedule still counts them.
warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`")

# Settings that may change when a run is resumed; anything else must match the checkpoint.
RESUMABLE_CHANGES = {"iterations", "val_interval", "checkpoint_interval", "log_interval", "max_bad_steps", "workers"}


class Distributed:
    """Rank, world size and device, from torchrun's environment (one process when absent)."""

    def __init__(self, device_name: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
        self.device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
        if use_cuda:
            torch.cuda.set_device(self.device)
        if self.world > 1:
            # Rank 0 validates whole volumes while the others wait: allow for it.
            dist.init_process_group(backend="nccl" if use_cuda else "gloo", timeout=timedelta(hours=2))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()

    def check_identical(self, nets: dict) -> None:
        """After DDP training every rank must hold the same weights; compare a checksum per network."""
        if self.world == 1:
            return
        for name, net in nets.items():
            checksum = torch.stack([p.detach().double().sum() for p in net.parameters()]).sum().reshape(1)
            low, high = checksum.clone(), checksum.clone()
            dist.all_reduce(low, op=dist.ReduceOp.MIN)
            dist.all_reduce(high, op=dist.ReduceOp.MAX)
            if low.item() != high.item():
                raise RuntimeError(f"{name}: weights differ between processes ({low.item()} != {high.item()})")
        if self.main:
            log.info("weights identical on all %d processes", self.world)


def linear_decay(iterations: int, decay_from: float):
    """Constant learning rate, then linear decay to zero from ``decay_from`` x iterations (as Pix2Pix)."""
    start = int(iterations * decay_from)

    def factor(step: int) -> float:
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(1, iterations - start))

    return factor


def _atomic_torch_save(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


class Harness:
    """``config``: the config as JSON gives it (written unchanged into the run and its model folder), parsed
    here once (model.config); ``config_source`` is the file its errors name."""

    def __init__(self, task_class, config: dict, data_dir: Path, out_dir: Path, *, resume: bool = False,
                 device: str = "auto", command: str = "", previous: Path | None = None, config_source: str | Path,
                 cache_dir: Path | None = None, init: Path | None = None):
        self.config = config
        self.spec = parse_config(config, config_source)
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
        self.batches: Batches | None = None  # the training batches (tools.train.loader), from run()
        self.commands = [command]  # every command that trained these weights, recorded in the provenance
        self.dist = Distributed(device)
        self.iterations = self.training.iterations
        self.best = {"mae": float("inf"), "iteration": None}
        self.saved: int | None = None  # the iteration of the last checkpoint written or resumed from

    # ----------------------------------------------------------------- setup
    def _prepare_out(self) -> None:
        last = self.out / "checkpoints" / "last.pt"
        if last.exists() and not self.resume:
            raise InputError(last, "a checkpoint exists; pass --resume to continue it or choose another --out")
        if self.resume and not last.exists():
            raise InputError(last, "--resume given but there is no checkpoint to resume")
        if self.dist.main:
            (self.out / "checkpoints").mkdir(parents=True, exist_ok=True)
            write_config(self.out, self.config)

    def _load_data(self) -> None:
        seed = self.training.seed
        percentiles = self.spec.preprocessing.mr_percentiles
        paths = find_cases(self.data_dir)
        self.paths = paths
        self.engine = getattr(self.training, "engine", None)
        engine_only = self.engine is not None and not self.engine.case_fraction  # --data then only validates
        try:
            self.train_ids, self.val_ids = split_cases(sorted(paths), self.training.val_cases, seed,
                                                       need_train=not engine_only)
        except ValueError as err:
            raise InputError(self.data_dir, str(err)) from None
        if engine_only:
            self.train_ids, self.train_cases = [], []
            if self.dist.main:
                log.info("data engine: anatomies drawn as training runs; %d validation case(s): %s",
                         len(self.val_ids), ", ".join(self.val_ids))
            return
        root = self.cache_dir or default_cache_dir(self.data_dir, self.out)
        cache = CaseCache(root, percentiles, seed, self.task_class.case_fit(self.spec))
        train_paths = {c: paths[c] for c in self.train_ids}
        if self.dist.main:
            built = cache.build(train_paths)
            log.info("case cache %s: %d case(s) built, %d reused", cache.root, len(built), len(train_paths) - len(built))
        self.dist.barrier()  # every process reads what rank 0 built
        self.train_cases = [cache.open(c, paths[c]) for c in self.train_ids]
        if self.dist.main:
            log.info("%d training case(s), %d validation case(s): %s", len(self.train_ids), len(self.val_ids), ", ".join(self.val_ids))

    def val_cases(self) -> Iterator[TrainingCase]:
        """The validation cases, each read when it is validated (none is held between validations)."""
        for case_id in self.val_ids:
            yield load_training_case(case_id, self.paths[case_id], self.spec.preprocessing.mr_percentiles,
                                     self.training.seed)

    def _build(self) -> None:
        torch.manual_seed(self.training.seed)  # identical initial weights on every rank
        kwargs = {"previous": self.previous} if self.task_class.staged else {}
        self.task = self.task_class(self.spec, self.dist.device, **kwargs)
        if self.init is not None and not self.resume:  # a resumed run's checkpoint holds the weights
            for name, (copied, total) in warm_start(self.task.nets, self.init).items():
                if self.dist.main:  # a warning where some tensors start fresh (another layer, or other names)
                    log.log(logging.INFO if copied == total else logging.WARNING,
                            "--init %s: %s starts from %d of its %d tensors there", self.init, name, copied, total)
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
    def _state(self, iteration: int) -> dict:
        return {
            "task": self.task.name,
            "iteration": iteration,
            "config": self.config,
            "nets": {k: v.state_dict() for k, v in self.task.nets.items()},
            "optimizers": {k: v.state_dict() for k, v in self.task.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "best": self.best,
            "commands": self.commands,
            "task_state": self.task.extra_state(),
            "init": str(self.init) if self.init else None,
        }

    def _rng_path(self) -> Path:
        return self.out / "checkpoints" / f"rng-rank{self.dist.rank}.pt"

    def _rng_state(self, iteration: int) -> dict:
        state = {"iteration": iteration, "numpy": self.batches.rng_state(), "torch": torch.get_rng_state()}
        if self.dist.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.dist.device)
        return state

    def _restore(self) -> int:
        path = self.out / "checkpoints" / "last.pt"
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state["task"] != self.task.name:
            raise InputError(path, f"a {state['task']} checkpoint, not {self.task.name}")
        self._check_same_config(state["config"], path)
        started_from = state.get("init")
        if self.init is not None and str(self.init) != started_from:
            raise InputError(path, f"this run started from --init {started_from}, not {self.init}")
        self.init = Path(started_from) if started_from else None  # kept in the provenance
        for key, net in self.task.nets.items():
            net.load_state_dict(state["nets"][key])
        for key, opt in self.task.optimizers.items():
            opt.load_state_dict(state["optimizers"][key])
        for key, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][key])
        self.best = state["best"]
        self.task.load_extra_state(state.get("task_state", {}))
        self.commands = state.get("commands", []) + self.commands
        self.saved = int(state["iteration"])
        return self.saved

    def _restore_rng(self, iteration: int) -> None:
        """Continue each process's random streams where the checkpoint left them."""
        path = self._rng_path()
        rng = torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None
        if rng is None or rng["iteration"] != iteration:
            log.warning("%s: no random state for iteration %d; patches are drawn from a fresh stream", path, iteration)
            return
        self.batches.set_rng_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and self.dist.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.dist.device)

    def _check_same_config(self, saved: dict, path: Path) -> None:
        def strip(config: dict) -> dict:
            section = config.get("training", {})
            if self.task_class.staged:
                return {**config, "training": {**section, self.task_class.name: drop(section.get(self.task_class.name, {}))}}
            return {**config, "training": drop(section)}

        def drop(section: dict) -> dict:
            return {k: v for k, v in section.items() if k not in RESUMABLE_CHANGES}

        if strip(saved) != strip(self.config):
            raise InputError(path, f"the config differs from the checkpoint's (only {', '.join(sorted(RESUMABLE_CHANGES))} may change on resume)")

    def _save(self, iteration: int) -> None:
        """Rank 0 writes the shared state, every rank its own random state."""
        if self.dist.main:
            _atomic_torch_save(self._state(iteration), self.out / "checkpoints" / "last.pt")
        _atomic_torch_save(self._rng_state(iteration), self._rng_path())
        self.saved = iteration
        self.dist.barrier()

    # ------------------------------------------------------------ validation
    def validate(self, iteration: int) -> dict[str, float]:
        rows = []
        for number, case in enumerate(self.val_cases()):
            hu = self.task.predict_case(case)
            sct = sct_voxels(hu, case.inputs.body).astype(np.float32)  # exactly what the container writes
            rows.append({"case": case.case_id, **image_metrics(case.ct, sct, case.inputs.body)})
            if number == 0:
                from tools.train.preview import save_preview  # Pillow: only where a run validates

                save_preview(self.out / "previews" / f"iter_{iteration:07d}.png", case.mr_unit, sct, case.ct,
                             case.inputs.mr_image.GetSpacing())
        mean = {k: float(np.mean([r[k] for r in rows])) for k in ("mae", "psnr", "ssim")}
        rows.append({"case": "mean", **mean})
        _append_csv(self.out / "val_log.csv", [{"iteration": iteration, **r} for r in rows])
        if mean["mae"] < self.best["mae"]:
            self.best = {"mae": mean["mae"], "psnr": mean["psnr"], "ssim": mean["ssim"], "iteration": iteration}
            _atomic_torch_save({k: v.state_dict() for k, v in self.task.nets.items()}, self.out / "checkpoints" / "best.pt")
        return mean

    # ---------------------------------------------------------------- export
    def export(self, iteration: int) -> Path:
        """Write <out>/model/: config + weights (best validation networks) + manifest."""
        best = self.out / "checkpoints" / "best.pt"
        if best.exists():
            for key, state in torch.load(best, map_location="cpu", weights_only=True).items():
                self.task.nets[key].load_state_dict(state)
        folder = self.out / "model"
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.iterdir():
            stale.unlink()
        weights = self.task.export(folder)
        config = {**self.config, **self.task.exported_settings(), "weights": weights, "provenance": self._provenance(iteration)}
        write_config(folder, config)
        write_manifest(folder)
        return folder

    def _provenance(self, iteration: int) -> dict:
        return {
            "commands": self.commands,
            "seed": self.training.seed,
            "data": str(self.data_dir),
            "previous_stage": str(self.previous) if self.previous else None,
            # the previous stage's own provenance, nested: a final model folder records every stage's training
            "previous_provenance": read_config(Path(self.previous)).get("provenance") if self.previous else None,
            "init": str(self.init) if self.init else None,
            "init_provenance": read_config(self.init).get("provenance") if self.init else None,
            "training_cases": self.train_ids,
            "validation_cases": self.val_ids,
            "iterations": iteration,
            "processes": self.dist.world,
            "best_validation": self.best,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": {"python": platform.python_version(), "torch": torch.__version__, "monai": monai.__version__},
        }

    # ------------------------------------------------------------------- run
    def run(self) -> Path | None:
        try:
            self._prepare_out()
            self._load_data()
            self._build()
            if self.dist.main:
                self.task.prepare(self.train_cases)
            self.dist.barrier()  # what the main process derived, every process reads
            rng = np.random.default_rng([self.training.seed, self.dist.rank])
            self.batches = Batches(self._sampler(rng), self.training.workers,
                                   pin_memory=self.dist.device.type == "cuda")
            start = 0
            if self.resume:
                start = self._restore()
                self._restore_rng(start)
                if self.dist.main:
                    log.info("resuming at iteration %d", start)
                    for name in ("train_log.csv", "val_log.csv"):
                        _drop_rows_after(self.out / name, start)
            self._loop(start)
            self.dist.check_identical(self.task.nets)
            if self.dist.main:
                folder = self.export(self.iterations)
                log.info("exported %s (best validation MAE %.1f HU at iteration %s)", folder, self.best["mae"], self.best["iteration"])
                return folder
            return None
        finally:
            if self.batches is not None:
                self.batches.close()
            self.dist.close()

    def _sampler(self, rng: np.random.Generator):
        """The task's sampler of the cached cases, or the data engine's (tools.synth.pool)."""
        if self.engine is None:
            return self.task.sampler(self.train_cases, rng)
        from tools.dataset.augment import augmenter
        from tools.synth.anatomy import PHANTOM_SPACING, REGIONS, spacing_scale
        from tools.synth.pool import AnatomyPool, EngineSampler, MixedSampler

        if self.spec.region not in REGIONS:
            raise InputError(self.spec.source, f"training.engine: the data engine draws {' and '.join(REGIONS)} "
                                               f"anatomy, not {self.spec.region}")
        spacing = self.spec.preprocessing.spacing_mm or PHANTOM_SPACING[self.spec.region][::-1]
        scale = spacing_scale(self.spec.region, self.spec.preprocessing.spacing_mm)
        if self.spec.region == "Brain" and scale != (1.0, 1.0, 1.0):
            raise InputError(self.spec.source, "training.engine: the engine draws heads at 1 mm; preprocessing."
                                               "spacing_mm must be [1, 1, 1] or absent")
        root = self.cache_dir or default_cache_dir(self.data_dir, self.out)
        pool = AnatomyPool(root, self.spec.region, self.training.seed + 7919 * self.dist.rank, scale)
        engine = EngineSampler(pool, self.engine, self.training.patch_size, spacing,
                               self.spec.preprocessing.mr_percentiles, rng, self.training.flip_lr,
                               augmenter(self.training.augment_mr))
        if not self.engine.case_fraction:
            return engine
        return MixedSampler(self.task.sampler(self.train_cases, rng), engine, self.engine.case_fraction)

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
                    _append_csv(self.out / "train_log.csv", [{"iteration": iteration, "seconds": round(time.perf_counter() - t0, 1),
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
        last = self.out / "checkpoints" / "last.pt"
        where = f"the last good checkpoint is {last} (iteration {self.saved})" if self.saved is not None else "no checkpoint was saved yet"
        raise InputError(last if self.saved is not None else self.out, f"training stopped at iteration {iteration}: {in_a_row} "
                         f"iterations in a row had a non-finite loss or gradients (training.max_bad_steps "
                         f"{self.training.max_bad_steps}; each was skipped, the weights untouched); {where}. Lower "
                         f"training.lr, or set training.amp false, and --resume")


def _drop_rows_after(path: Path, iteration: int) -> None:
    """On resume, forget log rows written after the checkpoint (they will be written again)."""
    if not path.exists():
        return
    header, rows = _read_csv(path)
    if rows:
        _write_csv(path, header, [r for r in rows if int(r["iteration"]) <= iteration])


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


def _append_csv(path: Path, rows: list[dict]) -> None:
    """Append rows; a new column (a loss that starts after a warm-up) widens the header, earlier rows blank."""
    fields = list(rows[0])
    if not path.exists():
        _write_csv(path, fields, rows)
        return
    header, old = _read_csv(path)
    if set(fields) <= set(header):
        with open(path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=header, restval="").writerows(rows)
        return
    _write_csv(path, header + [k for k in fields if k not in header], old + rows)
