"""Every setting a config can hold, its type, range and default, in one place.

A training config (``configs/*.json``) and a model folder's ``config.json`` are
the same JSON: a model folder adds ``weights`` (network -> file), ``latent`` (the
brain's scale factor) and ``provenance``. :func:`parse_config` reads one once into
frozen dataclasses (:class:`Pix2PixConfig` or :class:`LatentDiffusionConfig`,
chosen by ``pipeline``); the code reads attributes, never ``.get(key, default)``.
A misspelled key, a wrong type, a value out of range or a missing required
value is refused with one line naming the file, the key path and what is
expected, with "did you mean" for a near miss::

    configs/pelvis.json: training.lr_decay_form: unknown key (did you mean 'lr_decay_from'?)

The JSON on disk is unchanged: training writes the config it was given (plus
``weights`` / ``latent`` / ``provenance``), so model folders written before this
module existed load as they are. A default here applies only where a key is
absent; changing one changes every config that leaves that key out (the
shipped configs spell out what their weights were trained with).

Adding a setting: add a field to the section's dataclass below, with its default
and range (``setting(...)``); the parser, the error messages and the README's
config tables need nothing else. Adding a model family: see model/pipelines/__init__.py.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from model.errors import InputError

REQUIRED = object()  # a setting without a default: the file must give it
DEFAULT_MIN_STEPS = 10  # sampler.min_steps where a config does not say (never above its own steps)


def setting(default: Any = REQUIRED, *, minimum: float | None = None, maximum: float | None = None,
            above: float | None = None, below: float | None = None, length: int | None = None,
            item_minimum: float | None = None, note: str = ""):
    """A config field: its default (or REQUIRED) and the range it is checked against. ``minimum``/``maximum``
    are inclusive, ``above``/``below`` exclusive; ``length`` and ``item_minimum`` apply to a list's items."""
    checks = {k: v for k, v in dict(minimum=minimum, maximum=maximum, above=above, below=below, length=length,
                                    item_minimum=item_minimum, note=note).items() if v not in (None, "")}
    if isinstance(default, (list, dict)):
        raise TypeError("defaults are immutable: use a tuple")
    return field(default=None if default is REQUIRED else default, metadata={"required": default is REQUIRED, **checks})


Triple = tuple[int, int, int]
AmpSetting = Literal[False, "bf16"]  # training mixed precision (model.precision)


# ------------------------------------------------------------------------------------------ shared sections
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


# ---------------------------------------------------------------------------------------- Pix2Pix (pelvis)
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


# ------------------------------------------------------------------------------------- latent diffusion (brain)
@dataclass(frozen=True)
class Grid:
    size: Triple = setting(item_minimum=1, note="the model grid, voxels (z, y, x)")
    spacing_mm: float = setting(above=0)


@dataclass(frozen=True)
class Autoencoder:
    channels: tuple[int, ...] = setting(item_minimum=1)
    latent_channels: int = setting(minimum=1)
    num_res_blocks: int = setting(2, minimum=1)
    attention_levels: tuple[bool, ...] | None = setting(None, note="one per level; none by default")
    norm_num_groups: int = setting(32, minimum=1)
    with_nonlocal_attn: bool = setting(False)
    use_checkpoint: bool = setting(False)


@dataclass(frozen=True)
class DiffusionUNet:
    channels: tuple[int, ...] = setting(item_minimum=1)
    num_res_blocks: int = setting(2, minimum=1)
    attention_levels: tuple[bool, ...] | None = setting(None, note="one per level; none by default")
    norm_num_groups: int = setting(32, minimum=1)
    num_head_channels: Union[int, tuple[int, ...]] = setting(8, minimum=0, note="per attention level, or one for all")
    sdpa: bool = setting(True, note="torch's scaled-dot-product attention (same weights, less memory)")


@dataclass(frozen=True)
class ControlNetSettings:
    conditioning_embedding_num_channels: tuple[int, ...] = setting(item_minimum=1)


