"""Images for the evaluation tools (tools.evaluation, tools.dose): an image file, or a folder holding a DICOM CT
series - a planning CT, or an sCT series as ``python -m model.dicom`` writes it - read by model.dicom.read with
all its checks, so that the whole chain runs on DICOM."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import SimpleITK as sitk

from model import imageio
from model.dicom.read import read_series


def read_image(path: Path) -> sitk.Image:
    """``path`` as model.imageio reads it, or, when it is a folder, its DICOM CT series."""
    path = Path(path)
    if path.is_dir():
        return read_series(path, modality="CT").image
    return imageio.read_image(path)


read_on_grid = partial(imageio.read_on_grid, read=read_image)
