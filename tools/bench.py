"""Time one pipeline on a volume of a given size and report its peak memory.

    python -m tools.bench --weights weights/pelvis --shape 153 410 586 [--repeats 3] [--threads 2] [--device cpu]
    python -m tools.bench --weights weights/brain --shape 180 220 180 --spacing 1 1 1
    python -m tools.bench --random-weights configs/brain_ldm.json --shape 180 220 180 --spacing 1 1 1 \
                          --time-budget 600 --repeats 1
    python -m tools.bench --sampling-step configs/brain_ldm.json [--device cuda]
    python -m tools.bench --training-steps configs/brain_ldm_demo.json [--repeats 10]

The volume is an elliptic body (random MR values inside, 1 x 1 x 2.5 mm) of the
given (z, y, x) size: the largest SynthRAD2023 pelvis by default. The full
per-case path runs: MR normalisation, sliding windows, HU conversion, int16
sCT on the MR's grid. Prints each run's seconds, their median, and the
process's peak resident memory (and peak GPU memory on CUDA).
``--random-weights CONFIG`` runs the networks a (training) config describes with
random weights instead of a model folder: the method-scale configs have no
trained weights here, and the time does not depend on the weights.
``--time-budget SECONDS`` gives each run the container's time budget
(model.budget): the brain sampler lowers its samples and steps to fit it.

``--sampling-step CONFIG`` builds the brain networks a config describes (random
weights: the method-scale config has no trained weights here) and times one
sampling step as the sampler runs it: ControlNet on the latent and the MR's
conditioning embedding, then the UNet with its residuals, then the DDIM update
(fp16 autocast on CUDA); and, apart, the embedding itself (the MR at full grid
resolution), which the sampler computes once per sample.

``--training-steps CONFIG`` times one training step of each brain stage (the
trainer's own task classes and steps, random weights and inputs of the shapes
the config trains on: the autoencoder's patch with its adversarial term on, the
UNet's and the ControlNet's latent blocks with the MR block) in float32 and in
bfloat16 mixed precision (``training.<stage>.amp``), and prints their ratio.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from model.budget import TimeBudget, device_clock
from model.cases import CaseInput
from model.cli import exit_code, setup_logging
from model.config import LatentDiffusionConfig, parse_config, read_json
from model.device import choose_device, cpu_model, peak_rss_gib
from model.networks.latent import (autoencoder_factor, build_autoencoder, build_controlnet, build_ddim, build_unet,
                                   check_shapes, controlled_prediction, embedded_conditioning, latent_shape)
from model.pipelines import load_pipeline
from model.precision import inference_precision, native_cpu_bf16
from model.registry import model_entry
from model.weights import save_networks, write_config, write_manifest

LARGEST_PELVIS = (153, 410, 586)


def synthetic_body(shape, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(MR, body) of the given (z, y, x) size: an elliptic body, random MR values inside."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = ((y - shape[1] / 2) / (0.45 * shape[1])) ** 2 + ((x - shape[2] / 2) / (0.47 * shape[2])) ** 2 <= 1
    body = np.broadcast_to(body, shape).copy()
    return np.random.default_rng(seed).uniform(0, 1000, shape).astype(np.float32) * body, body


def synthetic_case(shape, spacing=(1.0, 1.0, 2.5), seed: int = 0) -> CaseInput:
    import SimpleITK as sitk

    mr, body = synthetic_body(shape, seed)
    image = sitk.GetImageFromArray(mr)
    image.SetSpacing(spacing)
    return CaseInput(image, mr, body)


def sampling_step_seconds(config: LatentDiffusionConfig, device: torch.device, repeats: int) -> tuple[list[float], float]:
    """Seconds of ``repeats`` sampling steps as the sampler runs them, and of the MR's conditioning
    embedding, which the sampler computes once per sample (both after a warm-up run)."""
    check_shapes(config)
    unet, controlnet = build_unet(config).to(device).eval(), build_controlnet(config).to(device).eval()
    scheduler = build_ddim(config)
    scheduler.set_timesteps(config.sampler.steps)
    x = torch.randn((1, *latent_shape(config)), device=device)
    mr = torch.rand((1, 1, *config.grid.size), device=device) * 2 - 1
    t = int(scheduler.timesteps[0])
    timestep = torch.full((1,), t, device=device, dtype=torch.long)
    precision = inference_precision(device, config.sampler.amp)

    seconds = []
    with torch.no_grad():
        controlnet.controlnet_cond_embedding(mr)  # warm-up
        start = device_clock(device)
        with embedded_conditioning(controlnet, mr) as embedded:
            embedding_seconds = device_clock(device) - start
            print(f"conditioning embedding (once per sample): {embedding_seconds:.3f} s", flush=True)
            for run in range(repeats + 1):  # the first run warms up (allocations, kernel selection)
                start = device_clock(device)
                with precision.autocast():
                    prediction = controlled_prediction(unet, controlnet, x, timestep, embedded)
                scheduler.step(prediction.float(), t, x)
                if run:
                    seconds.append(device_clock(device) - start)
                    print(f"step {run}: {seconds[-1]:.3f} s", flush=True)
    return seconds, embedding_seconds


RANDOM_BRAIN_NETS = {"autoencoder": build_autoencoder, "unet": build_unet, "controlnet": build_controlnet}


def random_model_folder(config: dict, folder: Path, parts=None, *, source: str | Path) -> Path:
    """A model folder (weights, config, manifest) of the networks ``config`` (JSON as read from ``source``)
    describes (a training config will do), random weights; ``parts``: only these brain networks."""
    from model.networks.pix2pix import build_generator

    spec = parse_config(config, source)
    if spec.pipeline == "pix2pix":
        nets, extra = {"generator": build_generator(spec.networks.generator)}, {}
    else:
        nets = {name: RANDOM_BRAIN_NETS[name](spec) for name in parts or RANDOM_BRAIN_NETS}
        extra = {"latent": {"scale_factor": 1.0}}
    files = save_networks(folder, nets)
    write_config(folder, {**config, **extra, "weights": files})
    write_manifest(folder)
    return folder


def random_stage_folder(config: dict, folder: Path, source: str | Path) -> Path:
    """The random autoencoder and UNet a later brain training stage starts from (:func:`random_model_folder`)."""
    return random_model_folder(config, folder, ("autoencoder", "unet"), source=source)


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


PRECISIONS = {"float32": False, "bf16": "bf16"}  # name -> training.<stage>.amp


def brain_stage_task(config: dict, stage: str, device: torch.device, folder: Path, amp, source: str | Path):
    """A brain stage's own training task on random weights (``folder``: :func:`random_stage_folder`), with
    ``training.<stage>.amp`` set to ``amp`` (``config``: JSON as read from ``source``)."""
    from tools.train.tasks import task_classes

    variant = copy.deepcopy(config)
    variant["training"][stage]["amp"] = amp
    spec = parse_config(variant, source)
    task = task_classes()[stage](spec, device, None if stage == "autoencoder" else folder)  # the first stage starts from nothing
    if getattr(task, "scale", 0) is None:  # the diffusion stage computes it from its data
        task.scale = 1.0
    return task


def training_step_seconds(config: dict, device: torch.device, repeats: int,
                          source: str | Path) -> dict[str, dict[str, list[float]]]:
    """Seconds of ``repeats`` training steps of each brain stage in each precision (stage -> precision ->
    seconds), the two precisions' steps alternating (after two warm-up steps each) so that both see the
    same machine. ``config``: JSON as read from ``source``."""
    spec = parse_config(config, source)
    check_shapes(spec)
    seconds: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        folder = random_stage_folder(config, Path(tmp), source)
        for stage in ("autoencoder", "diffusion", "controlnet"):
            tasks = {name: brain_stage_task(config, stage, device, folder, amp, source) for name, amp in PRECISIONS.items()}
            mr, target, iteration = stage_inputs(spec, stage, device)
            seconds[stage] = {name: [] for name in tasks}
            for run in range(repeats + 2):
                for name, task in tasks.items():
                    start = device_clock(device)
                    task.train_step(mr, target, iteration=iteration)
                    if run >= 2:
                        seconds[stage][name].append(device_clock(device) - start)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=Path("weights/pelvis"), help="a model folder")
    parser.add_argument("--shape", type=int, nargs=3, default=LARGEST_PELVIS, metavar=("Z", "Y", "X"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target: 2 cores)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument("--spacing", type=float, nargs=3, default=(1.0, 1.0, 2.5), metavar=("X", "Y", "Z"),
                        help="voxel size in mm of the synthetic volume")
    parser.add_argument("--sampling-step", type=Path, metavar="CONFIG",
                        help="time one brain sampling step of the networks this config describes instead")
    parser.add_argument("--training-steps", type=Path, metavar="CONFIG",
                        help="time one training step of each brain stage of this config, float32 against bfloat16")
    parser.add_argument("--attention", choices=["config", "sdpa", "explicit", "both"], default="config",
                        help="--sampling-step: the UNet's and ControlNet's attention through torch's scaled-dot-product "
                             "attention, MONAI's explicit score matrix, or both side by side (each run in a process of "
                             "its own for its peak memory, alternating, --rounds times)")
    parser.add_argument("--rounds", type=int, default=2, help="--attention both: processes per kind")
    parser.add_argument("--random-weights", type=Path, metavar="CONFIG",
                        help="the networks this config describes, random weights, instead of --weights")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="each run gets the container's time budget (the brain sampler lowers samples and steps)")
    parser.add_argument("--training-data", type=Path, metavar="DIR",
                        help="measure training at scale on this dataset with --config: the case cache's build time, "
                             "the sampler's patches per second, a training process's peak memory (tools.bench_training)")
    parser.add_argument("--config", type=Path, help="--training-data: the Pix2Pix training config")
    parser.add_argument("--cache", type=Path, help="--training-data: the case cache to build or reuse (default: a new temporary one)")
    parser.add_argument("--iterations", type=int, default=30, help="--training-data: iterations of the training run (0: none)")
    parser.add_argument("--sampler-seconds", type=float, default=10.0, help="--training-data: how long the sampler is timed")
    parser.add_argument("--workers", type=int, default=2, help="--training-data: loader workers, timed against none")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.training_data:
        from tools.bench_training import report

        if args.config is None:
            parser.error("--training-data needs --config")
        return exit_code(lambda: report(args))
    setup_logging()
    torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    if args.training_steps:
        return training_steps_report(read_json(args.training_steps), device, args)
    if args.sampling_step and args.attention == "both":
        return attention_report(args)
    if args.sampling_step:
        config = read_json(args.sampling_step)
        if args.attention != "config":
            config["networks"]["unet"]["sdpa"] = args.attention == "sdpa"
        spec = parse_config(config, args.sampling_step)
        seconds, embedding = sampling_step_seconds(spec, device, args.repeats)
        what = f"one sampling step of {args.sampling_step} (latent {'x'.join(map(str, latent_shape(spec)))})"
        figures = {"what": "sampling_step", "config": str(args.sampling_step), "embedding_seconds": round(embedding, 3),
                   "attention": "sdpa" if spec.networks.unet.sdpa else "explicit"}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            if args.random_weights:
                torch.manual_seed(0)
                args.weights = random_model_folder(read_json(args.random_weights), Path(tmp), source=args.random_weights)
            seconds = case_seconds(args, device)
        what = f"{'x'.join(map(str, args.shape))} through {args.random_weights or args.weights}"
        figures = {"what": "case", "weights": str(args.random_weights or args.weights), "shape_zyx": list(args.shape),
                   "time_budget": args.time_budget}
    figures.update({
        "device": str(device),
        "threads": args.threads,
        "seconds": [round(s, 3) for s in seconds],
        "median_seconds": round(statistics.median(seconds), 3),
        "peak_rss_gib": round(peak_rss_gib(), 2),
    })
    if device.type == "cuda":
        figures["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated(device) / 1024**3, 2)
    print(f"{what} on {device} ({args.threads} threads): median {figures['median_seconds']:.3f} s "
          f"over {len(seconds)} runs, peak RSS {figures['peak_rss_gib']:.2f} GiB"
          + (f", peak GPU {figures['peak_gpu_gib']:.2f} GiB" if "peak_gpu_gib" in figures else ""))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def case_seconds(args, device: torch.device) -> list[float]:
    """Each run's seconds for the whole per-case path through the model folder ``args.weights``."""
    from model.imageio import hu_to_sct

    pipeline = load_pipeline(model_entry(args.weights), device)
    case = synthetic_case(tuple(args.shape), tuple(args.spacing))
    seconds = []
    for run in range(args.repeats):
        budget = TimeBudget(args.time_budget) if args.time_budget else None
        start = time.perf_counter()
        sct = hu_to_sct(pipeline.predict(case, budget=budget), case.body, case.mr_image)
        seconds.append(time.perf_counter() - start)
        print(f"run {run + 1}: {seconds[-1]:.1f} s", flush=True)
        assert sct.GetSize() == case.mr_image.GetSize()
    return seconds


