"""The validated config (model.config, read by the settings engine model.settings): every shipped config and
model folder loads and is written back as it was; a misspelled key, a wrong type, a missing required value or a
cross-field clash (a family's ``validate()``) is refused by ``python -m tools.train`` with one line naming the file
and the key path; ``with_overrides`` changes a config only through the same checks; the family table
(model.config.FAMILIES) is the one registry, and every family in it has a pipeline and trains."""
from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from conftest import ROOT
from model.config import (CONFIGS, FAMILIES, UNSET, ConfigError, LatentDiffusionConfig, Pix2PixConfig, load_config,
                          load_object, parse_config)
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
    "missing stage": (BRAIN, "training.controlnet", DELETE, "training.controlnet: missing: the controlnet task trains with it"),
    # cross-field clashes (LatentDiffusionConfig.validate, Pix2PixConfig.validate)
    "clash grid": (BRAIN, "grid.size", [96, 112, 90], "grid.size: [96, 112, 90] must divide by 16 (autoencoder "
                                                      "downsampling 4 x UNet downsampling 4); [90] do(es) not"),
    "clash window": (BRAIN, "training.autoencoder", DELETE, "inference.autoencoder_window: required when "
                                                            "training.autoencoder is absent"),
    "clash latent crop": (BRAIN, "training.controlnet.latent_crop", [8, 8, 6],
                          "training.controlnet.latent_crop: [8, 8, 6]: each must be a multiple of the UNet's "
                          "downsampling 4 and at most the latent [24, 28, 24]"),
    "clash roi": (PELVIS, "inference.roi_size", [20, 96, 96], "inference.roi_size: [20, 96, 96] must divide by the "
                                                              "generator's downsampling [8, 8, 8]"),
}
TASKS = {"missing stage": "controlnet"}  # the task each case trains (default: the config's first)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_bad_config_is_refused_by_the_trainer_with_one_line_naming_the_file_and_the_key(tmp_path, capsys, case):
    source, key, value, problem = CASES[case]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(mutate(json.loads(source.read_text()), key, value)))
    task = TASKS.get(case, "pix2pix" if source == PELVIS else "autoencoder")
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


# ------------------------------------------------------------------------------------------------ both ways
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_shipped_config_is_written_back_as_it_was_and_reads_back_equal(path):
    config, raw = load_config(path), json.loads(path.read_text())
    written = config.to_json()
    assert written == raw and list(written) == list(raw)  # every key (notes, provenance), in the file's order
    assert parse_config(json.loads(json.dumps(written)), path) == config
    full = config.to_json(defaults=True)  # every setting spelt out: still the same config
    assert parse_config(json.loads(json.dumps(full)), path) == config
    assert set(full) >= set(raw) and full["preprocessing"]["mr_percentiles"] == list(config.preprocessing.mr_percentiles)


def test_free_form_provenance_is_kept_as_written_and_not_shared():
    raw = json.loads((ROOT / "weights" / "brain" / "config.json").read_text())
    config = parse_config(raw, "brain/config.json")
    assert config.provenance == raw["provenance"] and config.to_json()["provenance"] == raw["provenance"]
    raw["provenance"]["training_cases"].append("later")  # the config holds its own copy
    assert config.provenance != raw["provenance"]
    with pytest.raises(ConfigError, match="provenance: expected a JSON object, got list"):
        config.with_overrides({"provenance": [1]})


def test_a_default_the_file_leaves_out_stays_out_and_a_changed_one_is_written():
    minimal = {"region": "Pelvis", "pipeline": "pix2pix",
               "networks": {"generator": {"channels": [4, 8], "strides": [2]}}, "inference": {"roi_size": [8, 8, 8]}}
    config = parse_config(minimal, "minimal.json")
    assert config.to_json() == minimal
    changed = config.with_overrides({"inference.overlap": 0.5})
    assert changed.to_json()["inference"] == {"roi_size": [8, 8, 8], "overlap": 0.5}
    assert dataclasses.replace(config.inference, overlap=0.5) == changed.inference  # made in code: written as well


