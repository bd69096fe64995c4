"""Every command line the README documents (``python -m model.<name>``) still answers, whatever module now holds
its code (the thin entry points in model/: evaluate, error_budget, compare, phantom, bench)."""
from __future__ import annotations

import re
import runpy
import sys

import pytest
from conftest import ROOT

DOCUMENTED = sorted(set(re.findall(r"python3? -m (model(?:\.\w+)+)", (ROOT / "README.md").read_text())))


def test_the_readme_documents_the_command_lines():
    assert {"model.train", "model.evaluate", "model.error_budget", "model.compare", "model.phantom", "model.bench",
            "model.gpu_check"} <= set(DOCUMENTED)


@pytest.mark.parametrize("module", DOCUMENTED)
@pytest.mark.filterwarnings("ignore:.*found in sys.modules after import of package:RuntimeWarning")  # imported by other tests
def test_every_documented_command_line_answers_help(module, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [module, "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module(module, run_name="__main__", alter_sys=False)
    assert done.value.code == 0
    assert f"usage: python -m {module}" in capsys.readouterr().out
