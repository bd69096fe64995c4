"""Tests of the abdomen phantom (tools.phantom.abdomen): the contract case.py relies on, determinism and scale,
the anatomy (tissues, sides, structures) and the ranges of the default, engine and unseen anatomies."""
from dataclasses import fields

import numpy as np
import pytest
from scipy import ndimage

from tools.phantom import abdomen
from tools.phantom.abdomen import (
    ANATOMIES,
    DEFAULT_ABDOMEN,
    ENGINE_ABDOMEN,
    SPACING,
    UNSEEN_ABDOMEN,
    draw_case,
    draw_labels,
)
from tools.phantom.shapes import Drawn
from tools.phantom.tissues import Tissue

SEEDS = range(3)
STRUCTURES = {"target", "liver", "kidney_left", "kidney_right", "bowel", "stomach", "pancreas", "spinal_cord"}


def _draw(seed, anatomy=DEFAULT_ABDOMEN, scale=(1.0, 1.0, 1.0)) -> Drawn:
    return draw_labels(np.random.default_rng(seed), scale, anatomy)


@pytest.fixture(scope="module")
def drawn():
    """Default draws of seeds 0..2 (drawn once for the module)."""
    return {seed: _draw(seed) for seed in SEEDS}


@pytest.fixture(scope="module")
def engine_and_unseen():
    """Engine draws of four seeds and unseen draws of two (about 6 s in all)."""
    return ([_draw([seed, 1], ENGINE_ABDOMEN) for seed in range(4)],
            [_draw([seed, 2], UNSEEN_ABDOMEN) for seed in range(2)])


def _centroid_x(mask, spacing) -> float:
    """Mean x (mm, relative to the array's centre column) of a (z, y, x) mask."""
    xs = np.nonzero(mask)[2]
    return float((xs.mean() - (mask.shape[2] - 1) / 2) * spacing[0])


def _share(labels, *tissues) -> float:
    """Share of the body's voxels that are one of ``tissues``."""
    return float(np.isin(labels, tissues).sum() / (labels != Tissue.AIR).sum())


# --------------------------------------------------------------------------------------------------------------- #
# the contract
# --------------------------------------------------------------------------------------------------------------- #
def test_contract(drawn):
    assert SPACING == (1.0, 1.0, 3.0)
    assert set(ANATOMIES) == {"default", "engine", "unseen"}
    assert all(ANATOMIES[name].name == name for name in ANATOMIES)
    for d in drawn.values():
        assert isinstance(d, Drawn) and d.ct_artefact is None
        assert d.labels.dtype == np.uint8 and d.spacing == SPACING
        nz, ny, nx = d.labels.shape
        assert 40 <= nz <= 60 and 250 <= ny <= 330 and 350 <= nx <= 480
        assert set(d.structures) == STRUCTURES
        assert all(m.dtype == bool and m.shape == d.labels.shape for m in d.structures.values())
        assert set(np.unique(d.labels)) <= {t.value for t in Tissue}


def test_same_seed_is_bit_identical_and_seeds_differ(drawn):
    again = _draw(1)
    np.testing.assert_array_equal(again.labels, drawn[1].labels)
    for name, mask in again.structures.items():
        np.testing.assert_array_equal(mask, drawn[1].structures[name])
    assert len({d.labels.shape for d in drawn.values()}) == len(drawn)


def test_scale_changes_voxels_not_anatomy(drawn):
    coarse = _draw(0, scale=(0.5, 0.5, 1.5))
    fine = drawn[0]
    assert coarse.spacing == (2.0, 2.0, 2.0)
    assert coarse.labels.shape == tuple(round(n * f) for n, f in zip(fine.labels.shape, (1.5, 0.5, 0.5)))

    def volume(d, mask):
        return mask.sum() * np.prod(d.spacing)

    for tissue in (Tissue.LIVER, Tissue.KIDNEY, Tissue.FAT):
        assert volume(coarse, coarse.labels == tissue) == pytest.approx(volume(fine, fine.labels == tissue), rel=0.03)
    assert volume(coarse, coarse.labels != 0) == pytest.approx(volume(fine, fine.labels != 0), rel=0.02)
    for name in ("target", "liver", "kidney_left", "bowel"):
        assert volume(coarse, coarse.structures[name]) == pytest.approx(volume(fine, fine.structures[name]), rel=0.05)


