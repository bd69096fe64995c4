"""Errors that end a run with one line naming the file and the problem."""
from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A problem with an input or weights file, printed as ``<path>: <problem>``."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # always one line
        super().__init__(f"{self.path}: {self.problem}")


class WeightsError(InputError):
    """A missing, corrupted or inconsistent model file."""


class NonFiniteOutput(RuntimeError):
    """A network produced NaN or Inf: retried once in float32 by the pipelines, then refused."""
