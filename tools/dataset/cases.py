"""Training data in the SynthRAD2023 layout: ``<data>/<case>/mr.*, ct.*, mask.*``.

Images may be ``.nii.gz`` (as SynthRAD distributes them) or ``.mha``. A case is
read once, checked like the container's inputs and normalised
(:func:`load_training_case`), and written into the case cache (tools.dataset.cache),
as read or in the task's own form (the brain stages: fitted to their grid); training
reads it from there patch by patch. Patches are drawn around random voxels
inside the body mask (the brain stages: inside the fitted head box).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.cases import CaseInput, CasePaths, read_case
from model.errors import InputError
from model.preprocessing.intensity import ct_to_unit, normalise_mr

ROLES = ("mr", "ct", "mask")
# Patch centres are drawn from at most this many body voxels per case.
MAX_CENTRES = 200_000


@dataclass
class UnitCase:
    """Volumes in network units to cut training patches from (a whole case, or one fitted to a model grid)."""

    case_id: str
    mr_unit: np.ndarray  # network input, [-1, 1]
    ct_unit: np.ndarray  # network target, [-1, 1]
    centres: np.ndarray  # (n, 3) voxel indices patches are centred on

    def mr_patch(self, centre, size) -> np.ndarray:
        return crop_patch(self.mr_unit, centre, size, -1.0)

    def ct_patch(self, centre, size) -> np.ndarray:
        return crop_patch(self.ct_unit, centre, size, -1.0)


@dataclass
class TrainingCase(UnitCase):
    """A whole case as read: what validation needs as well (the MR image's geometry, the body, HU)."""

    inputs: CaseInput = None  # MR image + voxels + body, exactly as the container sees them
    ct: np.ndarray = None  # HU, float32 (z, y, x)


def find_cases(data_dir: Path) -> dict[str, dict[str, Path]]:
    """Case id -> {"mr", "ct", "mask"} paths; a case folder missing one of them is an error."""
    data_dir = Path(data_dir)
    from model.imageio import image_stem, is_image_file  # SimpleITK: only where images are read

    if not data_dir.is_dir():
        raise InputError(data_dir, "training data folder not found")
    cases = {}
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = {image_stem(p).lower(): p for p in folder.iterdir() if is_image_file(p)}
        if not files:
            continue
        missing = [role for role in ROLES if role not in files]
        if missing:
            raise InputError(folder, f"case folder lacks {', '.join(missing)} (expected mr, ct and mask images)")
        cases[folder.name] = {role: files[role] for role in ROLES}
    if not cases:
        raise InputError(data_dir, "no case folders with mr, ct and mask images")
    return cases


def patch_centres(where: np.ndarray, seed: int = 0) -> np.ndarray:
    """The voxels of ``where`` patches are centred on: at most :data:`MAX_CENTRES` of them, drawn with ``seed``."""
    centres = np.argwhere(where)
    if len(centres) > MAX_CENTRES:
        centres = centres[np.random.default_rng(seed).choice(len(centres), MAX_CENTRES, replace=False)]
    return centres


def load_training_case(case_id: str, paths: dict[str, Path], percentiles: tuple[float, float], seed: int = 0) -> TrainingCase:
    from model.imageio import check_finite, read_on_grid, to_array

    inputs = read_case(CasePaths(paths["mr"], paths["mask"]))  # the container's own reader and checks
    ct = to_array(read_on_grid(paths["ct"], inputs.mr_image))
    check_finite(ct, paths["ct"])
    centres = patch_centres(inputs.body, seed)
    return TrainingCase(
        case_id=case_id,
        inputs=inputs,
        ct=ct,
        mr_unit=normalise_mr(inputs.mr, inputs.body, percentiles),
        ct_unit=ct_to_unit(ct),
        centres=centres,
    )


def split_cases(case_ids: list[str], val_cases: int, seed: int, need_train: bool = True) -> tuple[list[str], list[str]]:
    """A deterministic held-out validation split (seeded shuffle); ``need_train`` False: the cases may all validate
    (the data engine trains)."""
    if len(case_ids) < val_cases + need_train:
        raise ValueError(f"{len(case_ids)} case(s) cannot leave {val_cases} for validation"
                         + (" and some for training" if need_train else ""))
    order = np.random.default_rng(seed).permutation(len(case_ids))
    val = sorted(case_ids[i] for i in order[:val_cases])
    train = sorted(case_ids[i] for i in order[val_cases:])
    return train, val


def as_batch(patch: np.ndarray) -> torch.Tensor:
    """A (z, y, x) patch as a batch of one single-channel tensor, (1, 1, z, y, x)."""
    return torch.from_numpy(np.ascontiguousarray(patch))[None, None]


def crop_patch(volume: np.ndarray, centre, size, fill: float) -> np.ndarray:
    """A ``size`` patch of ``volume`` around ``centre``, shifted to stay inside, padded with ``fill``."""
    patch = np.full(size, fill, dtype=np.float32)
    src, dst = [], []
    for c, s, n in zip(centre, size, volume.shape):
        start = int(np.clip(c - s // 2, 0, max(n - s, 0)))
        stop = min(start + s, n)
        offset = (s - (stop - start)) // 2
        src.append(slice(start, stop))
        dst.append(slice(offset, offset + stop - start))
    patch[tuple(dst)] = volume[tuple(src)]
    return patch


class PatchSampler:
    """Random (MR, CT) patch pairs centred on random ``centres`` of random training cases: in memory
    (:class:`UnitCase`, :class:`TrainingCase`) or in the case cache (:class:`tools.dataset.cache.CachedCase`, read
    patch by patch); each case cuts its own patches (``mr_patch``, ``ct_patch``)."""

    def __init__(self, cases: list[TrainingCase], patch_size, rng: np.random.Generator, flip_lr: bool = False,
                 augment=None):
        self.cases = cases
        self.patch_size = tuple(int(s) for s in patch_size)
        self.rng = rng
        self.flip_lr = flip_lr
        self.augment = augment  # a tools.dataset.augment.MRAugmenter, or None

    def draw(self) -> tuple[int, int, bool, int | None]:
        """The random part of a patch, from ``rng``: (case index, centre row, left-right flip, the seed of its MR
        augmentation - None, and nothing drawn, without augmentation)."""
        case = int(self.rng.integers(len(self.cases)))
        centre = int(self.rng.integers(len(self.cases[case].centres)))
        flip = bool(self.flip_lr and self.rng.random() < 0.5)
        return case, centre, flip, None if self.augment is None else int(self.rng.integers(2**31 - 1))

    def cut(self, drawn: tuple[int, int, bool, int | None]) -> tuple[torch.Tensor, torch.Tensor]:
        """The patch pair ``drawn`` describes (no randomness: loader workers run this)."""
        case_index, row, flip, augment_seed = drawn
        case = self.cases[case_index]
        centre = case.centres[row]
        mr, ct = case.mr_patch(centre, self.patch_size), case.ct_patch(centre, self.patch_size)
        if flip:
            mr, ct = mr[..., ::-1], ct[..., ::-1]
        if augment_seed is not None:
            mr = self.augment(np.ascontiguousarray(mr), augment_seed)
        return as_batch(mr), as_batch(ct)

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cut(self.draw())
