"""Train a model: ``python -m tools.train <task> --data DIR --config FILE --out DIR``.

Tasks: pix2pix (pelvis); autoencoder -> diffusion -> controlnet (brain, each stage
starting from the previous stage's model folder: ``--previous <out of that stage>/model``).
Several processes: ``torchrun --nproc_per_node N -m tools.train ...``.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from model.cli import exit_code, setup_logging
from model.config import load_config
from tools.train.harness import Harness
from tools.train.tasks import task_classes
from tools.train.tasks.base import section_name, training_section


def main(argv: list[str] | None = None) -> int:
    tasks = task_classes()
    parser = argparse.ArgumentParser(prog="python -m tools.train", description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=sorted(tasks))
    parser.add_argument("--data", type=Path, required=True, help="SynthRAD2023-layout folder: <case>/mr, ct, mask")
    parser.add_argument("--config", type=Path, required=True, help="JSON config (see configs/)")
    parser.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, logs, previews, model/")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/checkpoints/last.pt")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--iterations", type=int, help="override training.iterations")
    parser.add_argument("--previous", type=Path, help="the previous stage's model folder (diffusion, controlnet)")
    parser.add_argument("--init", type=Path, help="a model folder to start the networks from (fine-tuning): every "
                                                  "tensor whose name and shape match is copied")
    parser.add_argument("--cache", type=Path, help="the case cache (uncompressed training cases, read patch by patch); default "
                                                   "<data>/.sct-cache where the data folder is writable, else <out>/cache")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    command = shlex.join(["python", "-m", "tools.train", *argv])
    setup_logging()

    def train() -> None:
        task = tasks[args.task]
        config = load_config(args.config)  # a bad config fails here, naming its file
        training_section(config, task)
        if args.iterations:
            config = config.with_overrides({f"{section_name(task)}.iterations": args.iterations})
        Harness(task, config, args.data, args.out, resume=args.resume, device=args.device, command=command,
                previous=args.previous, cache_dir=args.cache, init=args.init).run()

    return exit_code(train)


if __name__ == "__main__":
    sys.exit(main())
