"""A body (patient outline) mask computed from the MR alone.

For a case that comes without a body mask, :func:`body_mask` draws one from the MR:
uint8 0/1 on exactly the MR's grid (its size, spacing, origin and direction). Five
steps, each for a reason:

1. **Threshold** at Otsu's threshold of the log intensities. MR has no absolute
   units, so no fixed value could work; in log space the image's global scale is only
   a shift, which Otsu's threshold follows, and the two populations it separates are
   the air's noise floor and the tissues (fat and muscle alike: in linear units Otsu
   splits fat from muscle instead). Air, gas and cortical bone are dark on MR and fall
   below the threshold wherever they are: steps 3-5 deal with that.
2. **Speckle**: where the air's noise rises above the threshold often enough, a
   foreground voxel stays only if at least ``k`` of its 26 neighbours are foreground
   too. Noisy air reaches the threshold in specks; specks within the closing's reach
   of the outline would be bridged to it by step 4 (a rim of air around the body, a
   neck joined to the air beside it). ``k`` is measured, not set: the share ``p`` of
   the air above the threshold (the voxels ``AIR_GAP_VOXELS`` or more in-plane outside
   the outline steps 3-5 draw without this step), and the smallest ``k`` that a noise
   voxel reaches with a probability below ``SPECKLE_ALPHA`` (5 %) if its neighbours
   were independent draws: binomial, 26 tries of ``p``. A clean MR (``p`` below 0.2 %)
   gets ``k`` = 1 and skips the step: its mask is exactly what steps 1 and 3-5 give.
   In 3-D, not in the slice, because tissue is a volume and noise is not: a voxel of
   skin a voxel thick has about 8 neighbours in its own sheet where noise at ``p`` =
   10 % averages 2.6 (``k`` = 6 there); within a slice the same skin has 2 of 8, too
   few to tell from the noise's 0.8.
3. **The body's parts** (3-D connected components, face neighbours): the largest, and
   every other of at least ``part_ml`` (2 mL): noise specks in the air are dropped, an
   arm lying beside the trunk with air between them is kept (a thorax or an abdomen with
   the arms down: each arm is 5-8 % of the trunk). Face neighbours only, so that noise
   touching the body along a diagonal does not join it.
4. **Closing** by a box of ``closing_mm`` each way, converted to voxels per axis with
   the spacing (the same size in mm on an anisotropic grid): it seals gaps of a few mm
   in the outline (thin dark skin, a dark bone or an air cavity reaching the surface)
   so that step 5 finds the cavities behind them closed, and smooths the outline. A
   box, not a ball, because a box is separable (1-D maximum and minimum filters): its
   cost does not grow with its size, where a ball's closing takes seconds on a
   150 x 400 x 400 volume.
5. **Fill holes slice by slice** (along the image's third axis): bowel gas, sinuses,
   airways and the skull - everything dark that the outline encloses in a slice - are
   inside the body. Per slice because a 3-D fill misses a cavity that reaches the
   first or last slice (a pelvis or head cut by the field of view), which is open in
   3-D but closed within each slice.
6. **Margin**: dilated in-plane by ``margin_mm``, because the masks the result stands
   in for are not the bare outline: the phantoms' (modelled on SynthRAD's) are the
   outline dilated in-plane by 1 or 2 voxels. ``margin_mm=0`` gives the outline itself.

Against the phantoms' own masks: docs/dicom.md's table (scripts/body_mask_table.sh,
``python -m tools.bench body-mask``), held by test/test_body_mask.py. Every default
acquisition and unseen anatomy is at 0.99 or above. The second centre's noisy, blurred
MR is the hard case: step 2 lifts its head and neck from min / median 0.914 / 0.975 to
0.976 / 0.984 over 8 seeds (its noise joined the air around the neck to the body) and
leaves the other regions within 0.001; its brain stays short of 0.98 on a few seeds
(min 0.974, median 0.990): its blur puts the visible outline about a voxel outside the
anatomy's, or its dim skin sinks into the noise, and a voxel of rim is 2.4 % of a head.
None of six other rules measured (scripts/body_mask_rules.py: the gamma undone, a
threshold tied to the tissues, edges from derivatives, ...) reaches 0.98 on every
second-centre phantom either (docs/dicom.md).
Under a second for a phantom on 2 cores; where step 2 runs about 2.5 times that (a
head and neck at the second centre 0.5 -> 1.2 s).

An MR with nothing to threshold (all zero, or constant) raises :class:`NoBodyError`,
whose message names the problem; the caller adds the file name (model.errors.InputError).
"""
from __future__ import annotations

import math

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

