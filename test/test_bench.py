"""``python -m tools.bench <mode>``: one subcommand per benchmark, each answering ``--help``; the random-weights
model folder it times is a model folder the container loads (its config written back by the config itself)."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from conftest import TINY_CONFIG, drawn, write_model_folder
from model.config import load_config
from model.weights import read_config
from tools.bench.__main__ import MODES, main, parser
from tools.bench.body_mask import admissible_masks, rim_shift
from tools.phantom import Tissue

MODE_MODULES = {"case": "case", "sampling-step": "sampling_step", "attention": "attention",
                "training-steps": "training_steps", "training-data": "training_data", "window-plan": "window_plan",
                "body-mask": "body_mask"}


def test_every_mode_is_a_module_of_its_own():
    assert {name: module.__name__ for name, module in MODES.items()} == {
        name: f"tools.bench.{module}" for name, module in MODE_MODULES.items()}


@pytest.mark.parametrize("mode", MODE_MODULES)
def test_every_mode_answers_help_as_python_m_tools_bench_mode(mode, capsys):
    with pytest.raises(SystemExit) as done:
        main([mode, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m tools.bench {mode}")


def test_the_modes_are_listed_and_one_is_required(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m tools.bench") and all(mode in out for mode in MODE_MODULES)
    with pytest.raises(SystemExit) as done:
        main([])
    assert done.value.code == 2
    with pytest.raises(SystemExit):  # the old flags are gone: each is a mode now
        main(["--sampling-step", "configs/brain_ldm.json"])
    assert "invalid choice" in capsys.readouterr().err


def test_case_takes_a_model_folder_or_random_weights_not_both():
    args = parser().parse_args(["case", "--random-weights", "c.json", "--shape", "8", "8", "8"])
    assert args.random_weights.name == "c.json" and args.device == "cpu" and args.threads == 2 and args.repeats == 3
    with pytest.raises(SystemExit):
        parser().parse_args(["case", "--weights", "w", "--random-weights", "c.json"])
    args = parser().parse_args(["training-data", "data", "--config", "c.json"])
    assert (args.iterations, args.workers, args.threads) == (30, 2, 2)


def test_a_mode_refuses_another_family_s_config_in_one_line(tmp_path, capsys):
    path = tmp_path / "pelvis.json"
    path.write_text(json.dumps(TINY_CONFIG))
    assert main(["sampling-step", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: pipeline: sampling-step measures the brain model (an \"ldm\" config), not 'pix2pix'"]


def test_random_weights_time_a_model_folder_written_from_the_config_itself(tmp_path):
    from tools.bench.random_weights import random_model_folder

    config = copy.deepcopy(TINY_CONFIG)
    del config["weights"]  # a training config: the benchmark names the weights it writes
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    (tmp_path / "model").mkdir()
    folder = random_model_folder(load_config(path), tmp_path / "model")
    assert read_config(folder) == {**config, "weights": {"generator": "generator.safetensors"}}
    assert main(["case", "--random-weights", str(path), "--shape", "8", "24", "24", "--repeats", "1",
                 "--json", str(tmp_path / "case.json")]) == 0
    figures = json.loads((tmp_path / "case.json").read_text())
    assert figures["what"] == "case" and figures["weights"] == str(path) and len(figures["seconds"]) == 1


def test_the_window_plan_bounds_a_window_and_sizes_the_batch_to_the_budget(tmp_path, capsys):
    """The bound counts every module's output: at least the first convolution's (4 channels, float16 under amp),
    and the window itself; a budget the parameters and one window barely fit gives one window and stitches on
    the CPU, a large one the config's maximum batch and stitching on the GPU."""
    import torch

    from tools.bench.window_plan import window_bytes_bound

    folder = write_model_folder(tmp_path / "model")
    config = load_config(folder / "config.json")
    from model.networks.pix2pix import build_generator

    net = build_generator(config.networks.generator)
    roi = config.inference.roi_size
    bound = window_bytes_bound(net, roi, 2)
    assert bound >= 4 * 2 * (roi[0] // 2) * (roi[1] // 2) * (roi[2] // 2) + 4 * int(torch.tensor(roi).prod())
    assert window_bytes_bound(net, roi, 4) > bound
    for gib, batch, where in ((0.0008, 1, "CPU"), (16.0, config.inference.max_sw_batch_size, "GPU")):
        out = tmp_path / f"plan{gib}.json"
        assert main(["window-plan", "--weights", str(folder), "--shape", "40", "96", "96", "--gpu-gib", str(gib),
                     "--json", str(out)]) == 0
        figures = json.loads(out.read_text())
        assert (figures["window_batch"], figures["stitching"]) == (batch, where), figures
    assert "window batch" in capsys.readouterr().out


def test_body_mask_mode_scores_the_mask_made_from_the_mr(tmp_path, capsys):
    """One pelvis (clean MR: the noise step skipped), its Dice as test_body_mask measures it."""
    out = tmp_path / "mask.json"
    assert main(["body-mask", "--region", "pelvis", "--seeds", "0", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    case = figures["cases"][0]
    assert case["case"] == "1PX0000" and case["k"] == 1 and case["noise_share"] < 0.002
    assert figures["min"] == figures["median"] == case["dice"] >= 0.99
    assert abs(case["missed"] - case["added"]) < 0.02  # neither a rim too many nor one too few
    assert abs(case["shift_rims"]) < 0.1  # the clean MR's outline on the anatomy's
    assert case["dice"] <= case["ceiling"] + 0.001 and figures["ceiling_min"] == case["ceiling"] < 1.0
    assert 0.98 < case["admissible"] < 1.0 and figures["admissible"] == [case["admissible"]] * 2
    assert "Dice min" in capsys.readouterr().out


@pytest.mark.parametrize("region, seed", [("pelvis", 0), ("brain", 0), ("pelvis", 3)])
def test_the_true_mask_is_one_of_the_two_admissible_ones(region, seed):
    """The bench's model of the phantoms' masks (the anatomy dilated in-plane once or twice) is the generator's:
    pelvis 0 and 3 drew different margins."""
    case = drawn(region, seed)
    true = sitk.GetArrayFromImage(case.mask) > 0
    assert sum(np.array_equal(true, mask) for mask in admissible_masks(case.labels != Tissue.AIR)) == 1


def test_rim_shift_counts_whole_rims():
    """An outline a voxel out (the anatomy dilated in-plane by its 4 neighbours) is +1, a voxel in -1."""
    z, y, x = np.ogrid[:6, :40, :40]
    anatomy = np.broadcast_to((y - 20) ** 2 + (x - 20) ** 2 <= 12**2, (6, 40, 40))
    cross = ndimage.generate_binary_structure(2, 1)[None]
    assert rim_shift(anatomy, anatomy) == 0.0
    assert rim_shift(ndimage.binary_dilation(anatomy, cross), anatomy) == 1.0
    assert rim_shift(ndimage.binary_dilation(anatomy, cross, iterations=2), anatomy) > 1.9
    assert -1.1 < rim_shift(ndimage.binary_erosion(anatomy, cross), anatomy) < -0.9
