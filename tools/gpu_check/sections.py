"""The sections of the GPU check; each runs in a process of its own and returns a dict of figures.

environment     torch, CUDA, cuDNN, NCCL, driver, GPU, native bfloat16
correctness     the demo weights on both sample cases: reduced precision against float32 (HU inside the
                body), non-finite voxels, the same seed twice, and the difference from the CPU's expected sCT
brain_method    the method-scale brain model (random weights, zero-initialised layers re-initialised):
                seconds and peak GPU memory per stage, then again under a cap that emulates a 16 GB T4
pelvis_largest  the largest SynthRAD pelvis (153 x 410 x 586) through the method-scale Pix2Pix generator
training_steps  one training step of each of the four models at method scale in bfloat16
ddp             DistributedDataParallel over NCCL (gloo on the CPU) with one process
"""
from __future__ import annotations

import os
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from model.budget import device_clock as clock
from model.config import LatentDiffusionConfig, Pix2PixConfig, load_config
from tools.bench.synthetic import LARGEST_PELVIS, synthetic_body

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "test" / "cases"
WEIGHTS = ROOT / "weights"
METHOD_BRAIN = ROOT / "configs" / "brain_ldm.json"
METHOD_PELVIS = ROOT / "configs" / "pelvis_pix2pix.json"
T4_GIB = 15.0  # what a 16 GB T4 leaves to a process (15.1 GiB of device memory less the CUDA context)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def reset_peak(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)


def peak_gib(dev: torch.device) -> float | None:
    return round(torch.cuda.max_memory_allocated(dev) / 1024**3, 3) if dev.type == "cuda" else None


# ------------------------------------------------------------------------------------------------ environment
def environment(smoke: bool) -> dict:
    import platform

    import monai

    from model.device import describe

    info = describe(device())
    info.update(python=platform.python_version(), monai=monai.__version__, gpus=torch.cuda.device_count())
    if torch.cuda.is_available():
        from model.precision import inference_precision

        info["inference_precision"] = inference_precision(device()).describe()
    return info


# ------------------------------------------------------------------------------------------------ correctness
def sample_case(region: str):
    """A sample case read without SimpleITK: (CaseInput, expected int16 sCT from the CPU)."""
    from model.cases import CaseInput
    from tools.gpu_check.metaio import read_mha

    folder = CASES / region
    (mr_path,) = sorted((folder / "images" / "mri").glob("*.mha"))
    (mask_path,) = sorted((folder / "images" / "body").glob("*.mha"))
    mr = read_mha(mr_path)
    case = CaseInput(mr, mr.array.astype(np.float32), read_mha(mask_path).array > 0)
    return case, read_mha(folder / "expected" / mr_path.name).array


def hu_difference(a: np.ndarray, b: np.ndarray, body: np.ndarray) -> dict:
    d = np.abs(a[body].astype(np.float64) - b[body].astype(np.float64))
    return {"mean_hu": round(float(d.mean()), 3), "p99_hu": round(float(np.percentile(d, 99)), 3),
            "max_hu": round(float(d.max()), 3), "voxels_over_2_hu": int((d > 2).sum())}


def correctness(smoke: bool) -> dict:
    from model.pipelines import load_pipeline
    from model.preprocessing.intensity import sct_voxels
    from model.registry import model_entry

    dev, out = device(), {}
    for region in ("pelvis", "brain"):
        if smoke and region == "brain":
            out[region] = "skipped with --smoke (about 20 s a run on 2 CPU cores); brain_method runs the same code"
            continue
        pipeline = load_pipeline(model_entry(WEIGHTS / region), dev)
        case, expected = sample_case(region)
        reduced = pipeline.precision
        runs, seconds = {}, {}
        for name, precision in (("reduced", reduced), ("reduced_again", reduced), ("float32", reduced.float32())):
            pipeline.precision = precision
            start = clock(dev)
            runs[name] = pipeline.predict(case)
            seconds[name] = round(clock(dev) - start, 2)
        body = case.body
        out[region] = {
            "precision": reduced.describe(),
            "seconds": seconds,
            "non_finite_voxels": {k: int((~np.isfinite(v)).sum()) for k, v in runs.items()},
            "reduced_vs_float32": hu_difference(runs["reduced"], runs["float32"], body),
            "same_seed_twice_max_hu": float(np.abs(runs["reduced"] - runs["reduced_again"]).max()),
            "vs_cpu_expected_sct": hu_difference(sct_voxels(runs["reduced"], body), expected, body),
            "float32_vs_cpu_expected_sct": hu_difference(sct_voxels(runs["float32"], body), expected, body),
        }
    return out


# ------------------------------------------------------------------------------------------------ brain, method scale
def toy_brain(config: LatentDiffusionConfig) -> LatentDiffusionConfig:
    """The method config shrunk for the CPU, attention and all (smoke)."""
    return config.with_overrides({
        "grid.size": (32, 32, 32),
        "networks.autoencoder.channels": (8, 8, 8), "networks.autoencoder.norm_num_groups": 4,
        "networks.unet.channels": (8, 16, 16), "networks.unet.num_head_channels": (0, 8, 8),
        "networks.unet.norm_num_groups": 4,
        "networks.controlnet.conditioning_embedding_num_channels": (4, 8, 8),
        "networks.discriminator.channels": 8,
        "training.autoencoder.patch_size": (32, 32, 32),
        "sampler.steps": 2,
    })


