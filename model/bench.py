"""Time one pipeline on a volume of a given size and report its peak memory.

    python -m model.bench --weights weights/pelvis --shape 153 410 586 [--repeats 3] [--threads 2] [--device cpu]

The volume is an elliptic body (random MR values inside, 1 x 1 x 2.5 mm) of the
given (z, y, x) size: the largest SynthRAD2023 pelvis by default. The full
per-case path runs: MR normalisation, sliding windows, HU conversion, int16
sCT on the MR's grid. Prints each run's seconds, their median, and the
process's peak resident memory (and peak GPU memory on CUDA).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from model.container import choose_device
from model.imageio import hu_to_sct
from model.pipelines import CaseInput, load_pipeline
from model.registry import ModelEntry
from model.weights import read_config

LARGEST_PELVIS = (153, 410, 586)


def synthetic_case(shape, spacing=(1.0, 1.0, 2.5), seed: int = 0) -> CaseInput:
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = ((y - shape[1] / 2) / (0.45 * shape[1])) ** 2 + ((x - shape[2] / 2) / (0.47 * shape[2])) ** 2 <= 1
    body = np.broadcast_to(body, shape).copy()
    mr = np.random.default_rng(seed).uniform(0, 1000, shape).astype(np.float32) * body
    image = sitk.GetImageFromArray(mr)
    image.SetSpacing(spacing)
    return CaseInput(image, mr, body)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=Path("weights/pelvis"), help="a model folder")
    parser.add_argument("--shape", type=int, nargs=3, default=LARGEST_PELVIS, metavar=("Z", "Y", "X"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target: 2 cores)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    config = read_config(args.weights)
    pipeline = load_pipeline(ModelEntry(config["region"], config["pipeline"], args.weights), device)
    case = synthetic_case(tuple(args.shape))
    seconds = []
    for run in range(args.repeats):
        start = time.perf_counter()
        sct = hu_to_sct(pipeline.predict(case), case.body, case.mr_image)
        seconds.append(time.perf_counter() - start)
        print(f"run {run + 1}: {seconds[-1]:.1f} s", flush=True)
    assert sct.GetSize() == case.mr_image.GetSize()
    figures = {
        "shape_zyx": list(args.shape),
        "device": str(device),
        "threads": args.threads,
        "seconds": [round(s, 2) for s in seconds],
        "median_seconds": round(statistics.median(seconds), 2),
        "peak_rss_gib": round(peak_rss_gib(), 2),
    }
    if device.type == "cuda":
        figures["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated(device) / 1024**3, 2)
    print(f"{'x'.join(map(str, args.shape))} on {device} ({args.threads} threads): median {figures['median_seconds']:.1f} s "
          f"over {args.repeats} runs, peak RSS {figures['peak_rss_gib']:.2f} GiB"
          + (f", peak GPU {figures['peak_gpu_gib']:.2f} GiB" if "peak_gpu_gib" in figures else ""))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
