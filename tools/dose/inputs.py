"""A dose evaluation's inputs, checked and put on the dose grid.

The CT is the reference: the sCT and every mask must share its grid (one line naming the file otherwise), the sCT
must be finite, no mask may be empty, and the target must lie inside the body. Everything is then resampled to an
isotropic dose grid (``grid_mm``, axis-aligned, covering the CT's physical extent): HU linearly (-1024 outside),
masks as partial volumes kept where at least half inside. The bulk-water sCT (0 HU inside the body, -1000 outside)
is made on the CT's grid and resampled the same way.

Without a target mask, the target is a sphere of the region's ``target_radius_mm`` at the body's centre of mass
(brain: the centre of mass of the body's upper half, the cranium rather than the neck), cut to the body,
placed on the dose grid.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from model.errors import InputError
from model.imageio import array_to_image, check_finite, check_mask, to_array
from tools.dataset.images import read_image, read_on_grid
from tools.dose.config import DoseConfig
from tools.metrics.image import water_baseline

RESERVED = ("body", "target")


@dataclass
class DoseCase:
    grid: sitk.Image  # the dose grid (float32, zeros): spacing, origin, identity direction
    ct: np.ndarray  # HU on the dose grid, (z, y, x)
    scts: dict[str, np.ndarray]  # "sct" and "water": HU on the dose grid
    body: np.ndarray
    target: np.ndarray
    organs: dict[str, np.ndarray] = field(default_factory=dict)
    target_rule: str | None = None  # how the target was placed, when no mask was given (on the dose grid)
    native: dict = field(default_factory=dict)  # on the CT's own grid: ct, sct, mr, body (image metrics, pictures)

    @property
    def spacing_mm(self) -> float:
        return float(self.grid.GetSpacing()[0])


def dose_grid(reference: sitk.Image, spacing_mm: float) -> sitk.Image:
    """An axis-aligned grid of ``spacing_mm`` voxels covering ``reference``'s physical extent."""
    size = reference.GetSize()
    corners = np.array([reference.TransformContinuousIndexToPhysicalPoint([c * (n - 1) for c, n in zip(corner, size)])
                        for corner in np.ndindex(2, 2, 2)])
    low, high = corners.min(0), corners.max(0)
    grid = sitk.Image([int(np.floor((h - lo) / spacing_mm)) + 1 for lo, h in zip(low, high)], sitk.sitkFloat32)
    grid.SetSpacing((spacing_mm,) * 3)
    grid.SetOrigin(tuple(float(v) for v in low))
    return grid


def _on_dose_grid(array: np.ndarray, reference: sitk.Image, grid: sitk.Image, outside: float) -> np.ndarray:
    image = array_to_image(np.asarray(array, dtype=np.float32), reference)
    return sitk.GetArrayFromImage(sitk.Resample(image, grid, sitk.Transform(), sitk.sitkLinear, outside, sitk.sitkFloat32))


def _mask_on_dose_grid(mask: np.ndarray, reference: sitk.Image, grid: sitk.Image) -> np.ndarray:
    return _on_dose_grid(mask.astype(np.float32), reference, grid, 0.0) >= 0.5


def _read_mask(path: Path, reference: sitk.Image, what: str) -> np.ndarray:
    return check_mask(to_array(read_on_grid(path, reference, "CT")), path, what)


def default_target(body: np.ndarray, grid: sitk.Image, region: str, radius_mm: float) -> tuple[np.ndarray, str]:
    """The documented target rule (module docstring), on the (axis-aligned, isotropic) dose grid."""
    z = np.nonzero(body)[0]
    where = body if region != "brain" else body & (np.arange(body.shape[0])[:, None, None] >= np.median(z))
    centre = np.array([np.nonzero(where)[axis].mean() for axis in range(3)])  # (z, y, x) voxels
    spacing = grid.GetSpacing()[0]
    zz, yy, xx = np.ogrid[tuple(slice(0, n) for n in body.shape)]
    sphere = ((zz - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (xx - centre[2]) ** 2) * spacing**2 < radius_mm**2
    point = grid.TransformContinuousIndexToPhysicalPoint(centre[::-1].tolist())
    rule = (f"a {radius_mm:g} mm sphere at the body's centre of mass" if region != "brain" else
            f"a {radius_mm:g} mm sphere at the centre of mass of the body's upper half")
    return sphere & body, rule + f" ({', '.join(f'{c:.1f}' for c in point)} mm)"


def read_dose_case(ct_path: Path, sct_path: Path, mask_path: Path, config: DoseConfig, region: str,
                   target_path: Path | None = None, organ_paths: dict[str, Path] | None = None,
                   mr_path: Path | None = None) -> DoseCase:
    ct_image = read_image(Path(ct_path))
    ct = to_array(ct_image)
    check_finite(ct, Path(ct_path))
    sct = to_array(read_on_grid(Path(sct_path), ct_image, "CT"))
    check_finite(sct, Path(sct_path))
    body = check_mask(to_array(read_on_grid(Path(mask_path), ct_image, "CT")), Path(mask_path))
    if target_path is not None:
        target = _read_mask(Path(target_path), ct_image, "target")
        outside = int((target & ~body).sum())
        if outside:
            raise InputError(Path(target_path), f"{outside} of the target's {int(target.sum())} voxel(s) lie outside the "
                                                f"body mask {mask_path}")
    else:
        target = None
    organs = {}
    for name, path in (organ_paths or {}).items():
        if name.lower() in RESERVED:
            raise InputError(Path(path), f"--oar {name}: the name is reserved ({', '.join(RESERVED)})")
        organs[name] = _read_mask(Path(path), ct_image, f"{name}")
    mr = to_array(read_on_grid(Path(mr_path), ct_image, "CT")) if mr_path is not None else None
    grid = dose_grid(ct_image, config.grid_mm)
    case = DoseCase(
        grid=grid,
        ct=_on_dose_grid(ct, ct_image, grid, -1024.0),
        scts={"sct": _on_dose_grid(sct, ct_image, grid, -1024.0),
              "water": _on_dose_grid(water_baseline(body), ct_image, grid, -1024.0)},
        body=_mask_on_dose_grid(body, ct_image, grid),
        target=None,
        organs={name: _mask_on_dose_grid(m, ct_image, grid) for name, m in organs.items()},
        native={"ct": ct, "sct": sct, "mr": mr, "body": body, "spacing": ct_image.GetSpacing()},
    )
    if target is None:
        case.target, case.target_rule = default_target(case.body, grid, region, config.region(region).target_radius_mm)
    else:
        case.target = _mask_on_dose_grid(target, ct_image, grid) & case.body
    if not case.target.any():
        raise InputError(Path(target_path or mask_path), f"the target has no voxel on the {config.grid_mm:g} mm dose grid")
    for name, organ in case.organs.items():
        if not organ.any():
            raise InputError(Path(organ_paths[name]), f"organ {name} has no voxel on the {config.grid_mm:g} mm dose grid")
    return case
