"""The validated config (model.config): every shipped config and model folder loads; a misspelled key, a wrong
type or a missing required value in any top-level section is refused by ``python -m tools.train`` with one line
naming the file and the key path."""
from __future__ import annotations

import copy
import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from conftest import ROOT
from model.config import CONFIGS, LatentDiffusionConfig, Pix2PixConfig, load_config, parse_config
from model.errors import InputError, WeightsError
from tools.train.__main__ import main as train_main

PELVIS = ROOT / "configs" / "pelvis_pix2pix_demo.json"
BRAIN = ROOT / "configs" / "brain_ldm_demo.json"
# model configs (configs/dose/ holds the dose evaluation's own settings: test_dose_metrics loads them)
SHIPPED = sorted([*(p for p in (ROOT / "configs").rglob("*.json") if p.parent.name != "dose"),
                  *(ROOT / "weights").glob("*/config.json")])
DELETE = object()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_shipped_config_and_model_folder_loads(path):
    config = load_config(path)
    assert isinstance(config, CONFIGS[json.loads(path.read_text())["pipeline"]])
    assert config.source == str(path)


def test_defaults_live_in_one_place_and_the_objects_are_frozen():
    minimal = {"region": "Pelvis", "pipeline": "pix2pix",
               "networks": {"generator": {"channels": [4, 8], "strides": [2]}}, "inference": {"roi_size": [8, 8, 8]}}
    config = parse_config(minimal, "minimal.json")
    assert isinstance(config, Pix2PixConfig)
    assert config.preprocessing.mr_percentiles == (0.5, 99.5)
    assert (config.inference.overlap, config.inference.sw_batch_size, config.inference.amp) == (0.25, 1, True)
    assert config.networks.discriminator.num_layers_d == 3 and config.training is None
    with pytest.raises(FrozenInstanceError):
        config.inference.overlap = 0.5
    brain = parse_config({**json.loads(BRAIN.read_text()), "sampler": {}}, "brain.json")
    assert isinstance(brain, LatentDiffusionConfig)
    assert (brain.sampler.steps, brain.sampler.samples, brain.sampler.step_floor) == (50, 1, 10)


def test_a_model_folder_written_before_the_config_module_loads(tmp_path):
    """The demo weights were written before model.config existed; so were folders without the later settings
    (``networks.unet.sdpa``, ``sampler.min_steps``, ``inference.time_budget_s``)."""
    old = json.loads((ROOT / "weights" / "brain" / "config.json").read_text())
    for key in ("sdpa", "num_head_channels"):
        old["networks"]["unet"].pop(key, None)
    config = parse_config(old, "old/config.json", WeightsError)
    assert config.networks.unet.sdpa and config.sampler.step_floor == 10 and config.inference.time_budget_s is None
    assert config.provenance["training_cases"]  # free form, kept as written


def mutate(config: dict, dotted: str, value) -> dict:
    config = copy.deepcopy(config)
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return config


