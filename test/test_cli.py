"""Every command line the documentation names (``python -m model.<name>`` or ``python -m tools.<name>``, in
README.md and every page of docs/) answers ``--help``: a renamed or moved module fails here, not in a user's
hands."""
from __future__ import annotations

import re
import runpy
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
