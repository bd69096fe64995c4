"""The GPU path checked on the CPU: SDPA attention, the precision policy, the float32 retry, out-of-memory
fallbacks, the window batch, the device report, and the prepared GPU check (--smoke).

No GPU here: where a test needs one, a test double stands in and says so in its name or docstring.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from test_container import assert_fails_cleanly, run_process

from brain_fixtures import tiny_brain_config, tiny_brain_spec
from conftest import ROOT, typed
from model import device as device_module
from model import precision as precision_module
from model.cases import CaseInput
from model.config import Generator, SlidingWindow, load_config
from model.errors import InputError, NonFiniteOutput
from model.networks.latent import build_autoencoder, build_controlnet, build_unet
from model.pipelines.latent_windows import decode_windows, encode_windows
from model.pipelines.ldm import LatentDiffusionPipeline
from model.pipelines.sliding import GIB, predict_volume, run_windows, window_plan
from model.precision import InferencePrecision, inference_precision, training_autocast, with_float32_retry
from tools.gpu_check.metaio import read_mha

CPU = torch.device("cpu")


def attention_config(sdpa: bool) -> dict:
    """The tiny brain with self-attention on its second level (as the method config has)."""
    config = tiny_brain_config(**{"networks.unet.attention_levels": [False, True], "networks.unet.num_head_channels": [0, 4]})
    config["networks"]["unet"]["sdpa"] = sdpa
    return config


def head_case(shape=(20, 22, 20)) -> CaseInput:
    from tools.gpu_check.metaio import MetaImage

    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = sum(((a - n / 2) / (0.42 * n)) ** 2 for a, n in zip((z, y, x), shape)) <= 1
    mr = (np.random.default_rng(1).uniform(100, 900, shape) * body).astype(np.float32)
    return CaseInput(MetaImage(mr, (4.0, 4.0, 4.0), (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1)), mr, body)


def pipeline_for(config: dict, state: dict | None = None) -> LatentDiffusionPipeline:
    from tools.gpu_check.sections import reinit_zero_layers

    config = typed(config)
    torch.manual_seed(0)
    nets = {"autoencoder": build_autoencoder(config), "unet": build_unet(config), "controlnet": build_controlnet(config)}
    if state is None:
        reinit_zero_layers(nets["unet"], nets["controlnet"])
    else:
        for name, net in nets.items():
            net.load_state_dict(state[name])
    return LatentDiffusionPipeline(**nets, config=config, device=CPU)


# ------------------------------------------------------------------------------------------------ SDPA
def test_sdpa_is_the_default_and_old_folders_load_into_it_with_the_same_sct_within_half_a_hu():
    explicit = pipeline_for(attention_config(sdpa=False))
    assert not explicit.unet.down_blocks[1].attentions[0].attn.use_flash_attention
    state = {k: getattr(explicit, k).state_dict() for k in ("autoencoder", "unet", "controlnet")}
    default = attention_config(sdpa=True)
    del default["networks"]["unet"]["sdpa"]  # a folder written before the setting existed
    sdpa = pipeline_for(default, state)  # the same weights, strict load: no parameter renamed
    assert sdpa.unet.down_blocks[1].attentions[0].attn.use_flash_attention
    assert sdpa.controlnet.down_blocks[1].attentions[0].attn.use_flash_attention
    case = head_case()
    a, b = explicit.predict(case), sdpa.predict(case)
    assert a[case.body].std() > 10  # not trivially constant
    assert np.abs(a - b)[case.body].max() <= 0.5


def test_the_method_config_runs_its_attention_through_sdpa():
    unet = build_unet(load_config(ROOT / "configs" / "brain_ldm.json"))
    flags = {m.use_flash_attention for m in unet.modules() if hasattr(m, "use_flash_attention")}
    assert flags == {True}


@pytest.mark.slow
def test_bench_compares_the_two_attentions_side_by_side(tmp_path, capsys):
    from tools.bench.__main__ import main

    config = attention_config(sdpa=True)
    config["sampler"]["steps"] = 2
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert main(["attention", str(path), "--rounds", "1", "--repeats", "1", "--json", str(tmp_path / "attention.json")]) == 0
    figures = json.loads((tmp_path / "attention.json").read_text())
    assert set(figures["kinds"]) == {"explicit", "sdpa"} and figures["step_ratio"] > 0
    assert "| explicit |" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------ precision
def test_precision_policy_by_device(monkeypatch):
    assert inference_precision(CPU) == InferencePrecision("cpu", torch.float32)
    assert not inference_precision(CPU).reduced
    cuda = torch.device("cuda")
    monkeypatch.setattr(precision_module, "cuda_native_bf16", lambda device=None: False)  # test double: a T4
    t4 = inference_precision(cuda)
    assert (t4.networks, t4.autoencoder) == (torch.float16, torch.float32)
    monkeypatch.setattr(precision_module, "cuda_native_bf16", lambda device=None: True)  # test double: an A100
    a100 = inference_precision(cuda)
    assert (a100.networks, a100.autoencoder) == (torch.bfloat16, torch.float32)
    assert inference_precision(cuda, amp=False).networks == torch.float32
    assert a100.float32() == InferencePrecision("cuda", torch.float32)
    with pytest.raises(ValueError, match="never runs in float16"):
        InferencePrecision("cuda", torch.float16, autoencoder=torch.float16)


def test_bf16_training_is_refused_on_a_gpu_that_only_emulates_it(monkeypatch):
    """Test double: a T4 (compute capability 7.5), which torch.cuda.is_bf16_supported() counts by emulation."""
    monkeypatch.setattr(precision_module, "cuda_native_bf16", lambda device=None: False)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    with pytest.raises(InputError) as err:
        training_autocast("bf16", "training.controlnet", torch.device("cuda"), "c.json")
    message = str(err.value)
    assert message.startswith("c.json: training.controlnet.amp") and "Tesla T4" in message and "7.5" in message
    assert training_autocast(False, "training", torch.device("cuda"), "c.json")() is not None  # float32 is fine


def test_a_non_finite_output_is_retried_once_in_float32_then_refused(caplog):
    reduced = InferencePrecision("cpu", torch.bfloat16)
    seen = []

    def finite_in_float32(precision):
        seen.append(precision.networks)
        if precision.networks != torch.float32:
            raise NonFiniteOutput("the decoded CT has 3 NaN or Inf values")
        return "sct"

    with caplog.at_level(logging.WARNING):
        assert with_float32_retry(finite_in_float32, reduced, "case") == "sct"
    assert seen == [torch.bfloat16, torch.float32] and "retrying this case in float32" in caplog.text

    def never_finite(precision):
        raise NonFiniteOutput("the decoded CT has 3 NaN or Inf values")

    with pytest.raises(NonFiniteOutput, match="in float32 too"):
        with_float32_retry(never_finite, reduced, "case")
    with pytest.raises(NonFiniteOutput):  # already float32: no second try
        with_float32_retry(never_finite, InferencePrecision("cpu", torch.float32), "case")


def test_brain_sampling_that_overflows_in_reduced_precision_is_sampled_again_in_float32():
    """Test double for fp16 overflow: the UNet's output turns to inf whenever autocast is on (CPU bfloat16 here)."""
    pipeline = pipeline_for(attention_config(sdpa=True))
    case = head_case()
    expected = pipeline.predict(case)
    pipeline.unet.register_forward_hook(lambda m, args, out: out * float("inf") if torch.is_autocast_enabled("cpu") else out)
    pipeline.precision = InferencePrecision("cpu", torch.bfloat16)
    np.testing.assert_array_equal(pipeline.predict(case), expected)


