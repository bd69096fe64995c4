"""Write data-engine cases as files: whole volumes, each with its own MR contrast, CT texture and header.

    python -m tools.synth --region pelvis|brain|head-and-neck|thorax|abdomen --cases N [--seed S] [--first I]
        --out DIR [--format nii.gz|mha]

Case ``i`` (from ``--first`` on) is anatomy ``i`` of a run seeded ``--seed`` (the
pool's, tools.synth.pool), rendered whole with the engine's default settings
(model.config.SynthData) from ``default_rng([seed, ENGINE_STREAM, i, 1])``, in the
SynthRAD2023 dataset layout ``<case>/{mr,ct,mask}``; ids ``1PE0000``, ``1BE0000``, ``1HNE0000``, ...
For the stages that train on cached cases (the brain's latent stages), and to
look at what the engine draws. Training data only: the held-out sets come from
``python -m tools.phantom``.
"""
from __future__ import annotations

import argparse
from typing import Sequence

import numpy as np

from model.config import SynthData
from tools.phantom.case import CASE_PREFIX, REGIONS, PhantomCase, write_case
from tools.phantom.render import body_mask, random_header, to_image
from tools.phantom.tissues import HU_LIMITS, MR_MAX, region_tissues
from tools.synth.anatomy import ENGINE_STREAM, make_anatomy
from tools.synth.render import mr_signal, render_ct


def make_engine_case(region: str, seed: int, index: int, settings: SynthData = SynthData()) -> PhantomCase:
    labels, spacing = make_anatomy(region, seed, index)
    rng = np.random.default_rng([seed, ENGINE_STREAM, index, 1])
    tissues = region_tissues(region)
    ct = np.clip(np.rint(render_ct(labels, settings, rng, tissues)), *HU_LIMITS).astype(np.int16)
    signal, drawn = mr_signal(labels, settings, rng, tissues)
    mr = np.clip(np.rint(signal * np.float32(rng.uniform(300, 2000) / drawn["peak"])), 0, MR_MAX).astype(np.int16)
    mask = body_mask(labels, rng)
    origin, direction = random_header(rng)
    images = [to_image(a, spacing, origin, direction) for a in (mr, ct, mask)]
    return PhantomCase(case_id=f"{CASE_PREFIX[region][:-1]}E{index:04d}", region=region, mr=images[0], ct=images[1],
                       mask=images[2], uuid=f"engine-{seed}-{index}", labels=labels, acquisition=drawn["family"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.synth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", required=True, type=str.lower, choices=sorted(r for r in REGIONS if " " not in r))
    parser.add_argument("--cases", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (the pool's anatomies of that seed)")
    parser.add_argument("--first", type=int, default=0, help="the first anatomy's index")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--format", choices=("nii.gz", "mha"), default="nii.gz")
    args = parser.parse_args(argv)
    region = REGIONS[args.region]
    for index in range(args.first, args.first + args.cases):
        case = make_engine_case(region, args.seed, index)
        folder = write_case(case, args.out, layout="dataset", fmt=args.format)
        print(f"{case.case_id} {region} MR {case.acquisition} size={case.ct.GetSize()} -> {folder}")


if __name__ == "__main__":
    main()
