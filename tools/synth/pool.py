"""The data engine's anatomies in the case cache, a sliding pool, and the training sampler that renders from it.

Pool. Anatomy ``i`` (a label map, tools.synth.anatomy) is written once to
``<cache>/engine/<region>-<key>/<i>/`` (``labels.npy`` uint8, ``centres.npy`` the
body voxels patches are centred on, ``histogram.npy`` voxels per label in the
body), into a temporary folder renamed into place. After ``d`` patches the pool
is anatomies ``r .. r + pool_size - 1`` with ``r = d // refresh_every``: every
``refresh_every`` patches the oldest anatomy leaves (its folder is deleted one
round later, when no patch in flight can still need it) and a new one enters.
Patches read their label block with ``pread`` (tools.dataset.cache.ArrayFile), so
a process's memory does not grow with the anatomies it has seen.

Sampler. :class:`EngineSampler` follows the patch sampler's contract
(tools.train.loader): ``draw()`` takes every random choice from the training
stream in the training process (anatomy, centre, flip, and one seed for the
rest) and makes sure the anatomy exists; ``cut()`` (in loader workers) deforms
the label block and renders the MR and CT from that seed. ``state()`` holds the
stream and the patch count, so a resumed run sees the same pool and patches.
:class:`MixedSampler` cuts a share of the patches from the task's own cases
(``engine.case_fraction``) and the rest from the engine.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from model.config import SynthData
from model.files import staged_folder
from model.preprocessing.intensity import ct_to_unit
from tools.dataset.cache import ArrayFile
from tools.dataset.cases import as_batch, patch_centres
from tools.phantom import Tissue
from tools.phantom.tissues import region_tissues
from tools.synth.anatomy import engine_anatomy, make_anatomy
from tools.synth.render import render_ct, render_mr
from tools.synth.spatial import deform, source_size

FORMAT = 1  # bump when an anatomy's files or their meaning change
SEED_LIMIT = 2**31 - 1


class Anatomy:
    def __init__(self, folder: Path):
        self.labels = ArrayFile(folder / "labels.npy")
        self.centres = ArrayFile(folder / "centres.npy")
        self.histogram = np.load(folder / "histogram.npy")


class AnatomyPool:
    """Anatomies of ``region`` for a run seeded ``seed`` at ``scale`` (voxels per phantom voxel, x, y, z)."""

    def __init__(self, cache_root: Path, region: str, seed: int, scale):
        key = hashlib.sha256(json.dumps([FORMAT, region, seed, list(scale), asdict(engine_anatomy(region))],
                                        sort_keys=True, default=list).encode()).hexdigest()[:12]
        self.root = Path(cache_root) / "engine" / f"{region.lower()}-{key}"
        self.region, self.seed, self.scale = region, seed, tuple(scale)

    def folder(self, index: int) -> Path:
        return self.root / f"{index:06d}"

    def ensure(self, index: int) -> None:
        """Draw and write anatomy ``index`` unless it is there."""
        folder = self.folder(index)
        if folder.is_dir():
            return
        labels, _ = make_anatomy(self.region, self.seed, index, self.scale)
        body = labels != Tissue.AIR
        self.root.mkdir(parents=True, exist_ok=True)
        with staged_folder(folder, keep_existing=True) as tmp:  # a worker that drew it first wins
            np.save(tmp / "labels.npy", labels)
            np.save(tmp / "centres.npy", np.ascontiguousarray(patch_centres(body, index), dtype=np.int32))
            np.save(tmp / "histogram.npy", np.bincount(labels[body], minlength=len(Tissue)).astype(np.int64))

    def remove_before(self, index: int) -> None:
        for folder in self.root.glob("[0-9]" * 6):
            if int(folder.name) < index:
                shutil.rmtree(folder, ignore_errors=True)

    def open(self, index: int) -> Anatomy:
        return Anatomy(self.folder(index))


def read_block(labels: ArrayFile, centre, size) -> np.ndarray:
    """A ``size`` block of ``labels`` centred on ``centre``, AIR where it leaves the array."""
    block = np.full(size, Tissue.AIR, np.uint8)
    src, dst = [], []
    for c, s, n in zip(centre, size, labels.shape):
        start = int(c) - s // 2
        lo, hi = max(start, 0), min(start + s, n)
        src.append(slice(lo, hi))
        dst.append(slice(lo - start, hi - start))
    if all(d.stop > d.start for d in dst):
        block[tuple(dst)] = labels.block(tuple(src))
    return block


class EngineSampler:
    """Training pairs from the pool, rendered anew for every patch (see the module's docstring)."""

    def __init__(self, pool: AnatomyPool, settings: SynthData, patch_size, spacing_zyx, percentiles,
                 rng: np.random.Generator, flip_lr: bool = False, augment=None):
        self.pool, self.settings = pool, settings
        self.tissues = region_tissues(pool.region)  # those the look-up tables draw values for
        self.patch_size = tuple(int(s) for s in patch_size)
        self.spacing = tuple(float(s) for s in spacing_zyx)
        self.source = source_size(self.patch_size, settings, self.spacing)
        self.percentiles = tuple(percentiles)
        self.rng, self.flip_lr, self.augment = rng, flip_lr, augment
        self.draws = 0
        self._pool_first: int | None = None  # the pool's first anatomy as last made sure of (None: not yet)
        self._open: dict[int, Anatomy] = {}

    def _anatomy(self, index: int) -> Anatomy:
        """Anatomy ``index``, opened once per process; those that can no longer be drawn are closed (loader
        workers only cut, so they prune here too: no file descriptors pile up over a long run)."""
        if index not in self._open:
            self._open[index] = self.pool.open(index)
            for old in [i for i in self._open if i < index - self.settings.pool_size]:
                del self._open[old]
        return self._open[index]

    def draw(self) -> tuple[int, int, bool, int]:
        first = self.draws // self.settings.refresh_every
        if first != self._pool_first:  # the pool moved (or a run starts or resumes): draw what entered, drop what left
            for index in range(first, first + self.settings.pool_size):
                self.pool.ensure(index)
            self.pool.remove_before(first - 1)
            self._pool_first = first
        index = first + int(self.rng.integers(self.settings.pool_size))
        row = int(self.rng.integers(len(self._anatomy(index).centres)))
        flip = bool(self.flip_lr and self.rng.random() < 0.5)
        seed = int(self.rng.integers(SEED_LIMIT))
        self.draws += 1
        return index, row, flip, seed

    def cut(self, drawn) -> tuple[torch.Tensor, torch.Tensor]:
        index, row, flip, seed = drawn
        anatomy = self._anatomy(index)
        rng = np.random.default_rng(seed)
        block = read_block(anatomy.labels, anatomy.centres[row], self.source)
        labels = deform(block, self.patch_size, self.settings, self.spacing, rng)
        mr = render_mr(labels, anatomy.histogram, self.percentiles, self.settings, rng, self.tissues)
        ct = ct_to_unit(render_ct(labels, self.settings, rng, self.tissues))
        if flip:
            mr, ct = mr[..., ::-1], ct[..., ::-1]
        if self.augment is not None:
            mr = self.augment(np.ascontiguousarray(mr), int(rng.integers(SEED_LIMIT)))
        return as_batch(mr), as_batch(ct)

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cut(self.draw())

    def state(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "draws": self.draws}

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.draws = int(state["draws"])
        self._pool_first = None


class MixedSampler:
    """A share ``case_fraction`` of the patches from ``cases`` (the task's sampler of --data's cached cases), the
    rest from ``engine``; both draw from the same training stream (``rng``), so the mix is as reproducible as
    either."""

    def __init__(self, cases, engine: EngineSampler, case_fraction: float):
        if cases.rng is not engine.rng:
            raise ValueError("the two samplers must share one random stream")
        self.cases, self.engine, self.case_fraction, self.rng = cases, engine, case_fraction, engine.rng

    def draw(self):
        if self.rng.random() < self.case_fraction:
            return "cases", self.cases.draw()
        return "engine", self.engine.draw()

    def cut(self, drawn):
        source, inner = drawn
        return (self.cases if source == "cases" else self.engine).cut(inner)

    def sample(self):
        return self.cut(self.draw())

    def state(self) -> dict:
        return self.engine.state()

    def set_state(self, state: dict) -> None:
        self.engine.set_state(state)
