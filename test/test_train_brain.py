"""The three brain stages through the shared harness, on phantom brain files with tiny real networks."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from brain_fixtures import TINY_BRAIN
from conftest import ROOT, drawn, typed
from model.imageio import hu_to_sct, to_array
from model.pipelines import load_pipeline
from model.registry import ModelEntry
from model.weights import read_config, verify_manifest, write_manifest
from tools.dataset.cases import find_cases, load_training_case
from tools.evaluation.error_budget import main as budget_main
from tools.metrics.image import mae
from tools.phantom import write_case
from tools.train.__main__ import main as train_main
from tools.train.tasks.latent_stages import LatentSampler

STAGE = {"flip_lr": True, "lr": 1e-3, "val_cases": 1, "val_interval": 2, "checkpoint_interval": 1, "log_interval": 1, "seed": 0}
CONFIG = {k: v for k, v in TINY_BRAIN.items() if k not in ("weights", "latent", "inference")}
CONFIG["training"] = {
    "autoencoder": {**STAGE, "iterations": 2, "patch_size": [16, 16, 16],
                    "losses": {"kl_weight": 1e-6, "perceptual_weight": 0.0, "adversarial_weight": 0.01, "adversarial_warmup": 1}},
    # bfloat16 forward passes in the later stages, as the demo config trains them
    "diffusion": {**STAGE, "iterations": 2, "validation_timestep": 300, "amp": "bf16"},
    "controlnet": {**STAGE, "iterations": 2, "latent_crop": [4, 6, 4], "amp": "bf16"},  # blocks of the 8^3 latent, whole at validation
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("Task1") / "brain"
    for seed in (0, 1, 2):
        write_case(drawn("brain", seed), root, layout="dataset", fmt="mha")
    return root


def write_config(path, config=CONFIG):
    path.write_text(json.dumps(config))
    return path


def train(task, dataset, config, out, *extra):
    return train_main([task, "--data", str(dataset), "--config", str(config), "--out", str(out), "--device", "cpu", *extra])


@pytest.fixture(scope="module")
def stages(dataset, tmp_path_factory):
    """autoencoder -> diffusion -> controlnet, each from the previous stage's model folder."""
    root = tmp_path_factory.mktemp("brain-run")
    config = write_config(root / "config.json")
    assert train("autoencoder", dataset, config, root / "ae") == 0
    assert train("diffusion", dataset, config, root / "diffusion", "--previous", str(root / "ae" / "model")) == 0
    assert train("controlnet", dataset, config, root / "controlnet", "--previous", str(root / "diffusion" / "model")) == 0
    return root


@pytest.mark.slow
def test_each_stage_logs_validates_and_exports(stages):
    for stage, weights in (("ae", {"autoencoder"}), ("diffusion", {"autoencoder", "unet"}),
                           ("controlnet", {"autoencoder", "unet", "controlnet"})):
        out = stages / stage
        verify_manifest(out / "model")
        config = read_config(out / "model")
        assert set(config["weights"]) == weights
        with open(out / "val_log.csv") as f:
            rows = list(csv.DictReader(f))
        assert [r["case"] for r in rows if r["iteration"] == "2"][-1] == "mean"
        assert all(np.isfinite(float(r["mae"])) for r in rows)
        assert len(list((out / "previews").glob("*.png"))) == 1
    provenance = read_config(stages / "controlnet" / "model")["provenance"]
    assert provenance["previous_stage"] == str(stages / "diffusion" / "model")
    assert provenance["commands"][0].startswith("python -m tools.train controlnet")
    diffusion = provenance["previous_provenance"]  # every stage's training travels with the final folder
    assert diffusion["commands"][0].startswith("python -m tools.train diffusion")
    assert diffusion["previous_stage"] == str(stages / "ae" / "model")
    autoencoder = diffusion["previous_provenance"]
    assert autoencoder["commands"][0].startswith("python -m tools.train autoencoder")
    assert autoencoder["previous_stage"] is None and autoencoder["previous_provenance"] is None


