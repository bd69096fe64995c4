"""Container entry point: MR in, synthetic CT out (SynthRAD2023 Task 1).

    python process.py [--input /input] [--output /output] [--weights DIR] [--device auto|cpu|cuda]
                      [--uncertainty-samples N] [--time-budget SECONDS]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.cli import exit_code, setup_logging
from model.container import process_folder
from model.contract import BUNDLED_WEIGHTS
from model.registry import choose_weights
from model.server import PORT, Service, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process.py", description="MR -> synthetic CT for grand-challenge.org")
    parser.add_argument("--input", type=Path, default=Path("/input"))
    parser.add_argument("--output", type=Path, default=Path("/output"))
    parser.add_argument("--weights", type=Path, default=None,
                        help="a weights folder (model folders, or one model folder); default: grand-challenge's model "
                             "upload in /opt/ml/model when it holds a model folder, else the image's bundled weights/")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--uncertainty-samples", type=int, default=0, metavar="N",
                        help="brain: average N >= 2 samples and also write their per-voxel standard deviation "
                             "(images/synthetic-ct-uncertainty/); off by default")
    parser.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                        help="seconds a case may take, from reading it to its sCT: the brain sampler lowers its samples, "
                             "then its steps, to fit; the pelvis says whether it fits (default: the model folder's "
                             "inference.time_budget_s, else 900)")
    parser.add_argument("--serve", action="store_true",
                        help="grand-challenge's invoke method: load every model once, then serve GET /health and POST "
                             "/invoke (each a job on what --input holds then) until SIGTERM")
    parser.add_argument("--port", type=int, default=PORT, help=f"with --serve (default {PORT}, where the platform looks)")
    args = parser.parse_args(argv)
    setup_logging()
    if args.serve:
        return exit_code(lambda: serve(Service(args.input, args.output, choose_weights(args.weights, BUNDLED_WEIGHTS),
                                               args.device, args.uncertainty_samples, args.time_budget), port=args.port),
                         catch_all=str(args.input))
    return exit_code(lambda: process_folder(args.input, args.output, choose_weights(args.weights, BUNDLED_WEIGHTS), args.device,
                                 args.uncertainty_samples, args.time_budget),
                     catch_all=str(args.input))


if __name__ == "__main__":
    sys.exit(main())
