"""The MR acquisitions a phantom's MR is rendered with: the training data's, and a second centre's.

**Second-centre variant.**  ``make_case(..., acquisition="second-centre")`` is a
test set of MR acquired unlike the training data: the same anatomy, CT, body mask,
structures, uuid and header as the default case of the seed, only the MR differs.
The default MR is still rendered from the main generator (so that every later
draw is unchanged) and then replaced by one drawn from
``numpy.random.default_rng([seed, 2])`` with settings outside the default ranges
(:data:`SECOND_CENTRE`, default in brackets): each tissue's nominal intensity times
a factor from [0.7, 0.85] or [1.15, 1.3], side drawn per tissue (±10 % jitter);
a global nonlinear contrast ``peak * (signal / peak) ** gamma``, gamma from
[0.65, 0.8] or [1.25, 1.5] (none); a Gaussian blur of sigma 0.8-1.0 voxels
through-plane and 1.0-1.5 in-plane, i.e. a lower acquired resolution (0 and 0.5);
a bias field of 45-60 % peak deviation (20-30 %); Rician noise sigma 0.05-0.08
(0.01-0.04); a global scale of 100-4000 (300-2000).  ``"second-centre-t2-urine"``
(pelvis only, :data:`SECOND_CENTRE_T2_URINE`) adds urine as bright as on
T2-weighted MR: 1.3-1.6 times the case's fat intensity instead of 0.12 times
nominal fat.  The case id names the centre: ``1PX0007`` (default), ``1PY0007``
(second centre), ``1PZ0007`` (second centre, T2-bright urine).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from tools.phantom.tissues import Tissue

MR_BLUR_SIGMA = (0.0, 0.5, 0.5)  # voxels, array (z, y, x) order: the default acquisition's blur


@dataclass(frozen=True)
class MRAcquisition:
    """Settings of an MR rendering: the ranges each case draws from.

    A value is drawn uniformly from a range ``(lo, hi)``; where several ranges are given, one is first chosen
    at random (``rng.integers``).  A degenerate range (lo == hi) is a constant and draws nothing, so that
    :data:`DEFAULT_ACQUISITION` consumes the generator exactly as the renderer always has.
    """

    name: str
    centre: str  # letter of the case id, 1P<centre>0007
    contrast: tuple[tuple[float, float], ...]  # factor on each tissue's MR_T1 value, drawn per tissue
    gamma: tuple[tuple[float, float], ...]  # signal -> peak * (signal / peak) ** gamma, after the blur
    blur_z: tuple[float, float]  # Gaussian sigma, voxels, through-plane
    blur_yx: tuple[float, float]  # Gaussian sigma, voxels, in-plane
    bias: tuple[float, float]  # peak relative deviation of the bias field
    noise: tuple[float, float]  # Rician sigma, fat ~ 1
    scale: tuple[float, float]  # global factor to arbitrary units
    #: Tissues whose intensity is the case's fat intensity times a factor from the range, instead of MR_T1.
    relative_to_fat: tuple[tuple[Tissue, tuple[float, float]], ...] = ()
    regions: tuple[str, ...] = ("Pelvis", "Brain", "Head and Neck", "Thorax", "Abdomen")


DEFAULT_ACQUISITION = MRAcquisition(
    name="default", centre="X", contrast=((0.9, 1.1),), gamma=((1.0, 1.0),),
    blur_z=(MR_BLUR_SIGMA[0],) * 2, blur_yx=(MR_BLUR_SIGMA[1],) * 2,
    bias=(0.2, 0.3), noise=(0.01, 0.04), scale=(300.0, 2000.0),
)
SECOND_CENTRE = MRAcquisition(
    name="second-centre", centre="Y", contrast=((0.7, 0.85), (1.15, 1.3)), gamma=((0.65, 0.8), (1.25, 1.5)),
    blur_z=(0.8, 1.0), blur_yx=(1.0, 1.5), bias=(0.45, 0.6), noise=(0.05, 0.08), scale=(100.0, 4000.0),
)
SECOND_CENTRE_T2_URINE = replace(
    SECOND_CENTRE, name="second-centre-t2-urine", centre="Z",
    relative_to_fat=((Tissue.URINE, (1.3, 1.6)),), regions=("Pelvis",),
)
MR_ACQUISITIONS = {a.name: a for a in (DEFAULT_ACQUISITION, SECOND_CENTRE, SECOND_CENTRE_T2_URINE)}
ACQUISITIONS = tuple(MR_ACQUISITIONS)
#: A variant's MR is drawn from ``default_rng([seed, VARIANT_STREAM])``.
VARIANT_STREAM = 2


def mr_acquisition(name: str) -> MRAcquisition:
    """The settings of the MR acquisition ``name`` (one of :data:`ACQUISITIONS`)."""
    try:
        return MR_ACQUISITIONS[name]
    except KeyError:
        raise ValueError(f"unknown acquisition {name!r}, expected one of {', '.join(ACQUISITIONS)}") from None