# ------------------------------------------------------------------------------------------------ overrides
def test_with_overrides_changes_a_copy_through_the_same_checks():
    config = load_config(BRAIN)
    changed = config.with_overrides({"training.autoencoder.iterations": 3, "sampler.steps": 4,
                                     "grid": {"size": [64, 64, 64], "spacing_mm": 2}, "latent.scale_factor": 2})
    assert changed.training.autoencoder.iterations == 3 and changed.sampler.steps == 4
    assert changed.grid.size == (64, 64, 64) and changed.grid.spacing_mm == 2.0  # a whole section; ints as numbers
    assert changed.latent.scale_factor == 2.0 and changed.source == str(BRAIN)
    assert config.training.autoencoder.iterations != 3 and config.latent.scale_factor is None  # the original is as it was
    assert changed.with_overrides({"sampler.steps": UNSET}).sampler.steps == 50  # removed: the default again
    assert "steps" not in changed.with_overrides({"sampler.steps": UNSET}).to_json()["sampler"]
    pelvis = load_config(PELVIS)
    assert pelvis.with_overrides({"training.engine.pool_size": 4}).training.engine.pool_size == 4  # a section started
    assert pelvis.with_overrides({"training.amp": "bf16"}).training.amp == "bf16"


OVERRIDES = {
    "misspelled key": ({"training.autoencoder.iteratons": 3},
                       "training.autoencoder.iteratons: unknown key (did you mean 'iterations'?)"),
    "misspelled section": ({"trainng.autoencoder.iterations": 3}, "trainng: unknown key (did you mean 'training'?)"),
    "out of range": ({"training.autoencoder.iterations": 0},
                     "training.autoencoder.iterations: 0 is out of range: must be at least 1"),
    "wrong type": ({"sampler.steps": "4"}, 'sampler.steps: expected an integer, got string "4"'),
    "into a setting": ({"sampler.steps.x": 1}, "sampler.steps: a setting, not a section: there is no x in it"),
    "cross-field clash": ({"grid.size": (96, 112, 90)}, "grid.size: [96, 112, 90] must divide by 16"),
    "family": ({"pipeline": "pix2pix"}, "pipeline: the model family of a config cannot change"),
}


@pytest.mark.parametrize("case", OVERRIDES, ids=str)
def test_a_bad_override_is_one_line_naming_the_file_and_the_key_path(case):
    changes, problem = OVERRIDES[case]
    with pytest.raises(ConfigError) as refused:
        load_config(BRAIN).with_overrides(changes)
    assert str(refused.value).startswith(f"{BRAIN}: {problem}")
    with pytest.raises(WeightsError):  # the error class is the caller's
        load_config(BRAIN).with_overrides(changes, WeightsError)


# ------------------------------------------------------------------------------------------------ validate()
def brain(**changes) -> dict:
    raw = json.loads(BRAIN.read_text())
    for key, value in changes.items():
        raw = mutate(raw, key, value)
    return raw


# What each family's validate() took over (it used to be checked by the networks, the pipelines or the tasks):
# the changes, and the line it gives.
CLASHES = {
    "grid and downsampling": (brain(**{"grid.size": [96, 112, 88]}),
                              "grid.size: [96, 112, 88] must divide by 16 (autoencoder downsampling 4 x UNet "
                              "downsampling 4); [88] do(es) not"),
    "window from the patch": (brain(**{"training.autoencoder.patch_size": [64, 64, 66]}),
                              "training.autoencoder.patch_size: [64, 64, 66], the autoencoder's window, must divide by "
                              "its downsampling 4"),
    "window given": (brain(**{"inference.autoencoder_window": [64, 64, 66]}),
                     "inference.autoencoder_window: [64, 64, 66], the autoencoder's window, must divide by its "
                     "downsampling 4"),
    "no window": (brain(**{"training.autoencoder": DELETE}),
                  "inference.autoencoder_window: required when training.autoencoder is absent"),
    "window steps": (brain(**{"inference.autoencoder_overlap": 0.6}),
                     "inference.autoencoder_overlap: 0.6 with the autoencoder window [64, 64, 64] steps by [25, 25, "
                     "25]: the steps must be positive multiples of the autoencoder's downsampling 4"),
    "controlnet embedding": (brain(**{"networks.controlnet.conditioning_embedding_num_channels": [16, 32, 64, 64]}),
                             "networks.controlnet.conditioning_embedding_num_channels: [16, 32, 64, 64] downsamples by "
                             "8, the autoencoder by 4: they must match"),
    "diffusion latent crop": (brain(**{"training.diffusion.latent_crop": [24, 32, 24]}),
                              "training.diffusion.latent_crop: [24, 32, 24]: each must be a multiple of the UNet's "
                              "downsampling 4 and at most the latent [24, 28, 24]"),
    "controlnet latent crop": (brain(**{"training.controlnet.latent_crop": [8, 6, 8]}),
                               "training.controlnet.latent_crop: [8, 6, 8]: each must be a multiple of the UNet's "
                               "downsampling 4"),
    "scale factor": (brain(**{"weights": {"autoencoder": "a.safetensors", "unet": "u.safetensors"}}),
                     "latent.scale_factor: missing: a model folder with a diffusion UNet needs it"),
    "pix2pix window": (mutate(json.loads(PELVIS.read_text()), "inference.roi_size", [32, 96, 100]),
                       "inference.roi_size: [32, 96, 100] must divide by the generator's downsampling [8, 8, 8]"),
}