@dataclass(frozen=True)
class LatentNetworks:
    autoencoder: Autoencoder = setting()
    unet: DiffusionUNet = setting()
    controlnet: ControlNetSettings | None = setting(None)
    discriminator: Discriminator = setting(Discriminator())


@dataclass(frozen=True)
class Scheduler:
    num_train_timesteps: int = setting(1000, minimum=1)
    schedule: Literal["linear_beta", "scaled_linear_beta", "sigmoid_beta"] = setting("scaled_linear_beta")
    beta_start: float = setting(0.0015, above=0, below=1)
    beta_end: float = setting(0.0195, above=0, below=1)
    prediction_type: Literal["epsilon", "v_prediction", "sample"] = setting("epsilon")


@dataclass(frozen=True)
class Sampler:
    steps: int = setting(50, minimum=1)
    seed: int = setting(0, minimum=0)
    samples: int = setting(1, minimum=1, note="sCTs averaged per case")
    conditioning_scale: float = setting(1.0, minimum=0)
    amp: bool = setting(True)
    min_samples: int = setting(1, minimum=1, note="the fewest samples a time budget may leave")
    min_steps: int | None = setting(None, minimum=1, note="the fewest DDIM steps a time budget may leave; "
                                                           "default min(steps, 10)")

    @property
    def step_floor(self) -> int:
        return self.min_steps if self.min_steps is not None else min(self.steps, DEFAULT_MIN_STEPS)


@dataclass(frozen=True)
class LatentInference:
    autoencoder_window: Triple | None = setting(None, item_minimum=1, note="default: the autoencoder's patch size")
    autoencoder_overlap: float = setting(0.5, minimum=0, below=1, note="0.5 as the demo weights were made; 0.25 covers "
                                         "a 192^3 grid in 8 windows of 112^3 where 0.5 takes 27")
    autoencoder_sw_batch_size: int | None = setting(None, minimum=1, note="default 1 on the CPU, 4 on CUDA")
    time_budget_s: float | None = setting(None, above=0, note="seconds a case may take (process.py --time-budget)")
    tta_flips: tuple[Literal["x", "y", "z"], ...] = setting((), note="test-time mirroring: the samples are spread "
                                                                     "over every combination of these array axes")


@dataclass(frozen=True)
class Latent:
    scale_factor: float | None = setting(None, above=0, note="1/std of the training latents (written by training)")


@dataclass(frozen=True)
class AutoencoderLosses:
    kl_weight: float = setting(1e-6, minimum=0)
    perceptual_weight: float = setting(0.0, minimum=0)
    perceptual_network: str = setting("medicalnet_resnet10_23datasets")
    perceptual_cache_dir: str = setting("weights/cache/perceptual")
    adversarial_weight: float = setting(0.01, minimum=0)
    adversarial_warmup: int = setting(0, minimum=0)


@dataclass(frozen=True)
class AutoencoderTraining(Training):
    patch_size: Triple = setting(item_minimum=1)
    losses: AutoencoderLosses = setting(AutoencoderLosses())
    lr_discriminator: float | None = setting(None, above=0, note="default: lr")


@dataclass(frozen=True)
class LatentTraining(Training):
    """The diffusion UNet's and the ControlNet's stages."""

    latent_crop: Triple | None = setting(None, item_minimum=1, note="latent blocks trained on; default whole latents")
    validation_timestep: int = setting(300, minimum=0)


@dataclass(frozen=True)
class LatentStages:
    autoencoder: AutoencoderTraining | None = setting(None)
    diffusion: LatentTraining | None = setting(None)
    controlnet: LatentTraining | None = setting(None)


# ---------------------------------------------------------------------------------------------- whole configs
@dataclass(frozen=True)
class ModelConfig:
    """What every config has. ``source`` names the file in every error; ``raw`` is the JSON as read (written
    back unchanged into a trained model folder)."""

    region: str = setting()
    pipeline: str = setting()
    preprocessing: Preprocessing = setting(Preprocessing())
    weights: dict[str, str] | None = setting(None, note="network -> weights file (a model folder's)")
    provenance: dict | None = setting(None, note="how the weights were made (free form, written by training)")
    source: str = field(default="config", compare=False, metadata={"internal": True})
    raw: dict = field(default_factory=dict, compare=False, repr=False, metadata={"internal": True})