def test_a_decoded_volume_that_is_not_finite_is_an_error_never_clamped():
    """Test double: a decoder that always gives NaN; float32 retry included, the case fails."""
    pipeline = pipeline_for(attention_config(sdpa=True))
    pipeline.autoencoder.decoder.register_forward_hook(lambda m, args, out: out * float("nan"))
    with pytest.raises(NonFiniteOutput, match="decoded CT"):
        pipeline.predict(head_case())


# ------------------------------------------------------------------------------------------------ out of memory
class OutOfMemoryAboveOneWindow(torch.nn.Module):
    """Test double for a GPU with room for one window: raises torch.cuda.OutOfMemoryError for a batch of more."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.batches = []

    def forward(self, x):
        return self.check(x, self.net)

    def decode(self, z):
        return self.check(z, self.net.decode)

    def encode(self, x):
        return self.check(x, self.net.encode)

    def check(self, x, fn):
        self.batches.append(x.shape[0])
        if x.shape[0] > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (test double)")
        return fn(x)


def test_pelvis_windows_halve_their_batch_on_out_of_memory_and_give_the_same_output(caplog):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv3d(1, 4, 3, padding=1), torch.nn.InstanceNorm3d(4), torch.nn.Conv3d(4, 1, 1)).eval()
    volume = np.random.default_rng(0).uniform(-1, 1, (12, 40, 40)).astype(np.float32)
    config = SlidingWindow(roi_size=(8, 16, 16), overlap=0.5)
    one = predict_volume(net, volume, replace(config, sw_batch_size=1), CPU)
    double = OutOfMemoryAboveOneWindow(net)
    with caplog.at_level(logging.WARNING):
        out = predict_volume(double, volume, replace(config, sw_batch_size=4), CPU)
    assert double.batches[:3] == [4, 2, 1] and set(double.batches[2:]) == {1}
    assert "retrying with 2" in caplog.text and "retrying with 1" in caplog.text
    np.testing.assert_array_equal(out, one)


def test_autoencoder_windows_halve_their_batch_on_out_of_memory_and_give_the_same_output(caplog):
    config = tiny_brain_spec(**{"inference.autoencoder_sw_batch_size": 4})
    torch.manual_seed(0)
    autoencoder = build_autoencoder(config).eval()
    image = torch.rand(1, 1, 16, 16, 16) * 2 - 1
    with torch.no_grad():
        mu, _ = encode_windows(autoencoder, image, tiny_brain_spec())
        expected = decode_windows(autoencoder, mu, tiny_brain_spec())
        double = OutOfMemoryAboveOneWindow(autoencoder)
        with caplog.at_level(logging.WARNING):
            out = decode_windows(double, mu, config)
            mu_again, _ = encode_windows(double, image, config)
    assert double.batches[:3] == [4, 2, 1] and "autoencoder windows" in caplog.text
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(mu_again, mu, atol=1e-5, rtol=0)


def test_with_one_window_left_a_stage_falls_back_to_the_cpu_and_the_network_goes_home(caplog):
    """Test doubles: a 'GPU' attempt that always runs out of memory, and a network that records its moves
    instead of making them (there is no CUDA device to move to here)."""
    class RecordsMoves(torch.nn.Linear):
        def __init__(self):
            super().__init__(1, 1)
            self.moves = []

        def to(self, device):
            self.moves.append(torch.device(device).type)
            return self

    net, calls = RecordsMoves(), []

    def attempt(batch, device):
        calls.append((batch, device.type))
        if device.type == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (test double)")
        return "done on the CPU"

    with caplog.at_level(logging.WARNING):
        assert run_windows(net, attempt, 4, torch.device("cuda"), "autoencoder windows") == "done on the CPU"
    assert calls == [(4, "cuda"), (2, "cuda"), (1, "cuda"), (1, "cpu")]
    assert net.moves[-2:] == ["cpu", "cpu"]  # the CPU fallback, then home (its parameters are on the CPU)
    assert "running this stage on the CPU" in caplog.text

    def always(batch, device):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (test double)")

    with pytest.raises(torch.cuda.OutOfMemoryError):
        run_windows(net, always, 2, torch.device("cuda"), "sliding windows")


def test_out_of_memory_left_over_in_the_container_is_one_line_exit_1_and_no_output(container_input, weights_dir, tmp_path,
                                                                                    monkeypatch, capsys):
    """Test double: the Pix2Pix generator runs out of memory at any window batch, even on the CPU."""
    from model.networks.pix2pix import Pix2PixGenerator

    def out_of_memory(self, x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB\nGPU 0 has a total capacity "
                                          "of 15.00 GiB (test double)")

    monkeypatch.setattr(Pix2PixGenerator, "forward", out_of_memory)
    out = tmp_path / "out"
    assert_fails_cleanly(capsys, run_process(container_input, out, weights_dir), out, "images/mri/case.mha",
                         "no sCT written: OutOfMemoryError: CUDA out of memory. Tried to allocate 9.00 GiB GPU 0")


# ------------------------------------------------------------------------------------------------ windows on a GPU
def test_stitching_goes_to_the_gpu_when_the_output_fits_the_budget_else_to_the_cpu():
    def measure(net, roi, device, precision):  # test double: no GPU here
        return GIB, GIB // 2, 80 * GIB

    config = SlidingWindow(roi_size=(8, 8, 8), gpu_memory_budget_gb=14, max_sw_batch_size=16)
    fp16 = InferencePrecision("cuda", torch.float16)
    small = window_plan(None, (8, 8, 8), torch.device("cuda"), fp16, config, 36_000_000, measure)  # 0.27 GiB to stitch
    assert small == (10, torch.device("cuda"))  # floor((14 * 0.8 - 0.5 - 0.27) / 1)
    huge = window_plan(None, (8, 8, 8), torch.device("cuda"), fp16, config, 2_000_000_000, measure)
    assert huge == (10, torch.device("cpu"))  # the output would not fit: stitched on the CPU
    assert window_plan(None, (8, 8, 8), CPU, inference_precision(CPU), replace(config, sw_batch_size=3), 10**9) == (3, CPU)


def test_the_window_batch_changes_the_output_by_float_rounding_at_most():
    from model.networks.pix2pix import build_generator

    torch.manual_seed(0)
    generator = build_generator(Generator(channels=(4, 8), strides=(2,), num_res_units=1)).eval()
    volume = np.random.default_rng(2).uniform(-1, 1, (14, 36, 44)).astype(np.float32)
    config = SlidingWindow(roi_size=(8, 16, 16), overlap=0.5)
    runs = [predict_volume(generator, volume, replace(config, sw_batch_size=b), CPU) for b in (1, 3, 8)]
    for other in runs[1:]:
        np.testing.assert_allclose(other, runs[0], atol=1e-5, rtol=0)


def test_the_diffusion_stage_draws_no_mr_to_copy_to_the_device():
    from tools.train.tasks.latent_stages import LatentSampler

    items = [{"mr": torch.zeros(1, 1, 8, 8, 8), "mu": torch.zeros(1, 2, 4, 4, 4), "sigma": torch.ones(1, 2, 4, 4, 4)}]
    mr, z = LatentSampler(items, np.random.default_rng(0), factor=2, with_mr=False).sample()
    assert mr is None and z.shape == (1, 2, 4, 4, 4)


# ------------------------------------------------------------------------------------------------ device report
def test_the_report_says_why_a_cuda_build_sees_no_gpu(monkeypatch):
    """Test doubles: this machine's torch is a CPU build without a driver; the CUDA build and the driver are faked."""
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(device_module, "cuda_driver_version", lambda: None)
    assert "not given to the container" in device_module.no_gpu_reason() and "--gpus all" in device_module.no_gpu_reason()
    monkeypatch.setattr(device_module, "cuda_driver_version", lambda: (12, 8))
    monkeypatch.setattr(device_module, "nvidia_driver", lambda: "570.86.15")
    reason = device_module.no_gpu_reason()
    assert "570.86.15 supports CUDA up to 12.8" in reason and ">= 580" in reason and "cu126" in reason
    monkeypatch.setattr(torch.version, "cuda", None)
    assert device_module.no_gpu_reason() is None
    with pytest.raises(InputError, match="CPU build"):
        device_module.choose_device("cuda")


