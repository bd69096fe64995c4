"""Tests of the thorax phantom (tools.phantom.thorax): determinism, the tissues and their proportions, the CT and MR
of the lungs, the planning structures, the arms, the unseen anatomy's ranges and the grid's scale."""

import functools

import numpy as np
import pytest
import SimpleITK as sitk
from conftest import drawn
from scipy import ndimage

from tools.phantom import thorax
from tools.phantom.case import UNSEEN_STREAM
from tools.phantom.shapes import Drawn
from tools.phantom.tissues import Tissue

STRUCTURES = {"target", "lung_left", "lung_right", "heart", "spinal_cord"}
SEEDS = range(3)


@functools.cache
def _draw(seed: int, anatomy: str = "default", scale=(1.0, 1.0, 1.0)) -> Drawn:
    """The thorax of ``seed`` (drawn once per test session; tests only read it)."""
    return thorax.draw_labels(np.random.default_rng(seed), scale, thorax.ANATOMIES[anatomy])


def _centroid_x(mask: np.ndarray) -> float:
    return float(np.nonzero(mask)[2].mean())


# --------------------------------------------------------------------------- #
# the contract case.py relies on
# --------------------------------------------------------------------------- #
def test_module_contract():
    assert thorax.SPACING == (1.0, 1.0, 3.0)
    assert set(thorax.ANATOMIES) == {"default", "engine", "unseen"}
    assert thorax.ANATOMIES["default"] is thorax.DEFAULT_THORAX
    assert all(name == a.name for name, a in thorax.ANATOMIES.items())
    drawn_ = _draw(0)
    assert isinstance(drawn_, Drawn) and drawn_.ct_artefact is None
    assert drawn_.labels.dtype == np.uint8 and drawn_.labels.ndim == 3
    assert drawn_.spacing == (1.0, 1.0, 3.0) and all(type(s) is float for s in drawn_.spacing)
    assert set(drawn_.structures) == STRUCTURES
    for name, mask in drawn_.structures.items():
        assert mask.dtype == bool and mask.shape == drawn_.labels.shape, name


def test_default_field_of_view():
    for seed in SEEDS:
        nz, ny, nx = _draw(seed).labels.shape
        assert 55 <= nz <= 90 and 250 <= ny <= 350 and 360 <= nx <= 500


# --------------------------------------------------------------------------- #
# determinism
# --------------------------------------------------------------------------- #
def test_same_seed_is_bit_identical():
    first = _draw(1)
    again = thorax.draw_labels(np.random.default_rng(1))
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.spacing == again.spacing
    for name in STRUCTURES:
        np.testing.assert_array_equal(first.structures[name], again.structures[name])


def test_different_seeds_differ():
    labels = [_draw(seed).labels for seed in SEEDS]
    assert len({lab.shape for lab in labels}) >= 2
    a, b = labels[1], labels[2]
    common = tuple(slice(0, min(n, m)) for n, m in zip(a.shape, b.shape))
    assert (a[common] != b[common]).mean() > 0.05


def test_draws_only_from_its_generator():
    """The draw consumes the generator the same way every time: what follows it is the same too."""
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    thorax.draw_labels(rng_a)
    thorax.draw_labels(rng_b)
    assert rng_a.random() == rng_b.random()


# --------------------------------------------------------------------------- #
# tissues
# --------------------------------------------------------------------------- #
def test_expected_tissues_present():
    expected = {Tissue.AIR, Tissue.GAS, Tissue.FAT, Tissue.SOFT, Tissue.MARROW, Tissue.CORTICAL, Tissue.CSF,
                Tissue.LUNG, Tissue.LIVER, Tissue.BLOOD}
    for seed in SEEDS:
        present = set(np.unique(_draw(seed).labels).tolist())
        assert expected <= present, (seed, expected - present)
        assert present <= {int(t) for t in Tissue}
        assert not present & {Tissue.GREY, Tissue.WHITE, Tissue.VITREOUS, Tissue.DIPLOE, Tissue.ENAMEL, Tissue.METAL}


