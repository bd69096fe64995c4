"""The invoke API (model.server: ``python process.py --serve``) driven as grand-challenge's adapter drives it: the
process started once, ``GET /health`` polled until 200, then per task ``/output`` emptied, ``/input`` filled and
``POST /invoke`` called; SIGTERM at the end. The server is a real process here, on a free port of the loopback;
each takes seconds to start (torch, MONAI, the models), so these are all in the slow tier."""
from __future__ import annotations

import json
import shutil
import sys
import threading
import time
import urllib.error
from pathlib import Path

import pytest
from conftest import ROOT, small_case, write_container_input, write_model_folder

import process
from model.compare import compare_case
from tools.adapter import Adapter, serve_process_py, task_folder

pytestmark = pytest.mark.slow


def server(weights: Path, tmp_path: Path) -> Adapter:
    return serve_process_py(tmp_path, weights)


def sct_bytes(output_dir: Path) -> bytes:
    (sct,) = (output_dir / "images" / "synthetic-ct").glob("*.mha")
    return sct.read_bytes()


@pytest.fixture
def adapter(tmp_path):
    weights = tmp_path / "weights"
    write_model_folder(weights / "pelvis")
    driver = server(weights, tmp_path)
    yield driver
    if driver.process.poll() is None:
        driver.process.kill()
        driver.process.wait()


def test_cases_one_after_another_and_a_bad_case_fails_alone(adapter, tmp_path):
    write_container_input(adapter.input_dir)
    assert adapter.wait_healthy() < 300
    status, body = adapter.invoke()
    assert status == 201, adapter.log.read_text()
    assert [r["outputs"][0]["filename"] for r in body["results"]] == ["/output/images/synthetic-ct/case.mha"]
    assert json.loads((adapter.output_dir / "results.json").read_text()) == body["results"]
    first = sct_bytes(adapter.output_dir)

    (adapter.input_dir / "region.json").write_text('"Knee"')  # a region no model serves
    status, body = adapter.invoke()
    assert status == 400 and "no model for region 'Knee'" in body["error"]
    assert adapter.errors() == [body["error"]]  # one line on stderr
    assert list(adapter.output_dir.iterdir()) == []  # nothing written, nothing staged

    (adapter.input_dir / "region.json").write_text('"Pelvis"')
    status, _ = adapter.invoke()
    assert status == 201
    assert sct_bytes(adapter.output_dir) == first  # the same as before the bad case
    exec_output = tmp_path / "exec-output"  # and as the exec method's, a fresh process
    assert process.main(["--input", str(adapter.input_dir), "--output", str(exec_output),
                         "--weights", str(tmp_path / "weights"), "--device", "cpu"]) == 0
    assert sct_bytes(exec_output) == first
    assert adapter.terminate() < 5 and adapter.process.returncode == 0
    assert len(adapter.errors()) == 1


def test_health_answers_during_a_case_and_sigterm_mid_case_leaves_nothing(adapter):
    # many cases in one task, so that the task takes seconds
    write_container_input(adapter.input_dir, {f"case{i:02d}.mha": small_case((24, 96, 96), seed=i) for i in range(40)})
    adapter.wait_healthy()
    answered = {}
    invoking = threading.Thread(target=lambda: answered.update(result=_invoke_or_error(adapter)), daemon=True)
    invoking.start()
    deadline = time.monotonic() + 60
    while not list(adapter.output_dir.glob(".staging-*/images/synthetic-ct/*.mha")):  # the task is under way
        assert time.monotonic() < deadline and invoking.is_alive(), adapter.log.read_text()
        time.sleep(0.05)
    for _ in range(3):
        start = time.monotonic()
        assert adapter.call("GET", "/health", 1.0)[0] == 200
        assert time.monotonic() - start < 1.0
    assert invoking.is_alive()  # still running
    assert adapter.terminate() < 5 and adapter.process.returncode == 0
    assert list(adapter.output_dir.iterdir()) == []  # the staged outputs went with the case
    invoking.join(10)
    assert "result" in answered and answered["result"] != 201


