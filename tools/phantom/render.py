"""Rendering a label map: CT, MR, body mask, and the image header the three share."""
from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from tools.phantom.acquisition import DEFAULT_ACQUISITION, MRAcquisition
from tools.phantom.shapes import draw
from tools.phantom.tissues import CT_HU_RANGE, HU_LIMITS, MR_MAX, MR_T1, SYNTHRAD2023_TISSUES, Tissue

CT_BLUR_SIGMA = (0.0, 0.6, 0.6)  # voxels, array (z, y, x) order: in-plane only


def render_ct(labels: np.ndarray, rng, tissues=SYNTHRAD2023_TISSUES, artefact: np.ndarray | None = None
              ) -> np.ndarray:
    """CT in HU (int16): per-case tissue values (one draw for each of ``tissues``, in order), partial-volume blur,
    ``artefact`` (HU added, e.g. a filling's streaks: only CT shows them), noise."""
    lut = np.zeros(len(Tissue), np.float32)
    for tissue in tissues:
        lut[tissue] = rng.uniform(*CT_HU_RANGE[tissue])
    hu = ndimage.gaussian_filter(lut[labels], CT_BLUR_SIGMA)
    if artefact is not None:
        hu += artefact.astype(np.float32)
    hu += rng.standard_normal(hu.shape, dtype=np.float32) * np.float32(rng.uniform(10, 20))
    return np.clip(np.rint(hu), *HU_LIMITS).astype(np.int16)


def render_mr(labels: np.ndarray, rng, acquisition: MRAcquisition = DEFAULT_ACQUISITION,
              tissues=SYNTHRAD2023_TISSUES) -> np.ndarray:
    """T1-weighted-like MR (int16, arbitrary units) of the label map, acquired with ``acquisition``'s settings.

    Tissue intensities are jittered, blurred, given a nonlinear contrast, multiplied by
    a smooth bias field, corrupted by Rician noise and finally scaled by a random
    global factor.  The draws, in this order: the per-tissue factors (``tissues``, in order), the tissues
    relative to fat, gamma, the blur sigmas, the bias field, the noise sigma, the
    noise, the scale (degenerate ranges draw nothing).
    """
    lut = np.zeros(len(Tissue), np.float32)
    for tissue in tissues:
        lut[tissue] = MR_T1[tissue] * draw(rng, *acquisition.contrast)
    for tissue, factor in acquisition.relative_to_fat:
        lut[tissue] = lut[Tissue.FAT] * draw(rng, factor)
    gamma = draw(rng, *acquisition.gamma)
    blur = (draw(rng, acquisition.blur_z),) + (draw(rng, acquisition.blur_yx),) * 2
    signal = ndimage.gaussian_filter(lut[labels], blur)
    if gamma != 1.0:
        peak = np.float32(signal.max())
        signal = peak * (signal / peak) ** np.float32(gamma)
    signal *= _bias_field(labels.shape, rng, acquisition.bias)
    sigma = np.float32(draw(rng, acquisition.noise))
    real = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    magnitude = np.sqrt(real**2 + imag**2)
    magnitude *= np.float32(draw(rng, acquisition.scale))
    return np.clip(np.rint(magnitude), 0, MR_MAX).astype(np.int16)


def _bias_field(shape, rng, strength: tuple[float, float] = (0.2, 0.3)) -> np.ndarray:
    """exp of a random quadratic polynomial, normalised to a peak deviation drawn from ``strength`` (±20-30 %)."""
    z, y, x = (np.linspace(-1, 1, n, dtype=np.float32) for n in shape)
    c = rng.normal(size=9).astype(np.float32)
    log_field = (
        (c[0] * x + c[3] * x**2)[None, None, :]
        + (c[1] * y + c[4] * y**2)[None, :, None]
        + (c[2] * z + c[5] * z**2)[:, None, None]
        + (c[6] * x[None, :] * y[:, None])[None]
        + (c[7] * x[None, :] * z[:, None])[:, None, :]
        + (c[8] * y[None, :] * z[:, None])[:, :, None]
    )
    log_field -= log_field.mean()
    log_field *= np.float32(np.log1p(rng.uniform(*strength)) / np.abs(log_field).max())
    return np.exp(log_field)


IN_PLANE = ndimage.generate_binary_structure(2, 1)[None]  # a voxel's 4 in-plane neighbours, (z, y, x)
MASK_MARGINS = (1, 2)  # the body mask's in-plane margin, voxels: one of these drawn per case


def body_mask(labels: np.ndarray, rng) -> np.ndarray:
    """Body outline dilated in-plane by 1-2 voxels (uint8 0/1), like SynthRAD masks."""
    margin = int(rng.integers(MASK_MARGINS[0], MASK_MARGINS[-1] + 1))
    return outline_with_margin(labels != Tissue.AIR, margin).astype(np.uint8)


def outline_with_margin(anatomy: np.ndarray, margin: int) -> np.ndarray:
    """``anatomy`` (bool, z, y, x) dilated in-plane by ``margin`` voxels of 4-neighbours: the body mask with that
    margin (tools.bench body-mask scores against both admissible ones)."""
    return ndimage.binary_dilation(anatomy, IN_PLANE, iterations=margin)


def random_header(rng) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Origin (zero on some cases) and a proper orthonormal direction matrix."""
    origin = (0.0, 0.0, 0.0) if rng.random() < 0.25 else tuple(rng.uniform(-250, 50, 3))
    kind = int(rng.integers(0, 3))
    if kind == 0:
        direction = np.eye(3)
    elif kind == 1:
        direction = np.diag([-1.0, -1.0, 1.0])
    else:
        angle = np.deg2rad(rng.uniform(2, 6) * rng.choice([-1, 1]))
        cos, sin = np.cos(angle), np.sin(angle)
        direction = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    return tuple(float(o) for o in origin), tuple(direction.ravel().tolist())


def to_image(array: np.ndarray, spacing, origin, direction) -> sitk.Image:
    """Wrap a (z, y, x) array as a SimpleITK image with the given header."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(direction)
    return image
