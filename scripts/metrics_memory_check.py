"""The image metrics of one case (its CT against the CT plus noise, in its mask): values, seconds, peak memory.

    python scripts/metrics_memory_check.py CASE_DIR [--module PATH/TO/image.py]

``CASE_DIR`` holds ct.mha and mask.mha (``python -m tools.phantom --synthrad-size --format mha`` makes them);
``--module`` runs another version of tools/metrics/image.py, e.g. from ``git worktree add /tmp/old REV``,
in its own process, so that two versions compare side by side.
"""
from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the module under test imports tools.metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("case", type=Path)
    parser.add_argument("--module", type=Path, default=ROOT / "tools" / "metrics" / "image.py")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("metrics_under_test", args.module)
    metrics = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(metrics)
    ct = sitk.GetArrayFromImage(sitk.ReadImage(str(args.case / "ct.mha"))).astype(np.float32)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(args.case / "mask.mha"))).astype(np.float32)
    noise = np.random.default_rng(0).normal(0, 40, ct.shape).astype(np.float32)
    pred = np.where(mask > 0, ct + noise, -1000).astype(np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    start = time.perf_counter()
    values = metrics.image_metrics(ct, pred, mask)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"{args.module} on {args.case.name} {ct.shape}: " + ", ".join(f"{k} {v!r}" for k, v in values.items())
          + f"; {seconds:.1f} s, peak RSS {after:.2f} GiB ({after - before:+.2f} GiB in the metrics)")


if __name__ == "__main__":
    main()
