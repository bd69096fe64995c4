"""The invoke method against the exec method, side by side in one run, on the sample cases (CPU by default).

    python scripts/invoke_check.py [--image IMAGE] [--invocations 20] [--exec-runs 2] [--device cpu] [--work DIR]

- exec: a fresh process per case (what grand-challenge runs without the invoke label), each sample case
  ``--exec-runs`` times: wall time per case, start-up included (imports, model loading; with ``--image`` the
  container's start too);
- invoke: one server driven by our adapter (tools/adapter.py) as the platform drives it: the seconds from its
  start (with ``--image``: from the container's start) until ``/health`` answers 200, then ``--invocations``
  tasks alternating the sample cases (pelvis first), each task's wall time as the adapter sees it and the
  server's resident memory after it; then one more pelvis task cut off by the teardown's SIGTERM 2 s in.

Without ``--image``: ``process.py`` on this machine. With ``--image``: the image (CONTAINER_ENGINE as for
build.sh), every container with the platform's flags (scripts/container_engine.sh: ``run_job`` a case for exec,
``run_adapter`` for invoke, as ./test.sh runs them); an invoke image runs exec with its command overridden.

Prints a markdown table: per region the median exec time and the median invoke time of its second and later
tasks; the memory after the 2nd and the last task; the SIGTERM mid-task.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import adapter as driver  # noqa: E402 (after the path)


def engine_shell(function: str, *args: str) -> None:
    """A function of scripts/container_engine.sh, with IMAGE and CONTAINER_ENGINE from the environment."""
    quoted = " ".join(f"'{a}'" for a in args)
    subprocess.run(["bash", "-c", f". scripts/container_engine.sh && {function} {quoted}"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_exec(task: Path, out: Path, image: str | None, device: str) -> float:
    """One case as the exec method runs it: seconds, start-up included."""
    if image is None:
        start = time.monotonic()
        subprocess.run([sys.executable, "process.py", "--input", str(task), "--output", str(out),
                        "--device", device], cwd=ROOT, check=True, capture_output=True)
        return time.monotonic() - start
    shutil.copytree(task, out / "input")
    (out / "output").mkdir()
    (out / "output").chmod(0o777)
    start = time.monotonic()
    engine_shell("run_job", str(out), "--input", "/input", "--output", "/output", "--device", device)
    return time.monotonic() - start


def run_invoke(tasks_dir: Path, results: Path, image: str | None, device: str) -> tuple[dict, float]:
    """The tasks in ``tasks_dir/tasks.json`` through one server; the adapter's report, and the seconds from
    the start (of the process, or of the container) until ``/health`` answered."""
    start = time.time()
    if image is None:
        port = driver.free_port()
        work = results.parent
        env = {driver.ENTRYPOINT_ENV: driver.b64j([sys.executable, str(ROOT / "process.py")]),
               driver.CMD_ENV: driver.b64j(["--serve", "--port", str(port), "--input", str(work / "input"),
                                            "--output", str(work / "output"), "--device", device])}
        subprocess.run([sys.executable, str(ROOT / "tools" / "adapter.py"), "--tasks", str(tasks_dir / "tasks.json"),
                        "--results", str(results), "--port", str(port), "--input", str(work / "input"),
                        "--output", str(work / "output")], env={**os.environ, **env}, check=False)
    else:
        results.mkdir()
        results.chmod(0o777)
        try:
            engine_shell("run_adapter", str(tasks_dir), str(results), "--device", device)
        except subprocess.CalledProcessError as err:
            print(err.stderr.decode(errors="replace")[-2000:])
    report = json.loads((results / "report.json").read_text())
    return report, report["health_at"] - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/invoke_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default=None, help="the image to run (default: process.py on this machine)")
    parser.add_argument("--invocations", type=int, default=20)
    parser.add_argument("--exec-runs", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "invoke-check")
    args = parser.parse_args(argv)
    if args.image is not None:
        os.environ["IMAGE"] = args.image
        engine_shell("require_image")
    if args.work.exists() and args.image:  # what the image's user wrote there, removed from inside a container
        engine_shell("remove_tree", str(args.work.resolve()))
    elif args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    args.work.chmod(0o755)
    cases = [ROOT / "test" / "cases" / name for name in ("pelvis", "brain")]
    tasks = {case.name: driver.task_folder(case, args.work / "tasks") for case in cases}
    for path in (args.work / "tasks").rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)

    exec_s = {name: [] for name in tasks}
    for run in range(args.exec_runs):
        for name, task in tasks.items():
            exec_s[name].append(run_exec(task, args.work / f"exec-{name}-{run}", args.image, args.device))
            print(f"exec {name} run {run + 1}: {exec_s[name][-1]:.1f} s", flush=True)

    names = list(tasks)
    folder = "/tasks" if args.image else str(args.work / "tasks")
    entries = [{"pk": f"{i + 1:02d}-{names[i % len(names)]}", "folder": f"{folder}/{names[i % len(names)]}"}
               for i in range(args.invocations)]
    entries.append({"pk": "sigterm", "folder": f"{folder}/{names[0]}", "sigterm_after_s": 2})
    (args.work / "tasks" / "tasks.json").write_text(json.dumps(entries))
    (args.work / "tasks" / "tasks.json").chmod(0o644)
    report, health_s = run_invoke(args.work / "tasks", args.work / "results", args.image, args.device)
    done = [t for t in report["tasks"] if t["pk"] != "sigterm"]
    if len(done) != args.invocations or any(t["status"] != 201 for t in done):
        raise SystemExit(f"error: invoke: not every task answered 201: {[(t['pk'], t['status']) for t in done]}")
    invoke_s = {name: [t["seconds"] for t in done if t["pk"].endswith(name)] for name in names}
    rss = [t["rss_mib"] for t in done]
    stop = next((t for t in report["tasks"] if t["pk"] == "sigterm"), None)

    where = f"image {args.image}" if args.image else "process.py on this machine"
    print(f"\n{where}, {args.device}; exec {args.exec_runs} run(s) a case, invoke {args.invocations} tasks; "
          f"/health 200 {health_s:.1f} s after the {'container' if args.image else 'process'} started\n")
    print("| case | exec, a case, start-up included (median) | invoke, 2nd and later tasks (median) | exec / invoke |")
    print("|---|---|---|---|")
    for name in names:
        later = invoke_s[name][1:] or invoke_s[name]
        e, v = statistics.median(exec_s[name]), statistics.median(later)
        print(f"| {name} | {e:.1f} s | {v:.1f} s | {e / v:.1f} |")
    if len(rss) >= 2:
        print(f"\nserver RSS after task 2: {rss[1]:.0f} MiB; after task {len(rss)}: {rss[-1]:.0f} MiB "
              f"({(rss[-1] / rss[1] - 1) * 100:+.1f} %)")
    if stop is not None:
        print(f"SIGTERM 2 s into a pelvis task: exited {stop['exit_code']} after {stop['terminate_s']:.2f} s, "
              f"{len(stop['outputs'])} files left in /output; problems: {stop['problems'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