# --------------------------------------------------------------------------------------------------------------- #
# the anatomy
# --------------------------------------------------------------------------------------------------------------- #
def test_tissues_present(drawn):
    for seed, d in drawn.items():
        present = set(np.unique(d.labels))
        for tissue in (Tissue.LIVER, Tissue.SPLEEN, Tissue.KIDNEY, Tissue.BLOOD, Tissue.BOWEL, Tissue.GAS,
                       Tissue.CORTICAL, Tissue.MARROW, Tissue.FAT, Tissue.SOFT, Tissue.CSF, Tissue.LUNG):
            assert tissue in present, (seed, tissue.name)


def test_lung_at_the_top_and_liver_below_it(drawn):
    for d in drawn.values():
        labels, quarter = d.labels, d.labels.shape[0] // 4
        top, bottom = labels[-quarter:], labels[:quarter]
        assert _share(top, Tissue.LUNG) > 0.02
        assert _share(top, Tissue.LUNG) > 5 * _share(bottom, Tissue.LUNG)
        # the lung bases lie behind the liver and spleen (posteriorly: large y)
        lung_y = np.nonzero(top == Tissue.LUNG)[1].mean()
        liver_y = np.nonzero(labels == Tissue.LIVER)[1].mean()
        assert lung_y > liver_y


def test_gas_present_and_varying(drawn):
    gas = [_share(d.labels, Tissue.GAS) for d in drawn.values()]
    assert min(gas) > 0.001
    assert max(gas) > 1.5 * min(gas)


def test_sides(drawn):
    """LPS: the patient's left is +x. Kidneys either side of the cord, the liver right, the spleen left."""
    for d in drawn.values():
        cord = _centroid_x(d.structures["spinal_cord"], d.spacing)
        assert _centroid_x(d.structures["kidney_left"], d.spacing) > cord + 40
        assert _centroid_x(d.structures["kidney_right"], d.spacing) < cord - 40
        assert _centroid_x(d.labels == Tissue.LIVER, d.spacing) < cord - 20
        assert _centroid_x(d.labels == Tissue.SPLEEN, d.spacing) > cord + 50


def test_structures_inside_the_body_and_made_of_their_tissues(drawn):
    for d in drawn.values():
        labels, s = d.labels, d.structures
        for name, mask in s.items():
            assert mask.sum() > 100, name
            assert np.all(labels[mask] != Tissue.AIR), name
        assert np.mean(labels[s["liver"]] == Tissue.LIVER) > 0.9
        for side in ("kidney_left", "kidney_right"):
            assert np.mean(labels[s[side]] == Tissue.KIDNEY) > 0.6
        assert set(np.unique(labels[s["bowel"]])) <= {Tissue.SOFT, Tissue.BOWEL, Tissue.GAS}
        assert set(np.unique(labels[s["stomach"]])) <= {Tissue.SOFT, Tissue.BOWEL, Tissue.GAS}
        assert set(np.unique(labels[s["spinal_cord"]])) == {Tissue.SOFT}
        assert np.all(labels[s["target"]] == Tissue.SOFT)
        # the spinal canal's CSF surrounds the cord
        assert np.any(ndimage.binary_dilation(s["spinal_cord"], iterations=3) & (labels == Tissue.CSF))
        names = sorted(s)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                assert not np.any(s[a] & s[b]), (a, b)


TARGET_SEEDS = range(3, 9)  # four in the liver, two in the pancreas


