"""Time one pipeline on a volume of a given size and report its peak memory.

    python -m model.bench --weights weights/pelvis --shape 153 410 586 [--repeats 3] [--threads 2] [--device cpu]
    python -m model.bench --weights weights/brain --shape 180 220 180 --spacing 1 1 1
    python -m model.bench --sampling-step configs/brain_ldm.json [--device cuda]

The volume is an elliptic body (random MR values inside, 1 x 1 x 2.5 mm) of the
given (z, y, x) size: the largest SynthRAD2023 pelvis by default. The full
per-case path runs: MR normalisation, sliding windows, HU conversion, int16
sCT on the MR's grid. Prints each run's seconds, their median, and the
process's peak resident memory (and peak GPU memory on CUDA).

``--sampling-step CONFIG`` builds the brain networks a config describes (random
weights: the method-scale config has no trained weights here) and times one
sampling step as the sampler runs it: ControlNet on the latent and the MR's
conditioning embedding, then the UNet with its residuals, then the DDIM update
(fp16 autocast on CUDA); and, apart, the embedding itself (the MR at full grid
resolution), which the sampler computes once per sample.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from model.container import choose_device
from model.imageio import hu_to_sct
from model.latent import (build_controlnet, build_ddim, build_unet, check_shapes, controlled_prediction, embedded_conditioning,
                          grid_size, latent_shape)
from model.pipelines import CaseInput, load_pipeline
from model.registry import ModelEntry
from model.weights import read_config

LARGEST_PELVIS = (153, 410, 586)


def synthetic_case(shape, spacing=(1.0, 1.0, 2.5), seed: int = 0) -> CaseInput:
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = ((y - shape[1] / 2) / (0.45 * shape[1])) ** 2 + ((x - shape[2] / 2) / (0.47 * shape[2])) ** 2 <= 1
    body = np.broadcast_to(body, shape).copy()
    mr = np.random.default_rng(seed).uniform(0, 1000, shape).astype(np.float32) * body
    image = sitk.GetImageFromArray(mr)
    image.SetSpacing(spacing)
    return CaseInput(image, mr, body)


def sampling_step_seconds(config: dict, device: torch.device, repeats: int) -> tuple[list[float], float]:
    """Seconds of ``repeats`` sampling steps as the sampler runs them, and of the MR's conditioning
    embedding, which the sampler computes once per sample (both after a warm-up run)."""
    check_shapes(config, Path("config"))
    unet, controlnet = build_unet(config).to(device).eval(), build_controlnet(config).to(device).eval()
    scheduler = build_ddim(config)
    scheduler.set_timesteps(int(config.get("sampler", {}).get("steps", 50)))
    x = torch.randn((1, *latent_shape(config)), device=device)
    mr = torch.rand((1, 1, *grid_size(config)), device=device) * 2 - 1
    t = int(scheduler.timesteps[0])
    timestep = torch.full((1,), t, device=device, dtype=torch.long)
    amp = torch.autocast("cuda", dtype=torch.float16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)

    def now() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()

    seconds = []
    with torch.no_grad():
        controlnet.controlnet_cond_embedding(mr)  # warm-up
        start = now()
        with embedded_conditioning(controlnet, mr) as embedded:
            embedding_seconds = now() - start
            print(f"conditioning embedding (once per sample): {embedding_seconds:.3f} s", flush=True)
            for run in range(repeats + 1):  # the first run warms up (allocations, kernel selection)
                start = now()
                with amp:
                    prediction = controlled_prediction(unet, controlnet, x, timestep, embedded)
                scheduler.step(prediction.float(), t, x)
                if run:
                    seconds.append(now() - start)
                    print(f"step {run}: {seconds[-1]:.3f} s", flush=True)
    return seconds, embedding_seconds


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=Path("weights/pelvis"), help="a model folder")
    parser.add_argument("--shape", type=int, nargs=3, default=LARGEST_PELVIS, metavar=("Z", "Y", "X"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target: 2 cores)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument("--spacing", type=float, nargs=3, default=(1.0, 1.0, 2.5), metavar=("X", "Y", "Z"),
                        help="voxel size in mm of the synthetic volume")
    parser.add_argument("--sampling-step", type=Path, metavar="CONFIG",
                        help="time one brain sampling step of the networks this config describes instead")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    if args.sampling_step:
        config = json.loads(args.sampling_step.read_text())
        seconds, embedding = sampling_step_seconds(config, device, args.repeats)
        what = f"one sampling step of {args.sampling_step} (latent {'x'.join(map(str, latent_shape(config)))})"
        figures = {"what": "sampling_step", "config": str(args.sampling_step), "embedding_seconds": round(embedding, 3)}
    else:
        config = read_config(args.weights)
        pipeline = load_pipeline(ModelEntry(config["region"], config["pipeline"], args.weights), device)
        case = synthetic_case(tuple(args.shape), tuple(args.spacing))
        seconds = []
        for run in range(args.repeats):
            start = time.perf_counter()
            sct = hu_to_sct(pipeline.predict(case), case.body, case.mr_image)
            seconds.append(time.perf_counter() - start)
            print(f"run {run + 1}: {seconds[-1]:.1f} s", flush=True)
        assert sct.GetSize() == case.mr_image.GetSize()
        what = f"{'x'.join(map(str, args.shape))} through {args.weights}"
        figures = {"what": "case", "weights": str(args.weights), "shape_zyx": list(args.shape)}
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


if __name__ == "__main__":
    sys.exit(main())
