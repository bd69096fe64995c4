"""A PNG per validation: MR | sCT | CT | |sCT - CT| on the axial, coronal and sagittal mid-slices."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CT_WINDOW = (-1000.0, 1500.0)
ERROR_WINDOW = (0.0, 500.0)


def _to_uint8(slice_: np.ndarray, low: float, high: float) -> np.ndarray:
    return (np.clip((slice_ - low) / (high - low), 0, 1) * 255).astype(np.uint8)


def _mid_slices(volume: np.ndarray, spacing_zyx) -> list[tuple[np.ndarray, tuple[float, float]]]:
    z, y, x = (n // 2 for n in volume.shape)
    sz, sy, sx = spacing_zyx
    return [
        (volume[z], (sy, sx)),
        (volume[:, y, :][::-1], (sz, sx)),
        (volume[:, :, x][::-1], (sz, sy)),
    ]


def _resize(tile: np.ndarray, spacing) -> Image.Image:
    """Stretch a slice to square pixels (anisotropic voxels)."""
    rows, cols = tile.shape
    smallest = min(spacing)
    size = (max(1, round(cols * spacing[1] / smallest)), max(1, round(rows * spacing[0] / smallest)))
    return Image.fromarray(tile).resize(size, Image.BILINEAR)


def save_preview(path: Path, mr_unit: np.ndarray, sct: np.ndarray, ct: np.ndarray, spacing_xyz) -> None:
    """Write the 3 x 4 grid (rows: axial, coronal, sagittal) as a PNG."""
    spacing = tuple(spacing_xyz)[::-1]
    columns = [
        _mid_slices(_to_uint8(mr_unit, -1.0, 1.0), spacing),
        _mid_slices(_to_uint8(sct, *CT_WINDOW), spacing),
        _mid_slices(_to_uint8(ct, *CT_WINDOW), spacing),
        _mid_slices(_to_uint8(np.abs(sct - ct), *ERROR_WINDOW), spacing),
    ]
    rows = [[_resize(columns[c][r][0], columns[c][r][1]) for c in range(4)] for r in range(3)]
    width = sum(tile.width for tile in rows[0])
    height = sum(row[0].height for row in rows)
    canvas = Image.new("L", (width, height))
    top = 0
    for row in rows:
        left = 0
        for tile in row:
            canvas.paste(tile, (left, top))
            left += tile.width
        top += row[0].height
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
