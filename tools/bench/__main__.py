"""``python -m tools.bench <mode> ...``: time a pipeline, a sampling step, the attention kinds, the brain's training
steps, or training at scale, estimate a GPU window plan, or score the body mask made from the MR;
``python -m tools.bench <mode> --help`` says how."""
from __future__ import annotations

import argparse
import sys

from model.cli import exit_code
from tools.bench import attention, body_mask, case, sampling_step, training_data, training_steps, window_plan

MODES = {"case": case, "sampling-step": sampling_step, "attention": attention, "training-steps": training_steps,
         "training-data": training_data, "window-plan": window_plan, "body-mask": body_mask}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m tools.bench", description="Benchmarks of the pipelines and of "
                                  "training, one mode each: python -m tools.bench MODE --help says how.")
    modes = top.add_subparsers(dest="mode", required=True, metavar="MODE")
    for name, module in MODES.items():
        summary = module.__doc__.strip().split("\n\n")[0].replace("\n", " ")
        sub = modes.add_parser(name, help=summary, description=module.__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return exit_code(lambda: args.run(args))


if __name__ == "__main__":
    sys.exit(main())
