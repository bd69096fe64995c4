"""The contract between the container job and an inference pipeline (see model/pipelines/__init__.py)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from model.budget import TimeBudget
from model.cases import CaseInput
from model.config import ModelConfig
from model.precision import InferencePrecision


class Pipeline(ABC):
    """One model family's inference: built from a verified model folder, it turns one case into HU on the MR's
    own grid (the container clips, masks and writes it; model.preprocessing.intensity.sct_voxels).

    Required: ``name`` (the ``pipeline`` value of the family's configs), ``config_class`` (its
    :class:`model.config.ModelConfig` subclass), :meth:`from_folder`, :meth:`predict`, and the attributes
    ``config`` (the parsed config) and ``precision`` (what it runs in, for the log). Optional:
    :meth:`predict_with_uncertainty` for a sampling family (``--uncertainty-samples``).
    """

    name: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]]
    config: ModelConfig
    precision: InferencePrecision
    samples_cases: ClassVar[bool] = False  # True where predict_with_uncertainty is implemented

    @classmethod
    @abstractmethod
    def from_folder(cls, folder: Path, config: ModelConfig, device: torch.device) -> "Pipeline":
        """The networks built from ``config`` with the folder's weights (its manifest is already verified)."""

    @abstractmethod
    def predict(self, case: CaseInput, budget: TimeBudget | None = None) -> np.ndarray:
        """HU (float32) on the MR's grid; with a ``budget``, within its time where the family can adapt."""

    def predict_with_uncertainty(self, case: CaseInput, samples: int,
                                 budget: TimeBudget | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean HU, standard deviation HU) over ``samples`` sCTs: sampling families only."""
        raise NotImplementedError(f"the {self.name} pipeline does not sample")
