"""Time one pipeline on a volume of a given size and report its peak memory.

    python -m tools.bench case --weights weights/pelvis --shape 153 410 586 [--repeats 3] [--threads 2] [--device cpu]
    python -m tools.bench case --weights weights/brain --shape 180 220 180 --spacing 1 1 1
    python -m tools.bench case --random-weights configs/brain_ldm.json --shape 180 220 180 --spacing 1 1 1 \\
                               --time-budget 600 --repeats 1

The volume is an elliptic body (random MR values inside, 1 x 1 x 2.5 mm) of the
given (z, y, x) size: the largest SynthRAD2023 pelvis by default. The full
per-case path runs: MR normalisation, sliding windows, HU conversion, int16
sCT on the MR's grid. Prints each run's seconds, their median, and the
process's peak resident memory (and peak GPU memory on CUDA).
``--random-weights CONFIG`` runs the networks a (training) config describes with
random weights instead of a model folder: the method-scale configs have no
trained weights here, and the time does not depend on the weights.
``--time-budget SECONDS`` gives each run the container's time budget
(model.budget): the brain sampler lowers its samples and steps to fit it.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from model.budget import TimeBudget
from model.config import load_config
from model.pipelines import load_pipeline
from model.registry import model_entry
from tools.bench.common import add_machine_options, start, summarise
from tools.bench.random_weights import random_model_folder
from tools.bench.synthetic import LARGEST_PELVIS, synthetic_case


def add_arguments(parser) -> None:
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--weights", type=Path, default=Path("weights/pelvis"), help="a model folder")
    weights.add_argument("--random-weights", type=Path, metavar="CONFIG",
                         help="the networks this config describes, random weights, instead of --weights")
    parser.add_argument("--shape", type=int, nargs=3, default=LARGEST_PELVIS, metavar=("Z", "Y", "X"))
    parser.add_argument("--spacing", type=float, nargs=3, default=(1.0, 1.0, 2.5), metavar=("X", "Y", "Z"),
                        help="voxel size in mm of the synthetic volume")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="each run gets the container's time budget (the brain sampler lowers samples and steps)")
    add_machine_options(parser)


def run(args) -> int:
    device = start(args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.weights
        if args.random_weights:
            torch.manual_seed(0)
            folder = random_model_folder(load_config(args.random_weights), Path(tmp))
        seconds = case_seconds(folder, args, device)
    what = f"{'x'.join(map(str, args.shape))} through {args.random_weights or args.weights}"
    figures = {"what": "case", "weights": str(args.random_weights or args.weights), "shape_zyx": list(args.shape),
               "time_budget": args.time_budget}
    summarise(figures, seconds, what, device, args)
    return 0


def case_seconds(folder: Path, args, device: torch.device) -> list[float]:
    """Each run's seconds for the whole per-case path through the model folder ``folder``."""
    from model.imageio import hu_to_sct

    pipeline = load_pipeline(model_entry(folder), device)
    case = synthetic_case(tuple(args.shape), tuple(args.spacing))
    seconds = []
    for number in range(1, args.repeats + 1):
        budget = TimeBudget(args.time_budget) if args.time_budget else None
        began = time.perf_counter()
        sct = hu_to_sct(pipeline.predict(case, budget=budget), case.body, case.mr_image)
        seconds.append(time.perf_counter() - began)
        print(f"run {number}: {seconds[-1]:.1f} s", flush=True)
        assert sct.GetSize() == case.mr_image.GetSize()
    return seconds
