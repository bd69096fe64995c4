"""Container entry point: MR in, synthetic CT out (SynthRAD2023 Task 1).

    python process.py [--input /input] [--output /output] [--weights DIR] [--device auto|cpu|cuda]
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from model.container import run
from model.errors import InputError

BUNDLED_WEIGHTS = Path(__file__).resolve().parent / "weights"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process.py", description="MR -> synthetic CT for grand-challenge.org")
    parser.add_argument("--input", type=Path, default=Path("/input"))
    parser.add_argument("--output", type=Path, default=Path("/output"))
    parser.add_argument("--weights", type=Path, default=BUNDLED_WEIGHTS)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    try:
        run(args.input, args.output, args.weights, args.device)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