@dataclass(frozen=True)
class Pix2PixConfig(ModelConfig):
    preprocessing: Pix2PixPreprocessing = setting(Pix2PixPreprocessing())
    networks: Pix2PixNetworks = setting()
    inference: SlidingWindow = setting()
    training: Pix2PixTraining | None = setting(None)


@dataclass(frozen=True)
class LatentDiffusionConfig(ModelConfig):
    grid: Grid = setting()
    networks: LatentNetworks = setting()
    scheduler: Scheduler = setting(Scheduler())
    sampler: Sampler = setting(Sampler())
    inference: LatentInference = setting(LatentInference())
    latent: Latent = setting(Latent())
    training: LatentStages = setting(LatentStages())

    @property
    def autoencoder_window(self) -> Triple:
        """The image window the autoencoder runs on: ``inference.autoencoder_window``, else its training patch."""
        if self.inference.autoencoder_window is not None:
            return self.inference.autoencoder_window
        if self.training.autoencoder is None:
            raise ConfigError(self.source, "inference.autoencoder_window: required when training.autoencoder is absent")
        return self.training.autoencoder.patch_size


# The config of each model family, by its ``pipeline`` name (model/pipelines/__init__.py says how to add one).
CONFIGS: dict[str, type[ModelConfig]] = {"pix2pix": Pix2PixConfig, "ldm": LatentDiffusionConfig}


# --------------------------------------------------------------------------------------------------- parsing
class ConfigError(InputError):
    """A config that cannot be used, printed as ``<file>: <key path>: <problem>``."""


