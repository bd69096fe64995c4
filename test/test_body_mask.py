"""Tests of the body mask made from the MR alone (model.body_mask), against the phantoms' true masks.

The phantoms' masks are the body outline dilated in-plane by 1 or 2 voxels (drawn per case), and a mask made
from the MR cannot tell which: Dice is measured against them as they are. Cases drawn by other tests as well
(pelvis 0-3, brain 0-2, the second-centre pelvis of seed 1) are in the fast tier; the other variants are slow.
"""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import drawn
from model.body_mask import NoBodyError, body_mask, measured_body_voxels, speckle_neighbours
from tools.phantom import Tissue

DICE_MIN = 0.98
#: The brain at the second centre: its MR is blurred by 1-1.5 voxels and given a gamma, so its visible outline
#: lies about a voxel outside the anatomy's (seeds 2, 4, 9: Dice 0.976-0.978, all of it a rim outside the true
#: mask), or its skin is barely above the noise and falls below the threshold (seed 10: 0.975, the rim inside).
#: A head is small: one voxel of rim is 2.4 % of its volume. Measured on seeds 0-15: min 0.974, median 0.990
#: (scripts/body_mask_table.sh).
BRAIN_SECOND_CENTRE_DICE_MIN = 0.97
#: The head and neck at the second centre: its noise joined the air around the neck to the body (Dice 0.914 on
#: seed 3 before the speckle step, 0.971-0.990 on the others); with it 0.976-0.991 on seeds 0-7, median 0.984,
#: seed 0 the lowest (a rim outside, as the brain's).
HEAD_AND_NECK_SECOND_CENTRE_DICE_MIN = 0.975


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float(np.count_nonzero(a & b)) / float(np.count_nonzero(a) + np.count_nonzero(b))