CLOSING_MM = 3.0  # half-width of the closing's box, mm
MARGIN_MM = 1.5  # in-plane dilation of the outline, mm (1 mm voxels: the 8 neighbours in the slice)
PART_ML = 2.0  # a connected component this large (mL) is a part of the body (an arm), not noise
#: Step 2: a noise voxel keeps at least ``k`` foreground neighbours with a probability below this.
SPECKLE_ALPHA = 0.05
#: Step 2: the air whose noise is measured lies this many voxels (in-plane) or more outside the first outline.
AIR_GAP_VOXELS = 5
#: The threshold is estimated from at most this many voxels (deterministic stride).
THRESHOLD_SAMPLE = 1_000_000
#: Intensities below this fraction of the 99th percentile count as this fraction (the log of zero is -inf).
LOG_FLOOR = 1e-3


class NoBodyError(ValueError):
    """The MR has nothing to separate a body from: no voxel above zero, or no contrast."""


def body_mask(mr: sitk.Image, closing_mm: float = CLOSING_MM, margin_mm: float = MARGIN_MM,
              part_ml: float = PART_ML, speckle_alpha: float = SPECKLE_ALPHA) -> sitk.Image:
    """The body mask of a 3-D MR: uint8 0/1 on the MR's grid (size, spacing, origin, direction copied)."""
    if mr.GetDimension() != 3 or mr.GetNumberOfComponentsPerPixel() != 1:
        raise ValueError(f"expected a 3-D single-channel MR, got {mr.GetDimension()}-D with "
                         f"{mr.GetNumberOfComponentsPerPixel()} values per voxel")
    body = body_voxels(sitk.GetArrayViewFromImage(mr), mr.GetSpacing(), closing_mm, margin_mm, part_ml, speckle_alpha)
    mask = sitk.GetImageFromArray(body.view(np.uint8))
    mask.CopyInformation(mr)
    return mask


def body_voxels(mr: np.ndarray, spacing_xyz, closing_mm: float = CLOSING_MM, margin_mm: float = MARGIN_MM,
                part_ml: float = PART_ML, speckle_alpha: float = SPECKLE_ALPHA) -> np.ndarray:
    """:func:`body_mask` on a (z, y, x) array with SimpleITK's (x, y, z) spacing: a bool (z, y, x) array."""
    return measured_body_voxels(mr, spacing_xyz, closing_mm, margin_mm, part_ml, speckle_alpha)[0]


def measured_body_voxels(mr: np.ndarray, spacing_xyz, closing_mm: float = CLOSING_MM, margin_mm: float = MARGIN_MM,
                         part_ml: float = PART_ML,
                         speckle_alpha: float = SPECKLE_ALPHA) -> tuple[np.ndarray, float, int]:
    """:func:`body_voxels`, and step 2's measure: the air's share above the threshold, and ``k``.
    ``speckle_alpha=1`` switches step 2 off (``k`` is 1 whatever the noise)."""
    spacing = np.asarray(spacing_xyz, dtype=float)[::-1]  # (z, y, x) like the array
    foreground = mr > log_otsu_threshold(mr)
    min_voxels = part_ml / (float(np.prod(spacing)) / 1000.0)
    closing = np.rint(closing_mm / spacing).astype(int)
    body = outline(foreground, min_voxels, closing)
    share = noise_share(foreground, body)
    k = speckle_neighbours(share, speckle_alpha)
    if k > 1:
        body = outline(foreground & (neighbours(foreground) >= k), min_voxels, closing)
    return with_margin(body, spacing, margin_mm), share, k


def with_margin(body: np.ndarray, spacing_zyx, margin_mm: float = MARGIN_MM) -> np.ndarray:
    """Step 6: a (z, y, x) outline dilated in-plane by ``margin_mm`` (``spacing_zyx`` in the array's order)."""
    if margin_mm <= 0:
        return body
    return ndimage.binary_dilation(body, in_plane_disk(margin_mm, np.asarray(spacing_zyx, dtype=float)[1:])[None])


def outline(foreground: np.ndarray, min_voxels: float, closing) -> np.ndarray:
    """Steps 3-5: the body's parts, closed, their holes filled slice by slice."""
    return fill_holes_per_slice(box_closing(body_parts(foreground, min_voxels), closing))


def neighbours(mask: np.ndarray) -> np.ndarray:
    """How many of each voxel's 26 neighbours are in the 3-D mask (outside the image: none), as uint8."""
    box = ndimage.uniform_filter(mask.astype(np.float32), size=3, mode="constant", cval=0.0)  # the 27's mean
    return (np.rint(box * 27.0) - mask).astype(np.uint8)


