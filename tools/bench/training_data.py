"""Measure training at scale on a dataset: the case cache, the sampler, a training run's peak memory.

    python -m tools.bench training-data DIR --config configs/pelvis_pix2pix_demo.json [--cache DIR] \
                                        [--iterations 30] [--workers 2]

Reports, for a dataset in the SynthRAD layout (``python -m tools.phantom --region
pelvis --synthrad-size`` makes SynthRAD-sized ones) and a Pix2Pix training config:

- the case cache's build time (tools.dataset.cache; every case, as a training run
  builds it; an existing cache is reused and says so),
- patches per second cut from the case cache by the training sampler (with 0 and N loader workers),
  alone (no network),
- the peak resident memory of a real training process: ``python -m tools.train``
  as a child process for ``--iterations`` iterations on the cached cases, its
  final validation included, read from the kernel's accounting of the child.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from model.config import load_config
from model.errors import InputError
from tools.bench.common import add_json_option, write_json
from tools.dataset.cache import CaseCache
from tools.dataset.cases import PatchSampler, find_cases
from tools.train.loader import Batches


def add_arguments(parser) -> None:
    parser.add_argument("data", type=Path, metavar="DIR", help="a dataset in the SynthRAD layout: <case>/mr, ct, mask")
    parser.add_argument("--config", type=Path, required=True, help="the Pix2Pix training config")
    parser.add_argument("--cache", type=Path, help="the case cache to build or reuse (default: a new temporary one)")
    parser.add_argument("--iterations", type=int, default=30, help="iterations of the training run (0: none)")
    parser.add_argument("--sampler-seconds", type=float, default=10.0, help="how long the sampler is timed")
    parser.add_argument("--workers", type=int, default=2, help="loader workers, timed against none")
    parser.add_argument("--threads", type=int, default=2, help="the training run's CPU threads (OMP_NUM_THREADS)")
    add_json_option(parser)


def patches_per_second(cases, patch_size, workers: int, seconds: float = 10.0, seed: int = 0) -> tuple[float, int]:
    """Patches the training loop receives per second (cut and converted to tensors, by ``workers`` processes or
    in the loop itself), over about ``seconds`` after the first batch."""
    batches = Batches(PatchSampler(cases, patch_size, np.random.default_rng(seed), flip_lr=True), workers)
    next(batches)  # workers started
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(batches)
        count += 1
    rate = count / (time.perf_counter() - start)
    batches.close()
    return rate, count


def _status(pid: int) -> dict[str, int]:
    """Resident memory of a running process from /proc: RssAnon (its own), RssFile (mapped files), kB."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines) if k in ("RssAnon", "RssFile")}


def training_peak_rss_gib(data: Path, config: Path, cache: Path, iterations: int, threads: int) -> dict[str, float]:
    """Peak memory of ``python -m tools.train pix2pix`` run as a child for ``iterations``: ``rss`` (the kernel's
    peak resident set: anonymous memory plus the mapped cache pages its patches touched), ``anon`` and
    ``file`` (their peaks, sampled every 50 ms from /proc), GiB, and ``seconds``."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "tools.train", "pix2pix", "--data", str(data), "--config", str(config),
                   "--out", str(Path(out) / "run"), "--iterations", str(iterations), "--cache", str(cache), "--device", "cpu"]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        log = Path(out) / "train.log"
        start = time.perf_counter()
        peaks = {"RssAnon": 0, "RssFile": 0}
        with open(log, "w") as stderr:
            child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break  # usage: the child's own peak resident set, from the kernel
                for key, kb in _status(child.pid).items():
                    peaks[key] = max(peaks[key], kb)
                time.sleep(0.05)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status):
            lines = log.read_text().strip().splitlines()
            raise InputError(config, f"the training run failed: {lines[-1] if lines else status}")
    return {"rss": usage.ru_maxrss / 1024**2, "anon": peaks["RssAnon"] / 1024**2, "file": peaks["RssFile"] / 1024**2,
            "seconds": seconds}


def run(args) -> int:
    config = load_config(args.config)
    training = config.training
    if config.pipeline != "pix2pix" or training is None:
        raise InputError(args.config, "pipeline: training-data measures the Pix2Pix training (a pix2pix config with training)")
    paths = find_cases(args.data)
    cache_dir = args.cache or Path(tempfile.mkdtemp(prefix="sct-cache-"))
    cache = CaseCache(cache_dir, config.preprocessing.mr_percentiles, training.seed)
    start = time.perf_counter()
    built = cache.build(paths)
    build_seconds = time.perf_counter() - start
    voxels = sum(int(np.prod(cache.meta(c, p)["shape_zyx"])) for c, p in paths.items())
    cases = [cache.open(c, p) for c, p in paths.items()]
    rates = {}
    for workers in sorted({0, args.workers}):
        rates[workers], _ = patches_per_second(cases, training.patch_size, workers, args.sampler_seconds)
    del cases
    figures = {"what": "training_data", "data": str(args.data), "config": str(args.config), "cases": len(paths),
               "voxels": voxels, "cache": str(cache_dir), "cache_built": len(built),
               "cache_build_seconds": round(build_seconds, 1), "cache_bytes": sum(f.stat().st_size for f in cache_dir.rglob("*.npy")),
               "patch_size": list(training.patch_size),
               "patches_per_second": {str(w): round(r, 1) for w, r in rates.items()}}
    print(f"{len(paths)} case(s), {voxels / 1e6:.1f} M voxels: case cache {len(built)} built in {build_seconds:.1f} s "
          f"({figures['cache_bytes'] / 1024**3:.2f} GiB in {cache_dir}); patches of {'x'.join(map(str, training.patch_size))} "
          "per second, no network: " + ", ".join(f"{r:.1f} with {w} worker(s)" for w, r in rates.items()), flush=True)
    if args.iterations:
        peak = training_peak_rss_gib(args.data, args.config, cache_dir, args.iterations, args.threads)
        figures.update(training_iterations=args.iterations, training_seconds=round(peak["seconds"], 1),
                       training_peak_rss_gib=round(peak["rss"], 3), training_peak_anon_gib=round(peak["anon"], 3),
                       training_peak_file_gib=round(peak["file"], 3))
        print(f"python -m tools.train pix2pix, {args.iterations} iterations and the final validation, "
              f"{peak['seconds']:.0f} s: peak RSS {peak['rss']:.2f} GiB (its own memory {peak['anon']:.2f} GiB at most, "
              f"mapped files {peak['file']:.2f} GiB at most)", flush=True)
    write_json(args, figures)
    return 0
