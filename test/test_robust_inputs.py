"""Models for MR they were not trained on: the pelvis model's own voxel size, test-time flips, MR intensity
augmentation, upsampling without a checkerboard, and starting training from a model folder (real tiny MONAI
networks, real files)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from brain_fixtures import tiny_brain_config, write_brain_folder
from conftest import TINY_CONFIG, make_image, typed, write_model_folder
from model.cases import CaseInput
from model.config import MRAugmentation
from model.errors import InputError, WeightsError
from model.networks.pix2pix import build_generator
from model.pipelines import load_pipeline
from model.pipelines.mirroring import mirrored, mirrorings, unmirror
from model.preprocessing.intensity import normalise_mr
from model.preprocessing.resample import plan_spacing
from model.registry import ModelEntry
from model.weights import warm_start
from tools.dataset.augment import MRAugmenter, bias_field
from tools.dataset.cases import PatchSampler, UnitCase
from tools.evaluation.artifacts import checkerboard_figure, nyquist_ratio
from tools.train.tasks.latent_stages import LatentSampler
from tools.train.tasks.pix2pix import Pix2PixTask, at_spacing

CPU = torch.device("cpu")


def pelvis_case(spacing=(1.0, 1.0, 2.5), shape=(20, 70, 90), seed=0) -> CaseInput:
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = (((y - shape[1] / 2) / (shape[1] * 0.4)) ** 2 + ((x - shape[2] / 2) / (shape[2] * 0.45)) ** 2) < 1
    body = np.broadcast_to(body, shape).copy()
    mr = np.where(body, 200 + 100 * np.sin(x / 5.0) + 30 * rng.normal(size=shape), 0).astype(np.float32)
    return CaseInput(make_image(mr.astype(np.int16), spacing), mr, body)


def pelvis_pipeline(tmp_path, name="p", **inference_or_preprocessing):
    config = copy.deepcopy(TINY_CONFIG)
    for key, value in inference_or_preprocessing.items():
        section = "preprocessing" if key == "spacing_mm" else "inference"
        config[section][key] = value
    return load_pipeline(ModelEntry("Pelvis", "pix2pix", write_model_folder(tmp_path / name, config)), CPU)


# ------------------------------------------------------------------------------------------- voxel size
def test_an_mr_at_the_models_spacing_takes_the_path_without_one_bit_for_bit(tmp_path):
    case = pelvis_case((1.0, 1.0, 2.5))
    plain = pelvis_pipeline(tmp_path, "a").predict(case)
    stated = pelvis_pipeline(tmp_path, "b", spacing_mm=[2.5, 1.0, 1.0]).predict(case)
    np.testing.assert_array_equal(plain, stated)
    assert plan_spacing(case.mr.shape, (1.005, 0.995, 2.5), (2.5, 1.0, 1.0)) is None  # within 1 %


def test_an_mr_at_another_spacing_is_run_at_the_models_and_lands_on_its_own_grid(tmp_path):
    case = pelvis_case((2.0, 2.0, 3.0), shape=(12, 40, 48))
    plan = plan_spacing(case.mr.shape, case.mr_image.GetSpacing(), (2.5, 1.0, 1.0))
    assert plan.model_shape == (14, 80, 96)  # 12 x 3 / 2.5, 40 x 2, 48 x 2
    seen = []
    pipeline = pelvis_pipeline(tmp_path, spacing_mm=[2.5, 1.0, 1.0])
    run_unit = pipeline.predict_unit
    pipeline.predict_unit = lambda unit, budget=None, passes=1: seen.append(unit.shape) or run_unit(unit, budget, passes)
    sct = pipeline.predict(case)
    assert seen == [(14, 80, 96)] and sct.shape == case.mr.shape and np.isfinite(sct).all()


def test_the_round_trip_keeps_voxel_centres_in_millimetres():
    # a ramp of the position in mm along each axis: on the model's voxels it is their centres' positions
    # (trilinear: exact inside), and back on the MR's voxels it is theirs again - no shift; cubic convolution
    # (a = -0.75) ripples by a few hundredths of a voxel between the grids, symmetrically
    shape, spacing = (12, 20, 24), np.array([3.0, 2.0, 2.0])  # (z, y, x)
    plan = plan_spacing(shape, spacing[::-1], (2.5, 1.0, 1.0))
    model_spacing = spacing * np.array(shape) / np.array(plan.model_shape)
    for axis in range(3):
        along = [1, 1, 1]
        along[axis] = -1
        ramp = np.broadcast_to(((np.arange(shape[axis]) + 0.5) * spacing[axis]).reshape(along), shape).astype(np.float32)
        model = plan.to_model(ramp)
        expected = np.broadcast_to(((np.arange(plan.model_shape[axis]) + 0.5) * model_spacing[axis]).reshape(along),
                                   plan.model_shape)
        inner = tuple(slice(1, -1) if a == axis else slice(None) for a in range(3))
        np.testing.assert_allclose(model[inner], expected[inner], atol=1e-4)
        back = plan.from_model(model)
        assert back.shape == shape
        inner = tuple(slice(2, -2) if a == axis else slice(None) for a in range(3))
        error = back[inner] - ramp[inner]
        assert abs(error.mean()) < 1e-3 and np.abs(error).max() < 0.05 * spacing[axis]


def test_training_resamples_a_case_at_another_spacing_as_inference_does():
    case = pelvis_case((2.0, 2.0, 3.0), shape=(12, 40, 48))
    unit_mr = normalise_mr(case.mr, case.body, (0.5, 99.5))
    training_case = type("Case", (), {"case_id": "c", "inputs": case, "mr_unit": unit_mr,
                                      "ct_unit": unit_mr.copy(), "centres": np.argwhere(case.body)})()
    fitted = at_spacing(training_case, (2.5, 1.0, 1.0))
    assert fitted.mr_unit.shape == fitted.ct_unit.shape == (14, 80, 96)
    assert (fitted.centres.max(0) < (14, 80, 96)).all() and len(fitted.centres) > 3 * len(training_case.centres)
    # MR and CT resampled alike: a CT equal to the MR stays equal to it
    np.testing.assert_array_equal(fitted.mr_unit, fitted.ct_unit)
    same = at_spacing(training_case, (3.0, 2.0, 2.0))
    assert same.mr_unit is unit_mr
    spec = typed({**TINY_CONFIG, "preprocessing": {"spacing_mm": [2.5, 1.0, 1.0]}})
    assert Pix2PixTask.case_fit(spec).settings == {"spacing_mm": [2.5, 1.0, 1.0]}
    assert Pix2PixTask.case_fit(typed(TINY_CONFIG)) is None


# ----------------------------------------------------------------------------------------- test-time flips
def test_mirrorings_are_every_combination_unmirrored_first():
    assert mirrorings([]) == [()]
    assert mirrorings(["x"]) == [(), (2,)]
    assert mirrorings(["x", "z", "x"]) == [(), (0,), (2,), (0, 2)]


def test_pix2pix_flips_average_the_mirrored_passes_mirrored_back(tmp_path):
    case = pelvis_case()
    plain = pelvis_pipeline(tmp_path, "a")
    flipped = pelvis_pipeline(tmp_path, "b", tta_flips=["x"])
    mirror = unmirror(plain.predict(mirrored(case, (2,))), (2,))
    np.testing.assert_allclose(flipped.predict(case), (plain.predict(case) + mirror) / 2, atol=1e-3)
    assert not np.allclose(mirror, plain.predict(case), atol=1e-3)  # a random network is not symmetric


def test_brain_flips_spread_the_samples_over_the_mirrorings_at_no_extra_cost(tmp_path):
    mr = np.zeros((30, 36, 28), np.float32)
    z, y, x = np.ogrid[:30, :36, :28]
    body = (((z - 15) / 13) ** 2 + ((y - 18) / 16) ** 2 + ((x - 13) / 11) ** 2) < 1
    mr[body] = (300 + 5 * x + 20 * np.random.default_rng(0).normal(size=mr.shape))[body]
    case = CaseInput(make_image(mr.astype(np.int16), (2.0, 2.0, 2.0)), mr, body)
    plain = load_pipeline(ModelEntry("Brain", "ldm", write_brain_folder(tmp_path / "a")), CPU)
    config = tiny_brain_config(**{"inference.tta_flips": ["x"]})
    flipped = load_pipeline(ModelEntry("Brain", "ldm", write_brain_folder(tmp_path / "b", config)), CPU)
    samples = flipped.predict_samples(case, 2)
    np.testing.assert_array_equal(samples[0], plain.predict_samples(case, 1, seed=0)[0])
    np.testing.assert_array_equal(samples[1], unmirror(plain.predict_samples(mirrored(case, (2,)), 1, seed=1)[0], (2,)))


# ------------------------------------------------------------------------------------------- augmentation
ALWAYS = MRAugmentation(histogram_shift_p=1, gamma_p=1, bias_field_p=1, blur_p=1, low_resolution_p=1, noise_p=1)
NEVER = MRAugmentation(histogram_shift_p=0, gamma_p=0, bias_field_p=0, blur_p=0, low_resolution_p=0, noise_p=0)


def mr_patch(shape=(8, 32, 32), seed=0):
    rng = np.random.default_rng(seed)
    patch = np.clip(np.sin(np.arange(shape[2]) / 3.0)[None, None] + 0.1 * rng.normal(size=shape), -1, 1).astype(np.float32)
    patch[:, :6] = -1.0  # outside the body
    return patch


def test_augmentation_is_set_by_its_seed_keeps_the_background_and_the_range():
    augment, patch = MRAugmenter(ALWAYS), mr_patch()
    a, b, c = augment(patch, 5), augment(patch, 5), augment(patch, 6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and np.abs(a - patch).mean() > 0.05
    assert (a[:, :6] == -1).all() and a.min() >= -1 and a.max() <= 1 and a.dtype == np.float32
    assert MRAugmenter(NEVER)(patch, 5) is patch


@pytest.mark.parametrize("only", ["histogram_shift_p", "gamma_p", "bias_field_p", "blur_p", "low_resolution_p", "noise_p"])
def test_each_transform_changes_the_mr_on_its_own(only):
    settings = MRAugmentation(**{**{k: 0.0 for k in ("histogram_shift_p", "gamma_p", "bias_field_p", "blur_p",
                                                     "low_resolution_p", "noise_p")}, only: 1.0})
    patch = mr_patch()
    changed = [not np.allclose(MRAugmenter(settings)(patch, s), patch, atol=1e-4) for s in range(4)]
    assert sum(changed) >= 3


def test_the_bias_field_deviates_by_the_drawn_strength_at_most():
    field = bias_field((8, 32, 32), 0.4, np.random.default_rng(1))
    assert np.isclose(max(field.max() - 1, 1 / field.min() - 1), 0.4, rtol=1e-4)
    assert abs(np.log(field).mean()) < 1e-5


def test_the_sampler_augments_the_mr_only_and_draws_as_before_without():
    rng_case = np.random.default_rng(0)
    mr, ct = rng_case.uniform(-1, 1, (12, 40, 40)).astype(np.float32), rng_case.uniform(-1, 1, (12, 40, 40)).astype(np.float32)
    case = UnitCase("c", mr, ct, np.argwhere(np.ones((12, 40, 40), bool))[::7])
    plain = PatchSampler([case], (8, 16, 16), np.random.default_rng(3), True)
    augmented = PatchSampler([case], (8, 16, 16), np.random.default_rng(3), True, MRAugmenter(ALWAYS))
    for _ in range(3):
        drawn_plain, drawn_augmented = plain.draw(), augmented.draw()
        assert drawn_plain[:3] == drawn_augmented[:3] and drawn_plain[3] is None and drawn_augmented[3] is not None
        (mr_a, ct_a), (mr_b, ct_b) = plain.cut(drawn_plain), augmented.cut(drawn_augmented)
        assert torch.equal(ct_a, ct_b) and not torch.equal(mr_a, mr_b)
        plain.rng.integers(2**31 - 1)  # the augmented sampler drew its seed: keep the streams in step


def test_the_controlnet_sampler_augments_the_mr_block_not_the_latents():
    rng = np.random.default_rng(0)
    item = {"mr": rng.uniform(-1, 1, (16, 16, 16)).astype(np.float32), "mu": rng.normal(size=(1, 2, 4, 4, 4)).astype(np.float32),
            "sigma": np.zeros((1, 2, 4, 4, 4), np.float32), "flip": False}
    plain = LatentSampler([item], np.random.default_rng(1), crop=(2, 2, 2), factor=4).sample()
    augmented = LatentSampler([item], np.random.default_rng(1), crop=(2, 2, 2), factor=4, augment=MRAugmenter(ALWAYS)).sample()
    assert torch.equal(plain[1], augmented[1]) and plain[0].shape == augmented[0].shape == (1, 1, 8, 8, 8)
    assert not torch.equal(plain[0], augmented[0])


def test_augmenting_a_stage_that_never_sees_the_mr_is_refused():
    from tools.train.tasks.autoencoder import AutoencoderTask

    config = tiny_brain_config()
    config["training"] = {"autoencoder": {"iterations": 1, "patch_size": [8, 8, 8], "augment_mr": {}}}
    from model.config import parse_config

    with pytest.raises(InputError, match="augment_mr: the autoencoder task never sees the MR"):
        AutoencoderTask(parse_config(config, "c.json"), CPU)


# ---------------------------------------------------------------------------- upsampling and the artifact figure
def generator(upsample: str, seed: int = 0, res_units: int = 1):
    torch.manual_seed(seed)
    config = copy.deepcopy(TINY_CONFIG)
    config["networks"]["generator"] = {"channels": [4, 8, 8], "strides": [2, 2], "num_res_units": res_units,
                                       "upsample": upsample}
    return build_generator(typed(config).networks.generator)


@pytest.mark.parametrize("res_units", [0, 1])
def test_resize_conv_has_no_transposed_convolution_and_the_same_interface(res_units):
    transposed, resized = generator("transpose", res_units=res_units), generator("resize_conv", res_units=res_units)
    kinds = lambda net: {type(m).__name__ for m in net.modules()}  # noqa: E731
    assert "ConvTranspose3d" in kinds(transposed) and "ConvTranspose3d" not in kinds(resized)
    assert resized(torch.zeros(1, 1, 8, 32, 32)).shape == (1, 1, 8, 32, 32)
    resized(torch.rand(1, 1, 8, 32, 32)).mean().backward()  # every parameter takes part
    assert all(p.grad is not None for p in resized.parameters())


def test_the_checkerboard_figure_finds_a_period_two_pattern_and_not_anatomy():
    rng = np.random.default_rng(0)
    ct = np.cumsum(rng.normal(size=(16, 64, 64)), axis=2).astype(np.float32) * 5  # smooth-ish
    body = np.ones(ct.shape, bool)
    sct = ct + rng.normal(size=ct.shape).astype(np.float32) * 20
    clean = checkerboard_figure(sct, ct, body)
    assert all(0.5 < v < 2 for v in clean.values())
    board = sct + 15 * (-1.0) ** np.arange(64)[None, None, :]
    figure = checkerboard_figure(board, ct, body)
    assert figure["x"] > 10 and figure["y"] < 2
    assert nyquist_ratio(np.ones((4, 4, 9)), 2) != nyquist_ratio(np.ones((4, 4, 9)), 2)  # no power: NaN


# ------------------------------------------------------------------------------------ --init (fine-tuning)
def test_warm_start_copies_every_fitting_tensor_and_counts_them(tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    config["networks"]["generator"] = {"channels": [4, 8, 8], "strides": [2, 2], "num_res_units": 1}
    folder = write_model_folder(tmp_path / "m", config, seed=1)
    same = {"generator": generator("transpose", seed=2)}
    (copied, total), = warm_start(same, folder).values()
    assert copied == total
    saved = build_generator(typed(config).networks.generator)
    from model.weights import load_weights

    load_weights(saved, folder / "generator.safetensors")
    for a, b in zip(saved.state_dict().values(), same["generator"].state_dict().values()):
        assert torch.equal(a, b)
    other = {"generator": generator("resize_conv", seed=2)}
    (copied, total), = warm_start(other, folder).values()
    assert 0 < copied < total  # all but the decoder's up-convolutions


def test_warm_start_refuses_a_folder_without_those_networks(tmp_path):
    folder = write_model_folder(tmp_path / "m")
    with pytest.raises(WeightsError, match="has no weights for discriminator"):
        warm_start({"discriminator": torch.nn.Linear(1, 1)}, folder)
    with pytest.raises(WeightsError, match="no tensor fits"):
        warm_start({"generator": torch.nn.Linear(1, 1)}, folder)
    (folder / "generator.safetensors").write_bytes(b"x")
    with pytest.raises(WeightsError, match="manifest|sha256|checksum"):
        warm_start({"generator": generator("transpose")}, folder)


def test_a_non_finite_sct_is_refused_as_non_finite_output():
    """The last check before the sCT is written raises the error the pipelines retry and the container reports,
    not a bare RuntimeError."""
    from model.errors import NonFiniteOutput
    from model.preprocessing.intensity import sct_voxels

    body = np.ones((2, 2, 2), bool)
    with pytest.raises(NonFiniteOutput, match="NaN or Inf"):
        sct_voxels(np.full((2, 2, 2), np.nan, np.float32), body)
    assert sct_voxels(np.full((2, 2, 2), 12.4, np.float32), body).tolist() == np.full((2, 2, 2), 12).tolist()