def noise_share(foreground: np.ndarray, body: np.ndarray) -> float:
    """The share of the air above the threshold: of the voxels ``AIR_GAP_VOXELS`` or more in-plane outside
    ``body`` (0 where there are none: a body filling the field of view)."""
    in_slice = np.zeros((3, 3, 3), bool)
    in_slice[1] = True
    air = ~ndimage.binary_dilation(body, in_slice, iterations=AIR_GAP_VOXELS)
    count = np.count_nonzero(air)
    return np.count_nonzero(foreground & air) / count if count else 0.0


def speckle_neighbours(p: float, alpha: float = SPECKLE_ALPHA, tries: int = 26) -> int:
    """The smallest ``k`` (1-26) that at most ``alpha`` of noise voxels reach: P(Binomial(26, p) >= k) < alpha."""
    for k in range(1, tries + 1):
        if sum(math.comb(tries, j) * p**j * (1 - p) ** (tries - j) for j in range(k, tries + 1)) < alpha:
            return k
    return tries


def log_otsu_threshold(mr: np.ndarray) -> float:
    """Otsu's threshold of the log intensities (from a sample of the voxels), as an intensity."""
    sample = mr.ravel()[:: max(1, mr.size // THRESHOLD_SAMPLE)].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    high = np.percentile(sample, 99) if sample.size else 0.0
    if not high > 0:
        raise NoBodyError("no body in the MR: its voxels are all zero or below (99th percentile "
                          f"{high:g}), there is nothing to threshold")
    logs = np.log(np.maximum(sample, LOG_FLOOR * high))
    if not logs.max() > logs.min():
        raise NoBodyError(f"no body in the MR: it is constant ({np.exp(logs.min()):g}), nothing stands out")
    counts, edges = np.histogram(logs, bins=256)
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(counts)[:-1]  # voxels below each candidate split (the edge after bin k)
    above = counts.sum() - below
    sum_below = np.cumsum(counts * centres)[:-1]
    sum_above = (counts * centres).sum() - sum_below
    with np.errstate(divide="ignore", invalid="ignore"):
        between = below * above * (sum_below / below - sum_above / above) ** 2  # between-class variance x n^2
    return float(np.exp(edges[1:-1][np.argmax(np.where((below > 0) & (above > 0), between, 0.0))]))


def body_parts(mask: np.ndarray, min_voxels: float) -> np.ndarray:
    """The largest face-connected component of a 3-D bool array, and every other of at least ``min_voxels``."""
    labels = sitk.ConnectedComponent(sitk.GetImageFromArray(mask.view(np.uint8)), False)
    labels = sitk.GetArrayFromImage(sitk.RelabelComponent(labels, sortByObjectSize=True))  # 1: the largest
    counts = np.bincount(labels.ravel())
    if len(counts) < 2:
        raise NoBodyError("no body in the MR: no voxel stands out from the background")
    keep = counts >= min_voxels
    keep[0], keep[1] = False, True
    return keep[labels]


def box_closing(mask: np.ndarray, radius) -> np.ndarray:
    """Closing by a box of ``radius`` voxels each way per axis, of the mask padded with background (as if
    the field of view went on with no body): the dilation reaches into the padding, so a body cut by the
    field of view is not eaten at the cut, nor widened there where its outline slopes."""
    radius = [int(r) for r in radius]
    size = tuple(2 * r + 1 for r in radius)
    padded = np.pad(mask.view(np.uint8), [(r, r) for r in radius])
    closed = ndimage.minimum_filter(ndimage.maximum_filter(padded, size=size), size=size)
    return closed[tuple(slice(r, r + n) for r, n in zip(radius, mask.shape))].view(bool)


def fill_holes_per_slice(mask: np.ndarray) -> np.ndarray:
    """Every background region of a (z, y, x) slice that does not reach the slice's edge becomes foreground."""
    in_slice = np.zeros((3, 3, 3), bool)
    in_slice[1] = ndimage.generate_binary_structure(2, 1)  # 4-neighbours within the slice, none across
    regions, count = ndimage.label(~mask, in_slice)
    outside = np.zeros(count + 1, bool)
    for edge in (regions[:, 0], regions[:, -1], regions[:, :, 0], regions[:, :, -1]):
        outside[edge.ravel()] = True
    outside[0] = False  # label 0: the mask itself
    return ~outside[regions]


def in_plane_disk(radius_mm: float, spacing_yx) -> np.ndarray:
    """The (y, x) voxel offsets within ``radius_mm`` of the centre."""
    reach = [int(radius_mm // s) for s in spacing_yx]
    y, x = np.ogrid[-reach[0]:reach[0] + 1, -reach[1]:reach[1] + 1]
    return (y * spacing_yx[0]) ** 2 + (x * spacing_yx[1]) ** 2 <= radius_mm**2
