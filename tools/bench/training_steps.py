"""Time one training step of each brain stage, in float32 and in bfloat16 mixed precision.

    python -m tools.bench training-steps configs/brain_ldm_demo.json [--repeats 10] [--device cuda]

The trainer's own task classes and steps run on random weights and inputs of the
shapes the config trains on: the autoencoder's patch with its adversarial term on,
the UNet's and the ControlNet's latent blocks with the MR block. Each stage runs in
float32 and in bfloat16 (``training.<stage>.amp``), the two precisions' steps
alternating (after two warm-up steps each) so that both see the same machine;
prints their medians and ratio, the CPU model and whether it has native bfloat16.
"""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import torch

from model.budget import device_clock
from model.config import LatentDiffusionConfig
from model.device import cpu_model, peak_rss_gib
from model.networks.latent import autoencoder_factor, latent_shape
from model.precision import native_cpu_bf16
from tools.bench.common import add_machine_options, start, write_json
from tools.bench.random_weights import random_stage_folder
from tools.bench.sampling_step import brain_config

PRECISIONS = {"float32": False, "bf16": "bf16"}  # name -> training.<stage>.amp
STAGES = ("autoencoder", "diffusion", "controlnet")


def add_arguments(parser) -> None:
    parser.add_argument("config", type=Path, help="a brain (ldm) config with its three training stages")
    add_machine_options(parser)


def stage_inputs(config: LatentDiffusionConfig, stage: str, device: torch.device) -> tuple:
    """(mr, target, iteration) of the shapes the stage trains on: the autoencoder's CT patch (after its
    adversarial warm-up), a latent (block) and, for the ControlNet, the MR block over the same voxels."""
    training = getattr(config.training, stage)
    if stage == "autoencoder":
        warmup = training.losses.adversarial_warmup
        return None, torch.rand((1, 1, *training.patch_size), device=device) * 2 - 1, warmup + 1
    shape = latent_shape(config)
    block = training.latent_crop or shape[1:]
    mr = None
    if stage == "controlnet":
        mr = torch.rand((1, 1, *(b * autoencoder_factor(config) for b in block)), device=device) * 2 - 1
    return mr, torch.randn((1, shape[0], *block), device=device), 1


def brain_stage_task(config: LatentDiffusionConfig, stage: str, device: torch.device, folder: Path, amp):
    """A brain stage's own training task on random weights (``folder``: random_stage_folder), with
    ``training.<stage>.amp`` set to ``amp``."""
    from tools.train.tasks import task_classes

    variant = config.with_overrides({f"training.{stage}.amp": amp})
    task = task_classes()[stage](variant, device, None if stage == "autoencoder" else folder)  # the first stage starts from nothing
    if getattr(task, "scale", 0) is None:  # the diffusion stage computes it from its data
        task.scale = 1.0
    return task


def training_step_seconds(config: LatentDiffusionConfig, device: torch.device,
                          repeats: int) -> dict[str, dict[str, list[float]]]:
    """Seconds of ``repeats`` training steps of each brain stage in each precision (stage -> precision ->
    seconds), the two precisions' steps alternating (after two warm-up steps each) so that both see the
    same machine."""
    seconds: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        folder = random_stage_folder(config, Path(tmp))
        for stage in STAGES:
            tasks = {name: brain_stage_task(config, stage, device, folder, amp) for name, amp in PRECISIONS.items()}
            mr, target, iteration = stage_inputs(config, stage, device)
            seconds[stage] = {name: [] for name in tasks}
            for number in range(repeats + 2):
                for name, task in tasks.items():
                    began = device_clock(device)
                    task.train_step(mr, target, iteration=iteration)
                    if number >= 2:
                        seconds[stage][name].append(device_clock(device) - began)
    return seconds


def run(args) -> int:
    """float32 against bfloat16 training steps of each brain stage: medians and their ratio."""
    device = start(args)
    seconds = training_step_seconds(brain_config(args.config, "training-steps"), device, args.repeats)
    figures = {"what": "training_steps", "config": str(args.config), "device": str(device), "threads": args.threads,
               "cpu": cpu_model(), "cpu_native_bf16": native_cpu_bf16(), "stages": {}}
    for stage, runs in seconds.items():
        a, b = statistics.median(runs["float32"]), statistics.median(runs["bf16"])
        figures["stages"][stage] = {"float32_seconds": [round(s, 4) for s in runs["float32"]],
                                    "bf16_seconds": [round(s, 4) for s in runs["bf16"]],
                                    "float32_median": round(a, 4), "bf16_median": round(b, 4), "ratio": round(b / a, 3)}
        print(f"{stage}: one training step {a:.3f} s in float32, {b:.3f} s in bf16: {b / a:.2f} x", flush=True)
    figures["peak_rss_gib"] = round(peak_rss_gib(), 2)
    print(f"{args.config} on {device} ({args.threads} threads, {figures['cpu']}, native bfloat16: "
          f"{figures['cpu_native_bf16']}), medians of {args.repeats} steps each, alternating")
    write_json(args, figures)
    return 0
