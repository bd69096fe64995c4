"""The invoke method against the exec method, side by side in one run, on the sample cases (CPU by default).

    python scripts/invoke_check.py [--invocations 20] [--exec-runs 2] [--device cpu] [--work DIR]

- exec: ``process.py`` as a fresh process per case (what grand-challenge runs without the invoke label), each
  sample case ``--exec-runs`` times: wall time per case including start-up (imports, model loading);
- invoke: one ``process.py --serve`` driven by tools.adapter as the platform drives it: the seconds from the
  process's start until ``/health`` answers, then ``--invocations`` tasks alternating the sample cases (pelvis
  first), each task's wall time as the adapter sees it and the server's resident memory after it.

Prints a markdown table: per region the median exec time and the median invoke time of its second and later
tasks, and the memory after the 2nd and the last task.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/invoke_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--invocations", type=int, default=20)
    parser.add_argument("--exec-runs", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "invoke-check")
    args = parser.parse_args(argv)
    from tools.adapter import serve_process_py, task_folder

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    cases = [ROOT / "test" / "cases" / name for name in ("pelvis", "brain")]
    tasks = {case.name: task_folder(case, args.work / "tasks") for case in cases}

    exec_s = {name: [] for name in tasks}
    for run in range(args.exec_runs):
        for name, task in tasks.items():
            out = args.work / f"exec-{name}-{run}"
            start = time.monotonic()
            subprocess.run([sys.executable, "process.py", "--input", str(task), "--output", str(out),
                            "--device", args.device], cwd=ROOT, check=True, capture_output=True)
            exec_s[name].append(time.monotonic() - start)
            print(f"exec {name} run {run + 1}: {exec_s[name][-1]:.1f} s", flush=True)

    adapter = serve_process_py(args.work, device=args.device)
    try:
        health_s = adapter.wait_healthy()
        print(f"invoke: /health 200 after {health_s:.1f} s", flush=True)
        invoke_s = {name: [] for name in tasks}
        rss = []
        names = list(tasks)
        for i in range(args.invocations):
            name = names[i % len(names)]
            start = time.monotonic()
            status, body = adapter.invoke(tasks[name])
            invoke_s[name].append(time.monotonic() - start)
            if status != 201:
                raise SystemExit(f"task {i + 1} ({name}): {status} {body}")
            rss.append(adapter.rss_mib())
            print(f"invoke {i + 1} {name}: {invoke_s[name][-1]:.1f} s, RSS {rss[-1]:.0f} MiB", flush=True)
        stop_s = adapter.terminate()
    finally:
        if adapter.process.poll() is None:
            adapter.process.kill()

    print(f"\n{args.device}; exec {args.exec_runs} run(s) a case, invoke {args.invocations} tasks; "
          f"/health after {health_s:.1f} s; SIGTERM to exit {stop_s:.2f} s\n")
    print("| case | exec, a case (median) | invoke, 2nd and later tasks (median) | exec / invoke |")
    print("|---|---|---|---|")
    for name in tasks:
        later = invoke_s[name][1:] or invoke_s[name]
        e, v = statistics.median(exec_s[name]), statistics.median(later)
        print(f"| {name} | {e:.1f} s | {v:.1f} s | {e / v:.1f} |")
    if len(rss) >= 2:
        print(f"\nserver RSS after task 2: {rss[1]:.0f} MiB; after task {len(rss)}: {rss[-1]:.0f} MiB "
              f"({(rss[-1] / rss[1] - 1) * 100:+.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
