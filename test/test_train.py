"""The training harness with the Pix2Pix task on real phantom files and real (tiny) MONAI networks."""
from __future__ import annotations

import copy
import csv
import json
import logging
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, TINY_CONFIG, drawn, killed_during_step, typed
from model.cases import CaseInput
from model.imageio import to_array
from model.pipelines import load_pipeline
from model.precision import onednn_uses_amx
from model.registry import ModelEntry
from model.weights import verify_manifest
from tools.dataset.cases import crop_patch, find_cases, split_cases
from tools.phantom import write_case
from tools.train.__main__ import main as train_main
from tools.train.tasks.pix2pix import Pix2PixTask

CONFIG = copy.deepcopy(TINY_CONFIG)
del CONFIG["weights"]
CONFIG["training"] = {
    "iterations": 4, "patch_size": [16, 32, 32], "flip_lr": True, "lr": 1e-3, "lr_decay_from": 0.5,
    "val_cases": 1, "val_interval": 2, "checkpoint_interval": 2, "log_interval": 1, "seed": 0,
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Three phantom pelvis cases in the SynthRAD2023 layout, .nii.gz and .mha mixed."""
    root = tmp_path_factory.mktemp("Task1") / "pelvis"
    for seed, fmt in ((0, "nii.gz"), (1, "mha"), (2, "nii.gz")):
        write_case(drawn("pelvis", seed), root, layout="dataset", fmt=fmt)
    return root


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG))
    return path


def train(dataset, config_file, out, *extra):
    return train_main(["pix2pix", "--data", str(dataset), "--config", str(config_file), "--out", str(out), "--device", "cpu", *extra])


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_training_writes_logs_previews_and_a_working_model_folder(dataset, config_file, tmp_path):
    out = tmp_path / "run"
    assert train(dataset, config_file, out) == 0
    train_log = read_csv(out / "train_log.csv")
    assert [int(r["iteration"]) for r in train_log] == [1, 2, 3, 4]
    assert all(np.isfinite(float(r["loss_g_l1"])) for r in train_log)
    held_out = split_cases(["1PX0000", "1PX0001", "1PX0002"], 1, seed=0)[1]
    val_log = read_csv(out / "val_log.csv")
    assert {r["case"] for r in val_log} == {*held_out, "mean"}
    assert all(0 < float(r["mae"]) < 3000 and -1 < float(r["ssim"]) <= 1 for r in val_log)
    assert sorted(p.name for p in (out / "previews").iterdir()) == ["iter_0000002.png", "iter_0000004.png"]
    model = out / "model"
    verify_manifest(model)
    config = json.loads((model / "config.json").read_text())
    assert config["weights"] == {"generator": "generator.safetensors"}
    assert config["provenance"]["seed"] == 0
    assert [c.split(" --data")[0] for c in config["provenance"]["commands"]] == ["python -m tools.train pix2pix"]
    assert config["provenance"]["validation_cases"] == held_out
    pipeline = load_pipeline(ModelEntry("Pelvis", "pix2pix", model), torch.device("cpu"))
    case = drawn("pelvis", 3)  # not a training case
    hu = pipeline.predict(CaseInput(case.mr, to_array(case.mr), to_array(case.mask) > 0))
    assert hu.shape == to_array(case.mr).shape


def last_state(out):
    return torch.load(out / "checkpoints/last.pt", weights_only=False)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(dataset, config_file, tmp_path, caplog, monkeypatch, capsys,
                                                               workers):
    """Killed after the checkpoint at iteration 2, resumed: the weights of an uninterrupted run. With 2 loader
    workers the reference is still the run without workers: the batches do not depend on the workers."""
    caplog.set_level(logging.INFO)
    straight = tmp_path / "straight"
    assert train(dataset, config_file, straight) == 0
    config = json.loads(config_file.read_text())
    config["training"]["workers"] = workers
    config_file.write_text(json.dumps(config))

    out = tmp_path / "run"
    with killed_during_step(monkeypatch, Pix2PixTask, 3):  # iteration 3, after the checkpoint at 2
        train(dataset, config_file, out)
    assert train(dataset, config_file, out) == 1
    assert "checkpoints/last.pt: a checkpoint exists; pass --resume" in capsys.readouterr().err
    assert train(dataset, config_file, out, "--resume") == 0
    assert "resuming at iteration 2" in caplog.text
    assert [int(r["iteration"]) for r in read_csv(out / "train_log.csv")] == [1, 2, 3, 4]
    resumed, reference = last_state(out), last_state(straight)
    assert resumed["iteration"] == 4
    assert len(resumed["commands"]) == 2 and resumed["commands"][1].endswith("--resume")
    for net in ("generator", "discriminator"):
        for key, value in reference["nets"][net].items():
            torch.testing.assert_close(resumed["nets"][net][key], value, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_resume_refuses_a_different_config(dataset, config_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(dataset, config_file, out, "--iterations", "2") == 0
    changed = json.loads(config_file.read_text())  # --iterations 2 is allowed to change; lr is not
    changed["training"]["lr"] = 0.5
    config_file.write_text(json.dumps(changed))
    assert train(dataset, config_file, out, "--resume") == 1
    assert "checkpoints/last.pt: the config differs from the checkpoint's" in capsys.readouterr().err


@pytest.mark.slow
def test_two_processes_with_torchrun(dataset, config_file, tmp_path):
    """DistributedDataParallel over the gloo backend, 2 CPU processes; the harness checks the ranks agree."""
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "tools.train",
           "pix2pix", "--data", str(dataset), "--config", str(config_file), "--out", str(out), "--device", "cpu"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "weights identical on all 2 processes" in done.stderr
    config = json.loads((out / "model/config.json").read_text())
    assert config["provenance"]["processes"] == 2
    state = load_file(str(out / "model/generator.safetensors"))
    assert all(torch.isfinite(v).all() for v in state.values())


def test_dataset_errors_name_the_folder(tmp_path):
    (tmp_path / "1PA001").mkdir()
    (tmp_path / "1PA001" / "mr.nii.gz").write_bytes(b"")
    with pytest.raises(Exception, match=r"1PA001: case folder lacks ct, mask"):
        find_cases(tmp_path)


def test_split_is_deterministic_and_disjoint():
    ids = [f"c{i}" for i in range(10)]
    train_ids, val_ids = split_cases(ids, 3, seed=4)
    assert split_cases(ids, 3, seed=4) == (train_ids, val_ids)
    assert len(val_ids) == 3 and not set(train_ids) & set(val_ids) and sorted(train_ids + val_ids) == ids


def test_a_preview_is_three_mid_slices_of_mr_sct_ct_and_error_at_square_pixels(tmp_path):
    from PIL import Image

    from tools.train.preview import save_preview

    rng = np.random.default_rng(0)
    mr, sct, ct = (rng.uniform(-1, 1, (6, 10, 12)).astype(np.float32),
                   rng.uniform(-1000, 1500, (6, 10, 12)).astype(np.float32), np.zeros((6, 10, 12), np.float32))
    save_preview(tmp_path / "p.png", mr, sct, ct, (1.0, 1.0, 2.5))
    image = Image.open(tmp_path / "p.png")
    assert image.mode in ("L", "RGB") and image.width >= 4 * 12 and image.height >= 10 + 2 * 15  # z stretched x2.5


def test_crop_patch_pads_small_volumes_and_stays_inside_large_ones():
    volume = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    patch = crop_patch(volume, (0, 0, 0), (2, 3, 4), -1)
    np.testing.assert_array_equal(patch, volume[:2, :3, :4])
    padded = crop_patch(volume, (2, 2, 3), (6, 5, 6), -1)
    assert padded.shape == (6, 5, 6) and (padded[0] == -1).all() and (padded[1:5] == volume).all()


def test_bf16_mixed_precision_runs_the_forward_passes_in_bfloat16_and_keeps_float32_weights(tmp_path, caplog):
    config = copy.deepcopy(CONFIG)
    config["training"]["amp"] = "bf16"
    task = Pix2PixTask(typed(config), torch.device("cpu"))
    seen = []
    task.nets["generator"].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    before = [p.detach().clone() for p in task.nets["generator"].parameters()]
    mr, ct = torch.rand(1, 1, 16, 32, 32) * 2 - 1, torch.rand(1, 1, 16, 32, 32) * 2 - 1
    losses = task.train_step(mr, ct)
    if onednn_uses_amx():
        assert seen == [torch.bfloat16]
    else:  # float32, said so (model.precision; the test below runs this path on every CPU)
        assert seen == [torch.float32] and "training in float32" in caplog.text
    assert all(torch.isfinite(v) for v in losses.values())  # 0-d tensors: read on the host at log time only
    params = list(task.nets["generator"].parameters())
    assert all(p.dtype == torch.float32 for p in params)
    assert any(not torch.equal(a, b) for a, b in zip(before, params))  # the step did update the weights


# bf16 Pix2Pix steps where oneDNN has AVX-512 BF16 but no AMX (an AMD EPYC Zen 4; on any CPU, by capping oneDNN's
# ISA), freed memory filled with NaN first: oneDNN's bf16 conv3d weight gradient there reads memory it never wrote,
# and the discriminator's weights went NaN (seeds 0 and 6 of 12). Such a CPU trains in float32 instead.
NO_AMX_STEPS = """
import copy, logging, sys, torch
sys.path[:0] = ["test", "."]
logging.basicConfig(level=logging.WARNING)
from conftest import typed
from test_train import CONFIG
from tools.train.tasks.pix2pix import Pix2PixTask
for seed in range(8):
    torch.manual_seed(seed)
    config = copy.deepcopy(CONFIG)
    config["training"]["amp"] = "bf16"
    task = Pix2PixTask(typed(config), torch.device("cpu"))
    seen = []
    task.nets["discriminator"].register_forward_hook(lambda module, args, out: seen.append(out[-1].dtype))
    mr, ct = torch.rand(1, 1, 16, 32, 32) * 2 - 1, torch.rand(1, 1, 16, 32, 32) * 2 - 1
    for n in (1 << 12, 1 << 16, 1 << 20, 1 << 22):
        poison = torch.full((n,), float("nan"))
        del poison
    losses = task.train_step(mr, ct)
    weights = [p for net in task.nets.values() for p in net.parameters()]
    finite = all(bool(torch.isfinite(v)) for v in losses.values()) and all(bool(torch.isfinite(w).all()) for w in weights)
    print(seed, finite, set(seen) == {torch.float32})
"""


@pytest.mark.slow
def test_a_cpu_without_amx_trains_bf16_configs_in_float32_and_stays_finite():
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}
    result = subprocess.run([sys.executable, "-c", NO_AMX_STEPS], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [token for seed in range(8) for token in (str(seed), "True", "True")]
    assert "training.amp is 'bf16' but this CPU's oneDNN has no AMX" in result.stderr


def test_amx_is_read_from_the_cpu_and_onednns_isa_cap(monkeypatch):
    from model import precision

    for cap in ("AVX512_CORE_BF16", "avx2", "AVX512_CORE_VNNI"):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        assert not precision.onednn_uses_amx()
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    with open("/proc/cpuinfo") as f:
        has_amx = any(line.startswith("flags") and " amx_bf16" in line for line in f)
    assert precision.onednn_uses_amx() == has_amx
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert precision.onednn_uses_amx() == has_amx


@pytest.mark.parametrize("setting", ["fp16", "yes"])
def test_an_unknown_mixed_precision_is_refused_naming_the_setting(dataset, tmp_path, setting, capsys):
    config = copy.deepcopy(CONFIG)
    config["training"]["amp"] = setting
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert train(dataset, path, tmp_path / "run") == 1
    err = capsys.readouterr().err.strip()
    assert err == f'error: {path}: training.amp: expected one of false, "bf16", got string "{setting}"' + (
        " (did you mean 'bf16'?)" if setting == "fp16" else "")


def test_a_non_finite_step_is_skipped_and_too_many_in_a_row_stop_the_run(dataset, tmp_path, capsys, monkeypatch):
    """Fault injection (a test double for a diverging step): the generator's output is multiplied by NaN at
    iteration 3, and from iteration 5 on. Each such step is skipped with the weights and the optimisers' state
    untouched; the third in a row (training.max_bad_steps 3) stops the run with one line."""
    config = copy.deepcopy(CONFIG)
    config["training"].update(iterations=8, val_interval=100, checkpoint_interval=2, log_interval=2, max_bad_steps=3)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    poisoned, untouched = {3, 5, 6, 7, 8}, {}
    original = Pix2PixTask.train_step

    def train_step(self, mr, ct, iteration=0):
        if iteration not in poisoned:
            return original(self, mr, ct, iteration)
        weights = {k: [p.detach().clone() for p in net.parameters()] for k, net in self.nets.items()}
        states = {k: copy.deepcopy(o.state_dict()) for k, o in self.optimizers.items()}
        handle = self.nets["generator"].register_forward_hook(lambda module, args, out: out * float("nan"))
        try:
            return original(self, mr, ct, iteration)
        finally:
            handle.remove()
            untouched[iteration] = (
                all(torch.equal(a, b) for k, net in self.nets.items() for a, b in zip(weights[k], net.parameters()))
                and all(str(o.state_dict()) == str(states[k]) for k, o in self.optimizers.items()))

    monkeypatch.setattr(Pix2PixTask, "train_step", train_step)
    run = tmp_path / "run"
    assert train(dataset, path, run) == 1
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    assert err[-1].startswith("error: ") and sum(line.startswith("error: ") for line in err) == 1, err  # after the bar
    assert err[-1].startswith(f"error: {run / 'checkpoints' / 'last.pt'}: training stopped at iteration 7: 3 iterations in "
                             "a row had a non-finite loss or gradients (training.max_bad_steps 3; each was skipped, the "
                             f"weights untouched); the last good checkpoint is {run / 'checkpoints' / 'last.pt'} (iteration 6)")
    assert untouched == {3: True, 5: True, 6: True, 7: True}
    rows = read_csv(run / "train_log.csv")
    assert [(r["iteration"], r["skipped_steps"]) for r in rows] == [("2", "0"), ("4", "1"), ("6", "2")]
    # the losses: means over the iterations that updated (none from 5 to 6)
    assert [r["loss_g_l1"] != "" and np.isfinite(float(r["loss_g_l1"])) for r in rows] == [True, True, False]
    assert not (run / "model").exists()


@pytest.mark.slow  # five training runs
def test_init_starts_from_a_model_folder_and_a_resume_keeps_it(dataset, config_file, tmp_path, caplog, capsys):
    assert train(dataset, config_file, tmp_path / "base") == 0
    folder = tmp_path / "base" / "model"
    with caplog.at_level(logging.INFO, logger="train"):
        assert train(dataset, config_file, tmp_path / "tuned", "--init", str(folder), "--iterations", "2") == 0
    assert re.search(r"generator starts from (\d+) of its \1 tensors there", caplog.text)
    provenance = lambda: json.loads((tmp_path / "tuned" / "model" / "config.json").read_text())["provenance"]  # noqa: E731
    assert provenance()["init"] == str(folder) and provenance()["init_provenance"]["iterations"] == 4
    capsys.readouterr()
    assert train(dataset, config_file, tmp_path / "tuned", "--resume", "--init", str(tmp_path), "--iterations", "4") != 0
    assert f"this run started from --init {folder}, not {tmp_path}" in capsys.readouterr().err
    assert train(dataset, config_file, tmp_path / "tuned", "--resume", "--iterations", "4") == 0
    assert provenance()["init"] == str(folder) and provenance()["iterations"] == 4
    wider = copy.deepcopy(CONFIG)  # a generator with twice the channels starts as the trained one (Net2Net)
    wider["networks"]["generator"]["channels"] = [8, 16]
    (tmp_path / "wider.json").write_text(json.dumps(wider))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="train"):
        assert train(dataset, tmp_path / "wider.json", tmp_path / "wide", "--init", str(folder),
                     "--iterations", "2") == 0
    assert re.search(r"generator starts from (\d+) of its \1 tensors there, widened from channels \[4, 8\]",
                     caplog.text)
