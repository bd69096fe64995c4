"""Train a model: ``python -m model.train <task> --data DIR --config FILE --out DIR``.

Tasks: pix2pix (pelvis); autoencoder -> diffusion -> controlnet (brain, each stage
starting from the previous stage's model folder: ``--previous <out of that stage>/model``).
Several processes: ``torchrun --nproc_per_node N -m model.train ...``.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from model.cli import exit_code, setup_logging
from model.errors import InputError
from model.train.harness import Harness, training_section


def task_classes() -> dict:
    from model.train.tasks.autoencoder import AutoencoderTask
    from model.train.tasks.latent_stages import ControlNetTask, DiffusionTask  # noqa: F401
    from model.train.tasks.pix2pix import Pix2PixTask

    return {task.name: task for task in (Pix2PixTask, AutoencoderTask, DiffusionTask, ControlNetTask)}


def main(argv: list[str] | None = None) -> int:
    tasks = task_classes()
    parser = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=sorted(tasks))
    parser.add_argument("--data", type=Path, required=True, help="SynthRAD2023-layout folder: <case>/mr, ct, mask")
    parser.add_argument("--config", type=Path, required=True, help="JSON config (see configs/)")
    parser.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, logs, previews, model/")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/checkpoints/last.pt")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--iterations", type=int, help="override training.iterations")
    parser.add_argument("--previous", type=Path, help="the previous stage's model folder (diffusion, controlnet)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    command = shlex.join(["python", "-m", "model.train", *argv])
    setup_logging()

    def train() -> None:
        try:
            config = json.loads(args.config.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(args.config, f"cannot read the config ({err})") from None
        try:
            section = training_section(config, tasks[args.task])
        except KeyError as err:
            raise InputError(args.config, f"has no {err.args[0]} section") from None
        if args.iterations:
            section["iterations"] = args.iterations
        Harness(tasks[args.task], config, args.data, args.out, resume=args.resume, device=args.device,
                command=command, previous=args.previous).run()

    return exit_code(train)


if __name__ == "__main__":
    sys.exit(main())
