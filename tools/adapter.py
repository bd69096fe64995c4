"""A stand-in for grand-challenge.org's adapter (sagemaker-shim) in its invoke method: it drives a server the way
the platform does, step for step, so that the invoke API is tested and measured outside the platform.

- start the server's command once, with the adapter's environment (``GRAND_CHALLENGE_*`` removed);
- poll ``GET /health`` until it answers 200: 300 s in all, 10 s a call;
- per task: empty the input and output folders, link the task's files into the input folder, ``POST /invoke``
  with no body and the task's time limit as the timeout; 201 is success, anything else a failed task;
- on teardown: SIGTERM, then SIGKILL 5 s later.

As a library (:class:`Adapter`, :func:`serve_process_py`) it drives ``process.py --serve`` on this machine for
test/test_server.py and scripts/invoke_check.py. As a script it is the driver ``test.sh`` runs inside the image,
where the platform runs its adapter: the container's entrypoint, starting the image's own entrypoint and command
(given, as the platform gives them, base64 JSON in ``GRAND_CHALLENGE_COMPONENT_ENTRYPOINT_B64J`` and
``GRAND_CHALLENGE_COMPONENT_CMD_B64J``) as the image's user, on 127.0.0.1:4743. It needs only the standard
library, so it runs in the image without being part of it::

    python adapter.py --tasks TASKS.json --results DIR [--input /input] [--output /output] [--port 4743]

TASKS.json is a list of ``{"pk": name, "folder": a task's input laid out as /input, "timeout_s": 1200,
"expect": "success" | "failure", "sigterm_after_s": null}``; a task with ``sigterm_after_s`` is the last: the
teardown's SIGTERM comes that many seconds into it. Each task's output is copied to ``DIR/<pk>/``, the server's
stderr is ``DIR/server.log``, and ``DIR/report.json`` holds per task the status, wall time, the server's resident
memory after it and its stderr lines. Exit 1 when a task did not go as expected: a success not 201; a failure
201, or not exactly one ``error:`` line on stderr, or anything in the output folder; the teardown not done within
5 s by SIGTERM, or output left behind.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEALTH_TOTAL_S, HEALTH_CALL_S = 300.0, 10.0  # the adapter's limits for /health
KILL_AFTER_S = 5.0  # SIGTERM, then SIGKILL after this
TASK_TIMEOUT_S = 1200.0  # SynthRAD2023's limit for a case
ENTRYPOINT_ENV, CMD_ENV = "GRAND_CHALLENGE_COMPONENT_ENTRYPOINT_B64J", "GRAND_CHALLENGE_COMPONENT_CMD_B64J"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def task_folder(case: Path, tasks: Path) -> Path:
    """A sample case (``test/cases/<region>``) as a task's input: its ``images/`` and ``region.json`` copied
    into ``tasks/<case name>`` (not its expected output); once."""
    task = Path(tasks) / Path(case).name
    if not task.exists():
        shutil.copytree(Path(case) / "images", task / "images")
        shutil.copy(Path(case) / "region.json", task)
    return task


def empty(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


class Adapter:
    def __init__(self, command: list[str], input_dir: Path, output_dir: Path, port: int, log: Path,
                 cwd: Path | None = None):
        self.input_dir, self.output_dir, self.port, self.log = Path(input_dir), Path(output_dir), port, Path(log)
        self.input_dir.mkdir(parents=True, exist_ok=True)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAND_CHALLENGE_")}
        self.started = time.monotonic()
        with self.log.open("w") as log_file:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log_file)

    def call(self, method: str, path: str, timeout: float) -> tuple[int, dict]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def wait_healthy(self, total: float = HEALTH_TOTAL_S, per_call: float = HEALTH_CALL_S) -> float:
        """Seconds from the start of the process until ``/health`` answered 200."""
        while time.monotonic() - self.started < total:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if self.call("GET", "/health", per_call)[0] == 200:
                    return time.monotonic() - self.started
            except (ConnectionError, urllib.error.URLError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no answer from /health in {total:g} s")

    def invoke(self, task: Path | None = None, timeout: float = 1200.0) -> tuple[int, dict]:
        """One task: the output folder emptied; with ``task`` (a folder laid out as the input), the input folder
        emptied and every file of ``task`` linked into it; then ``POST /invoke``."""
        empty(self.output_dir)
        if task is not None:
            empty(self.input_dir)
            for path in sorted(Path(task).rglob("*")):
                if path.is_file():
                    link = self.input_dir / path.relative_to(task)
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(path.resolve())
        return self.call("POST", "/invoke", timeout)

    def rss_mib(self) -> float:
        """The server process's resident memory now (Linux)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def terminate(self) -> float:
        """SIGTERM, SIGKILL after 5 s; the seconds until the process was gone."""
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(KILL_AFTER_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - start

    def errors(self) -> list[str]:
        """The server's one-line errors so far."""
        return [line for line in self.log_lines() if line.startswith("error:")]

    def log_lines(self, start: int = 0) -> list[str]:
        """The server's stderr from line ``start`` on."""
        return self.log.read_text(errors="replace").splitlines()[start:]


def serve_process_py(work: Path, weights: Path | None = None, device: str = "cpu") -> Adapter:
    """``process.py --serve`` on a free port of the loopback, with ``work/input``, ``work/output`` and its log
    in ``work/server.log``; ``weights`` as ``--weights`` (default: process.py's own choice)."""
    work, port = Path(work), free_port()
    command = [sys.executable, "process.py", "--serve", "--port", str(port), "--input", str(work / "input"),
               "--output", str(work / "output"), "--device", device]
    if weights is not None:
        command += ["--weights", str(weights)]
    return Adapter(command, work / "input", work / "output", port, work / "server.log", cwd=ROOT)


# The driver inside the image: the original command from the platform's variables, the tasks, the report.

def b64j(value) -> str:
    """A value as the platform passes the image's entrypoint and command: JSON, base64-encoded."""
    return base64.b64encode(json.dumps(value).encode()).decode()


def original_command(environ=os.environ) -> list[str]:
    """The image's entrypoint and command from the platform's variables, combined by Docker's rules as the
    adapter combines them (a string is run by ``/bin/sh -c``)."""
    entrypoint, cmd = (json.loads(base64.b64decode(environ[name])) if environ.get(name) else None
                       for name in (ENTRYPOINT_ENV, CMD_ENV))
    if entrypoint is None and cmd is None:
        raise SystemExit(f"error: neither {ENTRYPOINT_ENV} nor {CMD_ENV} is set: no command to start")
    if isinstance(entrypoint, str):
        return ["/bin/sh", "-c", entrypoint]
    command = list(entrypoint or [])
    if isinstance(cmd, str):
        command += ["/bin/sh", "-c", cmd]
    elif cmd:
        command += cmd
    return command


@dataclass
class Task:
    pk: str
    folder: Path
    timeout_s: float = TASK_TIMEOUT_S
    expect: str = "success"  # or "failure"
    sigterm_after_s: float | None = None  # the teardown's SIGTERM that many seconds into this (last) task


def read_tasks(path: Path) -> list[Task]:
    try:
        tasks = [Task(**{**entry, "folder": Path(entry["folder"])}) for entry in json.loads(Path(path).read_text())]
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise SystemExit(f"error: {path}: not a list of tasks ({err})") from None
    for task in tasks:
        if task.expect not in ("success", "failure") or not task.folder.is_dir():
            raise SystemExit(f"error: {path}: task {task.pk!r}: expect must be success or failure, and "
                             f"{task.folder} a folder")
    if any(task.sigterm_after_s is not None for task in tasks[:-1]):
        raise SystemExit(f"error: {path}: only the last task can have sigterm_after_s")
    return tasks


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*") if not path.is_dir())


def invoke_status(adapter: Adapter, task: Task) -> int | str:
    """``POST /invoke`` for a task: the status, or what cut the request off (the time limit, the process gone)."""
    try:
        return adapter.invoke(task.folder, task.timeout_s)[0]
    except (ConnectionError, TimeoutError, urllib.error.URLError) as err:
        return type(err).__name__


def run_task(adapter: Adapter, task: Task, results: Path) -> dict:
    """One task as the adapter runs it; its output copied to ``results/<pk>``; what happened, and what
    did not go as expected (``problems``)."""
    first_line = len(adapter.log_lines())
    start = time.monotonic()
    entry = {"pk": task.pk, "expect": task.expect}
    if task.sigterm_after_s is None:
        entry["status"] = invoke_status(adapter, task)
    else:  # the teardown in the middle of the task: the request is cut off with the process
        answered = {}
        request = threading.Thread(target=lambda: answered.update(status=invoke_status(adapter, task)), daemon=True)
        request.start()
        time.sleep(task.sigterm_after_s)
        entry["running_at_sigterm"] = request.is_alive()
        entry["terminate_s"] = adapter.terminate()
        entry["exit_code"] = adapter.process.returncode
        request.join(10)
        entry["status"] = answered.get("status", "no answer")
    entry["seconds"] = round(time.monotonic() - start, 3)
    if adapter.process.poll() is None:
        entry["rss_mib"] = round(adapter.rss_mib(), 1)
    entry["stderr"] = adapter.log_lines(first_line)
    entry["outputs"] = files_under(adapter.output_dir)
    if entry["outputs"]:
        shutil.copytree(adapter.output_dir, Path(results) / task.pk, symlinks=True)
    entry["problems"] = task_problems(task, entry)
    return entry


def task_problems(task: Task, entry: dict) -> list[str]:
    errors = [line for line in entry["stderr"] if line.startswith("error:")]
    if task.sigterm_after_s is not None:
        return [problem for problem, bad in [
            ("the task had ended before SIGTERM", not entry["running_at_sigterm"]),
            (f"SIGTERM to exit took {entry['terminate_s']:.1f} s (SIGKILL after {KILL_AFTER_S:g} s)",
             entry["terminate_s"] >= KILL_AFTER_S),
            (f"exit code {entry['exit_code']} after SIGTERM", entry["exit_code"] != 0),
            (f"left in the output folder: {entry['outputs']}", bool(entry["outputs"])),
        ] if bad]
    if task.expect == "success":
        return [] if entry["status"] == 201 else [f"status {entry['status']}, not 201; errors: {errors}"]
    return [problem for problem, bad in [
        ("status 201 for a case that should fail", entry["status"] == 201),
        (f"{len(errors)} error lines on stderr, not 1: {errors}", len(errors) != 1),
        ("a traceback on stderr", any(line.startswith("Traceback") for line in entry["stderr"])),
        (f"written to the output folder: {entry['outputs']}", bool(entry["outputs"])),
    ] if bad]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adapter.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=Path, required=True, help="a JSON list of tasks (see the top of this file)")
    parser.add_argument("--results", type=Path, required=True, help="an empty writable folder for the report")
    parser.add_argument("--input", type=Path, default=Path("/input"))
    parser.add_argument("--output", type=Path, default=Path("/output"))
    parser.add_argument("--port", type=int, default=4743, help="where the server listens (the platform: 4743)")
    args = parser.parse_args(argv)
    tasks = read_tasks(args.tasks)
    command = original_command()
    args.results.mkdir(parents=True, exist_ok=True)
    print(f"adapter: starting {command} as uid {os.getuid()}", flush=True)
    adapter = Adapter(command, args.input, args.output, args.port, args.results / "server.log")
    report = {"command": command, "uid": os.getuid(), "tasks": []}
    try:
        report["health_s"] = round(adapter.wait_healthy(), 3)
        report["health_at"] = time.time()  # the clock's time: for a caller who started the container
        print(f"adapter: /health 200 after {report['health_s']:.1f} s", flush=True)
        for task in tasks:
            entry = run_task(adapter, task, args.results)
            report["tasks"].append(entry)
            print(f"adapter: task {task.pk}: {entry['status']} in {entry['seconds']:.1f} s"
                  + (f", RSS {entry['rss_mib']:.0f} MiB" if "rss_mib" in entry else "")
                  + (f"; SIGTERM {task.sigterm_after_s:g} s into it: exited {entry['exit_code']} after "
                     f"{entry['terminate_s']:.2f} s, {len(entry['outputs'])} files left in the output folder"
                     if "terminate_s" in entry else "")
                  + "".join(f"\n  PROBLEM {problem}" for problem in entry["problems"]), flush=True)
        if adapter.process.poll() is None:
            report["terminate_s"] = round(adapter.terminate(), 3)
            report["exit_code"] = adapter.process.returncode
            print(f"adapter: SIGTERM at teardown: exited {report['exit_code']} after {report['terminate_s']:.2f} s")
    except RuntimeError as err:  # the server died or never answered
        report["error"] = str(err)
        print(f"adapter: {err}", flush=True)
    finally:
        if adapter.process.poll() is None:
            adapter.process.kill()
        (args.results / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    failed = "error" in report or report.get("exit_code", 0) != 0 or any(t["problems"] for t in report["tasks"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