def test_lung_fraction_plausible():
    for seed in SEEDS:
        labels = _draw(seed).labels
        body = labels != Tissue.AIR
        lung = (labels == Tissue.LUNG).sum() / body.sum()
        assert 0.12 < lung < 0.45, (seed, lung)
        # a slice 60 % up (the middle of the lungs): lung is a fifth to a half of the trunk (the arms left out)
        mid = labels[labels.shape[0] * 6 // 10]
        pieces, _ = ndimage.label(mid != Tissue.AIR)
        trunk = pieces == np.argmax(np.bincount(pieces.ravel())[1:]) + 1
        assert 0.18 < (mid == Tissue.LUNG).sum() / trunk.sum() < 0.5, seed


def test_ribs_are_rings_of_bone_round_the_lungs():
    """In a mid-chest slice the bone lies round the lungs: several separate pieces on each side of the spine."""
    labels = _draw(0).labels
    for z in (labels.shape[0] // 3, labels.shape[0] // 2):
        bone = np.isin(labels[z], (Tissue.CORTICAL, Tissue.MARROW))
        pieces, n = ndimage.label(bone)
        lung_x = np.nonzero(labels[z] == Tissue.LUNG)[1]
        centres = ndimage.center_of_mass(bone, pieces, range(1, n + 1))
        left = sum(c[1] > lung_x.max() - 60 for c in centres)
        right = sum(c[1] < lung_x.min() + 60 for c in centres)
        assert left >= 2 and right >= 2, (z, left, right)


# --------------------------------------------------------------------------- #
# structures
# --------------------------------------------------------------------------- #
def test_structures_inside_the_body_and_plausible():
    for seed in SEEDS:
        d = _draw(seed)
        labels, st = d.labels, d.structures
        body = labels != Tissue.AIR
        for name in STRUCTURES:
            assert st[name].any() and not (st[name] & ~body).any(), (seed, name)
        assert set(np.unique(labels[st["lung_left"] | st["lung_right"]]).tolist()) <= {Tissue.LUNG, Tissue.BLOOD}
        assert not (st["target"] & (st["lung_left"] | st["lung_right"])).any()
        assert not (st["lung_left"] & st["lung_right"]).any()
        assert not (st["heart"] & (st["lung_left"] | st["lung_right"])).any()
        # LPS: the patient's left at high x; the heart left of the spinal cord, the liver right of it
        cord_x = _centroid_x(st["spinal_cord"])
        assert _centroid_x(st["lung_left"]) > cord_x + 40 > cord_x - 40 > _centroid_x(st["lung_right"])
        assert _centroid_x(st["heart"]) > cord_x
        assert _centroid_x(labels == Tissue.LIVER) < cord_x
        # the cord: soft tissue in a CSF sheath
        assert set(np.unique(labels[st["spinal_cord"]]).tolist()) == {Tissue.SOFT}
        sheath = ndimage.binary_dilation(st["spinal_cord"], np.ones((1, 3, 3), bool), iterations=2) & ~st["spinal_cord"]
        assert (labels[sheath] == Tissue.CSF).mean() > 0.5


def test_target_is_a_tumour_in_a_lung():
    for seed in SEEDS:
        d = _draw(seed)
        target, labels = d.structures["target"], d.labels
        assert set(np.unique(labels[target]).tolist()) == {Tissue.SOFT}
        volume = target.sum() * np.prod(d.spacing)
        radius = (volume * 3 / (4 * np.pi)) ** (1 / 3)
        assert 7 < radius < 35, radius
        # mostly surrounded by aerated lung, within one lung's side
        shell = ndimage.binary_dilation(target, np.ones((1, 3, 3), bool), iterations=3) & ~target
        assert np.isin(labels[shell], (Tissue.LUNG, Tissue.BLOOD)).mean() > 0.4
        sides = [(ndimage.binary_dilation(target, iterations=3) & d.structures[name]).sum()
                 for name in ("lung_left", "lung_right")]
        assert min(sides) == 0 < max(sides)


def test_ct_and_mr_of_the_lungs():
    """Lung is about -850 HU on CT and near zero on MR, where cortical bone is near zero too."""
    case = drawn("thorax", 0)
    assert case.case_id == "1THX0000" and case.region == "Thorax"
    assert set(case.structures) == STRUCTURES
    ct, mr = (sitk.GetArrayFromImage(im).astype(np.float32) for im in (case.ct, case.mr))
    labels = case.labels
    lung = ndimage.binary_erosion(labels == Tissue.LUNG, np.ones((1, 5, 5), bool))
    assert -900 < np.median(ct[lung]) < -760
    fat = ndimage.binary_erosion(labels == Tissue.FAT, np.ones((1, 5, 5), bool))
    assert np.median(mr[lung]) < 0.12 * np.median(mr[fat])
    assert np.median(ct[labels == Tissue.CORTICAL]) > 300  # blurred thin cortex: still bright on CT ...
    assert np.median(mr[labels == Tissue.CORTICAL]) < 0.35 * np.median(mr[fat])  # ... and dark on MR


# --------------------------------------------------------------------------- #
# arms, breasts, anatomies
# --------------------------------------------------------------------------- #
def _arms_in(labels: np.ndarray) -> bool:
    """Arms at the sides: the body falls into three pieces in a slice a quarter up (trunk and two arms)."""
    return ndimage.label(labels[labels.shape[0] // 4] != Tissue.AIR)[1] >= 3


def test_arms_in_and_out_both_happen():
    arms = [_arms_in(_draw(seed).labels) for seed in range(5)]
    assert any(arms) and not all(arms)
    for seed, arms_in in enumerate(arms):  # a humerus in each arm: bone far out beside the lower chest
        labels = _draw(seed).labels
        lower = labels[: labels.shape[0] // 2]
        bone_x = np.nonzero(np.isin(lower, (Tissue.CORTICAL, Tissue.MARROW)))[2]
        lung_x = np.nonzero(lower == Tissue.LUNG)[2]
        assert (bone_x.min() < lung_x.min() - 40 and bone_x.max() > lung_x.max() + 40) == arms_in, seed


def test_plans_cover_breasts_and_arms():
    """Over seeds, some cases have breasts (fibroglandular tissue: GLAND), some not; arms in and out."""
    plans = [thorax.draw_plan(np.random.default_rng(seed), thorax.DEFAULT_THORAX) for seed in range(12)]
    assert 0 < sum(bool(p.breasts) for p in plans) < len(plans)
    assert 0 < sum(bool(p.arms) for p in plans) < len(plans)
    seed = next(i for i, p in enumerate(plans) if p.breasts)
    assert (_draw(seed).labels == Tissue.GLAND).any()


def test_unseen_ranges_outside_the_engine():
    engine, unseen = thorax.ENGINE_THORAX, thorax.UNSEEN_THORAX
    assert unseen.extra_fat_mm[0] > engine.extra_fat_mm[1]  # very obese
    assert unseen.fat_mm[0] + unseen.extra_fat_mm[0] > engine.fat_mm[1] + engine.extra_fat_mm[1]
    assert unseen.heart_scale[0] > engine.heart_scale[1]  # cardiomegaly
    assert unseen.lung_height[1] < engine.lung_height[0]  # small lungs under a high diaphragm
    # the default lies inside the engine's ranges
    default = thorax.DEFAULT_THORAX
    for field in ("semi_x", "semi_y", "fat_mm", "lung_height", "dome_drop", "heart_scale", "heart_x", "rib_level",
                  "rib_drop", "arm_r", "arm_gap", "breast_mm", "tumour_r"):
        lo, hi = getattr(default, field)
        assert getattr(engine, field)[0] <= lo <= hi <= getattr(engine, field)[1], field


def test_unseen_draw_outside_the_engine():
    """make_case's unseen draw (its generator, its anatomy): the drawn properties lie outside the engine's."""
    engine = thorax.ENGINE_THORAX
    plan = thorax.draw_plan(np.random.default_rng([0, UNSEEN_STREAM]), thorax.UNSEEN_THORAX)
    assert plan.extra > engine.extra_fat_mm[1]
    assert plan.fat + plan.extra > engine.fat_mm[1] + engine.extra_fat_mm[1]
    assert plan.z_apex - plan.z_dome < engine.lung_height[0]
    default_heart = np.prod(thorax.draw_plan(np.random.default_rng(0), thorax.DEFAULT_THORAX).heart.radii)
    assert np.prod(plan.heart.radii) > 1.5 * default_heart
    labels = thorax.draw_labels(np.random.default_rng([0, UNSEEN_STREAM]), anatomy=thorax.UNSEEN_THORAX).labels
    body = labels != Tissue.AIR
    assert (labels == Tissue.FAT).sum() > 0.4 * body.sum()  # the default: a fifth to a third
    assert (labels == Tissue.FAT).sum() / body.sum() > max(
        (_draw(seed).labels == Tissue.FAT).sum() / (_draw(seed).labels != Tissue.AIR).sum() for seed in SEEDS)


@pytest.mark.slow
def test_engine_and_unseen_draws_are_valid():
    for anatomy in ("engine", "unseen"):
        for seed in range(3):
            d = _draw(seed, anatomy)
            assert all(d.structures[name].any() for name in STRUCTURES), (anatomy, seed)
            assert {Tissue.LUNG, Tissue.CORTICAL, Tissue.BLOOD} <= set(np.unique(d.labels).tolist())
            lo, hi = thorax.ANATOMIES[anatomy].fov_x
            assert lo <= d.labels.shape[2] <= hi


# --------------------------------------------------------------------------- #
# scale
# --------------------------------------------------------------------------- #
def test_scale_changes_the_grid_not_the_anatomy():
    full = _draw(0)
    half = _draw(0, scale=(0.5, 0.5, 1.0))
    nz, ny, nx = full.labels.shape
    assert half.labels.shape == (nz, round(ny / 2), round(nx / 2))
    assert half.spacing == (2.0, 2.0, 3.0)
    for tissue in (Tissue.LUNG, Tissue.FAT, Tissue.SOFT, Tissue.BLOOD):
        a = (full.labels == tissue).mean()
        b = (half.labels == tissue).mean()
        assert abs(a - b) < 0.1 * a + 0.002, (tissue, a, b)
    for name in ("target", "heart", "lung_left"):
        a = full.structures[name].sum() * np.prod(full.spacing)
        b = half.structures[name].sum() * np.prod(half.spacing)
        assert abs(a - b) < 0.15 * a, (name, a, b)
