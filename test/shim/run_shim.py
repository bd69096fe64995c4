"""grand-challenge.org's real adapter, sagemaker-shim 0.3.0a2, running the exec image's tasks the platform's way,
with moto's S3 server (on this container's loopback) as the platform's buckets. The entrypoint of the test-only
layer test/shim/Dockerfile; ``./test.sh --shim`` runs it.

    python run_shim.py --tasks /tasks/tasks.json --results /results

TASKS.json as for tools/adapter.py: a list of ``{"pk", "folder", "expect": "success" | "failure"}``. Per task:
every file of its folder is uploaded to the input bucket, and the task names them as the platform does
(``relative_path`` under /input, bucket and key). Then one ``sagemaker-shim invoke --tasks '[...]'``, with the
variables the platform sets (the image's entrypoint and command as base64 JSON - given to this container - and
the image's user). Afterwards the output bucket is downloaded to ``RESULTS/<pk>/`` (with the adapter's
``.sagemaker_shim/inference_result.json``), the adapter's structured log is ``RESULTS/shim.log``, and
``RESULTS/report.json`` holds per task the inference result and the algorithm's stderr lines. Exit 1 when a
task did not go as expected: a success without return code 0 and an sCT uploaded; a failure with return code 0,
uploaded outputs, or not exactly one ``error:`` line from the algorithm on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3

S3 = "http://127.0.0.1:5000"
INPUTS, OUTPUTS = "grand-challenge-inputs", "grand-challenge-outputs"
BIN = Path(sys.executable).parent
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def start_s3(log: Path) -> subprocess.Popen:
    server = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", "5000"],
                              stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", 5000), timeout=1).close()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"error: moto_server exited with {server.returncode}: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    raise SystemExit("error: moto_server did not listen within 60 s")


def platform_task(s3, entry: dict) -> dict:
    """Upload a task's files; the task as the platform writes it for the adapter."""
    folder, inputs = Path(entry["folder"]), []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        key = f"{entry['pk']}/{relative}"
        s3.upload_file(str(path), INPUTS, key)
        inputs.append({"relative_path": relative, "bucket_name": INPUTS, "bucket_key": key, "decompress": False})
    return {"pk": entry["pk"], "inputs": inputs, "output_bucket_name": OUTPUTS, "output_prefix": f"{entry['pk']}/"}


def download_outputs(s3, results: Path) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=OUTPUTS):
        for item in page.get("Contents", []):
            target = results / item["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(OUTPUTS, item["Key"], str(target))


def algorithm_stderr(shim_log: Path, pk: str) -> list[str]:
    """The algorithm's stderr lines for one task, from the adapter's structured log."""
    lines = []
    for line in shim_log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("task") == pk and record.get("internal") is False \
                and record.get("source") == "stderr":
            lines.append(record["log"].rstrip("\n"))
    return lines


def problems(entry: dict, result: dict | None, stderr: list[str]) -> list[str]:
    if result is None:
        return ["no .sagemaker_shim/inference_result.json uploaded"]
    outputs = [o["relative_path"] for o in result["outputs"]]
    errors = [line for line in stderr if line.startswith("error:")]
    if entry.get("expect", "success") == "success":
        return [problem for problem, bad in [
            (f"return code {result['return_code']}, not 0; errors: {errors}", result["return_code"] != 0),
            (f"no sCT among the uploaded outputs {outputs}", not any(o.startswith("images/synthetic-ct/")
                                                                     for o in outputs)),
        ] if bad]
    return [problem for problem, bad in [
        ("return code 0 for a case that should fail", result["return_code"] == 0),
        (f"outputs uploaded: {outputs}", bool(outputs)),
        (f"{len(errors)} error lines on stderr, not 1: {errors}", len(errors) != 1),
    ] if bad]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_shim.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args(argv)
    entries = json.loads(args.tasks.read_text())
    os.environ.update(CREDENTIALS)
    s3_log = args.results / "s3.log"
    server = start_s3(s3_log)
    try:
        s3 = boto3.client("s3", endpoint_url=S3)
        for bucket in (INPUTS, OUTPUTS):
            s3.create_bucket(Bucket=bucket)
        tasks = [platform_task(s3, entry) for entry in entries]
        env = {**os.environ, "AWS_S3_ENDPOINT_URL": S3}
        shim_log = args.results / "shim.log"
        command = [str(BIN / "sagemaker-shim"), "invoke", "--tasks", json.dumps(tasks)]
        print(f"run_shim: sagemaker-shim invoke, {len(tasks)} tasks ({', '.join(t['pk'] for t in tasks)}), the "
              f"algorithm as {os.environ.get('GRAND_CHALLENGE_COMPONENT_USER', 'this user')}", flush=True)
        start = time.monotonic()
        with shim_log.open("w") as log:
            code = subprocess.run(command, check=False, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
        seconds = time.monotonic() - start
        download_outputs(s3, args.results)
    finally:
        server.terminate()
        server.wait(10)
    report = {"shim_exit_code": code, "seconds": round(seconds, 1), "tasks": []}
    for entry in entries:
        result_file = args.results / entry["pk"] / ".sagemaker_shim" / "inference_result.json"
        result = json.loads(result_file.read_text()) if result_file.exists() else None
        stderr = algorithm_stderr(shim_log, entry["pk"])
        found = problems(entry, result, stderr)
        report["tasks"].append({"pk": entry["pk"], "expect": entry.get("expect", "success"), "result": result,
                                "stderr": stderr, "problems": found})
        status = "no result" if result is None else f"return code {result['return_code']}, " \
            f"{len(result['outputs'])} outputs uploaded, sagemaker-shim {result['sagemaker_shim_version']}"
        print(f"run_shim: task {entry['pk']}: {status}" + "".join(f"\n  PROBLEM {p}" for p in found), flush=True)
    (args.results / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    if code != 0:
        print(f"run_shim: sagemaker-shim exited with {code}; its log ends:\n{shim_log.read_text()[-3000:]}")
    return 1 if code != 0 or any(t["problems"] for t in report["tasks"]) else 0


if __name__ == "__main__":
    sys.exit(main())