# (config, key to set or delete, value, what the one line must say after "<file>: ")
CASES = {
    # misspelled keys, one in each top-level section (a near miss gets "did you mean")
    "misspelled region": (PELVIS, "regoin", "Pelvis", "regoin: unknown key (did you mean 'region'?)"),
    "misspelled pipeline": (PELVIS, "pipeline", "pix2pics", "pipeline: unknown pipeline 'pix2pics' (known: ldm, pix2pix) "
                                                            "(did you mean 'pix2pix'?)"),
    "misspelled preprocessing": (PELVIS, "preprocessing.mr_percentile", [1, 99],
                                 "preprocessing.mr_percentile: unknown key (did you mean 'mr_percentiles'?)"),
    "misspelled networks": (PELVIS, "networks.generator.num_res_unit", 2,
                            "networks.generator.num_res_unit: unknown key (did you mean 'num_res_units'?)"),
    "misspelled inference": (PELVIS, "inference.overlapp", 0.5, "inference.overlapp: unknown key (did you mean 'overlap'?)"),
    "misspelled training": (PELVIS, "training.lr_decay_form", 0.5,
                            "training.lr_decay_form: unknown key (did you mean 'lr_decay_from'?)"),
    "misspelled grid": (BRAIN, "grid.spacing", 2.0, "grid.spacing: unknown key (did you mean 'spacing_mm'?)"),
    "misspelled scheduler": (BRAIN, "scheduler.beta_strat", 0.001, "scheduler.beta_strat: unknown key (did you mean 'beta_start'?)"),
    "misspelled sampler": (BRAIN, "sampler.step", 10, "sampler.step: unknown key (did you mean 'steps'?)"),
    "misspelled latent": (BRAIN, "latent", {"scale_facter": 1.0}, "latent.scale_facter: unknown key (did you mean 'scale_factor'?)"),
    "misspelled weights": (PELVIS, "weight", {"generator": "g.safetensors"}, "weight: unknown key (did you mean 'weights'?)"),
    "misspelled stage": (BRAIN, "training.autoencoder.losses.kl_wieght", 1e-6,
                         "training.autoencoder.losses.kl_wieght: unknown key (did you mean 'kl_weight'?)"),
    # wrong types
    "wrong type region": (PELVIS, "region", 5, "region: expected a string, got integer 5"),
    "wrong type preprocessing": (PELVIS, "preprocessing.mr_percentiles", [1], "preprocessing.mr_percentiles: expected a list "
                                                                              "of 2 numbers, got 1 value(s)"),
    "wrong type networks": (PELVIS, "networks.generator.channels", "16,32", 'networks.generator.channels: expected a list of '
                                                                           'integers, got string "16,32"'),
    "wrong type inference": (PELVIS, "inference.amp", "yes", 'inference.amp: expected true or false, got string "yes"'),
    "wrong type training": (PELVIS, "training.iterations", 10.5, "training.iterations: expected an integer, got number 10.5"),
    "wrong type grid": (BRAIN, "grid.size", [96, 112], "grid.size: expected a list of 3 integers, got 2 value(s)"),
    "wrong type scheduler": (BRAIN, "scheduler.prediction_type", "v", 'scheduler.prediction_type: expected one of "epsilon", '
                                                                      '"v_prediction", "sample", got string "v"'),
    "wrong type sampler": (BRAIN, "sampler.samples", "3", 'sampler.samples: expected an integer, got string "3"'),
    "wrong type latent": (BRAIN, "latent", {"scale_factor": "1"}, 'latent.scale_factor: expected a number, got string "1"'),
    "wrong type weights": (PELVIS, "weights", ["generator.safetensors"], "weights: expected a JSON object, got list"),
    "wrong type stage": (BRAIN, "training.controlnet.amp", "fp16", 'training.controlnet.amp: expected one of false, "bf16", '
                                                                   'got string "fp16"'),
    # out of range
    "out of range inference": (PELVIS, "inference.overlap", 1.0, "inference.overlap: 1.0 is out of range: must be below 1"),
    "out of range training": (PELVIS, "training.lr", 0, "training.lr: 0 is out of range: must be above 0"),
    "out of range preprocessing": (PELVIS, "preprocessing.mr_percentiles", [99, 1],
                                   "preprocessing: mr_percentiles [99.0, 1.0]: the first must be below the second"),
    # missing required values
    "missing region": (PELVIS, "region", DELETE, "region: missing: required (a string)"),
    "missing pipeline": (PELVIS, "pipeline", DELETE, "pipeline: missing (the model family: ldm, pix2pix)"),
    "missing networks": (PELVIS, "networks.generator.strides", DELETE, "networks.generator.strides: missing: required"),
    "missing inference": (PELVIS, "inference.roi_size", DELETE, "inference.roi_size: missing: required (a list of 3 integers)"),
    "missing training": (PELVIS, "training.iterations", DELETE, "training.iterations: missing: required (an integer)"),
    "missing grid": (BRAIN, "grid.spacing_mm", DELETE, "grid.spacing_mm: missing: required (a number)"),
    "missing stage": (BRAIN, "training.autoencoder", DELETE, "training.autoencoder: missing: the autoencoder task trains with it"),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_bad_config_is_refused_by_the_trainer_with_one_line_naming_the_file_and_the_key(tmp_path, capsys, case):
    source, key, value, problem = CASES[case]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(mutate(json.loads(source.read_text()), key, value)))
    task = "pix2pix" if source == PELVIS else "autoencoder"
    assert train_main([task, "--data", str(tmp_path / "no-data"), "--config", str(path), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: {problem}"), err
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_a_bad_model_folder_config_is_a_weights_error_naming_its_file(tmp_path):
    raw = mutate(json.loads((ROOT / "weights" / "pelvis" / "config.json").read_text()), "inference.sw_batch_sise", 2)
    with pytest.raises(WeightsError, match=r"m/config.json: inference.sw_batch_sise: unknown key \(did you mean 'sw_batch_size'\?\)"):
        parse_config(raw, Path("m/config.json"), WeightsError)


def test_an_unreadable_config_names_the_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="config.json: not valid JSON"):
        load_config(path)
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match="config.json: must be a JSON object"):
        load_config(path)


def test_the_registries_agree_on_every_model_family():
    """A family's config class, pipeline and training tasks are registered in three places that must agree
    (model/pipelines/__init__.py says how to add one)."""
    from model.pipelines import pipeline_classes
    from tools.train.tasks import task_classes
    from tools.train.tasks.base import TrainingTask

    pipelines = pipeline_classes()
    assert set(pipelines) == set(CONFIGS)
    for name, pipeline in pipelines.items():
        assert pipeline.config_class is CONFIGS[name]
    for task in task_classes().values():
        assert issubclass(task, TrainingTask) and task.config_class in CONFIGS.values()
    assert {t.config_class for t in task_classes().values()} == set(CONFIGS.values())  # every family trains
