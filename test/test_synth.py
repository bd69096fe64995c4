"""The data engine (tools.synth): anatomy ranges, random contrasts, rendering, the pool and training on it."""
from __future__ import annotations

import copy
import csv
import json
import resource
from dataclasses import replace

import numpy as np
import pytest

from conftest import TINY_CONFIG, drawn, killed_during_step
from model.config import MRFamilies, SynthData
from tools.metrics.tissue import CLASSES, format_tissue_table, mean_table, tissue_table, worse_than_water
from tools.phantom import Tissue, make_case
from tools.phantom.pelvis import DEFAULT_PELVIS, ENGINE_PELVIS, UNSEEN_PELVIS
from tools.synth.anatomy import make_anatomy, spacing_scale
from tools.synth.contrast import MR_FAMILIES, mr_lut
from tools.synth.pool import AnatomyPool, EngineSampler, read_block
from tools.synth.render import render_ct, render_mr
from tools.synth.spatial import deform, source_size
from tools.train.__main__ import main as train_main
from tools.train.loader import Batches

SMALL = (0.25, 0.25, 0.5)  # voxels per phantom voxel (x, y, z): a pelvis at 4 x 4 x 5 mm, fast to draw
SPACING = (5.0, 4.0, 4.0)  # z, y, x mm


def test_the_engine_ranges_hold_the_default_anatomy_and_the_unseen_set_lies_outside():
    for name in ("semi_x", "semi_y", "fat_mm", "head_r", "loop_radius", "rectum_r", "gas_level"):
        (lo, hi), (elo, ehi) = getattr(DEFAULT_PELVIS, name), getattr(ENGINE_PELVIS, name)
        assert elo <= lo and hi <= ehi, name
    for (lo, hi), (elo, ehi) in zip(DEFAULT_PELVIS.bladder_radii, ENGINE_PELVIS.bladder_radii):
        assert elo <= lo and hi <= ehi
    # unseen: more fat, a fuller bladder, wider loops and more gas than training ever draws
    assert UNSEEN_PELVIS.extra_fat_mm[0] > ENGINE_PELVIS.extra_fat_mm[1]
    assert all(u[0] > e[1] for u, e in zip(UNSEEN_PELVIS.bladder_radii, ENGINE_PELVIS.bladder_radii))
    assert UNSEEN_PELVIS.loop_radius[0] >= ENGINE_PELVIS.loop_radius[1]
    assert UNSEEN_PELVIS.gas_level[0] >= ENGINE_PELVIS.gas_level[1]


@pytest.mark.slow
def test_unseen_anatomy_cases_are_their_own_stream_fatter_and_thicker_skulled():
    default, unseen = drawn("pelvis", 3), make_case("pelvis", 3, anatomy="unseen")
    assert unseen.case_id == "1PU0003"
    share = lambda case: np.mean(case.labels[case.labels != Tissue.AIR] == Tissue.FAT)  # noqa: E731
    assert share(unseen) > share(default) + 0.2
    head, thick = drawn("brain", 3), make_case("brain", 3, anatomy="unseen")
    assert thick.case_id == "1BU0003"
    bone = lambda case: np.mean(np.isin(case.labels, (Tissue.CORTICAL, Tissue.DIPLOE)))  # noqa: E731
    assert bone(thick) > bone(head) and share(thick) > share(head)
    with pytest.raises(ValueError, match="default acquisition"):
        make_case("pelvis", 3, acquisition="second-centre", anatomy="unseen")


@pytest.mark.parametrize("family", MR_FAMILIES)
def test_every_mr_family_keeps_gas_and_cortical_bone_dark_and_air_zero(family):
    rng = np.random.default_rng(0)
    for _ in range(20):
        lut = mr_lut(rng, family)
        assert lut[Tissue.AIR] == 0 and lut[Tissue.GAS] <= 0.08 and lut[Tissue.CORTICAL] <= 0.08
        assert (lut >= 0).all()


def test_contrasts_come_in_any_order_and_cover_t2_bright_urine():
    rng = np.random.default_rng(1)
    ratios, fat_darker_than_soft = [], 0
    for _ in range(400):
        lut = mr_lut(rng, ["t1", "t2", "pd", "fat_suppressed", "inverted", "random"][rng.integers(6)])
        ratios.append(lut[Tissue.URINE] / lut[Tissue.FAT])
        fat_darker_than_soft += lut[Tissue.FAT] < lut[Tissue.SOFT]
    ratios = np.array(ratios)
    assert ((ratios > 1.3) & (ratios < 1.6)).mean() > 0.05  # the T2-urine held-out look is inside training
    assert (ratios < 0.2).mean() > 0.1  # and T1-dark urine too
    assert 40 < fat_darker_than_soft < 360


