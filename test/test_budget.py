"""The time budget of a case: what the brain sampler lowers to fit, what the pelvis says, and the option."""
from __future__ import annotations

import json
import logging
import re

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from monai.inferers import sliding_window_inference
from test_brain import brain_images

import process
from brain_fixtures import tiny_brain_config, write_brain_folder
from conftest import TINY_CONFIG, write_container_input, write_model_folder
from model.budget import SamplingPlan, TimeBudget, budget_seconds, fit_samples_and_steps, window_count, windows_per_axis
from model.cases import CaseInput
from model.config import SlidingWindow, parse_config
from model.errors import WeightsError
from model.pipelines import load_pipeline
from model.pipelines.sliding import predict_volume
from model.registry import ModelEntry
from model.weights import write_config, write_manifest

CPU = torch.device("cpu")


class FakeClock:
    """A test double for the wall clock: reads what the test sets."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ planning, worked by hand
def test_samples_are_lowered_before_steps_and_never_below_the_floor():
    # a sample costs steps x 1 s + 2 s: 3 x 10 steps = 36 s
    assert fit_samples_and_steps(40, 1.0, 2.0, 3, 10, 1, 4) == (3, 10)
    assert fit_samples_and_steps(30, 1.0, 2.0, 3, 10, 1, 4) == (2, 10)  # 24 s fits, 36 s does not
    assert fit_samples_and_steps(12, 1.0, 2.0, 3, 10, 1, 4) == (1, 10)
    assert fit_samples_and_steps(9, 1.0, 2.0, 3, 10, 1, 4) == (1, 7)  # 7 x 1 + 2 = 9
    assert fit_samples_and_steps(1, 1.0, 2.0, 3, 10, 1, 4) == (1, 4)  # the floor, even where it overruns
    assert fit_samples_and_steps(19, 1.0, 2.0, 3, 10, 2, 4) == (2, 7)  # min_samples 2: 2 x (7 + 2) = 18


def test_a_budget_counts_from_its_start_and_keeps_a_margin():
    clock = FakeClock()
    budget = TimeBudget(100, clock=clock)
    clock.now = 40
    assert budget.elapsed() == 40 and budget.remaining() == 60 and budget.available() == pytest.approx(54)
    clock.now = 120
    assert budget.remaining() == -20 and budget.available() == 0


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf")])
def test_a_budget_must_be_a_positive_number(seconds):
    with pytest.raises(ValueError, match="positive number of seconds"):
        TimeBudget(seconds)


def test_after_each_sample_the_rest_is_checked_with_its_real_time(caplog):
    clock = FakeClock()
    plan = SamplingPlan(samples=4, steps=10, min_samples=1, min_steps=5, budget=TimeBudget(100, clock=clock))
    clock.now = 30
    plan.after_sample(1, 30.0)  # 70 s left, 63 available: two more of 30 s
    assert plan.samples == 3
    assert "a sample took 30.0 s and 70.0 s are left: 3 sample(s) instead of 4" in caplog.text
    clock.now = 95
    plan.after_sample(2, 30.0)
    assert plan.samples == 2


def test_without_a_budget_a_plan_keeps_the_configured_settings():
    plan = SamplingPlan(samples=3, steps=20, min_samples=1, min_steps=10)
    assert not plan.after_first_step(1.0, 100.0, 100.0)
    plan.after_sample(1, 1e9)
    assert (plan.samples, plan.steps) == (3, 20)


@pytest.mark.parametrize("shape,window,overlap", [((13, 40, 50), (8, 16, 16), 0.5), ((5, 40, 16), (8, 16, 16), 0.25),
                                                   ((153, 41, 70), (32, 16, 24), 0.0), ((96, 112, 96), (64, 64, 64), 0.5),
                                                   ((30, 64, 70), (16, 64, 64), 0.25)])
def test_windows_are_counted_as_monai_places_them(shape, window, overlap):
    calls = []

    def predictor(x):
        calls.append(len(x))
        return x

    sliding_window_inference(torch.zeros(1, 1, *shape), window, 1, predictor, overlap=overlap)
    assert window_count(shape, window, overlap) == len(calls)
    assert window_count(shape, window, overlap) == np.prod([windows_per_axis(s, w, overlap) for s, w in zip(shape, window)])


def test_the_budget_is_the_option_else_the_model_folders_else_900_s_and_is_checked():
    def config(**inference):
        return parse_config(tiny_brain_config(**{f"inference.{k}": v for k, v in inference.items()}), "config.json",
                            WeightsError)

    assert budget_seconds(None, config()) == (900, "default")
    assert budget_seconds(None, config(time_budget_s=600)) == (600, "config.json")
    assert budget_seconds(10, config(time_budget_s=600)) == (10, "--time-budget")
    for bad, why in ((0, "out of range: must be above 0"), (-5, "out of range"), ("900", 'expected a number, got string "900"'),
                     (True, "expected a number, got true"), (float("nan"), "out of range")):
        with pytest.raises(WeightsError, match=f"config.json: inference.time_budget_s: .*{re.escape(why)}"):
            config(time_budget_s=bad)


# ------------------------------------------------------------------ the brain sampler, real (tiny) networks
def brain_pipeline(tmp_path, **changes):
    folder = write_brain_folder(tmp_path / "brain", tiny_brain_config(**changes))
    return load_pipeline(ModelEntry("Brain", "ldm", folder), CPU)


def brain_case() -> CaseInput:
    mr, body = brain_images()
    return CaseInput(mr, sitk.GetArrayFromImage(mr).astype(np.float32), sitk.GetArrayFromImage(body).astype(bool))


def test_a_generous_budget_changes_nothing_bit_for_bit(tmp_path):
    pipeline = brain_pipeline(tmp_path, **{"sampler.samples": 2})
    case = brain_case()
    np.testing.assert_array_equal(pipeline.predict(case, budget=TimeBudget(1e6)), pipeline.predict(case))


def test_an_impossible_budget_runs_the_floor_which_is_exactly_the_fewer_step_sample(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    pipeline = brain_pipeline(tmp_path, **{"sampler.samples": 3, "sampler.steps": 8, "sampler.min_steps": 2})
    case = brain_case()
    hu = pipeline.predict(case, budget=TimeBudget(1e-3))
    assert "lowered to 1 sample(s) x 2 DDIM steps (configured 3 x 8, floor 1 x 2)" in caplog.text
    assert "even the floor" in caplog.text and "sampled 1 sample(s) x 2 DDIM steps" in caplog.text
    floor = brain_pipeline(tmp_path / "floor", **{"sampler.samples": 1, "sampler.steps": 2})
    np.testing.assert_array_equal(hu, floor.predict(case))  # restarted on the 2-step schedule, not cut short


def test_uncertainty_keeps_two_samples_whatever_the_budget(tmp_path):
    pipeline = brain_pipeline(tmp_path)
    mean, std = pipeline.predict_with_uncertainty(brain_case(), 4, budget=TimeBudget(1e-3))
    assert std.max() > 0  # two samples at least: a standard deviation exists


def test_a_floor_that_is_not_a_whole_number_is_a_weights_error(tmp_path):
    folder = write_brain_folder(tmp_path / "brain")
    for bad, why in ((0, "0 is out of range: must be at least 1"), (2.5, "expected an integer, got number 2.5")):
        write_config(folder, tiny_brain_config(**{"sampler.min_steps": bad}))
        write_manifest(folder)
        with pytest.raises(WeightsError, match=f"config.json: sampler.min_steps: {re.escape(why)}"):
            load_pipeline(ModelEntry("Brain", "ldm", folder), CPU)


def test_process_with_a_tiny_budget_still_writes_an_sct_on_the_mr_grid(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    weights = tmp_path / "weights"
    write_brain_folder(weights / "brain", tiny_brain_config(**{"sampler.samples": 2, "sampler.steps": 4}))
    mr, body = brain_images()
    inp = write_container_input(tmp_path / "input", {"case.mha": (mr, body)}, region="Brain")
    out = tmp_path / "out"
    assert process.main(["--input", str(inp), "--output", str(out), "--weights", str(weights), "--device", "cpu",
                         "--time-budget", "0.001"]) == 0
    sct = sitk.ReadImage(str(out / "images/synthetic-ct/case.mha"))
    assert (sct.GetSize(), sct.GetOrigin(), sct.GetDirection()) == (mr.GetSize(), mr.GetOrigin(), mr.GetDirection())
    assert "time budget: 0.001 s a case (--time-budget)" in caplog.text
    assert "lowered to 1 sample(s) x 4 DDIM steps" in caplog.text


@pytest.mark.parametrize("value", ["0", "-3", "nan"])
def test_a_time_budget_that_is_not_positive_is_one_line(tmp_path, container_input, weights_dir, capsys, value):
    assert process.main(["--input", str(container_input), "--output", str(tmp_path / "out"), "--weights",
                         str(weights_dir), "--time-budget", value]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --time-budget: must be a positive number of seconds") and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_the_model_folders_budget_is_the_default_and_the_log_says_so(tmp_path, container_input, caplog):
    caplog.set_level(logging.INFO)
    config = {**TINY_CONFIG, "inference": {**TINY_CONFIG["inference"], "time_budget_s": 321}}
    write_model_folder(tmp_path / "weights" / "pelvis", config)
    assert process.main(["--input", str(container_input), "--output", str(tmp_path / "out"), "--weights",
                         str(tmp_path / "weights"), "--device", "cpu"]) == 0
    assert "time budget: 321 s a case (" in caplog.text and "config.json)" in caplog.text
    assert "budget 321 s" in caplog.text


# ------------------------------------------------------------------ the pelvis windows
def test_the_first_window_batch_says_whether_the_volume_fits(caplog):
    caplog.set_level(logging.INFO)
    volume = np.random.default_rng(0).uniform(-1, 1, (13, 40, 50)).astype(np.float32)
    config = SlidingWindow(roi_size=(8, 16, 16), overlap=0.5, sw_batch_size=3)
    net = torch.nn.Conv3d(1, 1, 3, padding=1)
    plain = predict_volume(net, volume, config, CPU)
    np.testing.assert_array_equal(predict_volume(net, volume, config, CPU, budget=TimeBudget(1e6)), plain)
    windows = window_count(volume.shape, config.roi_size, config.overlap)
    assert f"{windows} windows in {-(-windows // 3)} batch(es)" in caplog.text and caplog.text.rstrip().endswith("fits")
    caplog.clear()
    np.testing.assert_array_equal(predict_volume(net, volume, config, CPU, budget=TimeBudget(1e-6)), plain)
    assert "this case will not fit its budget" in caplog.text


def test_the_benchmark_runs_a_random_weights_model_under_a_time_budget(tmp_path, caplog):
    from tools.bench.__main__ import main as bench_main

    caplog.set_level(logging.INFO)
    config = tiny_brain_config(**{"sampler.samples": 2, "sampler.steps": 5, "sampler.min_steps": 2})
    del config["latent"], config["weights"]  # a training config: the benchmark writes both
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert bench_main(["case", "--random-weights", str(path), "--shape", "30", "36", "28", "--spacing", "2", "2", "2",
                       "--repeats", "1", "--time-budget", "0.001", "--json", str(tmp_path / "case.json")]) == 0
    figures = json.loads((tmp_path / "case.json").read_text())
    assert figures["weights"] == str(path) and figures["time_budget"] == 0.001
    assert "lowered to 1 sample(s) x 2 DDIM steps (configured 2 x 5, floor 1 x 2)" in caplog.text
