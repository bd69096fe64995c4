"""The GPU window plan of a Pix2Pix model folder for a volume, estimated on the CPU: window batch and where the
output is stitched, under a GPU memory budget (a T4's 16 GB by default).

    python -m tools.bench window-plan --weights weights/abdomen --shape 200 650 650 --spacing 1 1 3 [--gpu-gib 15]
    python -m tools.bench window-plan --random-weights configs/thorax_pix2pix_demo.json --shape 200 650 650

On CUDA the pipeline measures one window's peak memory and sizes the batch from it
(model.pipelines.sliding.window_plan); without a GPU this mode bounds that measure
from above: one window runs on the CPU and every layer's output is counted, at the
GPU's autocast width (2 bytes an element, float16 on a T4) where the model runs
under autocast: every module's output, the containers' too (a skip connection's
concatenation is one), as if none were freed before the last layer ran (inference
frees most of them sooner, and a container's output is often its last child's).
The same choice then follows: model.pipelines.sliding's choose_window_batch with
that bound, the parameters and, where the blended output of the volume at the
model's voxel size fits beside them, the stitching buffers.
Prints the bound, the batch, where it stitches and the estimated peak. ``--random-weights CONFIG``: the
networks a config describes, randomly initialised (the plan does not depend on the weights).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from model.config import load_config
from model.pipelines import load_pipeline
from model.pipelines.sliding import BUDGET_HEADROOM, GIB, STITCH_BYTES_PER_VOXEL, choose_window_batch
from model.preprocessing.resample import plan_spacing
from model.registry import model_entry
from tools.bench.common import add_json_option, write_json
from tools.bench.random_weights import random_model_folder

T4_GIB = 15.0  # what a 16 GB T4 offers a process (nvidia-smi reports 15.0-15.1 GiB)


def add_arguments(parser) -> None:
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument("--weights", type=Path, help="a Pix2Pix model folder")
    weights.add_argument("--random-weights", type=Path, metavar="CONFIG",
                         help="the networks this config describes, random weights, instead of --weights")
    parser.add_argument("--shape", type=int, nargs=3, required=True, metavar=("Z", "Y", "X"),
                        help="the volume, voxels at --spacing")
    parser.add_argument("--spacing", type=float, nargs=3, default=(1.0, 1.0, 3.0), metavar=("X", "Y", "Z"))
    parser.add_argument("--gpu-gib", type=float, default=T4_GIB, help="the GPU's memory (default a T4's)")
    add_json_option(parser)


def window_bytes_bound(net: torch.nn.Module, roi_size, element_bytes: int) -> int:
    """Every module's output of one window, ``element_bytes`` an element, added up."""
    total = 0

    def count(_module, _inputs, output):
        nonlocal total
        for tensor in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(tensor, torch.Tensor):
                total += tensor.numel() * element_bytes

    hooks = [m.register_forward_hook(count) for m in net.modules()]
    try:
        with torch.inference_mode():
            net(torch.full((1, 1, *roi_size), -1.0))
    finally:
        for hook in hooks:
            hook.remove()
    return total + int(np.prod(roi_size)) * 4  # and the window itself, float32


def run(args) -> int:
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.weights or random_model_folder(load_config(args.random_weights), Path(tmp))
        pipeline = load_pipeline(model_entry(folder), torch.device("cpu"))
    source = args.weights or args.random_weights
    config = pipeline.config
    inference = config.inference
    element = 2 if inference.amp else 4
    per_window = window_bytes_bound(pipeline.generator, inference.roi_size, element)
    fixed = sum(p.numel() * p.element_size() for p in pipeline.generator.parameters())
    budget = int(min(inference.gpu_memory_budget_gb, args.gpu_gib) * GIB)
    plan = plan_spacing(tuple(args.shape), args.spacing, config.preprocessing.spacing_mm)  # the windows' grid
    voxels = int(np.prod(plan.model_shape if plan else args.shape))
    stitch = STITCH_BYTES_PER_VOXEL * voxels
    on_gpu = fixed + per_window + stitch <= budget * BUDGET_HEADROOM
    batch = choose_window_batch(per_window, fixed + (stitch if on_gpu else 0), budget, inference.max_sw_batch_size)
    peak = fixed + batch * per_window + (stitch if on_gpu else 0)
    figures = {"weights": str(source), "shape_zyx": list(args.shape), "model_voxels": voxels,
               "roi_size": list(inference.roi_size), "window_bound_gib": round(per_window / GIB, 3),
               "budget_gib": round(budget / GIB, 2), "window_batch": batch,
               "max_sw_batch_size": inference.max_sw_batch_size, "stitching": "GPU" if on_gpu else "CPU",
               "estimated_peak_gib": round(peak / GIB, 2)}
    print(f"{source} on {'x'.join(map(str, args.shape))} ({voxels} voxels at the model's size): one window "
          f"at most {per_window / GIB:.3f} GiB -> window batch {batch} (max {inference.max_sw_batch_size}) under "
          f"{budget / GIB:.1f} GiB, stitching on the {'GPU' if on_gpu else 'CPU'}, estimated peak "
          f"{peak / GIB:.2f} GiB")
    write_json(args, figures)
    return 0