@pytest.mark.parametrize("case", CLASHES, ids=str)
def test_validate_refuses_each_cross_field_clash_as_the_config_is_read(case):
    raw, problem = CLASHES[case]
    with pytest.raises(WeightsError) as refused:
        parse_config(raw, "m/config.json", WeightsError)
    assert str(refused.value).startswith(f"m/config.json: {problem}"), str(refused.value)


def test_validate_passes_what_fits_and_the_shipped_autoencoder_window_is_used():
    config = load_config(BRAIN)
    config.validate()
    assert config.autoencoder_window == config.training.autoencoder.patch_size
    assert config.with_overrides({"training.controlnet.latent_crop": [8, 8, 8]}).training.controlnet.latent_crop == (8, 8, 8)
    stage = parse_config(brain(**{"training.autoencoder": DELETE, "inference.autoencoder_window": [64, 64, 64],
                                  "weights": {"autoencoder": "a.safetensors"}}), "stage/config.json")
    assert stage.autoencoder_window == (64, 64, 64)  # an autoencoder stage's folder: no UNet, no scale factor yet


# ------------------------------------------------------------------------------------------------ the family table
def test_every_family_is_declared_once_with_its_pipeline_weights_and_tasks():
    """The family table is the one registry: every family's pipeline and tasks exist and agree with its config
    class, every family trains, and every network a task exports has its file (model/pipelines/__init__.py says
    how to add a family)."""
    from model.pipelines.base import Pipeline
    from tools.train.tasks import task_classes
    from tools.train.tasks.base import TrainingTask

    assert dict(CONFIGS) == {name: family.config_class for name, family in FAMILIES.items()}
    tasks = task_classes()
    for name, family in FAMILIES.items():
        assert family.name == name and family.config_class.__name__.endswith("Config")
        pipeline = family.pipeline_class()
        assert issubclass(pipeline, Pipeline) and pipeline.name == name and pipeline.config_class is family.config_class
        assert family.tasks, f"{name} does not train"
        for dotted in family.tasks:
            task = load_object(dotted)
            assert tasks[task.name] is task and dotted.startswith("tools.train.tasks.")
            assert issubclass(task, TrainingTask) and task.config_class is family.config_class
        assert all(file.endswith(".safetensors") for file in family.weights.values())
    assert len(tasks) == sum(len(f.tasks) for f in FAMILIES.values())  # no task name twice
    assert set(FAMILIES["ldm"].weights) == {"autoencoder", "unet", "controlnet"}
    assert set(FAMILIES["pix2pix"].weights) == {"generator"}


def test_the_table_names_its_pipelines_and_tasks_so_reading_a_config_imports_no_network_code():
    code = ("import sys; from model.config import load_config; load_config('configs/brain_ldm.json'); "
            "import tools.dose.config; "
            "print(sorted(m for m in ('torch', 'monai', 'model.pipelines', 'tools.train') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    code = "import sys, tools.dose.config; print('model.config' in sys.modules)"  # the engine without the schemas
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_training_precisions_are_the_ones_a_config_may_give():
    from typing import get_args

    from model.config import AmpSetting
    from model.precision import AMP_DTYPES

    assert set(AMP_DTYPES) == {a for a in get_args(AmpSetting) if isinstance(a, str)}
