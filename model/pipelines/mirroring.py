"""Test-time mirroring (as nnU-Net mirrors): a case flipped along some axes before a pipeline sees it, and the
pipeline's output flipped back."""
from __future__ import annotations

import numpy as np

from model.cases import CaseInput

AXES = {"z": 0, "y": 1, "x": 2}  # a config's axis names -> array axes (z, y, x)


def mirrorings(axes) -> list[tuple[int, ...]]:
    """Every combination of mirroring along ``axes`` (names of :data:`AXES`; test-time flips, as nnU-Net
    mirrors), the unmirrored first: ["x"] -> [(), (2,)]; [] -> [()]."""
    chosen = sorted({AXES[a] for a in axes})
    return [tuple(a for i, a in enumerate(chosen) if mask >> i & 1) for mask in range(2 ** len(chosen))]


def mirrored(case: CaseInput, axes: tuple[int, ...]) -> CaseInput:
    """``case`` with its voxels and body mirrored along array ``axes`` (the same header: only the pipelines see
    it, and their output is mirrored back with :func:`unmirror`); itself for no axes."""
    if not axes:
        return case
    return CaseInput(case.mr_image, np.ascontiguousarray(np.flip(case.mr, axes)),
                     np.ascontiguousarray(np.flip(case.body, axes)))


def unmirror(volume: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(np.flip(volume, axes)) if axes else volume