def attention_report(args) -> int:
    """One sampling step with SDPA against MONAI's explicit attention: each kind in processes of its own (peak
    resident memory is per process), alternating; medians of the steps and the largest peak of each kind."""
    import subprocess

    runs: dict[str, list[dict]] = {"explicit": [], "sdpa": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for kind in runs:
                out = Path(tmp) / f"{kind}-{round_}.json"
                subprocess.run([sys.executable, "-m", "tools.bench", "--sampling-step", str(args.sampling_step),
                                "--attention", kind, "--repeats", str(args.repeats), "--threads", str(args.threads),
                                "--device", args.device, "--json", str(out)], check=True)
                runs[kind].append(json.loads(out.read_text()))
    figures = {"what": "attention", "config": str(args.sampling_step), "device": args.device, "threads": args.threads,
               "cpu": cpu_model(), "kinds": {}}
    for kind, results in runs.items():
        steps = [s for r in results for s in r["seconds"]]
        figures["kinds"][kind] = {"seconds": steps, "median_seconds": round(statistics.median(steps), 3),
                                  "peak_rss_gib": max(r["peak_rss_gib"] for r in results),
                                  **({"peak_gpu_gib": max(r["peak_gpu_gib"] for r in results)} if "peak_gpu_gib" in results[0] else {})}
    explicit, sdpa = figures["kinds"]["explicit"], figures["kinds"]["sdpa"]
    figures["step_ratio"] = round(sdpa["median_seconds"] / explicit["median_seconds"], 3)
    figures["rss_ratio"] = round(sdpa["peak_rss_gib"] / explicit["peak_rss_gib"], 3)
    print(f"| attention | median step (s) | peak RSS (GiB) |\n|---|---|---|")
    for kind, f in figures["kinds"].items():
        print(f"| {kind} | {f['median_seconds']:.3f} | {f['peak_rss_gib']:.2f} |")
    print(f"{args.sampling_step} on {args.device} ({args.threads} threads, {figures['cpu']}): SDPA / explicit = "
          f"{figures['step_ratio']:.2f} x the time, {figures['rss_ratio']:.2f} x the peak memory "
          f"({args.rounds} processes of {args.repeats} steps each, alternating)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def training_steps_report(config: dict, device: torch.device, args) -> int:
    """float32 against bfloat16 training steps of each brain stage: medians and their ratio."""
    seconds = training_step_seconds(config, device, args.repeats, args.training_steps)
    figures = {"what": "training_steps", "config": str(args.training_steps), "device": str(device), "threads": args.threads,
               "cpu": cpu_model(), "cpu_native_bf16": native_cpu_bf16(), "stages": {}}
    for stage, runs in seconds.items():
        a, b = statistics.median(runs["float32"]), statistics.median(runs["bf16"])
        figures["stages"][stage] = {"float32_seconds": [round(s, 4) for s in runs["float32"]],
                                    "bf16_seconds": [round(s, 4) for s in runs["bf16"]],
                                    "float32_median": round(a, 4), "bf16_median": round(b, 4), "ratio": round(b / a, 3)}
        print(f"{stage}: one training step {a:.3f} s in float32, {b:.3f} s in bf16: {b / a:.2f} x", flush=True)
    figures["peak_rss_gib"] = round(peak_rss_gib(), 2)
    print(f"{args.training_steps} on {device} ({args.threads} threads, {figures['cpu']}, native bfloat16: "
          f"{figures['cpu_native_bf16']}), medians of {args.repeats} steps each, alternating")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
