"""The compute device of a run and a report of it (logged at the start of every run).

The image's torch is a CUDA build. Where it sees no GPU, the report says the likely
cause: no NVIDIA driver in the container (the GPU was not given to it), or a driver
too old for the CUDA version torch was built for (torch 2.13.0 from PyPI is CUDA 13.0,
which needs driver 580 or later), with the remedy.
"""
from __future__ import annotations

import ctypes
import logging
import os
import platform
import resource
from pathlib import Path

import torch

from model.errors import InputError

log = logging.getLogger("device")

# The oldest Linux driver each CUDA major version runs on (NVIDIA's CUDA compatibility table).
MIN_DRIVER = {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"}
OLDER_CUDA_REMEDY = ("rebuild the image with a torch for an older CUDA, e.g. "
                     "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cu126 ./build.sh (docs/container.md)")


def cuda_driver_version() -> tuple[int, int] | None:
    """The newest CUDA version the installed NVIDIA driver supports (libcuda's cuDriverGetVersion), or None
    when no driver library can be loaded (no GPU given to the container, or no driver at all)."""
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    version = ctypes.c_int()
    if libcuda.cuDriverGetVersion(ctypes.byref(version)) != 0:
        return None
    return version.value // 1000, version.value % 1000 // 10


def nvidia_driver() -> str | None:
    """The kernel driver's version string (e.g. '580.95.05'), where the host exposes it."""
    try:
        text = Path("/proc/driver/nvidia/version").read_text()
    except OSError:
        return None
    for word in text.split():
        if word.count(".") >= 1 and word.replace(".", "").isdigit():
            return word
    return None


def torch_cuda() -> tuple[int, int] | None:
    """The CUDA version this torch was built for (None for a CPU build)."""
    if not torch.version.cuda:
        return None
    major, minor = torch.version.cuda.split(".")[:2]
    return int(major), int(minor)


def no_gpu_reason() -> str | None:
    """Why a CUDA build of torch sees no GPU, in words with the remedy (None for a CPU build of torch)."""
    built = torch_cuda()
    if built is None:
        return None
    driver = cuda_driver_version()
    needs = f"CUDA {built[0]}.{built[1]} needs NVIDIA driver >= {MIN_DRIVER.get(built[0], '?')}"
    if driver is None:
        return (f"no NVIDIA driver is visible (libcuda.so.1 cannot be loaded): the GPU was not given to the container "
                f"(docker run --gpus all) or the host has none; torch {torch.__version__} for {needs}")
    if driver < built:
        return (f"the NVIDIA driver {nvidia_driver() or ''} supports CUDA up to {driver[0]}.{driver[1]}, but torch "
                f"{torch.__version__} is built for CUDA {built[0]}.{built[1]} ({needs}): {OLDER_CUDA_REMEDY}")
    return (f"the driver supports CUDA {driver[0]}.{driver[1]} but no device is visible "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')})")


def choose_device(name: str) -> torch.device:
    """``auto`` (the GPU when there is one, else the CPU, saying why where torch is a CUDA build), ``cpu``, ``cuda``."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        reason = no_gpu_reason()
        if reason:  # the image's torch is a CUDA build: falling back to the CPU is worth a word
            log.warning("torch %s is built for CUDA %s but sees no usable GPU (%s): running on the CPU",
                        torch.__version__, torch.version.cuda, reason)
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device", f"cuda was asked for but no CUDA device is available: {no_gpu_reason() or 'this torch is a CPU build'}")
    return torch.device(name)


def cpu_model() -> str:
    path = Path("/proc/cpuinfo")
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def describe(device: torch.device) -> dict:
    """What the device report says, as a dict (also written by tools.gpu_check)."""
    import torch.distributed as dist

    from model.precision import cuda_native_bf16, native_cpu_bf16

    info = {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "device": str(device)}
    driver = cuda_driver_version()
    info["driver"] = nvidia_driver()
    info["driver_cuda"] = f"{driver[0]}.{driver[1]}" if driver else None
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 1024**3, 1),
                    compute_capability=f"{props.major}.{props.minor}", native_bf16=cuda_native_bf16(device),
                    cudnn=torch.backends.cudnn.version(),
                    nccl=".".join(map(str, torch.cuda.nccl.version())) if dist.is_nccl_available() else None)
    else:
        info.update(cpu=cpu_model(), threads=torch.get_num_threads(), native_bf16=native_cpu_bf16())
    return info


def report(device: torch.device, precision: str) -> None:
    """One log line: torch and its CUDA build, the driver, the device, the precision chosen."""
    info = describe(device)
    build = f"CUDA {info['torch_cuda']} build" if info["torch_cuda"] else "CPU build"
    driver = f"NVIDIA driver {info['driver'] or '?'} (CUDA {info['driver_cuda']})" if info["driver_cuda"] else "no NVIDIA driver"
    if device.type == "cuda":
        where = (f"{info['gpu']}, {info['gpu_memory_gib']} GiB, compute capability {info['compute_capability']}, "
                 f"native bf16 {'yes' if info['native_bf16'] else 'no'}")
    else:
        where = f"CPU {info['cpu']}, {info['threads']} threads, native bf16 {'yes' if info['native_bf16'] else 'no'}"
    log.info("torch %s (%s), %s; %s; precision: %s", info["torch"], build, driver, where, precision)


def peak_rss_gib() -> float:
    """This process's peak resident memory so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def peak_memory_summary(device: torch.device) -> str:
    """Peak resident memory of the process, and peak GPU memory allocated on ``device``, for a log line."""
    text = f"peak RSS {peak_rss_gib():.2f} GiB (process)"
    if device.type == "cuda":
        text += f", peak GPU {torch.cuda.max_memory_allocated(device) / 1024**3:.2f} GiB"
    return text
