"""The brain pipeline: grid fitting, shape checks, old checkpoints, sampling through process.py."""
from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
import torch

import process
from brain_fixtures import tiny_brain_config, tiny_brain_spec, write_brain_folder
from conftest import ROOT, make_image, write_container_input
from model.cases import CaseInput
from model.config import load_config
from model.errors import InputError, WeightsError
from model.networks.latent import (build_autoencoder, build_controlnet, build_unet, controlled_prediction,
                                   embedded_conditioning)
from model.pipelines import load_pipeline
from model.preprocessing.headgrid import from_grid, plan_fit, to_grid
from model.registry import ModelEntry
from model.weights import load_weights, read_config, save_weights, write_config, write_manifest
from tools.bench.__main__ import main as bench_main
from tools.train.losses.perceptual import BACKBONES, PerceptualLoss3D, backbone_file, build_backbone, load_backbone


def head(shape=(40, 48, 44), box=((5, 30), (6, 40), (8, 36)), seed=0):
    rng = np.random.default_rng(seed)
    body = np.zeros(shape, bool)
    body[tuple(slice(*b) for b in box)] = True
    return rng.normal(size=shape).astype(np.float32), body


# ------------------------------------------------------------------ the grid
def test_grid_round_trip_is_exact_when_the_head_fits_at_the_grid_spacing():
    volume, body = head()
    fit = plan_fit(body, (2.0, 2.0, 2.0), (32, 48, 32), 2.0)
    assert not fit.resampled and fit.fitted == (25, 34, 28)
    grid = to_grid(volume, fit, -1.0)
    assert grid.shape == (32, 48, 32) and (grid == -1).sum() == grid.size - 25 * 34 * 28
    back = from_grid(grid, fit, -1.0)
    assert back.shape == volume.shape
    np.testing.assert_array_equal(back[body], volume[body])  # bit for bit inside the head box
    assert (back[~np.pad(np.ones((25, 34, 28), bool), ((5, 10), (6, 8), (8, 8)))] == -1).all()


def test_a_head_larger_than_the_grid_is_resampled_whole_not_cropped():
    volume, body = head(shape=(60, 90, 50), box=((0, 60), (2, 88), (5, 45)))
    fit = plan_fit(body, (1.0, 1.0, 1.0), (16, 32, 16), 1.0)  # spacing given x, y, z
    assert fit.resampled
    assert max(f / g for f, g in zip(fit.fitted, fit.grid)) == 1.0  # the longest axis fills the grid
    assert all(f <= g for f, g in zip(fit.fitted, fit.grid))
    assert fit.voxel_mm[0] == pytest.approx(max(60 / 16, 86 / 32, 40 / 16), rel=0.02)
    back = from_grid(to_grid(np.ones_like(volume), fit, 0.0), fit, 0.0)
    assert back.shape == volume.shape
    np.testing.assert_allclose(back[body], 1.0, atol=1e-5)  # every head voxel comes back (0 where cropped)


def test_back_from_the_grid_keeps_voxel_centres_on_every_axis():
    """A ramp along each axis, put on a 2 mm grid and brought back to 1 mm voxels, lands where it was, to within
    0.1 voxel away from the edges (cubic convolution with a = -0.75 follows a ramp to within 0.094 voxel at a
    factor of two); a shifted or swapped axis would be off by half a voxel or more."""
    shape, box = (40, 48, 44), ((4, 36), (4, 44), (4, 40))
    body = np.zeros(shape, bool)
    body[tuple(slice(*b) for b in box)] = True
    fit = plan_fit(body, (1.0, 1.0, 1.0), (32, 32, 32), 2.0)
    assert fit.resampled and fit.fitted == (16, 20, 18)
    inner = tuple(slice(a + 4, b - 4) for a, b in box)  # 2 grid voxels in from the box's edges
    for axis in range(3):
        ramp = np.broadcast_to(np.arange(shape[axis], dtype=np.float32).reshape([-1 if a == axis else 1 for a in range(3)]), shape)
        back = from_grid(to_grid(ramp, fit, 0.0), fit, 0.0)
        error = np.abs(back[inner] - ramp[inner])
        assert error.max() < 0.1, (axis, error.max())


def test_anisotropic_mr_is_fitted_in_millimetres():
    volume, body = head(shape=(20, 48, 44), box=((2, 18), (6, 40), (8, 36)))
    fit = plan_fit(body, (1.0, 1.0, 3.0), (32, 32, 32), 2.0)  # z voxels are 3 mm
    assert fit.fitted == (24, 17, 14)