def voxels(image: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(image) > 0


def check_case(case, minimum: float = DICE_MIN, gas_outside: float = 0.0) -> float:
    """Dice of the MR's mask with the true one, at least ``minimum``; every tissue voxel (dark gas and bone
    included) inside, but for a ``gas_outside`` share of the gas (an airway open to the air)."""
    mask = voxels(body_mask(case.mr))
    score = dice(mask, voxels(case.mask))
    assert score >= minimum, f"{case.case_id}: Dice {score:.4f} < {minimum}"
    outside = case.labels[~mask]
    assert np.count_nonzero(outside != Tissue.AIR) <= 0.001 * np.count_nonzero(case.labels != Tissue.AIR)
    gas = np.count_nonzero(outside == Tissue.GAS)
    assert gas <= gas_outside * np.count_nonzero(case.labels == Tissue.GAS), f"{case.case_id}: gas left outside"
    return score


@pytest.mark.parametrize("region, seed", [("pelvis", s) for s in range(4)] + [("brain", s) for s in range(3)])
def test_agrees_with_the_true_mask(region, seed):
    check_case(drawn(region, seed))


def test_agrees_on_the_second_centre_pelvis():
    check_case(drawn("pelvis", 1, acquisition="second-centre"))


@pytest.mark.slow  # a full draw each, a second or more
@pytest.mark.parametrize("region, seed, options", [
    ("pelvis", 0, {"acquisition": "second-centre"}),
    ("pelvis", 2, {"acquisition": "second-centre"}),
    ("pelvis", 0, {"acquisition": "second-centre-t2-urine"}),
    ("pelvis", 1, {"acquisition": "second-centre-t2-urine"}),
    ("pelvis", 0, {"anatomy": "unseen"}),
    ("pelvis", 1, {"anatomy": "unseen"}),
    ("brain", 0, {"anatomy": "unseen"}),
    ("brain", 1, {"anatomy": "unseen"}),
], ids=lambda v: "-".join(str(x) for x in v.values()) if isinstance(v, dict) else None)
def test_agrees_on_the_variants(region, seed, options):
    check_case(drawn(region, seed, **options))


@pytest.mark.parametrize("region, seed", [("abdomen", 1), ("thorax", 0), ("head and neck", 0)])
def test_agrees_on_synthrad2025_regions(region, seed):
    """The abdomen of seed 1 has both arms down, apart from the trunk (the largest component alone: Dice 0.925).
    The head and neck's nostrils open to the air: a little of the nose's gas (32 of 35630 voxels) is outside."""
    check_case(drawn(region, seed), gas_outside=0.002 if region == "head and neck" else 0.0)


@pytest.mark.slow
def test_agrees_on_the_second_centre_brain():
    scores = [check_case(drawn("brain", seed, acquisition="second-centre"), BRAIN_SECOND_CENTRE_DICE_MIN)
              for seed in range(4)]  # seed 2: 0.976
    assert np.median(scores) >= DICE_MIN, scores


@pytest.mark.slow
def test_agrees_on_the_second_centre_head_and_neck():
    # the nostrils open to the air: up to 0.24 % of the gas outside (seed 3; 68 of 27816 voxels)
    scores = [check_case(drawn("head and neck", seed, acquisition="second-centre"),
                         HEAD_AND_NECK_SECOND_CENTRE_DICE_MIN, gas_outside=0.003) for seed in range(4)]
    assert np.median(scores) >= DICE_MIN, scores  # seed 3 was 0.914: noise joined to the neck


def test_speckle_count_follows_the_noise():
    """Step 2's ``k``: 1 (no step) on a clean MR's air, rising with the share of the air above the threshold."""
    assert speckle_neighbours(0.0) == 1
    assert speckle_neighbours(0.001) == 1
    assert speckle_neighbours(0.005) == 2  # an isolated speck goes
    assert speckle_neighbours(0.1) == 6  # a sheet of skin a voxel thick (about 8 neighbours) stays
    assert speckle_neighbours(0.3) == 13
    assert [speckle_neighbours(p) for p in np.linspace(0, 1, 101)] == sorted(speckle_neighbours(p)
                                                                             for p in np.linspace(0, 1, 101))


def test_noisy_air_does_not_join_the_body():
    """A cylinder in Rician noise loud enough that 28 % of the air passes the threshold: without step 2 the
    closing bridges the specks to the outline (Dice 0.90), with it the outline is the cylinder's (0.99)."""
    rng = np.random.default_rng(0)
    _, y, x = np.mgrid[:20, :96, :96]
    radius2 = (y - 48) ** 2 + (x - 48) ** 2
    signal = np.where(radius2 <= 30**2, 1.0, 0.0)
    mr = np.hypot(signal + rng.normal(0, 0.25, signal.shape), rng.normal(0, 0.25, signal.shape)).astype(np.float32)
    truth = radius2 <= 31.5**2  # the outline and the 1.5 mm margin
    body, share, k = measured_body_voxels(mr, (1.0, 1.0, 3.0))
    assert share > 0.2 and k >= 5, (share, k)
    assert dice(body, truth) >= 0.98
    without, _, k = measured_body_voxels(mr, (1.0, 1.0, 3.0), speckle_alpha=1.0)  # the step switched off
    assert k == 1 and dice(without, truth) < 0.92


def test_on_the_mrs_grid_as_uint8():
    mr = drawn("pelvis", 0).mr
    mask = body_mask(mr)
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert mask.GetSize() == mr.GetSize()
    assert mask.GetSpacing() == mr.GetSpacing()
    assert mask.GetOrigin() == mr.GetOrigin()
    assert mask.GetDirection() == mr.GetDirection()
    assert set(np.unique(sitk.GetArrayViewFromImage(mask))) == {0, 1}


def test_the_direction_does_not_move_a_voxel():
    """An oblique direction (30 degrees about an axis off every image axis) is copied, the voxels are those
    of the phantom's own header (seed 0's: a few degrees about z)."""
    mr = drawn("brain", 0).mr
    axis = np.array([1.0, 2.0, 2.0]) / 3.0
    angle = np.deg2rad(30.0)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
    oblique = sitk.Image(mr)
    oblique.SetDirection(tuple(rotation.ravel()))
    mask = body_mask(oblique)
    assert mask.GetDirection() == oblique.GetDirection()
    assert mr.GetDirection() != oblique.GetDirection()
    np.testing.assert_array_equal(voxels(mask), voxels(body_mask(mr)))


def test_an_anisotropic_grid():
    """The brain (1 mm voxels) resampled onto 0.8 x 1.25 x 2 mm: the closing and the margin are in mm."""
    case = drawn("brain", 0)
    spacing = (0.8, 1.25, 2.0)
    size = [int(n * s / t) for n, s, t in zip(case.mr.GetSize(), case.mr.GetSpacing(), spacing)]

    def resampled(image, interpolator):
        return sitk.Resample(image, size, sitk.Transform(), interpolator, image.GetOrigin(), spacing,
                             image.GetDirection(), 0, image.GetPixelID())

    mr, truth = resampled(case.mr, sitk.sitkLinear), resampled(case.mask, sitk.sitkNearestNeighbor)
    mask = body_mask(mr)
    assert mask.GetSpacing() == spacing
    assert dice(voxels(mask), voxels(truth)) >= DICE_MIN


def test_whatever_the_intensity_scale():
    """The same mask from the MR in other units (float, a thousandth), and from one whose air is all zero."""
    case = drawn("pelvis", 0)
    expected = voxels(body_mask(case.mr))
    scaled = sitk.Cast(case.mr, sitk.sitkFloat32) * 1e-3
    np.testing.assert_array_equal(voxels(body_mask(scaled)), expected)
    array = sitk.GetArrayFromImage(case.mr)
    array[case.labels == Tissue.AIR] = 0
    zero_air = sitk.GetImageFromArray(array)
    zero_air.CopyInformation(case.mr)
    assert dice(voxels(body_mask(zero_air)), voxels(case.mask)) >= DICE_MIN


def test_a_body_cut_by_the_field_of_view():
    """The pelvis cropped through the body on both sides: the cut is not eaten, the air that reaches the
    field's edge is not filled."""
    case = drawn("pelvis", 0)
    truth = voxels(case.mask)
    columns = np.flatnonzero(truth.any(axis=(0, 1)))
    start, stop = int(columns[0]) + 30, int(columns[-1]) - 30
    mr, cut_truth = case.mr[start:stop, :, :], truth[:, :, start:stop]
    mask = voxels(body_mask(mr))
    assert dice(mask, cut_truth) >= DICE_MIN
    for edge in (0, -1):
        assert dice(mask[:, :, edge], cut_truth[:, :, edge]) >= DICE_MIN


def test_dark_inside_is_filled_slice_by_slice():
    """A bright cylinder with a dark ring (a skull) in every slice and a dark cavity open at the first slice
    (gas cut by the field of view: open in 3-D, closed in each slice), on anisotropic voxels, in noise."""
    shape, spacing = (12, 48, 64), (0.7, 0.9, 3.0)  # (z, y, x) array, (x, y, z) spacing
    z, y, x = np.indices(shape)
    radius = np.hypot((y - 24) * spacing[1], (x - 32) * spacing[0])  # mm
    body = radius <= 18.0
    signal = np.where(body, 1000.0, 0.0)
    signal[(radius > 10.0) & (radius <= 12.0)] = 0.0  # the ring
    signal[(radius <= 5.0) & (z < 4)] = 0.0  # the cavity
    noise = np.random.default_rng(0).rayleigh(20.0, shape)
    image = sitk.GetImageFromArray((signal + noise).astype(np.float32))
    image.SetSpacing(spacing)
    mask = voxels(body_mask(image, margin_mm=0.0))
    assert np.all(mask[body])
    assert dice(mask, body) >= 0.99


@pytest.mark.parametrize("value, problem", [(0, "all zero"), (250, "constant")])
def test_an_mr_without_a_body_is_refused(value, problem):
    image = sitk.GetImageFromArray(np.full((8, 16, 16), value, np.int16))
    with pytest.raises(NoBodyError, match=problem):
        body_mask(image)