def reinit_zero_layers(*nets: torch.nn.Module) -> int:
    """Random weights for the layers MONAI starts at zero (the ControlNet's zero convolutions, the UNet's output):
    otherwise a random-weight model's output is trivially zero. Returns how many tensors were re-initialised."""
    count = 0
    generator = torch.Generator().manual_seed(0)
    for net in nets:
        for p in net.parameters():
            if p.dim() > 1 and not p.detach().any():
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=generator) * 0.02)
                count += 1
    return count


def synthetic(mr: np.ndarray, body: np.ndarray, spacing):
    """A case of these voxels with SimpleITK-free geometry (identity direction, origin 0)."""
    from model.cases import CaseInput
    from tools.gpu_check.metaio import MetaImage

    return CaseInput(MetaImage(mr, tuple(float(s) for s in spacing), (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1)), mr, body)


def synthetic_head(shape):
    """An ellipsoid head at 1 mm with random MR values inside."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = sum(((a - n / 2) / (0.45 * n)) ** 2 for a, n in zip((z, y, x), shape)) <= 1
    return synthetic(np.random.default_rng(0).uniform(0, 1000, shape).astype(np.float32) * body, body, (1.0, 1.0, 1.0))


def brain_pass(pipeline, case, dev) -> dict:
    from model.networks.latent import embedded_conditioning
    from model.pipelines.latent_windows import latent_to_hu

    figures = {}
    start = clock(dev)
    fit, mr_grid = pipeline.mr_on_grid(case)
    mr = torch.from_numpy(mr_grid)[None, None]
    figures["mr_to_grid_s"] = round(clock(dev) - start, 3)
    reset_peak(dev)
    start = clock(dev)
    with torch.no_grad(), embedded_conditioning(pipeline.controlnet, mr.to(dev)):
        pass
    figures["conditioning_embedding_s"] = round(clock(dev) - start, 3)
    start = clock(dev)
    latent = pipeline.sample_latent(mr, pipeline.seed)
    figures["sampling_s"] = round(clock(dev) - start, 3)
    figures["sampling_peak_gib"] = peak_gib(dev)
    reset_peak(dev)
    start = clock(dev)
    with torch.no_grad():
        hu = latent_to_hu(pipeline.autoencoder, latent / pipeline.scale, fit, pipeline.config)
    figures["decode_and_back_s"] = round(clock(dev) - start, 3)
    figures["decode_peak_gib"] = peak_gib(dev)
    figures["sct_std_hu_inside"] = round(float(hu[case.body].std()), 1)  # not trivially constant
    return figures


def brain_method(smoke: bool) -> dict:
    from model.networks.latent import build_autoencoder, build_controlnet, build_unet
    from model.pipelines.ldm import LatentDiffusionPipeline

    dev = device()
    config = load_config(METHOD_BRAIN)
    config = (toy_brain(config) if smoke else config).with_overrides({"latent": {"scale_factor": 1.0}})
    torch.manual_seed(0)
    nets = {"autoencoder": build_autoencoder(config), "unet": build_unet(config), "controlnet": build_controlnet(config)}
    out = {"grid": list(config.grid.size), "steps": config.sampler.steps,
           "reinitialised_zero_tensors": reinit_zero_layers(nets["unet"], nets["controlnet"])}
    pipeline = LatentDiffusionPipeline(**nets, config=config, device=dev)
    out["precision"] = pipeline.precision.describe()
    case = synthetic_head((28, 30, 28) if smoke else (170, 210, 175))
    brain_pass(pipeline, case, dev)  # warm-up (kernel selection, allocator)
    out["full_memory"] = brain_pass(pipeline, case, dev)
    if dev.type == "cuda":
        total = torch.cuda.get_device_properties(dev).total_memory / 1024**3
        torch.cuda.set_per_process_memory_fraction(min(1.0, T4_GIB / total), dev)
        out["t4_cap_gib"] = T4_GIB
        out["under_t4_cap"] = brain_pass(pipeline, case, dev)
    return out


# ------------------------------------------------------------------------------------------------ pelvis, largest
def toy_pelvis(config: Pix2PixConfig) -> Pix2PixConfig:
    """The method config shrunk for the CPU (smoke)."""
    return config.with_overrides({
        "networks.generator.channels": (4, 8, 8, 8, 8),
        "networks.discriminator.channels": 4, "networks.discriminator.num_layers_d": 2,
        "inference.roi_size": (16, 32, 32), "training.patch_size": (16, 32, 32),
    })


def pelvis_largest(smoke: bool) -> dict:
    from model.networks.pix2pix import build_generator
    from model.pipelines.pix2pix import Pix2PixPipeline
    from model.pipelines.sliding import window_plan

    dev = device()
    config = load_config(METHOD_PELVIS)
    config = toy_pelvis(config) if smoke else config
    shape = (20, 60, 70) if smoke else LARGEST_PELVIS
    torch.manual_seed(0)
    pipeline = Pix2PixPipeline(build_generator(config.networks.generator), config, dev)
    case = synthetic(*synthetic_body(shape), (1.0, 1.0, 2.5))  # the benchmarks' elliptic pelvis (tools.bench.synthetic)
    batch, stitch = window_plan(pipeline.generator, config.inference.roi_size, dev, pipeline.precision,
                                config.inference, int(np.prod(shape)))
    pipeline.predict(case)  # warm-up
    seconds = []
    reset_peak(dev)
    for _ in range(2):
        start = clock(dev)
        hu = pipeline.predict(case)
        seconds.append(round(clock(dev) - start, 3))
    return {"shape_zyx": list(shape), "roi_size": list(config.inference.roi_size), "overlap": config.inference.overlap,
            "precision": pipeline.precision.describe(), "window_batch": batch, "stitching_on": str(stitch),
            "seconds": seconds, "peak_gib": peak_gib(dev), "finite": bool(np.isfinite(hu).all())}


# ------------------------------------------------------------------------------------------------ training steps
def _timed_steps(step: Callable[[], object], dev: torch.device, repeats: int) -> dict:
    for _ in range(2):  # warm-up (cudnn.benchmark's search, allocator)
        step()
    reset_peak(dev)
    seconds = []
    for _ in range(repeats):
        start = clock(dev)
        step()
        seconds.append(clock(dev) - start)
    return {"median_s": round(statistics.median(seconds), 4), "peak_gib": peak_gib(dev)}


def training_steps(smoke: bool) -> dict:
    from model.precision import configure_training, cuda_native_bf16
    from tools.bench.random_weights import random_stage_folder
    from tools.bench.training_steps import brain_stage_task, stage_inputs
    from tools.train.tasks.pix2pix import Pix2PixTask

    dev = device()
    configure_training(dev)
    amp = "bf16" if dev.type == "cpu" or cuda_native_bf16(dev) else False  # a T4 trains in float32 (bf16 is refused)
    out = {"amp": amp or "float32", "note": "autoencoder without its perceptual term (no MedicalNet weights here)"}
    repeats = 2 if smoke else 5
    pelvis = load_config(METHOD_PELVIS)
    pelvis = (toy_pelvis(pelvis) if smoke else pelvis).with_overrides({"training.amp": amp})
    torch.manual_seed(0)
    task = Pix2PixTask(pelvis, dev)
    patch = (1, 1, *pelvis.training.patch_size)
    mr, ct = torch.rand(patch, device=dev) * 2 - 1, torch.rand(patch, device=dev) * 2 - 1
    out["pix2pix"] = _timed_steps(lambda: task.train_step(mr, ct), dev, repeats)
    del task
    brain = load_config(METHOD_BRAIN)
    brain = (toy_brain(brain) if smoke else brain).with_overrides({"training.autoencoder.losses.perceptual_weight": 0})
    with tempfile.TemporaryDirectory() as tmp:
        folder = random_stage_folder(brain, Path(tmp))
        for stage in ("autoencoder", "diffusion", "controlnet"):
            task = brain_stage_task(brain, stage, dev, folder, amp)
            mr, target, iteration = stage_inputs(brain, stage, dev)
            out[stage] = _timed_steps(lambda: task.train_step(mr, target, iteration=iteration), dev, repeats)
            del task
    return out


# ------------------------------------------------------------------------------------------------ DDP
def ddp(smoke: bool) -> dict:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dev = device()
    backend = "nccl" if dev.type == "cuda" else "gloo"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    start = time.perf_counter()
    dist.init_process_group(backend, rank=0, world_size=1, device_id=dev if dev.type == "cuda" else None)
    try:
        net = DistributedDataParallel(torch.nn.Conv3d(1, 8, 3, padding=1).to(dev),
                                      device_ids=[dev.index or 0] if dev.type == "cuda" else None)
        optimizer = torch.optim.Adam(net.parameters())
        for _ in range(3):
            loss = net(torch.rand(2, 1, 16, 16, 16, device=dev)).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        value = torch.ones(1, device=dev)
        dist.all_reduce(value)
        return {"backend": backend, "world_size": dist.get_world_size(), "all_reduce": float(value.item()),
                "seconds": round(time.perf_counter() - start, 2),
                "nccl": ".".join(map(str, torch.cuda.nccl.version())) if backend == "nccl" else None}
    finally:
        dist.destroy_process_group()


@dataclass(frozen=True)
class Section:
    run: Callable[[bool], dict]
    limit_s: int  # on a GPU: the whole check stays under 8 minutes
    smoke_limit_s: int


SECTIONS = {
    "environment": Section(environment, 60, 60),
    "correctness": Section(correctness, 120, 90),
    "brain_method": Section(brain_method, 120, 60),
    "pelvis_largest": Section(pelvis_largest, 60, 60),
    "training_steps": Section(training_steps, 90, 60),
    "ddp": Section(ddp, 30, 60),
}