# ------------------------------------------------------------ config checks (the config's validate(), as it is read)
def test_a_grid_that_does_not_divide_is_refused_with_the_numbers(tmp_path):
    with pytest.raises(InputError, match=r"tiny brain config: grid.size: \[16, 18, 16\] must divide by 4 .*autoencoder "
                                         r"downsampling 2 x UNet downsampling 2.*\[18\]"):
        tiny_brain_spec(**{"grid.size": [16, 18, 16]})
    with pytest.raises(InputError, match=r"downsamples by 4, the autoencoder by 2"):
        tiny_brain_spec(**{"networks.controlnet.conditioning_embedding_num_channels": [4, 8, 8]})


def test_autoencoder_windows_must_step_by_whole_latent_voxels(tmp_path):
    with pytest.raises(InputError, match=r"steps by \[3, 3, 3\]: the steps must be positive multiples of .* 2"):
        tiny_brain_spec(**{"inference.autoencoder_overlap": 0.6})  # window 8 steps by 3; the factor is 2


def test_process_refuses_such_a_model_folder_when_loading_it(tmp_path, capsys):
    weights = tmp_path / "weights"
    folder = write_brain_folder(weights / "brain")
    write_config(folder, tiny_brain_config(**{"grid.size": [16, 18, 16]}))  # a config its networks cannot run on
    write_manifest(folder)
    mr, body = brain_images()
    inp = write_container_input(tmp_path / "input", {"case.mha": (mr, body)}, region="Brain")
    assert process.main(["--input", str(inp), "--output", str(tmp_path / "out"), "--weights", str(weights), "--device", "cpu"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {weights / 'brain' / 'config.json'}: grid.size: [16, 18, 16] must divide by 4")
    assert not any((tmp_path / "out").rglob("*.mha"))


def test_method_scale_config_builds_at_a_48_cubed_latent():
    config = load_config(ROOT / "configs" / "brain_ldm.json")
    from model.networks.latent import latent_shape

    assert latent_shape(config)[1:] == (48, 48, 48)
    controlnet = build_controlnet(config)
    assert sum(p.numel() for p in controlnet.parameters()) > 1_000_000


BRAIN_CONFIGS = sorted(p for p in [*(ROOT / "configs").glob("*.json"), *(ROOT / "configs" / "experiments").glob("*.json")]
                       if json.loads(p.read_text())["region"] == "Brain")


@pytest.mark.parametrize("path", BRAIN_CONFIGS, ids=lambda p: p.relative_to(ROOT / "configs").as_posix())
def test_every_brain_config_in_the_repository_passes_the_shape_checks(path):
    load_config(path).validate()  # the grid, the windows, the embedding and every stage's training.<stage>.latent_crop


def test_the_mr_embedded_once_steers_exactly_as_embedding_it_every_step():
    config = tiny_brain_spec()
    unet, controlnet = build_unet(config), build_controlnet(config)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in [*unet.parameters(), *controlnet.parameters()]:  # both start with zero output convolutions
            p.normal_(0, 0.1)
    x, mr, t = torch.randn(1, 2, 8, 8, 8), torch.randn(1, 1, 16, 16, 16), torch.tensor([500])
    embedding = controlnet.controlnet_cond_embedding
    with torch.no_grad():
        every_step = controlled_prediction(unet, controlnet, x, t, mr)
        without_mr = controlled_prediction(unet, controlnet, x, t, torch.zeros_like(mr))
        with embedded_conditioning(controlnet, mr) as embedded:
            assert embedded.shape == (1, 8, 8, 8, 8)
            once = [controlled_prediction(unet, controlnet, x, t, embedded) for _ in range(2)]
        assert controlnet.controlnet_cond_embedding is embedding
        with pytest.raises(RuntimeError), embedded_conditioning(controlnet, mr):
            raise RuntimeError("a failing step")
    assert controlnet.controlnet_cond_embedding is embedding  # restored, also after an error
    assert not torch.equal(every_step, without_mr)
    assert torch.equal(once[0], every_step) and torch.equal(once[1], every_step)


# ------------------------------------------------------ monai-generative checkpoints
def old_names(state: dict) -> dict:
    """Rename a MONAI core state dict to the parameter names monai-generative 0.2.x used."""
    old = {}
    for key, value in state.items():
        key = key.replace(".attn.to_q.", ".to_q.").replace(".attn.to_k.", ".to_k.").replace(".attn.to_v.", ".to_v.")
        key = key.replace(".attn.out_proj.", ".proj_attn.")
        key = key.replace(".postconv.", ".conv.")
        old[key] = value
    return old


@pytest.mark.parametrize("build", [build_autoencoder, build_unet, build_controlnet])
def test_weights_with_monai_generative_names_load(tmp_path, build):
    config = tiny_brain_spec(**{"networks.autoencoder.attention_levels": [False, True],
                                  "networks.autoencoder.with_nonlocal_attn": True,
                                  "networks.unet.attention_levels": [False, True]})
    torch.manual_seed(1)
    trained = build(config)
    state = old_names(trained.state_dict())
    assert set(state) != set(trained.state_dict())  # really the old names
    path = tmp_path / "old.pth"
    torch.save({"state_dict": state}, path)
    fresh = load_weights(build(config), path)
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[key], value, rtol=0, atol=0)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "list"])
def test_unreadable_torch_checkpoints_are_refused_naming_the_file(tmp_path, content):
    path = tmp_path / "old.pth"
    if content == "list":
        torch.save([torch.zeros(1)], path)
    else:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match=r"old.pth: (cannot read weights|is not a state dict)"):
        load_weights(build_unet(tiny_brain_spec()), path)