def test_every_process_run_logs_the_device_and_the_precision_once(container_input, weights_dir, tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        assert run_process(container_input, tmp_path / "out", weights_dir) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "device"]
    assert len(lines) == 1
    assert f"torch {torch.__version__}" in lines[0] and "precision: pix2pix: networks float32, autoencoder float32" in lines[0]


# ------------------------------------------------------------------------------------------------ MetaImage reader
@pytest.mark.parametrize("region", ["pelvis", "brain"])
def test_the_metaimage_reader_matches_simpleitk_on_the_sample_cases(region):
    import SimpleITK as sitk

    folder = ROOT / "test" / "cases" / region
    for path in [*(folder / "images" / "mri").glob("*.mha"), *(folder / "images" / "body").glob("*.mha"),
                 *(folder / "expected").glob("*.mha")]:
        ours, theirs = read_mha(path), sitk.ReadImage(str(path))
        np.testing.assert_array_equal(ours.array, sitk.GetArrayFromImage(theirs))
        assert ours.array.dtype == sitk.GetArrayFromImage(theirs).dtype
        assert ours.GetSpacing() == theirs.GetSpacing() and ours.GetSize() == theirs.GetSize()
        np.testing.assert_allclose(ours.GetOrigin(), theirs.GetOrigin(), atol=1e-9)
        np.testing.assert_allclose(ours.GetDirection(), theirs.GetDirection(), atol=1e-9)