@pytest.mark.parametrize("seed", TARGET_SEEDS)
def test_target_in_its_organ(seed):
    """The tumour lies in the liver (touching it all round) or in the pancreas; its size is the drawn one."""
    case = draw_case(np.random.default_rng([seed, 9]))
    d = _draw([seed, 9], scale=(0.5, 0.5, 1.0))  # coarse: fast
    target = d.structures["target"]
    organ = d.structures["liver" if case.liver_tumour else "pancreas"]
    shell = ndimage.binary_dilation(target, iterations=2) & ~target
    touching = (shell & organ).sum() / shell.sum()
    assert touching > (0.3 if case.liver_tumour else 0.05)
    volume = target.sum() * np.prod(d.spacing)
    assert volume < 4 / 3 * np.pi * (1.15 * case.tumour_r) ** 3 * 1.05
    assert volume > (0.2 if case.liver_tumour else 0.05) * 4 / 3 * np.pi * case.tumour_r ** 3


def test_targets_in_both_organs_over_seeds():
    sites = [draw_case(np.random.default_rng([seed, 9])).liver_tumour for seed in TARGET_SEEDS]
    assert 0 < sum(sites) < len(sites)


def test_arms_in_sometimes():
    arms = [draw_case(np.random.default_rng(seed)).arms_in for seed in range(20)]
    assert 0 < sum(arms) < 12
    d = _draw(next(s for s, a in enumerate(arms) if a), scale=(0.5, 0.5, 1.0))
    body = ndimage.label(d.labels[d.labels.shape[0] // 2] != Tissue.AIR)[1]
    assert body >= 2  # the trunk and at least one arm, apart


# --------------------------------------------------------------------------------------------------------------- #
# the anatomies' ranges
# --------------------------------------------------------------------------------------------------------------- #
RANGES = [f.name for f in fields(abdomen.AbdomenAnatomy) if isinstance(getattr(DEFAULT_ABDOMEN, f.name), tuple)]
#: what the unseen anatomy changes, each outside the engine's range (above it)
UNSEEN_ABOVE = ["fat_mm", "extra_fat_mm", "liver_scale", "spleen_scale", "loop_radius", "loop_gas_p", "gas_level",
                "colon_r", "stomach_gas"]


def test_engine_ranges_contain_the_default():
    for name in RANGES:
        (lo, hi), (elo, ehi) = getattr(DEFAULT_ABDOMEN, name), getattr(ENGINE_ABDOMEN, name)
        assert elo <= lo and hi <= ehi, name
    wider = [n for n in RANGES if getattr(ENGINE_ABDOMEN, n) != getattr(DEFAULT_ABDOMEN, n)]
    assert len(wider) >= 15


def test_unseen_ranges_lie_outside_the_engine():
    for name in UNSEEN_ABOVE:
        assert getattr(UNSEEN_ABDOMEN, name)[0] > getattr(ENGINE_ABDOMEN, name)[1], name
    for seed in range(20):
        case = draw_case(np.random.default_rng([seed, 3]), UNSEEN_ABDOMEN)
        assert case.fat > ENGINE_ABDOMEN.fat_mm[1] and case.extra_fat > ENGINE_ABDOMEN.extra_fat_mm[1]
        assert case.liver_scale > ENGINE_ABDOMEN.liver_scale[1]
        assert case.spleen_scale > ENGINE_ABDOMEN.spleen_scale[1]
        assert case.loop_gas_p > ENGINE_ABDOMEN.loop_gas_p[1]


@pytest.mark.slow
def test_unseen_draws_fatter_with_larger_livers_and_more_gas(engine_and_unseen):
    engine, unseen = engine_and_unseen
    fat = [_share(d.labels, Tissue.FAT) for d in engine]
    assert min(_share(d.labels, Tissue.FAT) for d in unseen) > max(fat)
    assert max(fat) > 1.2 * min(fat)  # thin to obese

    def liver_ml(d):
        return (d.labels == Tissue.LIVER).sum() * np.prod(d.spacing) / 1e3

    assert min(liver_ml(d) for d in unseen) > np.median([liver_ml(d) for d in engine])

    def gas_ml(d):
        return (d.labels == Tissue.GAS).sum() * np.prod(d.spacing) / 1e3

    assert min(gas_ml(d) for d in unseen) > np.median([gas_ml(d) for d in engine])