def test_unfitting_weights_are_refused_naming_the_file(tmp_path):
    save_weights(build_unet(tiny_brain_spec()), tmp_path / "unet.safetensors")
    with pytest.raises(WeightsError, match="unet.safetensors: weights do not fit"):
        load_weights(build_autoencoder(tiny_brain_spec()), tmp_path / "unet.safetensors")


# --------------------------------------------------------------- perceptual
def test_perceptual_backbone_missing_names_the_file(tmp_path):
    with pytest.raises(InputError) as err:
        load_backbone(tmp_path / "cache", "medicalnet_resnet10_23datasets")
    assert str(err.value).startswith(str(tmp_path / "cache" / "resnet_10_23dataset.pth"))
    assert "perceptual_weight to 0" in str(err.value)


def test_perceptual_loss_from_a_cached_medicalnet_file(tmp_path):
    """A MedicalNet-format checkpoint (random weights here: the real file cannot be downloaded)."""
    net = "medicalnet_resnet10_23datasets"
    torch.manual_seed(0)
    state = {f"module.{k}": v for k, v in build_backbone(net).state_dict().items()}
    path = backbone_file(tmp_path, net)
    torch.save({"state_dict": state}, path)
    loss = PerceptualLoss3D(load_backbone(tmp_path, net))
    a = torch.rand(1, 1, 24, 24, 24, requires_grad=True)
    value = loss(a, torch.rand(1, 1, 24, 24, 24))
    value.backward()
    assert value.item() > 0 and a.grad.abs().sum() > 0
    assert loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    assert set(BACKBONES) == {"medicalnet_resnet10_23datasets", "medicalnet_resnet50_23datasets"}


# ------------------------------------------------------------------ sampling
def brain_images(shape=(30, 36, 28), seed=0):
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = (((z - 15) / 13) ** 2 + ((y - 18) / 16) ** 2 + ((x - 14) / 12) ** 2) < 1
    mr = np.where(body, 300 + 50 * rng.normal(size=shape), 0).astype(np.int16)
    spacing, origin, direction = (2.0, 2.0, 2.0), (-30.0, 12.5, 40.0), (0, 1, 0, 1, 0, 0, 0, 0, -1)
    return make_image(mr, spacing, origin, direction), make_image(body.astype(np.uint8), spacing, origin, direction)


@pytest.fixture
def brain_weights(tmp_path):
    write_brain_folder(tmp_path / "weights" / "brain")
    return tmp_path / "weights"


def run_brain(tmp_path, weights, name="out"):
    mr, body = brain_images()
    inp = tmp_path / "input"
    if not inp.exists():
        write_container_input(inp, {"case.mha": (mr, body)}, region="Brain")
    out = tmp_path / name
    assert process.main(["--input", str(inp), "--output", str(out), "--weights", str(weights), "--device", "cpu"]) == 0
    return mr, sitk.ReadImage(str(out / "images" / "synthetic-ct" / "case.mha"))


def test_brain_routes_to_the_ldm_pipeline_onto_the_mr_grid(tmp_path, brain_weights):
    mr, sct = run_brain(tmp_path, brain_weights)
    assert sct.GetPixelID() == sitk.sitkInt16
    assert (sct.GetSize(), sct.GetSpacing(), sct.GetOrigin(), sct.GetDirection()) == \
        (mr.GetSize(), mr.GetSpacing(), mr.GetOrigin(), mr.GetDirection())
    assert json.loads((tmp_path / "out" / "results.json").read_text())[0]["outputs"]


def test_same_seed_same_sct_bit_for_bit_and_another_seed_differs(tmp_path, brain_weights):
    first = sitk.GetArrayFromImage(run_brain(tmp_path, brain_weights, "a")[1])
    second = sitk.GetArrayFromImage(run_brain(tmp_path, brain_weights, "b")[1])
    np.testing.assert_array_equal(first, second)
    mr, body = brain_images()
    pipeline = load_pipeline(ModelEntry("Brain", "ldm", brain_weights / "brain"), torch.device("cpu"))
    case = CaseInput(mr, sitk.GetArrayFromImage(mr).astype(np.float32), sitk.GetArrayFromImage(body).astype(bool))
    (a,), (b,) = pipeline.predict_samples(case, 1, seed=0), pipeline.predict_samples(case, 1, seed=1)
    assert not np.array_equal(a, b)


