"""tools/adapter.py as the driver test.sh runs inside the image: how it takes the image's command from the platform's
variables, reads its tasks and judges each task. The driver against a real server is in test_server.py (slow)
and, against the image, in ./test.sh."""
from __future__ import annotations

import json

import pytest

from tools.adapter import (
    CMD_ENV,
    ENTRYPOINT_ENV,
    KILL_AFTER_S,
    Task,
    b64j,
    original_command,
    read_tasks,
    task_problems,
)


def env(entrypoint=None, cmd=None) -> dict:
    """The platform's variables for an image's entrypoint and command (unset when None)."""
    return {name: b64j(value) for name, value in ((ENTRYPOINT_ENV, entrypoint), (CMD_ENV, cmd)) if value is not None}


@pytest.mark.parametrize("entrypoint, cmd, expected", [
    (["python", "-m", "process"], ["--serve"], ["python", "-m", "process", "--serve"]),  # our invoke image
    (["python", "-m", "process"], None, ["python", "-m", "process"]),  # our exec image
    (None, ["python", "app.py"], ["python", "app.py"]),
    ("exec_entry p1", ["ignored"], ["/bin/sh", "-c", "exec_entry p1"]),  # Docker's rules, as the adapter has them
    (["entry"], "exec_cmd p1", ["entry", "/bin/sh", "-c", "exec_cmd p1"]),
])
def test_the_image_command_from_the_platform_variables(entrypoint, cmd, expected):
    assert original_command(env(entrypoint, cmd)) == expected


def test_no_command_at_all_is_refused_in_one_line():
    with pytest.raises(SystemExit, match=f"neither {ENTRYPOINT_ENV} nor {CMD_ENV} is set"):
        original_command({})


def test_tasks_are_read_and_bad_task_lists_refused(tmp_path):
    (tmp_path / "case").mkdir()
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"pk": "a", "folder": str(tmp_path / "case")},
                                 {"pk": "b", "folder": str(tmp_path / "case"), "expect": "failure",
                                  "sigterm_after_s": 2}]))
    assert read_tasks(tasks) == [Task("a", tmp_path / "case"),
                                 Task("b", tmp_path / "case", expect="failure", sigterm_after_s=2)]
    for bad, problem in [("[{\"pk\": \"a\"}]", "not a list of tasks"),
                         ("{not json", "not a list of tasks"),
                         (json.dumps([{"pk": "a", "folder": str(tmp_path / "nowhere")}]), "a folder"),
                         (json.dumps([{"pk": "a", "folder": str(tmp_path), "expect": "maybe"}]), "expect must be"),
                         (json.dumps([{"pk": "a", "folder": str(tmp_path), "sigterm_after_s": 1},
                                      {"pk": "b", "folder": str(tmp_path)}]), "only the last task")]:
        tasks.write_text(bad)
        with pytest.raises(SystemExit, match=problem) as raised:
            read_tasks(tasks)
        assert str(raised.value).startswith(f"error: {tasks}: ") and "\n" not in str(raised.value)


def entry(status=201, stderr=(), outputs=(), **more) -> dict:
    return {"status": status, "stderr": list(stderr), "outputs": list(outputs), **more}


def test_a_success_is_201():
    task = Task("a", ".")
    assert task_problems(task, entry(201, outputs=["results.json"])) == []
    assert task_problems(task, entry(500, ["error: /input: RuntimeError: boom"])) == [
        "status 500, not 201; errors: ['error: /input: RuntimeError: boom']"]


def test_a_failure_is_non_201_with_one_error_line_and_nothing_written():
    task = Task("bad", ".", expect="failure")
    one_line = ["2026-12-02 INFO process time budget", "error: /input/images/mri/a.mha: cannot read image"]
    assert task_problems(task, entry(400, one_line)) == []
    assert task_problems(task, entry(201, one_line)) == ["status 201 for a case that should fail"]
    assert task_problems(task, entry(400, [])) == ["0 error lines on stderr, not 1: []"]
    assert task_problems(task, entry(500, one_line + ["error: again"])) == [
        f"2 error lines on stderr, not 1: {[one_line[1], 'error: again']}"]
    assert task_problems(task, entry(500, ["Traceback (most recent call last):", "error: x"])) == [
        "a traceback on stderr"]
    assert task_problems(task, entry(400, one_line, [".staging-1/results.json"])) == [
        "written to the output folder: ['.staging-1/results.json']"]


def test_sigterm_mid_task_must_stop_the_server_within_5_s_and_leave_nothing():
    task = Task("a-sigterm", ".", sigterm_after_s=2)
    clean = entry("RemoteDisconnected", running_at_sigterm=True, terminate_s=1.2, exit_code=0)
    assert task_problems(task, clean) == []
    assert task_problems(task, {**clean, "running_at_sigterm": False}) == ["the task had ended before SIGTERM"]
    assert task_problems(task, {**clean, "terminate_s": KILL_AFTER_S, "exit_code": -9}) == [
        f"SIGTERM to exit took {KILL_AFTER_S:.1f} s (SIGKILL after {KILL_AFTER_S:g} s)", "exit code -9 after SIGTERM"]
    assert task_problems(task, {**clean, "outputs": ["images/synthetic-ct/a.mha"]}) == [
        "left in the output folder: ['images/synthetic-ct/a.mha']"]
