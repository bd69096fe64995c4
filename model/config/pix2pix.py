"""The Pix2Pix family's config (pelvis): a U-Net generator run over the volume in sliding windows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from model.config.base import ModelConfig
from model.config.sections import Discriminator, Preprocessing, SynthData, Training, Triple
from model.settings import Invalid, setting


@dataclass(frozen=True)
class Generator:
    channels: tuple[int, ...] = setting(item_minimum=1)
    strides: tuple[Union[int, Triple], ...] = setting(note="an int per level, or [z, y, x]")
    num_res_units: int = setting(2, minimum=0)
    norm: str = setting("instance")
    dropout: float = setting(0.0, minimum=0, below=1)
    upsample: Literal["transpose", "resize_conv"] = setting(
        "transpose", note="decoder upsampling: transposed convolutions (MONAI's UNet), or nearest-neighbour resize "
                          "then a convolution (no checkerboard)")

    def __post_init__(self):
        if len(self.strides) != len(self.channels) - 1:
            raise ValueError(f"strides: {len(self.strides)} given, the {len(self.channels)} channels need "
                             f"{len(self.channels) - 1}")

    @property
    def downsampling(self) -> Triple:
        """The U-Net's total downsampling per axis (z, y, x): window sizes must divide by it."""
        total = [1, 1, 1]
        for s in self.strides:
            per_axis = s if isinstance(s, (list, tuple)) else (s, s, s)
            total = [t * f for t, f in zip(total, per_axis)]
        return tuple(total)


@dataclass(frozen=True)
class Pix2PixNetworks:
    generator: Generator = setting()
    discriminator: Discriminator = setting(Discriminator())


@dataclass(frozen=True)
class SlidingWindow:
    """How the pelvis generator runs over a whole MR (model.pipelines.sliding)."""

    roi_size: Triple = setting(item_minimum=1)
    overlap: float = setting(0.25, minimum=0, below=1)
    sw_batch_size: int = setting(1, minimum=1, note="windows per batch on the CPU; the most on a GPU")
    gpu_memory_budget_gb: float = setting(14.0, above=0, note="a T4's 16 GB less the CUDA context")
    max_sw_batch_size: int = setting(16, minimum=1)
    amp: bool = setting(True, note="float16/bfloat16 on a GPU; the CPU always runs float32")
    time_budget_s: float | None = setting(None, above=0, note="seconds a case may take (process.py --time-budget)")
    tta_flips: tuple[Literal["x", "y", "z"], ...] = setting((), note="test-time mirroring: the sCT is the mean over "
                                                                     "every combination of these array axes")


@dataclass(frozen=True)
class Pix2PixPreprocessing(Preprocessing):
    spacing_mm: tuple[float, float, float] | None = setting(None, above=0, length=3, note="the voxel size (z, y, x) "
                                                            "the generator works at: another MR is resampled to it "
                                                            "and its sCT back; default: the MR's own")


@dataclass(frozen=True)
class Pix2PixTraining(Training):
    lr: float = setting(1e-3, above=0)
    patch_size: Triple = setting(item_minimum=1)
    betas: tuple[float, float] = setting((0.5, 0.999), minimum=0, below=1)
    gan_loss: Literal["bce", "least_squares"] = setting("bce")
    lambda_l1: float = setting(100.0, minimum=0)
    engine: SynthData | None = setting(None, note="train on the data engine (tools.synth) instead of, or beside "
                                                  "(engine.case_fraction), --data's cases; off by default")


@dataclass(frozen=True)
class Pix2PixConfig(ModelConfig):
    preprocessing: Pix2PixPreprocessing = setting(Pix2PixPreprocessing())
    networks: Pix2PixNetworks = setting()
    inference: SlidingWindow = setting()
    training: Pix2PixTraining | None = setting(None)

    def validate(self) -> None:
        """The inference window divides by the generator's downsampling, axis by axis."""
        roi, factors = self.inference.roi_size, self.networks.generator.downsampling
        if any(r % f for r, f in zip(roi, factors)):
            raise Invalid("inference.roi_size", f"{list(roi)} must divide by the generator's downsampling {list(factors)}")
