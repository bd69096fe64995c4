"""Every command line the documentation names (``python -m model.<name>`` or ``python -m tools.<name>``, in
README.md and every page of docs/) answers ``--help``: a renamed or moved module fails here, not in a user's
hands."""
from __future__ import annotations

import re
import runpy
import subprocess
import sys

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCUMENTED = sorted({m for page in DOCS for m in re.findall(r"python3? -m ((?:model|tools)(?:\.\w+)+)", page.read_text())})


def test_the_docs_document_the_command_lines():
    assert {"tools.train", "tools.evaluation", "tools.evaluation.error_budget", "model.compare", "tools.phantom",
            "tools.bench", "tools.gpu_check", "tools.synth", "tools.dose"} <= set(DOCUMENTED)


@pytest.mark.parametrize("module", DOCUMENTED)
@pytest.mark.filterwarnings("ignore:.*found in sys.modules after import of package:RuntimeWarning")  # imported by other tests
def test_every_documented_command_line_answers_help(module, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [module, "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module(module, run_name="__main__", alter_sys=False)
    assert done.value.code == 0
    assert f"usage: python -m {module}" in capsys.readouterr().out


SCRIPTS = sorted({m for page in DOCS for m in re.findall(r"(?<![\w/.-])((?:\./)?(?:build|test|export)\.sh|scripts/\w+\.(?:sh|py))",
                                                          page.read_text())} - {"scripts/container_engine.sh"})


def test_the_docs_name_the_scripts():
    assert {"./build.sh", "./test.sh", "./export.sh", "scripts/heldout_eval.sh"} <= {
        s if s.startswith(("./", "scripts/")) else f"./{s}" for s in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_documented_script_answers_help(script):
    """Each script the docs name exists and prints its usage for --help, doing nothing else (test.sh would build)."""
    path = ROOT / script.removeprefix("./")
    assert path.is_file(), f"the docs name {script}, which does not exist"
    command = [sys.executable, str(path)] if path.suffix == ".py" else ["bash", str(path)]
    result = subprocess.run([*command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) >= 1 and result.stderr == ""


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert [p.name for p in DOCS[1:] if f"docs/{p.name}" not in readme] == []
