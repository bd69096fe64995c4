"""Tests of the head-and-neck phantom (tools.phantom.headneck): the draw's contract, its anatomy, its structures,
the CT streaks of dental fillings (and their absence on MR), the unseen anatomy and the grid's scale."""
from dataclasses import fields

import numpy as np
import pytest
import SimpleITK as sitk
from conftest import drawn
from scipy import ndimage

from tools.phantom import headneck
from tools.phantom.headneck import (
    ANATOMIES,
    DEFAULT_HEADNECK,
    ENGINE_HEADNECK,
    SPACING,
    UNSEEN_HEADNECK,
    draw_labels,
)
from tools.phantom.shapes import Drawn
from tools.phantom.tissues import Tissue

SEEDS = range(6)
REQUIRED = (Tissue.ENAMEL, Tissue.CORTICAL, Tissue.MARROW, Tissue.GAS, Tissue.GLAND, Tissue.BLOOD, Tissue.FAT,
            Tissue.SOFT, Tissue.CSF)
STRUCTURES = ("target", "spinal_cord", "parotid_left", "parotid_right", "larynx", "oral_cavity", "mandible")


def _draw(seed: int, anatomy=DEFAULT_HEADNECK, scale=(1.0, 1.0, 1.0)) -> Drawn:
    return draw_labels(np.random.default_rng(seed), scale, anatomy)


@pytest.fixture(scope="module")
def default_draws():
    """The default anatomy's draws of seeds 0..5."""
    return {seed: _draw(seed) for seed in SEEDS}


@pytest.fixture(scope="module")
def metal_seed(default_draws):
    """A default seed whose draw holds fillings."""
    return next(seed for seed, d in default_draws.items() if d.ct_artefact is not None)


def _centre_x(mask) -> float:
    return float(np.nonzero(mask)[2].mean())


# --------------------------------------------------------------------------- #
# the contract
# --------------------------------------------------------------------------- #
def test_anatomies_and_spacing():
    assert SPACING == (1.0, 1.0, 3.0)
    assert set(ANATOMIES) == {"default", "engine", "unseen"}
    assert ANATOMIES["default"] is DEFAULT_HEADNECK and ANATOMIES["engine"] is ENGINE_HEADNECK
    assert ANATOMIES["unseen"] is UNSEEN_HEADNECK


def test_engine_ranges_hold_the_default():
    """Every range of the engine contains the default's (the engine trains on everything the default draws)."""
    for field in fields(DEFAULT_HEADNECK):
        default, engine = getattr(DEFAULT_HEADNECK, field.name), getattr(ENGINE_HEADNECK, field.name)
        if isinstance(default, tuple):
            assert engine[0] <= default[0] and engine[1] >= default[1], field.name


def test_draw_is_deterministic(default_draws):
    first, again = default_draws[3], _draw(3)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.spacing == again.spacing
    assert first.structures.keys() == again.structures.keys()
    for name in first.structures:
        np.testing.assert_array_equal(first.structures[name], again.structures[name])
    if first.ct_artefact is None:
        assert again.ct_artefact is None
    else:
        np.testing.assert_array_equal(first.ct_artefact, again.ct_artefact)
    other = default_draws[4]
    assert first.labels.shape != other.labels.shape or not np.array_equal(first.labels, other.labels)


