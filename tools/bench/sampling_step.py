"""Time one brain sampling step of the networks a config describes.

    python -m tools.bench sampling-step configs/brain_ldm.json [--repeats 3] [--device cuda]
    python -m tools.bench sampling-step configs/brain_ldm.json --attention explicit

The networks are built with random weights (the method-scale config has no
trained weights here) and one sampling step is timed as the sampler runs it:
ControlNet on the latent and the MR's conditioning embedding, then the UNet with
its residuals, then the DDIM update (fp16 autocast on CUDA); and, apart, the
embedding itself (the MR at full grid resolution), which the sampler computes
once per sample. ``--attention`` runs the UNet's and the ControlNet's attention
through torch's scaled-dot-product attention or MONAI's explicit score matrix
instead of what the config says (``python -m tools.bench attention`` compares
the two side by side).
"""
from __future__ import annotations

from pathlib import Path

import torch

from model.budget import device_clock
from model.config import LatentDiffusionConfig, load_config
from model.errors import InputError
from model.networks.latent import (build_controlnet, build_ddim, build_unet, controlled_prediction,
                                   embedded_conditioning, latent_shape)
from model.precision import inference_precision
from tools.bench.common import add_machine_options, start, summarise


def add_arguments(parser) -> None:
    parser.add_argument("config", type=Path, help="a brain (ldm) config")
    parser.add_argument("--attention", choices=["config", "sdpa", "explicit"], default="config",
                        help="the UNet's and ControlNet's attention: as the config says, through torch's "
                             "scaled-dot-product attention, or MONAI's explicit score matrix")
    add_machine_options(parser)


def brain_config(path: Path, what: str) -> LatentDiffusionConfig:
    """A brain config from ``path``; another family's is refused, naming the file."""
    config = load_config(path)
    if not isinstance(config, LatentDiffusionConfig):
        raise InputError(path, f"pipeline: {what} measures the brain model (an \"ldm\" config), not {config.pipeline!r}")
    return config


def run(args) -> int:
    device = start(args)
    config = brain_config(args.config, "sampling-step")
    if args.attention != "config":
        config = config.with_overrides({"networks.unet.sdpa": args.attention == "sdpa"})
    seconds, embedding = sampling_step_seconds(config, device, args.repeats)
    what = f"one sampling step of {args.config} (latent {'x'.join(map(str, latent_shape(config)))})"
    figures = {"what": "sampling_step", "config": str(args.config), "embedding_seconds": round(embedding, 3),
               "attention": "sdpa" if config.networks.unet.sdpa else "explicit"}
    summarise(figures, seconds, what, device, args)
    return 0


def sampling_step_seconds(config: LatentDiffusionConfig, device: torch.device, repeats: int) -> tuple[list[float], float]:
    """Seconds of ``repeats`` sampling steps as the sampler runs them, and of the MR's conditioning
    embedding, which the sampler computes once per sample (both after a warm-up run)."""
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
        began = device_clock(device)
        with embedded_conditioning(controlnet, mr) as embedded:
            embedding_seconds = device_clock(device) - began
            print(f"conditioning embedding (once per sample): {embedding_seconds:.3f} s", flush=True)
            for number in range(repeats + 1):  # the first run warms up (allocations, kernel selection)
                began = device_clock(device)
                with precision.autocast():
                    prediction = controlled_prediction(unet, controlnet, x, timestep, embedded)
                scheduler.step(prediction.float(), t, x)
                if number:
                    seconds.append(device_clock(device) - began)
                    print(f"step {number}: {seconds[-1]:.3f} s", flush=True)
    return seconds, embedding_seconds