def _invoke_or_error(adapter):
    try:
        return adapter.invoke()[0]
    except (ConnectionError, urllib.error.URLError) as err:
        return type(err).__name__


def test_the_sample_cases_through_one_server_with_a_bad_case_between(tmp_path):
    """The bundled weights, both regions loaded once: pelvis, a bad case, brain, pelvis again - each output as
    the exec method's expected output (model.compare, as test.sh checks the image), the bad case failing alone."""
    driver = server(ROOT / "weights", tmp_path)
    try:
        driver.wait_healthy()
        bad = tmp_path / "bad"
        shutil.copytree(ROOT / "test" / "cases" / "pelvis" / "images", bad / "images")
        (bad / "region.json").write_text('"Pelvis"')
        next((bad / "images" / "body").glob("*.mha")).write_bytes(b"not an image")
        for name in ("pelvis", "bad", "brain", "pelvis"):
            case = bad if name == "bad" else ROOT / "test" / "cases" / name
            status, body = driver.invoke(task_folder(case, tmp_path / "tasks"))
            if name == "bad":
                assert status == 400 and body["error"].startswith("error: ") and driver.errors() == [body["error"]]
                assert list(driver.output_dir.iterdir()) == []
                continue
            assert status == 201, driver.log.read_text()[-2000:]
            reports, problems = compare_case(case, driver.output_dir)
            assert problems == [], problems
        assert driver.terminate() < 5 and driver.process.returncode == 0
    finally:
        if driver.process.poll() is None:
            driver.process.kill()


def test_the_adapter_script_as_test_sh_runs_it_in_the_image(tmp_path, monkeypatch):
    """tools/adapter.py's main(): the server's command from the platform's variables, four tasks - a good case, a
    bad case expected to fail, the bad case again expected to succeed (the driver must call that a problem) and
    a long task cut off by the teardown's SIGTERM - and its report."""
    from tools import adapter as driver

    weights = tmp_path / "weights"
    write_model_folder(weights / "pelvis")
    good = write_container_input(tmp_path / "tasks" / "good")
    bad = write_container_input(tmp_path / "tasks" / "bad")
    next((bad / "images" / "mri").glob("*.mha")).write_bytes(b"not an image")
    long = write_container_input(tmp_path / "tasks" / "long",  # seconds of work even on an idle machine
                                 {f"case{i:03d}.mha": small_case((24, 96, 96), seed=i) for i in range(160)})
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"pk": "good", "folder": str(good)},
                                 {"pk": "bad", "folder": str(bad), "expect": "failure"},
                                 {"pk": "bad-as-good", "folder": str(bad)},
                                 {"pk": "long", "folder": str(long), "sigterm_after_s": 1}]))
    port = driver.free_port()
    monkeypatch.setenv(driver.ENTRYPOINT_ENV, driver.b64j([sys.executable, str(ROOT / "process.py")]))
    monkeypatch.setenv(driver.CMD_ENV, driver.b64j(["--serve", "--port", str(port), "--weights", str(weights),
                                                    "--input", str(tmp_path / "input"),
                                                    "--output", str(tmp_path / "output"), "--device", "cpu"]))
    results = tmp_path / "results"
    assert driver.main(["--tasks", str(tasks), "--results", str(results), "--port", str(port),
                        "--input", str(tmp_path / "input"), "--output", str(tmp_path / "output")]) == 1
    report = json.loads((results / "report.json").read_text())
    assert report["health_s"] < 300
    by_pk = {task["pk"]: task for task in report["tasks"]}
    assert [by_pk[pk]["status"] for pk in ("good", "bad", "bad-as-good")] == [201, 400, 400]
    assert {pk: bool(task["problems"]) for pk, task in by_pk.items()} == {
        "good": False, "bad": False, "bad-as-good": True, "long": False}
    assert (results / "good" / "results.json").exists() and not (results / "bad").exists()
    assert by_pk["long"]["terminate_s"] < 5 and by_pk["long"]["exit_code"] == 0 and by_pk["long"]["outputs"] == []
    assert "rss_mib" in by_pk["good"] and "rss_mib" not in by_pk["long"]
