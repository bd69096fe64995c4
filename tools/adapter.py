"""A stand-in for grand-challenge.org's adapter (sagemaker-shim) in its invoke method: it drives a server the way
the platform does, step for step, so that the invoke API is tested and measured outside the platform.

- start the server's command once, with the adapter's environment (``GRAND_CHALLENGE_*`` removed);
- poll ``GET /health`` until it answers 200: 300 s in all, 10 s a call;
- per task: empty the input and output folders, link the task's files into the input folder, ``POST /invoke``
  with no body and the task's time limit as the timeout; 201 is success, anything else a failed task;
- on teardown: SIGTERM, then SIGKILL 5 s later.

Used by test/test_server.py and scripts/invoke_check.py; the server here is the real one (``process.py --serve``).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEALTH_TOTAL_S, HEALTH_CALL_S = 300.0, 10.0  # the adapter's limits for /health
KILL_AFTER_S = 5.0  # SIGTERM, then SIGKILL after this


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
        return [line for line in self.log.read_text().splitlines() if line.startswith("error:")]


def serve_process_py(work: Path, weights: Path | None = None, device: str = "cpu") -> Adapter:
    """``process.py --serve`` on a free port of the loopback, with ``work/input``, ``work/output`` and its log
    in ``work/server.log``; ``weights`` as ``--weights`` (default: process.py's own choice)."""
    work, port = Path(work), free_port()
    command = [sys.executable, "process.py", "--serve", "--port", str(port), "--input", str(work / "input"),
               "--output", str(work / "output"), "--device", device]
    if weights is not None:
        command += ["--weights", str(weights)]
    return Adapter(command, work / "input", work / "output", port, work / "server.log", cwd=ROOT)
