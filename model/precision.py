"""One precision policy for every run, chosen from the device (inference) or the config (training).

Inference
    CPU: float32 everywhere (what the sample cases' expected outputs were made with).
    CUDA: the denoising networks (diffusion UNet, ControlNet) and the Pix2Pix generator run under
    autocast in bfloat16 where the GPU has it natively (Ampere and later), else in float16 (a T4).
    The autoencoder never runs in float16: a convolution's output overflows at 65504 and an inf
    would become -1024 or 3071 HU after the clamp. It runs in true float32: bfloat16's 8-bit
    mantissa alone would round a decoded value near 0.5 (about 0 HU) by up to 4 HU. TF32 is off for
    inference (float32 means float32, which the one retry of a non-finite case relies on).
    A non-finite network output is retried once in float32 by the pipelines, then refused.
Training
    ``training[.<stage>].amp``: false (float32) or "bf16" (autocast for the forward passes; weights,
    optimiser state and losses stay float32). bf16 on a GPU that only emulates it is refused. TF32
    is on and ``cudnn.benchmark`` too (fixed patch shapes: the fastest kernels are worth finding).
    On a CPU, bf16 runs only where oneDNN has AMX; elsewhere (AVX-512 BF16 only, e.g. AMD EPYC Zen 4)
    the step runs in float32 with a warning: there oneDNN's bf16 conv3d weight gradient reads memory
    it never wrote, and a NaN left there by an earlier tensor became NaN weights (the Pix2Pix
    generator's adversarial loss went NaN), while PyTorch's own bf16 kernels, the other way round
    it, made a step 3-18 times slower than float32 (scripts/bf16_conv_grad_check.py).
"""
from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from model.errors import InputError, NonFiniteOutput

log = logging.getLogger("precision")

NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


def cuda_native_bf16(device: torch.device | None = None) -> bool:
    """Whether this GPU computes bfloat16 natively (compute capability 8.0 and later), not by emulation."""
    if not torch.cuda.is_available():
        return False
    with torch.cuda.device(device if device is not None and device.type == "cuda" else torch.cuda.current_device()):
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def native_cpu_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU (AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a private oneDNN query: when it is missing, assume not
        return False


def onednn_uses_amx() -> bool:
    """Whether oneDNN runs bfloat16 on AMX here: the CPU has AMX (its flags in /proc/cpuinfo) and oneDNN's ISA
    cap (``ONEDNN_MAX_CPU_ISA``, which also emulates a CPU without AMX on one with it), if set, allows it."""
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "ALL").upper()
    if cap not in ("ALL", "DEFAULT") and "AMX" not in cap:
        return False
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " amx_bf16" in line for line in f)
    except OSError:
        return False


def set_tf32(enabled: bool) -> None:
    """TF32 for float32 matrix products and convolutions on CUDA (Ampere and later), explicitly on or off."""
    mode = "tf32" if enabled else "ieee"
    try:
        torch.backends.cuda.matmul.fp32_precision = mode
        torch.backends.cudnn.conv.fp32_precision = mode
    except AttributeError:  # torch before 2.9
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled


@dataclass(frozen=True)
class InferencePrecision:
    """The compute dtype of each part of an inference pipeline on one device type."""

    device_type: str
    networks: torch.dtype  # denoising UNet and ControlNet, the Pix2Pix generator
    autoencoder: torch.dtype = torch.float32  # never float16

    def __post_init__(self):
        if self.autoencoder == torch.float16:
            raise ValueError("the autoencoder never runs in float16 (its activations can overflow)")

    def autocast(self, part: str = "networks"):
        dtype = getattr(self, part)
        if dtype == torch.float32:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=dtype)

    @property
    def reduced(self) -> bool:
        return self.networks != torch.float32 or self.autoencoder != torch.float32

    def float32(self) -> "InferencePrecision":
        """The same device in float32: what a case is retried in when its output is not finite."""
        return replace(self, networks=torch.float32, autoencoder=torch.float32)

    def describe(self) -> str:
        return (f"networks {NAMES[self.networks]}, autoencoder {NAMES[self.autoencoder]}"
                + (", TF32 off" if self.device_type == "cuda" else ""))


def inference_precision(device: torch.device, amp: bool = True) -> InferencePrecision:
    """The policy for ``device``; ``amp`` false (the config's ``amp: false``) keeps everything in float32."""
    if device.type != "cuda" or not amp:
        return InferencePrecision(device.type, torch.float32)
    return InferencePrecision("cuda", torch.bfloat16 if cuda_native_bf16(device) else torch.float16)


def configure_inference(device: torch.device) -> None:
    if device.type == "cuda":
        set_tf32(False)


def configure_training(device: torch.device) -> None:
    """TF32 on and cuDNN's kernel search (training patches have fixed shapes)."""
    if device.type == "cuda":
        set_tf32(True)
        torch.backends.cudnn.benchmark = True


# ``training[.<stage>].amp`` -> autocast dtype, one per string value of model.config.AmpSetting (the values a config
# may give, checked when it is read). bfloat16 needs no loss scaling (float16 would, so it is not offered).
AMP_DTYPES = {"bf16": torch.bfloat16}


def training_autocast(setting, section: str, device: torch.device, source: str | Path):
    """A context-manager factory for the forward passes of one training step: autocast to ``setting``
    ("bf16") or nothing (false or absent); the config's value was checked when it was read. Refused, naming the
    config file ``source``: bf16 on a GPU without native bf16 (a run-time check: it depends on the device)."""
    if setting in (False, None):
        return nullcontext
    if device.type == "cuda" and not cuda_native_bf16(device):
        major, minor = torch.cuda.get_device_capability(device)
        raise InputError(source, f"{section}.amp is {setting!r} but the GPU {torch.cuda.get_device_name(device)} "
                                         f"(compute capability {major}.{minor}) has no native bfloat16 (8.0 and later): "
                                         f"set {section}.amp to false")
    if device.type == "cpu" and not onednn_uses_amx():
        log.warning("%s.amp is %r but this CPU's oneDNN has no AMX (%s): training in float32. Without AMX, oneDNN's "
                    "bf16 convolution gradients can read memory they never wrote (NaN weights), and PyTorch's own bf16 "
                    "kernels are several times slower than float32 (scripts/bf16_conv_grad_check.py)", section, setting,
                    "AVX-512 BF16 only" if native_cpu_bf16() else "no native bfloat16")
        return nullcontext
    dtype = AMP_DTYPES[setting]
    return lambda: torch.autocast(device.type, dtype=dtype)


def with_float32_retry(run, precision: InferencePrecision, what: str):
    """``run(precision)``; a :class:`NonFiniteOutput` under a reduced precision is retried once in float32,
    and raised if that is not finite either (never a silent clamp of inf to -1024 or 3071 HU)."""
    try:
        return run(precision)
    except NonFiniteOutput as err:
        if not precision.reduced:
            raise
        log.warning("%s: %s with %s: retrying this case in float32", what, err, precision.describe())
        try:
            return run(precision.float32())
        except NonFiniteOutput as again:
            raise NonFiniteOutput(f"{again}, in float32 too (first with {precision.describe()})") from None