def test_drawn_types_and_field_of_view(default_draws):
    for d in default_draws.values():
        assert isinstance(d, Drawn)
        assert d.labels.dtype == np.uint8 and d.labels.ndim == 3
        assert d.spacing == SPACING
        nz, ny, nx = d.labels.shape
        assert 50 <= nz <= 80
        assert DEFAULT_HEADNECK.fov_x[0] <= nx <= DEFAULT_HEADNECK.fov_x[1]
        assert DEFAULT_HEADNECK.fov_y[0] <= ny <= DEFAULT_HEADNECK.fov_y[1]
        assert set(np.unique(d.labels)) <= {int(t) for t in Tissue}
        for name, mask in d.structures.items():
            assert mask.dtype == bool and mask.shape == d.labels.shape, name
        if d.ct_artefact is not None:
            assert d.ct_artefact.dtype == np.float32 and d.ct_artefact.shape == d.labels.shape
        # the head and neck fit the field of view in y (front and back never cut); the shoulders may be cut in x
        body = d.labels != Tissue.AIR
        assert not body[:, 0, :].any() and not body[:, -1, :].any()
        assert not body[nz // 2:, :, 0].any() and not body[nz // 2:, :, -1].any()


def test_scale_keeps_the_anatomy_in_mm():
    coarse, fine = _draw(2), _draw(2, scale=(1.0, 1.0, 1.5))
    nz, ny, nx = coarse.labels.shape
    assert fine.labels.shape == (round(nz * 1.5), ny, nx)
    assert fine.spacing == (1.0, 1.0, 2.0)
    for tissue in (Tissue.SOFT, Tissue.FAT, Tissue.MARROW, Tissue.CORTICAL, Tissue.GAS):
        a, b = (np.mean(d.labels == tissue) for d in (coarse, fine))
        assert abs(a - b) < 0.12 * a, tissue.name
    half = _draw(2, scale=(0.5, 0.5, 1.0))
    assert half.labels.shape == (nz, round(ny * 0.5), round(nx * 0.5)) and half.spacing == (2.0, 2.0, 3.0)


# --------------------------------------------------------------------------- #
# anatomy
# --------------------------------------------------------------------------- #
def test_expected_tissues(default_draws):
    for seed, d in default_draws.items():
        present = set(np.unique(d.labels).tolist())
        missing = [t.name for t in REQUIRED if t not in present]
        assert not missing, (seed, missing)
        # the default field of view reaches below the sternal notch: lung apices in the lowest slices
        lung = np.nonzero((d.labels == Tissue.LUNG).any(axis=(1, 2)))[0]
        assert len(lung) and lung.min() == 0, seed
        # metal exactly when fillings were drawn (the artefact comes with them)
        assert (d.labels == Tissue.METAL).any() == (d.ct_artefact is not None), seed
    assert any(d.ct_artefact is None for d in default_draws.values())
    assert any(d.ct_artefact is not None for d in default_draws.values())


def test_teeth_lie_in_the_arches_above_the_neck(default_draws):
    for d in default_draws.values():
        enamel = np.nonzero(d.labels == Tissue.ENAMEL)
        cord = np.nonzero(d.structures["spinal_cord"])
        # in front of the spine and in the upper part of the field of view
        assert enamel[1].max() < cord[1].min()
        assert enamel[0].min() > d.labels.shape[0] // 3
        metal = np.nonzero(d.labels == Tissue.METAL)
        if len(metal[0]):
            near = ndimage.binary_dilation(d.labels == Tissue.ENAMEL, iterations=2)
            assert near[metal].mean() > 0.9  # fillings sit in teeth


def test_structures(default_draws):
    for seed, d in default_draws.items():
        body = d.labels != Tissue.AIR
        for name in STRUCTURES:
            mask = d.structures[name]
            assert mask.any(), (seed, name)
            assert body[mask].all(), (seed, name)
        centre = _centre_x(body[body.shape[0] // 2:])
        assert _centre_x(d.structures["parotid_left"]) > centre + 20  # left = +x
        assert _centre_x(d.structures["parotid_right"]) < centre - 20
        for name in ("parotid_left", "parotid_right"):
            assert (d.labels[d.structures[name]] == Tissue.GLAND).all()
        assert (d.labels[d.structures["larynx"]] == Tissue.GAS).any()
        assert np.isin(d.labels[d.structures["mandible"]], (Tissue.CORTICAL, Tissue.MARROW)).all()
        target = d.labels[d.structures["target"]]
        assert np.isin(target, (Tissue.SOFT, Tissue.CSF)).all() and (target == Tissue.SOFT).mean() > 0.5


def test_cord_lies_in_the_canal(default_draws):
    """The cord is surrounded by CSF in every slice: its in-plane rim is CSF (or cord)."""
    for d in default_draws.values():
        cord = d.structures["spinal_cord"]
        assert (d.labels[cord] == Tissue.SOFT).all()
        ring = ndimage.binary_dilation(cord, ndimage.generate_binary_structure(2, 1)[None]) & ~cord
        assert (d.labels[ring] == Tissue.CSF).mean() > 0.97
        assert cord.any(axis=(1, 2)).all()  # from the first slice to the last


def test_target_size_and_place(default_draws):
    lo, hi = DEFAULT_HEADNECK.tumour_r
    for d in default_draws.values():
        volume = d.structures["target"].sum() * np.prod(d.spacing)
        assert 0.3 * 4 / 3 * np.pi * lo**3 < volume <= 4 / 3 * np.pi * hi**3 * 1.05
        # in the neck or the oropharynx: below the palate, in front of the spinal canal's back
        z = np.nonzero(d.structures["target"])[0].mean()
        assert z < np.nonzero(d.labels == Tissue.ENAMEL)[0].max()


# --------------------------------------------------------------------------- #
# metal streaks: CT only
# --------------------------------------------------------------------------- #
def test_artefact_only_near_metal_and_in_the_body(default_draws, metal_seed):
    d = default_draws[metal_seed]
    art, labels = d.ct_artefact, d.labels
    metal = labels == Tissue.METAL
    metal_slices = metal.any(axis=(1, 2))
    assert not art[~metal_slices].any()
    assert not art[labels == Tissue.AIR].any()
    assert not art[metal].any()
    assert 100 < np.abs(art).max() < 3000
    # non-zero everywhere in the body of the metal slices, strongest near the metal
    k = int(np.argmax(metal.sum(axis=(1, 2))))
    body = (labels[k] != Tissue.AIR) & ~metal[k]
    assert (art[k][body] != 0).mean() > 0.95
    near = ndimage.binary_dilation(metal[k], iterations=8) & body
    far = ~ndimage.binary_dilation(metal[k], iterations=60) & body
    assert np.abs(art[k][near]).mean() > 3 * np.abs(art[k][far]).mean()


def test_no_metal_no_artefact(default_draws):
    for d in default_draws.values():
        if not (d.labels == Tissue.METAL).any():
            assert d.ct_artefact is None


def test_ct_streaks_and_mr_void(default_draws, metal_seed):
    """Through make_case: enamel is bright on CT and dark on MR, the metal is the CT's ceiling and an MR void, and
    the streaks are on the CT only (its soft tissue follows the artefact, the MR's does not)."""
    case = drawn("head and neck", metal_seed)
    d = default_draws[metal_seed]
    np.testing.assert_array_equal(case.labels, d.labels)
    ct = sitk.GetArrayFromImage(case.ct).astype(np.float32)
    mr = sitk.GetArrayFromImage(case.mr).astype(np.float32)
    labels = case.labels
    core = ndimage.binary_erosion(labels == Tissue.ENAMEL, ndimage.generate_binary_structure(2, 1)[None])
    fat = np.median(mr[ndimage.binary_erosion(labels == Tissue.FAT, iterations=2)])
    assert np.median(ct[core]) > 1500
    assert np.median(mr[core]) < 0.15 * fat
    metal = labels == Tissue.METAL
    assert np.median(mr[metal]) < 0.15 * fat
    assert ct[metal].max() > 2500
    # soft tissue away from edges in the metal slices, where the artefact is strong
    k = np.nonzero(metal.any(axis=(1, 2)))[0]
    soft = ndimage.binary_erosion(labels == Tissue.SOFT, ndimage.generate_binary_structure(2, 1)[None], iterations=2)
    sel = np.zeros_like(soft)
    sel[k] = soft[k]
    sel &= np.abs(d.ct_artefact) > 30
    assert sel.sum() > 200
    art = d.ct_artefact[sel]
    ct_corr = np.corrcoef(art, ct[sel])[0, 1]
    mr_corr = np.corrcoef(art, mr[sel])[0, 1]
    assert ct_corr > 0.6
    assert abs(mr_corr) < 0.15


# --------------------------------------------------------------------------- #
# the engine's and the unseen anatomy
# --------------------------------------------------------------------------- #
def _front_fat_mm(d: Drawn) -> float:
    """Subcutaneous fat in front of the larynx (three quarters of the neck's drawn fat less the 1.5-2.5 mm skin),
    mid-larynx."""
    k = int(np.median(np.nonzero(d.structures["larynx"])[0]))
    x = int(np.median(np.nonzero(d.structures["larynx"][k])[1]))
    column = d.labels[k, :, x]
    y0 = int(np.argmax(column != Tissue.AIR))
    while column[y0] != Tissue.FAT:  # skin
        y0 += 1
    y1 = y0
    while column[y1] == Tissue.FAT:
        y1 += 1
    return (y1 - y0) * d.spacing[1]


def _metal_mm3(d: Drawn) -> float:
    return float((d.labels == Tissue.METAL).sum() * np.prod(d.spacing))


def test_unseen_lies_outside_the_engine():
    """The unseen anatomy changes fat, fillings and the tumour, each beyond the engine's range."""
    u, e = UNSEEN_HEADNECK, ENGINE_HEADNECK
    assert u.fat_mm[0] > e.fat_mm[1]
    assert u.fillings[0] >= e.fillings[1] and u.filling_r[0] > e.filling_r[1]
    assert u.tumour_r[0] > e.tumour_r[1]


@pytest.mark.slow
def test_unseen_draws_outside_the_engine_draws():
    """Measured on the label maps: the unseen's fat is thicker, its metal larger and its target bigger than any
    the engine can draw (its largest filling volume and tumour volume bound the engine's)."""
    engine_metal_max = (ENGINE_HEADNECK.fillings[1] - 1) * 4 / 3 * np.pi * 0.8 * ENGINE_HEADNECK.filling_r[1] ** 3
    engine_target_max = 4 / 3 * np.pi * ENGINE_HEADNECK.tumour_r[1] ** 3
    engine = [_draw(seed, ENGINE_HEADNECK) for seed in range(4)]
    unseen = [_draw(seed, UNSEEN_HEADNECK) for seed in range(4)]
    fat_engine = max(_front_fat_mm(d) for d in engine)
    assert fat_engine <= 0.75 * ENGINE_HEADNECK.fat_mm[1] - 1  # less the skin
    for d in unseen:
        assert _front_fat_mm(d) >= 0.75 * UNSEEN_HEADNECK.fat_mm[0] - 3 > 0.75 * ENGINE_HEADNECK.fat_mm[1] - 1
        assert _metal_mm3(d) > engine_metal_max
        assert d.structures["target"].sum() * np.prod(d.spacing) > engine_target_max
        assert d.labels.shape[1] > DEFAULT_HEADNECK.fov_y[1]  # the field of view grows with the body
    for d in engine:
        assert _metal_mm3(d) <= engine_metal_max
        assert d.structures["target"].sum() * np.prod(d.spacing) <= engine_target_max


def test_default_fat_within_its_range(default_draws):
    lo, hi = DEFAULT_HEADNECK.fat_mm
    for d in default_draws.values():
        assert 0.75 * lo - 3 <= _front_fat_mm(d) <= 0.75 * hi - 1


@pytest.mark.slow
def test_engine_draws_vary():
    """The engine's draws: some with the field of view ending above the shoulders (no lung), some with the mouth
    open (oral air), teeth missing in some."""
    draws = [_draw(seed, ENGINE_HEADNECK) for seed in range(8)]
    lung = [(d.labels == Tissue.LUNG).any() for d in draws]
    assert any(lung) and not all(lung)
    teeth = [(d.labels == Tissue.ENAMEL).sum() for d in draws]
    assert max(teeth) > 2 * min(teeth)
    for d in draws:
        assert set(STRUCTURES) <= set(d.structures)
        assert d.structures["spinal_cord"].any() and d.structures["target"].any()


def test_make_case_head_and_neck():
    case = drawn("head and neck", 0)
    assert case.region == "Head and Neck" and case.case_id == "1HNX0000"
    assert case.ct.GetSpacing() == SPACING
    assert set(STRUCTURES) <= set(case.structures)
    assert headneck.draw_labels is draw_labels
