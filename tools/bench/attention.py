"""One brain sampling step with torch's scaled-dot-product attention (SDPA) against MONAI's explicit attention.

    python -m tools.bench attention configs/brain_ldm.json --repeats 2 --rounds 2 [--device cuda]

Each kind runs ``python -m tools.bench sampling-step`` in processes of its own
(peak resident memory is per process), alternating, ``--rounds`` times; prints
the medians of the steps, the largest peak of each kind, and their ratios.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from model.device import cpu_model
from tools.bench.common import add_machine_options, write_json
from tools.bench.sampling_step import brain_config

KINDS = ("explicit", "sdpa")


def add_arguments(parser) -> None:
    parser.add_argument("config", type=Path, help="a brain (ldm) config")
    parser.add_argument("--rounds", type=int, default=2, help="processes per kind")
    add_machine_options(parser)


def run(args) -> int:
    brain_config(args.config, "attention")  # a bad config is one line here, not in every child
    runs: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for kind in runs:
                out = Path(tmp) / f"{kind}-{round_}.json"
                subprocess.run([sys.executable, "-m", "tools.bench", "sampling-step", str(args.config),
                                "--attention", kind, "--repeats", str(args.repeats), "--threads", str(args.threads),
                                "--device", args.device, "--json", str(out)], check=True)
                runs[kind].append(json.loads(out.read_text()))
    figures = {"what": "attention", "config": str(args.config), "device": args.device, "threads": args.threads,
               "cpu": cpu_model(), "kinds": {}}
    for kind, results in runs.items():
        steps = [s for r in results for s in r["seconds"]]
        figures["kinds"][kind] = {"seconds": steps, "median_seconds": round(statistics.median(steps), 3),
                                  "peak_rss_gib": max(r["peak_rss_gib"] for r in results),
                                  **({"peak_gpu_gib": max(r["peak_gpu_gib"] for r in results)} if "peak_gpu_gib" in results[0] else {})}
    explicit, sdpa = figures["kinds"]["explicit"], figures["kinds"]["sdpa"]
    figures["step_ratio"] = round(sdpa["median_seconds"] / explicit["median_seconds"], 3)
    figures["rss_ratio"] = round(sdpa["peak_rss_gib"] / explicit["peak_rss_gib"], 3)
    print("| attention | median step (s) | peak RSS (GiB) |\n|---|---|---|")
    for kind, f in figures["kinds"].items():
        print(f"| {kind} | {f['median_seconds']:.3f} | {f['peak_rss_gib']:.2f} |")
    print(f"{args.config} on {args.device} ({args.threads} threads, {figures['cpu']}): SDPA / explicit = "
          f"{figures['step_ratio']:.2f} x the time, {figures['rss_ratio']:.2f} x the peak memory "
          f"({args.rounds} processes of {args.repeats} steps each, alternating)")
    write_json(args, figures)
    return 0
