"""What the timing modes share: the machine options, and the summary of the runs' seconds and peak memory."""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from model.cli import setup_logging
from model.device import choose_device, peak_rss_gib


def add_machine_options(parser: argparse.ArgumentParser, repeats: int = 3) -> None:
    parser.add_argument("--repeats", type=int, default=repeats, help="timed runs")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target: 2 cores)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    add_json_option(parser)


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, help="also write the figures here")


def start(args) -> torch.device:
    """Logging on, torch's CPU threads set: the device the mode runs on."""
    setup_logging()
    torch.set_num_threads(args.threads)
    return choose_device(args.device)


def summarise(figures: dict, seconds: list[float], what: str, device: torch.device, args) -> None:
    """Add the device, the runs' seconds, their median and the peak memory to ``figures``, print one line and
    write the figures to ``--json``."""
    figures.update({
        "device": str(device),
        "threads": args.threads,
        "seconds": [round(s, 3) for s in seconds],
        "median_seconds": round(statistics.median(seconds), 3),
        "peak_rss_gib": round(peak_rss_gib(), 2),
    })
    if device.type == "cuda":
        figures["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated(device) / 1024**3, 2)
    print(f"{what} on {device} ({args.threads} threads): median {figures['median_seconds']:.3f} s "
          f"over {len(seconds)} runs, peak RSS {figures['peak_rss_gib']:.2f} GiB"
          + (f", peak GPU {figures['peak_gpu_gib']:.2f} GiB" if "peak_gpu_gib" in figures else ""))
    write_json(args, figures)


def write_json(args, figures: dict) -> None:
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
