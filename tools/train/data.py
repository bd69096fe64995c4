"""The cases a run trains and validates on, and where its training batches come from.

``--data`` is split into training and validation cases; the training cases are read from the case cache
(tools.dataset.cache: rank 0 builds what is missing, every process then reads the same files). The batches come
from the task's sampler of those cases, from the data engine's anatomies (``training.engine``, tools.synth.pool;
``--data`` then only validates unless ``case_fraction`` mixes the two), or from both.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.errors import InputError
from tools.dataset.cache import CachedCase, CaseCache
from tools.dataset.cases import find_cases, split_cases
from tools.train.distributed import Distributed

log = logging.getLogger("train")


@dataclass
class TrainingData:
    paths: dict[str, dict[str, Path]]  # case id -> its files ("mr", "ct", "mask")
    train_ids: list[str]
    val_ids: list[str]
    train_cases: list[CachedCase]  # the training cases as the cache holds them (none when the engine alone trains)


def load_training_data(data_dir: Path, spec, training, task_class, cache_root: Path, dist: Distributed) -> TrainingData:
    """Split ``data_dir`` (``training.val_cases``, ``training.seed``) and open the training cases in the cache
    under ``cache_root``, in the task's form of them (``case_fit``)."""
    seed = training.seed
    percentiles = spec.preprocessing.mr_percentiles
    paths = find_cases(data_dir)
    engine = getattr(training, "engine", None)
    engine_only = engine is not None and not engine.case_fraction  # --data then only validates
    try:
        train_ids, val_ids = split_cases(sorted(paths), training.val_cases, seed, need_train=not engine_only)
    except ValueError as err:
        raise InputError(data_dir, str(err)) from None
    if engine_only:
        if dist.main:
            log.info("data engine: anatomies drawn as training runs; %d validation case(s): %s",
                     len(val_ids), ", ".join(val_ids))
        return TrainingData(paths, [], val_ids, [])
    cache = CaseCache(cache_root, percentiles, seed, task_class.case_fit(spec))
    train_paths = {c: paths[c] for c in train_ids}
    if dist.main:
        built = cache.build(train_paths)
        log.info("case cache %s: %d case(s) built, %d reused", cache.root, len(built), len(train_paths) - len(built))
    dist.barrier()  # every process reads what rank 0 built
    train_cases = [cache.open(c, paths[c]) for c in train_ids]
    if dist.main:
        log.info("%d training case(s), %d validation case(s): %s", len(train_ids), len(val_ids), ", ".join(val_ids))
    return TrainingData(paths, train_ids, val_ids, train_cases)


def batch_sampler(task, spec, training, train_cases: list[CachedCase], cache_root: Path, rank: int,
                  rng: np.random.Generator):
    """The task's sampler of the cached cases, or the data engine's (tools.synth.pool), or the two mixed."""
    engine = getattr(training, "engine", None)
    if engine is None:
        return task.sampler(train_cases, rng)
    from tools.dataset.augment import augmenter
    from tools.synth.anatomy import REGIONS, phantom_spacing, spacing_scale
    from tools.synth.pool import AnatomyPool, EngineSampler, MixedSampler

    if spec.region not in REGIONS:
        raise InputError(spec.source, f"training.engine: the data engine draws {', '.join(REGIONS)} "
                                      f"anatomy, not {spec.region}")
    spacing = spec.preprocessing.spacing_mm or phantom_spacing(spec.region)[::-1]
    scale = spacing_scale(spec.region, spec.preprocessing.spacing_mm)
    if spec.region == "Brain" and scale != (1.0, 1.0, 1.0):
        raise InputError(spec.source, "training.engine: the engine draws heads at 1 mm; preprocessing."
                                      "spacing_mm must be [1, 1, 1] or absent")
    pool = AnatomyPool(cache_root, spec.region, training.seed + 7919 * rank, scale)
    sampler = EngineSampler(pool, engine, training.patch_size, spacing, spec.preprocessing.mr_percentiles, rng,
                            training.flip_lr, augmenter(training.augment_mr))
    if not engine.case_fraction:
        return sampler
    return MixedSampler(task.sampler(train_cases, rng), sampler, engine.case_fraction)
