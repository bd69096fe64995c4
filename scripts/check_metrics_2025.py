"""Our SynthRAD2025 image metrics against the challenge's own code, on random volumes and on sample cases.

    git clone https://github.com/SynthRAD2025/evaluation /tmp/synthrad2025-evaluation
    python scripts/check_metrics_2025.py /tmp/synthrad2025-evaluation/image_metrics.py [--case CT SCT MASK ...]

Prints each case's three metrics both ways and the largest relative difference per metric. The challenge's
code is imported from the given file, never copied here. (It needs SimpleITK, scikit-image and scipy, which
the test requirements have.)
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools.metrics, imported in main


def official_metrics(path: Path):
    spec = importlib.util.spec_from_file_location("synthrad2025_image_metrics", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ImageMetrics()


def random_cases(count: int):
    rng = np.random.default_rng(0)
    shapes = [(20, 30, 25), (40, 101, 60), (110, 98, 99), (16, 16, 16), (60, 120, 130)]
    for i in range(count):
        shape = shapes[i % len(shapes)]
        ct = rng.uniform(-1100, 3200, shape).astype(np.float32)
        if i % 2:  # smoother structure than white noise
            ct = (0.3 * ct + 0.7 * np.cumsum(ct, 2) / shape[2]).astype(np.float32)
        sct = (ct + rng.normal(0, 150 + 100 * i, shape)).astype(np.float32)
        mask = np.zeros(shape, np.float32)
        mask[tuple(slice(n // 6, n - n // 5) for n in shape)] = 1
        yield f"random {i} {shape}", ct, sct, mask


def file_cases(triples):
    from model.imageio import read_image, read_on_grid, to_array

    for ct_path, sct_path, mask_path in triples:
        ct_image = read_image(Path(ct_path))
        yield (Path(sct_path).name, to_array(ct_image), to_array(read_on_grid(Path(sct_path), ct_image, "CT")),
               to_array(read_on_grid(Path(mask_path), ct_image, "CT")))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("official", type=Path, help="the challenge's image_metrics.py")
    parser.add_argument("--random", type=int, default=5, help="random volumes to compare (default 5)")
    parser.add_argument("--case", nargs=3, action="append", default=[], metavar=("CT", "SCT", "MASK"))
    args = parser.parse_args(argv)
    from tools.metrics.image import image_metrics  # scikit-image and scipy: after --help has answered

    official = official_metrics(args.official)
    worst: dict[str, float] = {}
    for name, ct, sct, mask in [*random_cases(args.random), *file_cases(args.case)]:
        t0 = time.perf_counter()
        theirs = official.score_patient(ct, sct, mask)
        t1 = time.perf_counter()
        ours = image_metrics(ct, sct, mask, "2025")
        t2 = time.perf_counter()
        for key in ours:
            worst[key] = max(worst.get(key, 0.0), abs(ours[key] - theirs[key]) / max(abs(theirs[key]), 1e-300))
        print(f"{name}: " + ", ".join(f"{k} {ours[k]:.7f} / {theirs[k]:.7f}" for k in ours)
              + f" (ours {t2 - t1:.2f} s, theirs {t1 - t0:.2f} s)")
    print("largest relative difference: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