@pytest.mark.slow
def test_a_loss_that_starts_after_the_warm_up_widens_the_log_and_resume_keeps_it(stages, dataset, tmp_path):
    out = shutil.copytree(stages / "ae", tmp_path / "ae")  # resumed in a copy: later stages keep their autoencoder
    with open(out / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["adv_g"] for r in rows] == ["", rows[1]["adv_g"]] and float(rows[1]["adv_d"]) > 0
    assert train("autoencoder", dataset, stages / "config.json", out, "--resume", "--iterations", "3") == 0
    with open(out / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3] and all(None not in r for r in rows)


@pytest.mark.slow
def test_scale_factor_is_computed_once_and_travels_with_checkpoint_and_weights(stages):
    scale = read_config(stages / "diffusion" / "model")["latent"]["scale_factor"]
    assert scale > 0
    state = torch.load(stages / "diffusion" / "checkpoints" / "last.pt", weights_only=False)
    assert state["task_state"]["scale_factor"] == scale
    assert read_config(stages / "controlnet" / "model")["latent"]["scale_factor"] == scale


@pytest.mark.slow
def test_the_unet_stays_frozen_and_the_controlnet_starts_from_it(stages):
    from safetensors.torch import load_file

    before = load_file(stages / "diffusion" / "model" / "unet.safetensors")
    after = load_file(stages / "controlnet" / "model" / "unet.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.slow
def test_bf16_stages_train_in_bfloat16_and_export_float32_weights(stages):
    from safetensors.torch import load_file

    from model.precision import onednn_uses_amx
    from tools.train.tasks.latent_stages import DiffusionTask

    config = json.loads((stages / "config.json").read_text())
    task = DiffusionTask(typed(config), torch.device("cpu"), previous=stages / "ae" / "model")
    task.scale = 1.0
    seen = []
    task.nets["unet"].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    task.train_step(None, torch.randn(1, 2, 8, 8, 8))
    assert seen == [torch.bfloat16 if onednn_uses_amx() else torch.float32]  # float32 on a CPU without AMX (model.precision)
    for name in ("unet", "controlnet"):
        assert {t.dtype for t in load_file(stages / "controlnet" / "model" / f"{name}.safetensors").values()} == {torch.float32}


@pytest.mark.slow
def test_the_exported_brain_folder_runs_in_the_container_pipeline(stages, dataset):
    folder = stages / "controlnet" / "model"
    pipeline = load_pipeline(ModelEntry("Brain", "ldm", folder), torch.device("cpu"))
    case_id = sorted(find_cases(dataset))[0]
    case = load_training_case(case_id, find_cases(dataset)[case_id], (0.5, 99.5))
    hu = pipeline.predict(case.inputs)
    assert hu.shape == case.ct.shape and np.isfinite(hu).all()


@pytest.mark.slow
def test_diffusion_resume_keeps_the_scale_factor(stages, dataset):
    out = stages / "diffusion"
    scale = torch.load(out / "checkpoints" / "last.pt", weights_only=False)["task_state"]["scale_factor"]
    assert train("diffusion", dataset, stages / "config.json", out, "--previous", str(stages / "ae" / "model"),
                 "--resume", "--iterations", "3") == 0
    state = torch.load(out / "checkpoints" / "last.pt", weights_only=False)
    assert state["iteration"] == 3 and state["task_state"]["scale_factor"] == scale


@pytest.mark.slow
def test_resume_refuses_another_previous_stage_folder(stages, dataset, tmp_path, capsys):
    other = tmp_path / "ae-copy"
    shutil.copytree(stages / "ae" / "model", other)
    (other / "NOTES.md").write_text("another folder\n")
    write_manifest(other)
    out = tmp_path / "diffusion"
    shutil.copytree(stages / "diffusion", out)
    assert train("diffusion", dataset, stages / "config.json", out, "--previous", str(other), "--resume",
                 "--iterations", "4") == 1
    assert "is not the previous-stage folder this checkpoint was trained from" in capsys.readouterr().err


def test_latent_blocks_come_with_the_mr_block_over_the_same_voxels(tmp_path):
    from tools.dataset.cache import ArrayFile

    factor, latent = 4, (6, 7, 5)
    index = np.arange(np.prod(latent), dtype=np.float32).reshape(1, 1, *latent)  # each latent voxel its own value
    mr = index[0, 0].repeat(factor, 0).repeat(factor, 1).repeat(factor, 2)
    for name, array in (("mr", mr), ("mu", index), ("sigma", np.zeros_like(index))):
        np.save(tmp_path / f"{name}.npy", array)
    on_disk = {name: ArrayFile(tmp_path / f"{name}.npy") for name in ("mr", "mu", "sigma")}
    for items in ([{"mr": mr, "mu": index, "sigma": np.zeros_like(index), "flip": False}], [{**on_disk, "flip": False}]):
        sampler = LatentSampler(items, np.random.default_rng(0), crop=(4, 4, 2), factor=factor)
        starts = set()
        for _ in range(40):
            mr_block, z = sampler.sample()
            assert z.shape == (1, 1, 4, 4, 2) and mr_block.shape == (1, 1, 16, 16, 8)
            assert torch.equal(mr_block, z.repeat_interleave(factor, 2).repeat_interleave(factor, 3).repeat_interleave(factor, 4))
            starts.add(int(z[0, 0, 0, 0, 0]))
        assert len(starts) > 10  # blocks from all over the latent, up to its far edges
        assert int(index.max()) in {int(sampler.sample()[1].max()) for _ in range(200)}
        whole = LatentSampler(items, np.random.default_rng(0), factor=factor).sample()
        assert torch.equal(whole[0][0, 0], torch.from_numpy(mr)) and torch.equal(whole[1], torch.from_numpy(index))


def test_a_mirrored_item_pairs_the_mirrored_mr_block_with_its_latent(tmp_path):
    """Where ``flip``, the MR is read unmirrored from the cache and mirrored in the sampler; its block must be the
    one over the same voxels as the (mirrored CT's) latent block."""
    from tools.dataset.cache import ArrayFile

    factor, latent = 2, (3, 4, 5)
    mr = np.random.default_rng(1).standard_normal([n * factor for n in latent]).astype(np.float32)
    np.save(tmp_path / "mr.npy", mr)
    mirrored = np.ascontiguousarray(mr[..., ::-1])
    mu = np.random.default_rng(2).standard_normal((1, 2, *latent)).astype(np.float32)
    sigma = np.zeros_like(mu)
    on_disk = LatentSampler([{"mr": ArrayFile(tmp_path / "mr.npy"), "mu": mu, "sigma": sigma, "flip": True}],
                            np.random.default_rng(7), crop=(2, 2, 3), factor=factor)
    in_memory = LatentSampler([{"mr": mirrored, "mu": mu, "sigma": sigma, "flip": False}], np.random.default_rng(7),
                              crop=(2, 2, 3), factor=factor)
    for _ in range(30):
        (a_mr, a_z), (b_mr, b_z) = on_disk.sample(), in_memory.sample()
        assert torch.equal(a_mr, b_mr) and torch.equal(a_z, b_z)


@pytest.mark.slow
def test_stage_errors_are_one_line(stages, dataset, tmp_path, capsys):
    def error(*args):
        assert train(*args) == 1
        return capsys.readouterr().err.strip().splitlines()[-1]

    config = stages / "config.json"
    assert "the diffusion stage starts from the previous stage's model folder" in error("diffusion", dataset, config, tmp_path / "a")
    assert error("controlnet", dataset, config, tmp_path / "b", "--previous", str(stages / "ae" / "model")).endswith(
        "has no unet weights: is it the right stage's model folder?")
    assert "takes no --previous" in error("autoencoder", dataset, config, tmp_path / "c", "--previous", str(stages / "ae" / "model"))
    other = json.loads(json.dumps(CONFIG))
    other["grid"]["size"] = [32, 16, 16]
    assert f"its grid differs from {tmp_path / 'o.json'}'s" in error("diffusion", dataset, write_config(tmp_path / "o.json", other),
                                                         tmp_path / "d", "--previous", str(stages / "ae" / "model"))
    other = json.loads(json.dumps(CONFIG))
    other["training"]["autoencoder"]["losses"].update(perceptual_weight=0.001, perceptual_network="medicalnet_resnet10_23datasets",
                                                      perceptual_cache_dir=str(tmp_path / "cache"))
    line = error("autoencoder", dataset, write_config(tmp_path / "p.json", other), tmp_path / "e")
    assert line.startswith(f"error: {tmp_path / 'cache' / 'resnet_10_23dataset.pth'}: perceptual backbone weights missing")
    other["training"]["controlnet"]["amp"] = "fp16"
    assert """s.json: training.controlnet.amp: expected one of false, "bf16", got string "fp16" (did you mean 'bf16'?)""" in error(
        "controlnet", dataset, write_config(tmp_path / "s.json", other), tmp_path / "h", "--previous", str(stages / "diffusion" / "model"))
    other["training"]["controlnet"]["amp"] = "bf16"
    other["training"]["controlnet"]["latent_crop"] = [4, 5, 4]
    assert "r.json: training.controlnet.latent_crop: [4, 5, 4]: each must be a multiple of the UNet's downsampling 2 and " \
           "at most the latent [8, 8, 8]" in error("controlnet", dataset, write_config(tmp_path / "r.json", other), tmp_path / "g",
                                                "--previous", str(stages / "diffusion" / "model"))
    del other["training"]["controlnet"]
    assert "q.json: training.controlnet: missing: the controlnet task trains with it" in error("controlnet", dataset, write_config(tmp_path / "q.json", other),
                                                         tmp_path / "f", "--previous", str(stages / "diffusion" / "model"))


@pytest.mark.slow
def test_controlnet_stage_with_two_processes_under_torchrun(stages, dataset, tmp_path):
    """DDP on the ControlNet (the frozen UNet stays outside it), gloo, 2 CPU processes agreeing at the end."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "tools.train",
           "controlnet", "--data", str(dataset), "--config", str(stages / "config.json"), "--out", str(tmp_path / "run"),
           "--device", "cpu", "--previous", str(stages / "diffusion" / "model")]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "weights identical on all 2 processes" in done.stderr
    assert read_config(tmp_path / "run" / "model")["provenance"]["processes"] == 2


@pytest.mark.slow
def test_error_budget_splits_each_stage_by_tissue_and_matches_the_container_sct(stages, dataset, tmp_path):
    folder = stages / "controlnet" / "model"
    case_id = sorted(find_cases(dataset))[0]
    report_file = tmp_path / "budget.json"
    assert budget_main(["--model", str(folder), "--data", str(dataset), "--cases", case_id, "--sample",
                        "--json", str(report_file)]) == 0
    budget = json.loads(report_file.read_text())["cases"][case_id]
    assert set(budget) == {"grid", "autoencoder", "sampler", "share"}
    share = budget["share"]
    assert share["body"] == 1.0 and share["bone"] + share["air"] + share["soft"] == pytest.approx(1.0)
    for stage in ("grid", "autoencoder", "sampler"):  # the body's MAE is the share-weighted mean of the classes'
        parts = sum(share[k] * budget[stage][k] for k in ("bone", "air", "soft") if share[k] > 0)
        assert budget[stage]["body"] == pytest.approx(parts, rel=1e-4)
    case = load_training_case(case_id, find_cases(dataset)[case_id], (0.5, 99.5))
    pipeline = load_pipeline(ModelEntry("Brain", "ldm", folder), torch.device("cpu"))
    sct = to_array(hu_to_sct(pipeline.predict(case.inputs), case.inputs.body, case.inputs.mr_image))
    assert budget["sampler"]["body"] == pytest.approx(mae(case.ct, sct, case.inputs.body), rel=1e-5)
    assert budget_main(["--model", str(folder), "--data", str(dataset), "--cases", case_id, "--sample", "--steps", "1",
                        "--samples", "2", "--json", str(report_file)]) == 0  # other sampler settings, another sCT
    other = json.loads(report_file.read_text())["cases"][case_id]
    assert other["sampler"]["body"] != budget["sampler"]["body"] and other["autoencoder"] == budget["autoencoder"]


@pytest.mark.slow
def test_error_budget_refuses_a_pelvis_folder_and_an_unknown_case(stages, dataset, capsys):
    assert budget_main(["--model", str(ROOT / "weights" / "pelvis"), "--data", str(dataset), "--cases", "x"]) == 1
    assert "'pix2pix' model" in capsys.readouterr().err
    assert budget_main(["--model", str(stages / "controlnet" / "model"), "--data", str(dataset), "--cases", "nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("has no case nope")
