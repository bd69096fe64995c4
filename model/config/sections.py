"""The config sections every model family shares: preprocessing, training (with its MR augmentation and the
data engine's settings) and the PatchGAN discriminator."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from model.settings import setting

Triple = tuple[int, int, int]
AmpSetting = Literal[False, "bf16"]  # training mixed precision (model.precision.AMP_DTYPES)


@dataclass(frozen=True)
class Preprocessing:
    mr_percentiles: tuple[float, float] = setting((0.5, 99.5), minimum=0, maximum=100,
                                                  note="the MR's body percentiles mapped to -1 and 1")

    def __post_init__(self):
        if not self.mr_percentiles[0] < self.mr_percentiles[1]:
            raise ValueError(f"mr_percentiles {list(self.mr_percentiles)}: the first must be below the second")


@dataclass(frozen=True)
class MRAugmentation:
    """Random changes of the MR's intensities in training (tools.dataset.augment): what another scanner or centre
    would give. Each transform applies with its own probability ``*_p``; a range is drawn from uniformly. The
    CT is never touched, and inference normalises the MR exactly as before."""

    histogram_shift_p: float = setting(0.3, minimum=0, maximum=1, note="contrast between tissues: a random "
                                                                      "piecewise-linear intensity map")
    histogram_points: tuple[int, int] = setting((5, 10), item_minimum=3, note="its control points")
    gamma_p: float = setting(0.3, minimum=0, maximum=1)
    gamma: tuple[float, float] = setting((0.6, 1.6), above=0, note="intensity ** gamma")
    bias_field_p: float = setting(0.3, minimum=0, maximum=1)
    bias_field_strength: tuple[float, float] = setting((0.1, 0.6), minimum=0, below=1, note="a smooth "
                                                       "multiplicative field's largest deviation from 1, a fraction")
    blur_p: float = setting(0.2, minimum=0, maximum=1)
    blur_sigma: tuple[float, float] = setting((0.5, 1.5), minimum=0, note="Gaussian blur, voxels")
    low_resolution_p: float = setting(0.2, minimum=0, maximum=1)
    low_resolution_zoom: tuple[float, float] = setting((0.5, 1.0), above=0, maximum=1,
                                                       note="down to this fraction (nearest) and back (trilinear)")
    noise_p: float = setting(0.3, minimum=0, maximum=1)
    noise_std: float = setting(0.1, minimum=0, note="Rician noise, at most this std (the MR scaled to [0, 1])")

    def __post_init__(self):
        for name in ("histogram_points", "gamma", "bias_field_strength", "blur_sigma", "low_resolution_zoom"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name} {[low, high]}: the first must not exceed the second")


@dataclass(frozen=True)
class MRFamilies:
    """How often each MR look is drawn (weights, normalised over the families; 0 leaves one out): see
    tools.synth.contrast."""

    t1: float = setting(0.3, minimum=0)
    t2: float = setting(0.25, minimum=0)
    pd: float = setting(0.1, minimum=0)
    fat_suppressed: float = setting(0.1, minimum=0)
    inverted: float = setting(0.05, minimum=0)
    random: float = setting(0.2, minimum=0, note="every tissue in any order (SynthSeg)")

    def __post_init__(self):
        if not sum(dataclasses.astuple(self)) > 0:
            raise ValueError("at least one MR family needs a weight above 0")


@dataclass(frozen=True)
class SynthData:
    """The data engine (tools.synth): training pairs rendered anew for every patch from label maps drawn by the
    phantom generator with wide anatomy ranges, instead of (or, with ``case_fraction``, beside) the cases of
    ``--data``. Ranges are drawn from uniformly, per patch."""

    case_fraction: float = setting(0.0, minimum=0, maximum=1, note="the share of patches cut from --data's training "
                                                                   "cases instead (0: --data only validates)")
    pool_size: int = setting(16, minimum=2, note="anatomies in the pool at a time (in the case cache)")
    refresh_every: int = setting(25, minimum=8, note="patches between one anatomy leaving the pool and a new one "
                                                     "entering")
    mr_families: MRFamilies = setting(MRFamilies())
    mr_jitter: tuple[float, float] = setting((0.8, 1.25), above=0, note="factor on each tissue's nominal MR value")
    mr_texture: tuple[float, float] = setting((0.02, 0.12), minimum=0, note="within-tissue MR spread, a fraction "
                                                                              "of the brightest tissue")
    mr_blur_z: tuple[float, float] = setting((0.0, 1.5), minimum=0, note="partial volume / slice thickness, voxels")
    mr_blur_yx: tuple[float, float] = setting((0.3, 1.2), minimum=0, note="in-plane, voxels")
    mr_gamma: tuple[float, float] = setting((0.7, 1.5), above=0)
    mr_bias: tuple[float, float] = setting((0.0, 0.4), minimum=0, below=1, note="bias field's largest deviation")
    mr_noise: tuple[float, float] = setting((0.005, 0.06), minimum=0, note="Rician sigma, a fraction of the "
                                                                           "brightest tissue")
    ct_texture: tuple[float, float] = setting((40.0, 150.0), minimum=0, note="trabecular texture in marrow, HU")
    ct_blur_yx: tuple[float, float] = setting((0.3, 0.9), minimum=0, note="partial volume, voxels")
    ct_noise: tuple[float, float] = setting((3.0, 20.0), minimum=0, note="HU")
    rotation_deg: float = setting(12.0, minimum=0, maximum=45, note="in-plane; a third of it about the other axes")
    scale: tuple[float, float] = setting((0.85, 1.15), above=0, note="per axis")
    elastic_mm: float = setting(4.0, minimum=0, note="std of a smooth displacement field")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple) and len(value) == 2 and value[0] > value[1]:
                raise ValueError(f"{f.name} {list(value)}: the first must not exceed the second")


@dataclass(frozen=True)
class Discriminator:
    """A PatchGAN (MONAI PatchDiscriminator): Pix2Pix's conditional one, the brain autoencoder's adversary."""

    channels: int = setting(32, minimum=1)
    num_layers_d: int = setting(3, minimum=1)
    norm: str = setting("INSTANCE")


@dataclass(frozen=True)
class Training:
    """What every training task reads (``training``, or ``training.<stage>`` for the brain stages)."""

    iterations: int = setting(minimum=1)
    amp: AmpSetting = setting(False, note='bfloat16 mixed precision: false or "bf16"')
    flip_lr: bool = setting(False, note="random left-right flips of training patches")
    lr: float = setting(1e-4, above=0)
    lr_decay_from: float = setting(1.0, minimum=0, maximum=1, note="linear decay to 0 from this fraction of the run")
    val_cases: int = setting(1, minimum=1)
    val_interval: int = setting(500, minimum=1)
    checkpoint_interval: int = setting(250, minimum=1)
    log_interval: int = setting(50, minimum=1)
    seed: int = setting(0, minimum=0)
    workers: int = setting(0, minimum=0, note="processes cutting patches ahead of the step (tools.train.loader); "
                                              "the batches are the same with any number")
    max_bad_steps: int = setting(5, minimum=1, note="iterations in a row with a non-finite loss or gradient (each "
                                                    "skipped, the weights untouched) before the run stops")
    augment_mr: MRAugmentation | None = setting(None, note="random MR intensity changes (tools.dataset.augment); "
                                                           "none by default")
