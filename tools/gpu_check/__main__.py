"""One prepared GPU check: ``python -m tools.gpu_check --out DIR [--smoke] [--only SECTION ...]``.

Runs each section (see :mod:`tools.gpu_check.sections`) in a process of its own
with its own time limit, and rewrites ``DIR/results.json`` and ``DIR/results.md``
after every section, so that a check cut short still leaves what it measured.
Each section's output goes to ``DIR/logs/<section>.log``. Needs only torch, numpy,
scipy, scikit-image, safetensors, einops and MONAI (no SimpleITK, evalutils or
network): the sample cases are read with :mod:`tools.gpu_check.metaio`.

``--smoke`` runs every section at toy sizes on the CPU (under a minute on 2 cores):
the test suite runs it, so the check is known to work before a GPU is lent.
Exit code 0 when every section chosen ran, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from tools.gpu_check.report import write_results
from tools.gpu_check.sections import SECTIONS


def run_section(name: str, out: Path, smoke: bool) -> dict:
    """One section in a child process under its time limit: its result, or why there is none."""
    limit = SECTIONS[name].smoke_limit_s if smoke else SECTIONS[name].limit_s
    result_file = out / "sections" / f"{name}.json"
    result_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "tools.gpu_check", "--section", name, "--out", str(out)] + (["--smoke"] if smoke else [])
    start = time.perf_counter()
    with open(out / "logs" / f"{name}.log", "w") as log:
        try:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=limit).returncode
            status = "ok" if code == 0 and result_file.exists() else "failed"
        except subprocess.TimeoutExpired:
            status = "timeout"
    entry = {"status": status, "seconds": round(time.perf_counter() - start, 1), "limit_s": limit}
    if result_file.exists():
        entry["result"] = json.loads(result_file.read_text())
    if status != "ok":
        lines = (out / "logs" / f"{name}.log").read_text(errors="replace").strip().splitlines()
        entry["error"] = " | ".join(lines[-3:]) if lines else f"no output ({status})"
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gpu_check", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for results.json, results.md and logs/")
    parser.add_argument("--smoke", action="store_true", help="every section at toy sizes, on the CPU")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), metavar="SECTION",
                        help=f"these sections only ({', '.join(SECTIONS)})")
    parser.add_argument("--section", choices=sorted(SECTIONS), help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    for sub in ("sections", "logs"):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
    if args.section:
        result = SECTIONS[args.section].run(args.smoke)
        (args.out / "sections" / f"{args.section}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        return 0

    results = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "smoke": args.smoke, "sections": {}}
    for name in args.only or list(SECTIONS):
        print(f"gpu_check: {name} ...", flush=True)
        results["sections"][name] = run_section(name, args.out, args.smoke)
        entry = results["sections"][name]
        print(f"gpu_check: {name}: {entry['status']} in {entry['seconds']} s" + (f" ({entry['error']})" if "error" in entry else ""),
              flush=True)
        write_results(args.out, results)
    return 0 if all(e["status"] == "ok" for e in results["sections"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
