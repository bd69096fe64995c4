"""The case cache (tools.dataset.cache): built once, memory-mapped, invalidated per case, bit for bit the
in-memory path's patches."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from brain_fixtures import tiny_brain_config
from conftest import drawn
from tools.dataset.cache import ArrayFile, CaseCache
from tools.dataset.cases import PatchSampler, find_cases, load_training_case
from tools.phantom import write_case

PERCENTILES = (0.5, 99.5)


def phantoms(tmp_path_factory, region: str, seeds=(0, 1)):
    """Phantom cases of ``region`` (two by default) in the training layout."""
    root = tmp_path_factory.mktemp(f"{region}-data") / region
    for seed in seeds:
        write_case(drawn(region, seed), root, layout="dataset", fmt="mha")
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return phantoms(tmp_path_factory, "pelvis")


def test_cached_patches_are_the_in_memory_patches_bit_for_bit(dataset, tmp_path):
    paths = find_cases(dataset)
    cache = CaseCache(tmp_path / "cache", PERCENTILES, seed=0)
    assert cache.build(paths) == sorted(paths)
    cached = [cache.open(c, paths[c]) for c in sorted(paths)]
    assert all(isinstance(c.mr_unit, ArrayFile) and isinstance(c.ct, ArrayFile) and c.ct.dtype == np.int16 for c in cached)
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


def test_an_array_file_reads_blocks_of_a_five_dimensional_array(tmp_path):
    latent = np.random.default_rng(1).standard_normal((1, 3, 5, 6, 7)).astype(np.float32)
    np.save(tmp_path / "l.npy", latent)
    array = ArrayFile(tmp_path / "l.npy")
    np.testing.assert_array_equal(array.read(), latent)
    block = (slice(None), slice(None), slice(1, 4), slice(2, 6), slice(0, 3))
    np.testing.assert_array_equal(array[block], latent[block])
    np.testing.assert_array_equal(array.block((slice(4, 5), slice(0, 6), slice(6, 7))), latent[..., 4:5, 0:6, 6:7])


@pytest.fixture(scope="module")
def brain(tmp_path_factory):
    return phantoms(tmp_path_factory, "brain", seeds=(0,))  # one head: a full one takes seconds to draw and write


def tiny_stage_spec():
    from model.config import parse_config

    raw = tiny_brain_config()
    raw["training"] = {"autoencoder": {"iterations": 1, "patch_size": [8, 8, 8]}}
    return parse_config(raw, "tiny brain config")


@pytest.mark.slow  # two full heads
def test_the_autoencoder_stage_cuts_its_patches_from_the_grid_fitted_case(brain, tmp_path):
    """The brain autoencoder trains on patches of the case fitted to the model grid, from the cache's own
    entries for that form: MR and CT from the same grid voxels, in network units, bit for bit the in-memory fit's
    (a regression test: the CT was once cut in HU from the unfitted case)."""
    from tools.train.tasks.autoencoder import AutoencoderTask
    from tools.train.tasks.brain import on_grid

    spec = tiny_stage_spec()
    paths = find_cases(brain)
    cache = CaseCache(tmp_path / "cache", PERCENTILES, 0, AutoencoderTask.case_fit(spec))
    assert cache.root == tmp_path / "cache" / "grid" and cache.build(paths) == sorted(paths)
    cached = [cache.open(c, paths[c]) for c in sorted(paths)]
    assert cached[0].ct.dtype == np.float32 and cached[0].mr_unit.shape == (16, 16, 16)
    fitted = [on_grid(load_training_case(c, paths[c], PERCENTILES, 0), spec) for c in sorted(paths)]
    task = AutoencoderTask(spec, torch.device("cpu"))
    a = task.sampler(cached, np.random.default_rng(5))
    b = PatchSampler(fitted, (8, 8, 8), np.random.default_rng(5), task.training.flip_lr)
    for _ in range(20):
        for x, y in zip(a.sample(), b.sample()):
            assert torch.equal(x, y)
        assert x.abs().max() <= 1
    # another grid is another entry; the pix2pix form of the same case (the cache's root) is left alone
    plain = CaseCache(tmp_path / "cache", PERCENTILES, 0)
    plain.build(paths)
    other = tiny_brain_config()
    other["grid"]["spacing_mm"] = 5.0
    from model.config import parse_config

    regrid = CaseCache(tmp_path / "cache", PERCENTILES, 0, AutoencoderTask.case_fit(parse_config(other, "other")))
    assert regrid.missing(paths) == sorted(paths) and plain.missing(paths) == [] and cache.missing(paths) == []


def test_latents_are_encoded_once_per_autoencoder_and_read_by_every_later_stage(brain, tmp_path, monkeypatch):
    """The latent stages encode each cached case (and its mirror image) once; a later stage or run with the same
    autoencoder reads them from the cache without encoding, and gets the same values; another autoencoder
    encodes its own."""
    from brain_fixtures import write_brain_folder
    from tools.train.tasks.brain import grid_fit
    from tools.train.tasks.latent_stages import ControlNetTask, DiffusionTask

    raw = tiny_brain_config()
    raw["training"] = {"diffusion": {"iterations": 1, "flip_lr": True}, "controlnet": {"iterations": 1, "flip_lr": True}}
    from model.config import parse_config

    spec = parse_config(raw, "tiny brain config")
    previous = write_brain_folder(tmp_path / "model", raw)
    paths = find_cases(brain)
    cache = CaseCache(tmp_path / "cache", PERCENTILES, 0, grid_fit(spec))
    cache.build(paths)
    cases = [cache.open(c, paths[c]) for c in sorted(paths)]
    first = DiffusionTask(spec, torch.device("cpu"), previous)
    first.prepare(cases)
    names = sorted(p.name for p in cases[0].folder.iterdir() if p.is_dir())
    assert names == [first.latents_name(False), first.latents_name(True)]
    mu, sigma = first._encode(cases[0].ct.read())
    np.testing.assert_array_equal(cases[0].derived(names[0], None)["mu"].read(), mu.numpy())
    np.testing.assert_array_equal(cases[0].derived(names[0], None)["sigma"].read(), sigma.numpy())

    def no_encoding(self, ct):
        raise AssertionError("encoded again")

    monkeypatch.setattr(DiffusionTask, "_encode", no_encoding)
    monkeypatch.setattr(ControlNetTask, "_encode", no_encoding)
    again = DiffusionTask(spec, torch.device("cpu"), previous)
    again.prepare(cases)
    a, b = first.sampler(cases, np.random.default_rng(3)), again.sampler(cases, np.random.default_rng(3))
    assert first.scale == again.scale
    torch.manual_seed(0)
    one = [a.sample()[1] for _ in range(5)]
    torch.manual_seed(0)
    assert all(torch.equal(x, b.sample()[1]) for x in one)
    controlnet = ControlNetTask(spec, torch.device("cpu"), previous)
    assert controlnet.latents_name(True) == first.latents_name(True)
    mr, z = controlnet.sampler(cases, np.random.default_rng(3)).sample()
    assert mr.shape == (1, 1, 16, 16, 16) and z.shape == (1, 2, 8, 8, 8)
    monkeypatch.undo()
    retrained = write_brain_folder(tmp_path / "other", raw, seed=1)  # other autoencoder weights
    assert DiffusionTask(spec, torch.device("cpu"), retrained).latents_name(False) not in names