def test_several_samples_give_a_mean_and_a_standard_deviation(brain_weights):
    mr, body = brain_images()
    pipeline = load_pipeline(ModelEntry("Brain", "ldm", brain_weights / "brain"), torch.device("cpu"))
    case = CaseInput(mr, sitk.GetArrayFromImage(mr).astype(np.float32), sitk.GetArrayFromImage(body).astype(bool))
    mean, std = pipeline.predict_with_uncertainty(case, 3)
    samples = np.stack(pipeline.predict_samples(case, 3))
    np.testing.assert_allclose(mean, samples.mean(0), atol=1e-3)
    assert std.shape == mean.shape == tuple(reversed(mr.GetSize())) and std.max() > 0


def test_missing_scale_factor_is_a_weights_error(tmp_path):
    folder = write_brain_folder(tmp_path / "brain")
    config = tiny_brain_config()
    del config["latent"]
    write_config(folder, config)
    write_manifest(folder)
    with pytest.raises(WeightsError, match="latent.scale_factor"):
        load_pipeline(ModelEntry("Brain", "ldm", folder), torch.device("cpu"))
    assert read_config(folder)["pipeline"] == "ldm"


def test_uncertainty_map_next_to_the_sct_when_asked(tmp_path, brain_weights, capsys):
    mr, body = brain_images()
    inp = write_container_input(tmp_path / "input", {"case.mha": (mr, body)}, region="Brain")
    out = tmp_path / "out"
    assert process.main(["--input", str(inp), "--output", str(out), "--weights", str(brain_weights), "--device", "cpu",
                         "--uncertainty-samples", "2"]) == 0
    std = sitk.ReadImage(str(out / "images/synthetic-ct-uncertainty/case.mha"))
    assert std.GetPixelID() == sitk.sitkFloat32 and std.GetOrigin() == mr.GetOrigin() and std.GetDirection() == mr.GetDirection()
    outputs = json.loads((out / "results.json").read_text())[0]["outputs"]
    assert [o["filename"] for o in outputs] == ["/output/images/synthetic-ct/case.mha", "/output/images/synthetic-ct-uncertainty/case.mha"]
    assert process.main(["--input", str(inp), "--output", str(tmp_path / "o2"), "--weights", str(brain_weights),
                         "--uncertainty-samples", "1"]) == 1
    assert "--uncertainty-samples: needs at least 2 samples" in capsys.readouterr().err


def test_benchmark_times_one_sampling_step_and_a_whole_brain_case(tmp_path, brain_weights, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_brain_config()))
    assert bench_main(["sampling-step", str(config), "--repeats", "2", "--json", str(tmp_path / "step.json")]) == 0
    figures = json.loads((tmp_path / "step.json").read_text())
    assert figures["what"] == "sampling_step" and len(figures["seconds"]) == 2 and figures["embedding_seconds"] > 0
    out = capsys.readouterr().out
    assert "one sampling step of" in out and "conditioning embedding (once per sample)" in out
    assert bench_main(["case", "--weights", str(brain_weights / "brain"), "--shape", "30", "36", "28", "--spacing", "2", "2", "2",
                       "--repeats", "1", "--json", str(tmp_path / "case.json")]) == 0
    assert json.loads((tmp_path / "case.json").read_text())["shape_zyx"] == [30, 36, 28]


def test_benchmark_times_each_brain_training_step_in_float32_and_bf16(tmp_path, capsys):
    config = tiny_brain_config()
    del config["latent"], config["weights"]
    config["training"] = {"autoencoder": {"iterations": 1, "patch_size": [16, 16, 16], "losses": {"adversarial_warmup": 3}},
                          "diffusion": {"iterations": 1}, "controlnet": {"iterations": 1, "latent_crop": [4, 4, 4]}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert bench_main(["training-steps", str(path), "--repeats", "2", "--json", str(tmp_path / "steps.json")]) == 0
    figures = json.loads((tmp_path / "steps.json").read_text())
    assert figures["what"] == "training_steps" and set(figures["stages"]) == {"autoencoder", "diffusion", "controlnet"}
    for stage in figures["stages"].values():
        assert len(stage["float32_seconds"]) == len(stage["bf16_seconds"]) == 2
        assert stage["ratio"] == pytest.approx(stage["bf16_median"] / stage["float32_median"], rel=0.01)
    assert "autoencoder: one training step" in capsys.readouterr().out