def test_an_identity_deformation_reads_the_centre_of_the_block():
    settings = SynthData(rotation_deg=0, scale=(1.0, 1.0), elastic_mm=0)
    block = np.random.default_rng(0).integers(0, 13, (13, 21, 21)).astype(np.uint8)
    out = deform(block, (5, 9, 9), settings, (2.5, 1, 1), np.random.default_rng(0))
    assert np.array_equal(out, block[4:9, 6:15, 6:15])
    size = source_size((32, 128, 128), SynthData(), (2.5, 1, 1))
    assert size[0] > 32 and size[1] > 128


def test_rendering_is_seeded_in_range_and_dark_outside_the_body():
    labels, _ = make_anatomy("Pelvis", 0, 0, SMALL)
    histogram = np.bincount(labels[labels > 0], minlength=len(Tissue))
    patch = labels[labels.shape[0] // 2 - 4: labels.shape[0] // 2 + 4]
    settings = SynthData()
    mr1 = render_mr(patch, histogram, (0.5, 99.5), settings, np.random.default_rng(5))
    mr2 = render_mr(patch, histogram, (0.5, 99.5), settings, np.random.default_rng(5))
    assert np.array_equal(mr1, mr2) and mr1.min() >= -1 and mr1.max() <= 1
    assert (mr1[patch == Tissue.AIR] == -1).all() and mr1[patch != Tissue.AIR].std() > 0.05
    ct = render_ct(patch, settings, np.random.default_rng(5))
    assert ct.min() >= -1024 and ct.max() <= 3071
    assert abs(np.median(ct[patch == Tissue.FAT]) + 95) < 40 and np.median(ct[patch == Tissue.CORTICAL]) > 400  # thin, blurred at 4 mm


def test_read_block_pads_with_air_where_it_leaves_the_array(tmp_path):
    from tools.dataset.cache import ArrayFile

    array = np.arange(4 * 6 * 6, dtype=np.uint8).reshape(4, 6, 6) % 12 + 1
    np.save(tmp_path / "a.npy", array)
    block = read_block(ArrayFile(tmp_path / "a.npy"), (0, 0, 5), (3, 4, 4))
    assert block.shape == (3, 4, 4)
    assert (block[0] == Tissue.AIR).all() and (block[:, :2] == Tissue.AIR).all()
    assert np.array_equal(block[1:, 2:, :3], array[:2, :2, 3:6])


def sampler(tmp_path, seed=0, **settings):
    pool = AnatomyPool(tmp_path, "Pelvis", 0, SMALL)
    engine = SynthData(**{"pool_size": 2, "refresh_every": 8, **settings})
    return EngineSampler(pool, engine, (8, 32, 32), SPACING, (0.5, 99.5), np.random.default_rng(seed), True)


def test_the_pool_slides_and_a_restored_state_gives_the_same_patches(tmp_path):
    first = sampler(tmp_path)
    for _ in range(8):
        first.draw()
    state = first.state()
    patches = [first.sample() for _ in range(12)]
    assert first.draws == 20
    assert sorted(p.name for p in first.pool.root.glob("0*")) == ["000001", "000002", "000003"]  # round 2: 0 left
    again = sampler(tmp_path, seed=99)
    again.set_state(state)
    for (mr, ct), (mr2, ct2) in zip(patches, (again.sample() for _ in range(12))):
        assert np.array_equal(mr.numpy(), mr2.numpy()) and np.array_equal(ct.numpy(), ct2.numpy())
    assert mr.shape == (1, 1, 8, 32, 32) and mr.min() >= -1 and ct.max() <= 1


def test_batches_keep_the_engines_state_and_loader_workers_give_the_same_patches(tmp_path):
    alone = Batches(sampler(tmp_path / "a"), workers=0)
    forked = Batches(sampler(tmp_path / "b"), workers=1)
    try:
        for _ in range(3):
            (mr, ct), (mr2, ct2) = next(alone), next(forked)
            assert np.array_equal(mr.numpy(), mr2.numpy()) and np.array_equal(ct.numpy(), ct2.numpy())
        assert forked.rng_state()["draws"] == 3 and alone.rng_state()["draws"] == 3
    finally:
        forked.close()


def test_spacing_scale_fits_the_anatomy_to_the_models_voxels():
    assert spacing_scale("Pelvis", None) == (1.0, 1.0, 1.0)
    assert spacing_scale("Pelvis", SPACING) == SMALL
    assert make_anatomy("Pelvis", 0, 1, SMALL)[0].shape[1] < 100


def test_a_family_weight_config_is_checked():
    with pytest.raises(ValueError, match="at least one"):
        MRFamilies(t1=0, t2=0, pd=0, fat_suppressed=0, inverted=0, random=0)
    assert replace(SynthData(), pool_size=3).pool_size == 3


def test_tissue_table_splits_by_the_cts_classes_and_scores_water_beside():
    gt = np.array([-1000, -300, -100, 40, 400, 1200, 40, 40], np.float32)
    pred = np.array([-900, -300, -50, 200, 100, 1300, 0, 80], np.float32)
    mask = np.ones_like(gt)
    mask_out = np.concatenate([mask, [0]])  # a voxel outside the body is not counted
    table = tissue_table(np.concatenate([gt, [3000]]), np.concatenate([pred, [-1000]]), mask_out)
    rows = table["classes"]
    assert [name for name, _, _ in CLASSES] == list(rows)
    assert rows["gas"]["mae"] == 100 and rows["gas"]["water_mae"] == 1000 and rows["gas"]["share"] == 1 / 8
    assert rows["soft tissue"]["mae"] == pytest.approx(80) and rows["soft tissue"]["water_mae"] == 40
    assert rows["soft tissue"]["mean_error"] == pytest.approx(160 / 3)
    assert rows["spongy bone"]["mae"] == 300 and rows["spongy bone"]["mean_error"] == -300
    assert table["bone_dice"] == pytest.approx(2 / 3)  # CT bone: 400 and 1200 HU; sCT: 1300 only
    assert worse_than_water(table) == ["soft tissue"]
    pooled = mean_table([table, tissue_table(gt[:1], gt[:1], mask[:1])])
    assert pooled["classes"]["gas"]["mae"] == 50 and pooled["classes"]["gas"]["voxels"] == 2


def test_the_interior_of_a_class_leaves_out_its_edges():
    """Soft tissue (40 HU) beside lung (-800 HU) in a 3-D block: the sCT is 500 HU off on the two planes at the
    boundary and exact elsewhere. The class is worse than water; its interior (2 voxels from the lung and the
    body's edge) is exact, and water's interior MAE is the tissue's HU."""
    gt = np.full((12, 12, 12), 40.0, np.float32)
    gt[:, :, :6] = -800.0
    pred = gt.copy()
    pred[:, :, 5:7] += 500.0  # the boundary blurred
    mask = np.zeros_like(gt)
    mask[1:11, 1:11, 1:11] = 1
    table = tissue_table(gt, pred, mask)
    soft, gas = table["classes"]["soft tissue"], table["classes"]["gas"]
    assert soft["voxels"] == 10 * 10 * 5 and soft["mae"] == pytest.approx(100.0) and soft["water_mae"] == 40
    assert worse_than_water(table) == ["soft tissue"]
    # interior: x from 6 + 2 = 8 to 10 - 2 = 8 (one plane; x=10 is the body's last), y and z 3..8
    assert soft["interior_voxels"] == 6 * 6 * 1 and soft["interior_mae"] == 0 and soft["interior_water_mae"] == 40
    assert gas["interior_voxels"] == 6 * 6 * 1 and gas["interior_mae"] == 0  # x 3 only (1 + 2 .. 5 - 2)
    pooled = mean_table([table, table])
    assert pooled["classes"]["soft tissue"]["interior_voxels"] == 72
    assert pooled["classes"]["soft tissue"]["interior_water_mae"] == 40
    assert "interior" in format_tissue_table(table)


ENGINE_CONFIG = copy.deepcopy(TINY_CONFIG)
del ENGINE_CONFIG["weights"]
ENGINE_CONFIG["preprocessing"]["spacing_mm"] = list(SPACING)
ENGINE_CONFIG["training"] = {
    "iterations": 4, "patch_size": [16, 32, 32], "flip_lr": True, "lr": 1e-3, "val_cases": 1, "val_interval": 2,
    "checkpoint_interval": 2, "log_interval": 1, "seed": 0, "engine": {"pool_size": 2, "refresh_every": 8},
}


@pytest.fixture(scope="module")
def validation_data(tmp_path_factory):
    from tools.phantom import write_case

    root = tmp_path_factory.mktemp("engine-val")
    write_case(drawn("pelvis", 0), root, layout="dataset", fmt="mha")
    return root


def engine_train(data, out, config, *extra):
    path = out.parent / f"{out.name}.json"
    path.write_text(json.dumps(config))
    return train_main(["pix2pix", "--data", str(data), "--config", str(path), "--out", str(out), "--device", "cpu",
                       "--cache", str(out.parent / "cache"), *extra])


@pytest.mark.slow
def test_training_on_the_engine_validates_on_data_and_resumes_exactly(validation_data, tmp_path, monkeypatch):
    import torch

    from tools.train.tasks.pix2pix import Pix2PixTask

    straight = tmp_path / "straight"
    assert engine_train(validation_data, straight, ENGINE_CONFIG) == 0
    with open(straight / "val_log.csv") as f:
        assert {r["case"] for r in csv.DictReader(f)} == {"1PX0000", "mean"}
    assert list((tmp_path / "cache" / "engine").iterdir())  # the pool lives in the case cache

    out = tmp_path / "run"
    with killed_during_step(monkeypatch, Pix2PixTask, 3):  # iteration 3, after the checkpoint at 2
        engine_train(validation_data, out, ENGINE_CONFIG)
    assert engine_train(validation_data, out, ENGINE_CONFIG, "--resume") == 0
    resumed = torch.load(out / "checkpoints" / "last.pt", weights_only=False)
    reference = torch.load(straight / "checkpoints" / "last.pt", weights_only=False)
    for key, value in reference["nets"]["generator"].items():
        torch.testing.assert_close(resumed["nets"]["generator"][key], value, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_engine_memory_stays_flat_as_anatomies_come_and_go(tmp_path):
    """Forty patches through four refreshes of the pool: the resident set grows by less than 60 MiB after the
    first round (each anatomy is read from its files, and those that left are deleted)."""
    engine = sampler(tmp_path)
    for _ in range(8):
        engine.sample()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(40):
        engine.sample()
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 60, grown_mib
    assert len(list(engine.pool.root.glob("0*"))) <= engine.settings.pool_size + 1
    assert len(engine._open) <= 2 * engine.settings.pool_size + 1  # files of anatomies that left are closed


def test_a_mixed_sampler_cuts_its_share_from_the_cases_and_the_rest_from_the_engine(tmp_path):
    from tools.dataset.cases import PatchSampler, UnitCase
    from tools.synth.pool import MixedSampler

    engine = sampler(tmp_path)
    case = UnitCase("1PX0000", np.full((20, 40, 40), 0.5, np.float32), np.full((20, 40, 40), 0.25, np.float32),
                    np.array([[10, 20, 20]]))
    mixed = MixedSampler(PatchSampler([case], (16, 32, 32), engine.rng), engine, 0.25)
    drawn = [mixed.draw() for _ in range(200)]
    share = np.mean([source == "cases" for source, _ in drawn])
    assert 0.15 < share < 0.35 and engine.draws == sum(source == "engine" for source, _ in drawn)
    mr, ct = mixed.cut(next(d for d in drawn if d[0] == "cases"))
    assert float(mr.mean()) == 0.5 and float(ct.mean()) == 0.25
    with pytest.raises(ValueError, match="one random stream"):
        MixedSampler(PatchSampler([case], (16, 32, 32), np.random.default_rng(0)), engine, 0.5)


def test_the_engine_refuses_a_region_it_cannot_draw_naming_the_setting(validation_data, tmp_path, capsys):
    config = copy.deepcopy(ENGINE_CONFIG)
    config["region"] = "Knee"
    assert engine_train(validation_data, tmp_path / "run", config) == 1
    assert ("training.engine: the data engine draws Pelvis, Brain, Head and Neck, Thorax, Abdomen anatomy, not Knee"
            in capsys.readouterr().err)


@pytest.mark.slow
def test_the_command_writes_whole_engine_cases_that_read_as_training_data(tmp_path, capsys):
    from tools.dataset.cases import find_cases, load_training_case
    from tools.synth.__main__ import main

    main(["--region", "pelvis", "--cases", "1", "--first", "3", "--out", str(tmp_path), "--format", "mha"])
    assert "1PE0003 Pelvis MR" in capsys.readouterr().out
    case = load_training_case("1PE0003", find_cases(tmp_path)["1PE0003"], (0.5, 99.5))  # the container's checks
    assert case.mr_unit.shape == case.ct.shape and case.ct.min() >= -1024 and case.inputs.body.any()
    labels, _ = make_anatomy("Pelvis", 0, 3)
    assert labels.shape == case.ct.shape
