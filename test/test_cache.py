"""The case cache (model.train.cache): built once, memory-mapped, invalidated per case, bit for bit the
in-memory path's patches."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from brain_fixtures import tiny_brain_config

from model.tools.phantom import make_case, write_case
from model.train.cache import ArrayFile, CaseCache
from model.train.data import PatchSampler, find_cases, load_training_case

PERCENTILES = (0.5, 99.5)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache-data") / "pelvis"
    for seed in (0, 1):
        write_case(make_case("pelvis", seed), root, layout="dataset", fmt="mha")
    return root


def test_cached_patches_are_the_in_memory_patches_bit_for_bit(dataset, tmp_path):
    paths = find_cases(dataset)
    cache = CaseCache(tmp_path / "cache", PERCENTILES, seed=0)
    assert cache.build(paths) == sorted(paths)
    cached = [cache.open(c, paths[c]) for c in sorted(paths)]
    assert all(isinstance(c.mr_unit, ArrayFile) and isinstance(c.ct_hu, ArrayFile) for c in cached)
    memory = [load_training_case(c, paths[c], PERCENTILES, 0) for c in sorted(paths)]
    a = PatchSampler(cached, (16, 32, 32), np.random.default_rng(3), flip_lr=True)
    b = PatchSampler(memory, (16, 32, 32), np.random.default_rng(3), flip_lr=True)
    for _ in range(20):
        for x, y in zip(a.sample(), b.sample()):
            assert x.dtype == torch.float32 and torch.equal(x, y)
    meta = cache.meta(sorted(paths)[0], paths[sorted(paths)[0]])
    assert meta["ct_rounding_max_hu"] == 0.0  # an integer CT is stored losslessly as int16


def test_the_cache_is_reused_and_a_changed_case_alone_is_rebuilt(dataset, tmp_path):
    paths = find_cases(dataset)
    first, second = sorted(paths)
    cache = CaseCache(tmp_path / "cache", PERCENTILES, seed=0)
    cache.build(paths)
    old = cache.folder(first, paths[first])
    assert cache.build(paths) == []  # nothing to do
    stat = paths[first]["mr"].stat()
    os.utime(paths[first]["mr"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the MR was replaced
    try:
        assert cache.missing(paths) == [first]
        assert cache.build(paths) == [first]
        assert not old.exists() and cache.folder(first, paths[first]).is_dir()  # the stale entry is gone
        assert CaseCache(tmp_path / "cache", (1.0, 99.0), seed=0).missing(paths) == sorted(paths)  # other percentiles
        assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir()) == [first, second]
        other = tmp_path / "cache" / f"{first}-b-0123456789abcdef"  # another case whose id starts with this one's
        other.mkdir()
        os.utime(paths[first]["mr"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
        assert cache.build(paths) == [first] and other.is_dir()
    finally:
        os.utime(paths[first]["mr"], ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_an_unwritable_cache_is_one_line_naming_it(dataset, tmp_path):
    from model.errors import InputError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match="file/cache: cannot create the case cache"):
        CaseCache(blocker / "cache", PERCENTILES, 0).build(find_cases(dataset))


def test_an_array_file_reads_rows_and_blocks_as_numpy_does(tmp_path):
    volume = np.random.default_rng(0).standard_normal((7, 9, 11)).astype(np.float32)
    np.save(tmp_path / "v.npy", volume)
    array = ArrayFile(tmp_path / "v.npy")
    assert array.shape == volume.shape and len(array) == 7
    for block in [(slice(0, 7), slice(0, 9), slice(0, 11)), (slice(2, 5), slice(3, 9), slice(1, 4)), (slice(6, 7), slice(0, 1), slice(10, 11))]:
        np.testing.assert_array_equal(array[block], volume[block])
    np.testing.assert_array_equal(array[3], volume[3])
    centres = np.arange(30, dtype=np.int32).reshape(10, 3)
    np.save(tmp_path / "c.npy", centres)
    assert ArrayFile(tmp_path / "c.npy")[4].tolist() == [12, 13, 14]


def test_the_autoencoder_stage_cuts_its_patches_from_the_grid_fitted_case(tmp_path):
    """The brain autoencoder trains on patches of the case fitted to the model grid: MR and CT from the same
    grid voxels, in network units (a regression test: the CT was once cut in HU from the unfitted case)."""
    from model.config import parse_config
    from model.train.data import TrainingCases, crop_patch
    from model.train.tasks.autoencoder import AutoencoderTask
    from model.train.tasks.brain import on_grid

    raw = tiny_brain_config()
    raw["training"] = {"autoencoder": {"iterations": 1, "patch_size": [8, 8, 8]}}
    spec = parse_config(raw, "tiny brain config")
    root = tmp_path / "brain"
    write_case(make_case("brain", 0), root, layout="dataset", fmt="mha")
    paths = find_cases(root)
    cases = TrainingCases(sorted(paths), paths, PERCENTILES, 0)
    task = AutoencoderTask(spec, torch.device("cpu"))
    sampler = task.sampler(cases, np.random.default_rng(5))
    fitted = on_grid(next(iter(cases)), spec)
    assert fitted.mr_unit.shape == fitted.ct_unit.shape == (16, 16, 16)
    reference = np.random.default_rng(5)
    for _ in range(10):
        mr, ct = sampler.sample()
        reference.integers(1)
        centre = fitted.centres[reference.integers(len(fitted.centres))]
        flip = reference.random() < 0.5 if task.training.flip_lr else False
        expected = [crop_patch(v, centre, (8, 8, 8), -1.0) for v in (fitted.mr_unit, fitted.ct_unit)]
        if flip:
            expected = [e[..., ::-1] for e in expected]
        assert torch.equal(mr[0, 0], torch.from_numpy(np.ascontiguousarray(expected[0])))
        assert torch.equal(ct[0, 0], torch.from_numpy(np.ascontiguousarray(expected[1])))
        assert ct.abs().max() <= 1