def read_json(path: Path, error: type[InputError] = InputError, missing: str = "missing") -> dict:
    """A JSON object from ``path``; anything else is one ``error`` line naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise error(path, missing) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise error(path, f"not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise error(path, "must be a JSON object")
    return data


def load_config(path: Path, error: type[InputError] = InputError) -> ModelConfig:
    """Read and parse a config file (a training config, or a model folder's config.json)."""
    return parse_config(read_json(path, error), path, error)


def parse_config(raw: dict, source: str | Path, error: type[InputError] = InputError) -> ModelConfig:
    """``raw`` (a config as JSON gives it) checked and typed; ``source`` is the file the errors name.
    ``error``: the exception class (WeightsError for a model folder)."""
    if not isinstance(raw, dict):
        raise error(source, "must be a JSON object")
    pipeline = raw.get("pipeline")
    if not isinstance(pipeline, str) or pipeline not in CONFIGS:
        known = ", ".join(sorted(CONFIGS))
        problem = "missing (the model family" if pipeline is None else f"unknown pipeline {pipeline!r} (known"
        raise error(source, f"pipeline: {problem}: {known}){_did_you_mean(pipeline, CONFIGS)}")
    try:
        parsed = _parse_section(CONFIGS[pipeline], raw, "")
    except _Invalid as err:
        raise error(source, f"{err.key}: {err.problem}") from None
    return dataclasses.replace(parsed, source=str(source), raw=raw)


def parse_settings(cls, raw: dict, source: str | Path, error: type[InputError] = InputError):
    """``raw`` checked and typed as the settings dataclass ``cls`` (declared with :func:`setting`, like the model
    configs: the dose evaluation's config, tools.dose.config); errors name ``source`` and the key path."""
    try:
        return _parse_section(cls, raw, "")
    except _Invalid as err:
        raise error(source, f"{err.key}: {err.problem}") from None


class _Invalid(Exception):
    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def _did_you_mean(key, known) -> str:
    if not isinstance(key, str):
        return ""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _parse_section(cls, data, path: str):
    where = path or "the config"
    if not isinstance(data, dict):
        raise _Invalid(where, f"expected a JSON object (a table of settings), got {_describe(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    for key in data:
        if key not in fields:
            hint = _did_you_mean(key, fields) or f" ({where} takes {', '.join(fields)})"
            raise _Invalid(_join(path, key), f"unknown key{hint}")
    values = {}
    for name, f in fields.items():
        key = _join(path, name)
        if name not in data:
            if f.metadata.get("required"):
                note = f": {f.metadata['note']}" if "note" in f.metadata else ""
                raise _Invalid(key, f"missing: required ({_expected(hints[name])}{note})")
            continue
        values[name] = _check_range(_parse_value(hints[name], data[name], key), f.metadata, key, data[name])
    try:
        return cls(**values)
    except ValueError as err:
        raise _Invalid(where, str(err)) from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _parse_value(hint, value, key: str):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options:
            try:
                return _parse_value(option, value, key)
            except _Invalid:
                if len(options) == 1:
                    raise
        raise _Invalid(key, f"expected {_expected(hint)}, got {_describe(value)}")
    if origin is Literal:
        if any(type(value) is type(a) and value == a for a in args):
            return value
        raise _Invalid(key, f"expected one of {', '.join(json.dumps(a) for a in args)}, got {_describe(value)}"
                            f"{_did_you_mean(value, [a for a in args if isinstance(a, str)])}")
    if dataclasses.is_dataclass(hint):
        return _parse_section(hint, value, key)
    if origin is tuple:
        if not isinstance(value, list):
            raise _Invalid(key, f"expected {_expected(hint)}, got {_describe(value)}")
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value) or not value:
            raise _Invalid(key, f"expected {_expected(hint)}, got {len(value)} value(s)")
        return tuple(_parse_value(t, v, f"{key}[{i}]") for i, (t, v) in enumerate(zip(items, value)))
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise _Invalid(key, f"expected a JSON object, got {_describe(value)}")
        if args and not all(isinstance(k, str) and isinstance(v, args[1]) for k, v in value.items()):
            raise _Invalid(key, f"expected names mapped to {args[1].__name__}s, e.g. {{\"generator\": \"generator.safetensors\"}}")
        return dict(value)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, bool, str) and type(value) is hint:
        return value
    raise _Invalid(key, f"expected {_expected(hint)}, got {_describe(value)}")


def _check_range(value, meta, key: str, given):
    numbers = [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []
    if isinstance(value, tuple):
        numbers = [v for v in _flatten(value) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for v in numbers:
        for name, ok, words in (("minimum", lambda v, m: v >= m, "at least"), ("maximum", lambda v, m: v <= m, "at most"),
                                ("above", lambda v, m: v > m, "above"), ("below", lambda v, m: v < m, "below"),
                                ("item_minimum", lambda v, m: v >= m, "at least")):
            if name in meta and not ok(v, meta[name]):
                raise _Invalid(key, f"{_short(given)} is out of range: must be {words} {meta[name]:g}")
    return value


def _flatten(value):
    for v in value:
        yield from (_flatten(v) if isinstance(v, tuple) else (v,))


def _expected(hint, plural: bool = False) -> str:
    """What a setting of type ``hint`` must be, in words ("a list of 3 integers")."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_expected(a, plural) for a in args)
    if hint is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            items = f"of {_expected(args[0], True)}"
        else:
            items = f"of {len(args)} {_expected(args[0], True)}" if len(set(args)) == 1 else ""
        return f"lists {items}".strip() if plural else f"a list {items}".strip()
    words = {int: ("an integer", "integers"), float: ("a number", "numbers"), bool: ("true or false", "true/false values"),
             str: ("a string", "strings")}
    if hint in words:
        return words[hint][plural]
    return "JSON objects" if plural else "a JSON object"


def _describe(value) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    kind = {int: "integer", float: "number", str: "string", list: "list", dict: "object"}.get(type(value), type(value).__name__)
    return f"{kind} {_short(value)}"


def _short(value) -> str:
    text = json.dumps(list(value) if isinstance(value, tuple) else value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."
