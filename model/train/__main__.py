"""Train a model: ``python -m model.train <task> --data DIR --config FILE --out DIR``.

Tasks: pix2pix (pelvis). Several processes: ``torchrun --nproc_per_node N -m model.train ...``.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from model.cli import exit_code, setup_logging
from model.errors import InputError
from model.train.harness import Harness


def task_classes() -> dict:
    from model.train.pix2pix import Pix2PixTask

    return {Pix2PixTask.name: Pix2PixTask}


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
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    command = shlex.join(["python", "-m", "model.train", *argv])
    setup_logging()

    def train() -> None:
        try:
            config = json.loads(args.config.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(args.config, f"cannot read the config ({err})") from None
        if args.iterations:
            config["training"]["iterations"] = args.iterations
        Harness(tasks[args.task], config, args.data, args.out, resume=args.resume, device=args.device,
                command=command).run()

    return exit_code(train)


if __name__ == "__main__":
    sys.exit(main())