def test_the_metaimage_reader_refuses_a_truncated_file_naming_it(tmp_path):
    path = tmp_path / "short.mha"
    path.write_bytes(b"NDims = 3\nDimSize = 4 4 4\nElementType = MET_SHORT\nElementDataFile = LOCAL\n" + bytes(10))
    with pytest.raises(InputError, match="short.mha: truncated"):
        read_mha(path)


# ------------------------------------------------------------------------------------------------ the GPU check
@pytest.mark.slow
def test_gpu_check_smoke_runs_every_section_without_simpleitk_and_writes_both_files(tmp_path):
    """The GPU machine has no SimpleITK, evalutils or Pillow: stand-in modules that fail to import (test doubles
    for their absence) make sure the check never needs them."""
    blocked = tmp_path / "absent"
    blocked.mkdir()
    for name in ("SimpleITK", "evalutils", "PIL"):
        (blocked / f"{name}.py").write_text(f"raise ImportError('{name} is absent on the GPU machine (test double)')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocked), str(ROOT)])}
    out = tmp_path / "check"
    result = subprocess.run([sys.executable, "-m", "tools.gpu_check", "--smoke", "--out", str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((out / "results.json").read_text())
    sections = results["sections"]
    assert list(sections) == ["environment", "correctness", "brain_method", "pelvis_largest", "training_steps", "ddp"]
    assert all(s["status"] == "ok" for s in sections.values()), {k: s.get("error") for k, s in sections.items()}
    pelvis = sections["correctness"]["result"]["pelvis"]
    assert pelvis["non_finite_voxels"]["reduced"] == 0 and pelvis["same_seed_twice_max_hu"] == 0
    assert pelvis["vs_cpu_expected_sct"]["max_hu"] <= 2  # the demo weights reproduce the expected sCT on this CPU
    assert sections["brain_method"]["result"]["full_memory"]["sct_std_hu_inside"] > 0
    assert sections["ddp"]["result"]["all_reduce"] == 1.0
    markdown = (out / "results.md").read_text()
    assert "# GPU check on" in markdown and "## training_steps: ok" in markdown


def test_gpu_check_keeps_what_it_has_when_a_section_overruns_its_time_limit(tmp_path, monkeypatch):
    from tools.gpu_check import __main__ as check
    from tools.gpu_check.report import write_results
    from tools.gpu_check.sections import SECTIONS, Section

    monkeypatch.setattr(check, "SECTIONS", {**SECTIONS, "correctness": Section(SECTIONS["correctness"].run, 1, 1)})
    for sub in ("sections", "logs"):
        (tmp_path / sub).mkdir()
    entry = check.run_section("correctness", tmp_path, smoke=True)  # a second is not enough to import torch
    assert entry["status"] == "timeout" and entry["limit_s"] == 1 and "result" not in entry
    write_results(tmp_path, {"started": "now", "smoke": True, "sections": {"correctness": entry}})
    assert "## correctness: timeout" in (tmp_path / "results.md").read_text()
    assert json.loads((tmp_path / "results.json").read_text())["sections"]["correctness"]["status"] == "timeout"
