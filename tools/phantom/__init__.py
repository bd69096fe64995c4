"""Deterministic MR / CT / body-mask phantoms for SynthRAD2023 Task 1 (pelvis, brain).

No real patient data is available to this project, so training and test data are
synthesised here.  A case is generated in three stages:

1. **Geometry.**  A field of view, a voxel spacing and a header (origin,
   direction) are drawn.  Sizes and headers vary from case to case so that code
   consuming the images cannot silently rely on a fixed shape or an identity
   direction.

2. **Tissue label map.**  Anatomy is described by simple solids (ellipsoids,
   capsules, shells, curved plates) that each provide an approximate signed
   distance in mm ("depth", positive inside).  Thresholding these depths gives
   layered structures, e.g. a cortical shell around marrow, scalp over skull over
   CSF over cortex.  Everything is evaluated with vectorised numpy on the
   voxel-centre coordinates (mm, in array order z, y, x); each solid is only
   evaluated in the crop of its bounding box.  The direction matrix only changes
   the header, the anatomy is laid out in array space.

3. **Two independent renderings of the label map.**  CT maps every tissue to
   Hounsfield units (with per-case jitter, partial-volume blur and noise).  MR
   maps every tissue to a T1-weighted-like intensity (per-case jitter, blur,
   smooth multiplicative bias field, Rician noise, arbitrary global scale).

The MR deliberately does *not* map one-to-one onto HU: cortical bone (+1000 HU
and more) and air/gas (-1000 HU) are both nearly black on MR, and fat, marrow
and white matter are all bright.  A model must therefore use spatial context
(shape, position, surrounding tissue) to tell them apart, exactly the
difficulty of real MR-to-CT synthesis; an intensity look-up table cannot solve
the task.

Every random quantity of a case is drawn from ``numpy.random.default_rng(seed)``
in a fixed order, so a seed always reproduces bit-identical images.

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

Command line::

    python -m tools.phantom --region pelvis --cases 4 --seed 0 --out DIR \
        [--layout dataset|container] [--format nii.gz|mha] \
        [--acquisition default|second-centre|second-centre-t2-urine] [--anatomy default|unseen]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import uuid
from dataclasses import dataclass, field, replace
from enum import IntEnum
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import SimpleITK as sitk
from scipy import ndimage


class Tissue(IntEnum):
    """Labels of the tissue map from which CT and MR are rendered."""

    AIR = 0  # outside the body
    GAS = 1  # bowel gas, sinus and airway air
    FAT = 2
    SOFT = 3  # muscle, skin, bowel wall and other soft tissue
    URINE = 4
    BOWEL = 5  # bowel content
    MARROW = 6  # cancellous bone of pelvis, femur and spine
    DIPLOE = 7  # cancellous layer of the skull
    CORTICAL = 8
    CSF = 9
    GREY = 10
    WHITE = 11
    VITREOUS = 12


#: CT value range (HU) per tissue; each case draws one value uniformly per tissue.
CT_HU_RANGE: dict[Tissue, tuple[float, float]] = {
    Tissue.AIR: (-1000.0, -1000.0),
    Tissue.GAS: (-1000.0, -950.0),
    Tissue.FAT: (-115.0, -85.0),
    Tissue.SOFT: (30.0, 50.0),
    Tissue.URINE: (7.0, 13.0),
    Tissue.BOWEL: (10.0, 30.0),
    Tissue.MARROW: (200.0, 350.0),
    Tissue.DIPLOE: (400.0, 700.0),
    Tissue.CORTICAL: (1000.0, 1500.0),
    Tissue.CSF: (7.0, 13.0),
    Tissue.GREY: (36.0, 40.0),
    Tissue.WHITE: (26.0, 30.0),
    Tissue.VITREOUS: (7.0, 13.0),
}

#: Nominal T1-weighted MR intensity per tissue (fat = 1); jittered by ±10 % per case.
MR_T1: dict[Tissue, float] = {
    Tissue.AIR: 0.0,
    Tissue.GAS: 0.02,
    Tissue.FAT: 1.0,
    Tissue.SOFT: 0.35,
    Tissue.URINE: 0.12,
    Tissue.BOWEL: 0.3,
    Tissue.MARROW: 0.8,
    Tissue.DIPLOE: 0.7,
    Tissue.CORTICAL: 0.03,
    Tissue.CSF: 0.15,
    Tissue.GREY: 0.55,
    Tissue.WHITE: 0.8,
    Tissue.VITREOUS: 0.12,
}

REGIONS = {"pelvis": "Pelvis", "brain": "Brain"}
CASE_PREFIX = {"Pelvis": "1PX", "Brain": "1BX"}
PELVIS_SPACING = (1.0, 1.0, 2.5)  # SimpleITK (x, y, z) order, mm
BRAIN_SPACING = (1.0, 1.0, 1.0)
NECK_BOTTOM_Z = -20.0  # brain: cord, spine and pharynx run below the FOV, mm
CT_BLUR_SIGMA = (0.0, 0.6, 0.6)  # voxels, array (z, y, x) order: in-plane only
MR_BLUR_SIGMA = (0.0, 0.5, 0.5)
HU_LIMITS = (-1024, 3071)
MR_MAX = 32767


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
    regions: tuple[str, ...] = ("Pelvis", "Brain")


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


@dataclass(frozen=True)
class PelvisAnatomy:
    """The ranges a pelvis's anatomy is drawn from (uniformly; integers for counts). :data:`DEFAULT_PELVIS` is the
    generator's own (its draws, in order, exactly as they always were: a degenerate range, lo == hi, draws
    nothing); the data engine (tools.synth) trains on the wide :data:`ENGINE_PELVIS`, and the unseen-anatomy
    held-out set (:data:`UNSEEN_PELVIS`, case ids ``1PU...``) lies outside it."""

    name: str
    semi_x: tuple[float, float] = (150.0, 190.0)  # body half-width, mm, before any extra fat
    semi_y: tuple[float, float] = (100.0, 125.0)
    fat_mm: tuple[float, float] = (10.0, 30.0)  # subcutaneous fat
    extra_fat_mm: tuple[float, float] = (0.0, 0.0)  # obesity: added to the fat and to the body outline
    fov_x: tuple[int, int] = (330, 420)  # field of view, voxels (the body may be cut at its edges)
    fov_y: tuple[int, int] = (230, 290)
    head_r: tuple[float, float] = (22.0, 27.0)  # femoral head radius, mm
    sacrum_half_width: tuple[float, float] = (45.0, 55.0)
    bowel_loops: tuple[int, int] = (6, 14)  # [lo, hi)
    loop_radius: tuple[float, float] = (10.0, 22.0)
    loop_gas_p: float = 0.6  # each loop's chance of gas (the first two always have some)
    gas_level: tuple[float, float] = (0.4, 0.7)  # gas-fluid level, fraction of the loop's AP extent
    rectum_r: tuple[float, float] = (10.0, 16.0)
    rectum_gas_p: float = 0.6
    bladder_radii: tuple[tuple[float, float], ...] = ((30.0, 55.0), (25.0, 40.0), (20.0, 40.0))


DEFAULT_PELVIS = PelvisAnatomy("default")
ENGINE_PELVIS = PelvisAnatomy(
    "engine", semi_x=(140.0, 195.0), semi_y=(95.0, 130.0), fat_mm=(4.0, 35.0), extra_fat_mm=(0.0, 45.0),
    fov_x=(330, 480), fov_y=(230, 340), head_r=(20.0, 29.0), sacrum_half_width=(40.0, 60.0), bowel_loops=(3, 18),
    loop_radius=(8.0, 26.0), loop_gas_p=0.5, gas_level=(0.1, 0.9), rectum_r=(8.0, 22.0), rectum_gas_p=0.5,
    bladder_radii=((20.0, 65.0), (15.0, 55.0), (12.0, 50.0)),
)
#: Outside the engine's ranges: very obese, a very full bladder, large gas in wide bowel loops and rectum.
UNSEEN_PELVIS = PelvisAnatomy(
    "unseen", semi_x=(150.0, 190.0), semi_y=(100.0, 125.0), fat_mm=(30.0, 40.0), extra_fat_mm=(50.0, 65.0),
    fov_x=(420, 520), fov_y=(300, 380), bowel_loops=(8, 14), loop_radius=(26.0, 32.0), loop_gas_p=0.9,
    gas_level=(0.9, 0.97), rectum_r=(22.0, 26.0), rectum_gas_p=1.0,
    bladder_radii=((66.0, 75.0), (56.0, 62.0), (51.0, 56.0)),
)
PELVIS_ANATOMIES = {a.name: a for a in (DEFAULT_PELVIS, ENGINE_PELVIS, UNSEEN_PELVIS)}


@dataclass(frozen=True)
class BrainAnatomy:
    """The ranges a head's anatomy is drawn from (mm; ``*_scale``: a factor on the default's sizes). As for the
    pelvis: :data:`DEFAULT_BRAIN` draws exactly as the generator always has, the engine trains on
    :data:`ENGINE_BRAIN`, and :data:`UNSEEN_BRAIN` (case ids ``1BU...``) lies outside it."""

    name: str
    skin: tuple[float, float] = (2.5, 4.0)
    scalp: tuple[float, float] = (4.0, 7.0)  # skin + scalp fat over the skull
    skull: tuple[float, float] = (5.0, 9.0)  # tables and diploe
    table: tuple[float, float] = (1.5, 2.5)  # each cortical table
    csf: tuple[float, float] = (2.0, 4.0)  # sulcal CSF over the cortex
    grey: tuple[float, float] = (3.0, 5.0)
    ventricle_scale: tuple[float, float] = (1.0, 1.0)
    sinus_scale: tuple[float, float] = (1.0, 1.0)
    eye_r: tuple[float, float] = (11.0, 12.5)


DEFAULT_BRAIN = BrainAnatomy("default")
ENGINE_BRAIN = BrainAnatomy(
    "engine", skin=(1.5, 4.5), scalp=(3.0, 12.0), skull=(3.5, 11.0), table=(1.0, 3.0), csf=(1.0, 6.0),
    grey=(2.5, 5.5), ventricle_scale=(0.6, 1.7), sinus_scale=(0.6, 1.4), eye_r=(10.5, 13.0),
)
#: Outside the engine's ranges: a thick skull, thick scalp fat, large ventricles, wide sulci.
UNSEEN_BRAIN = BrainAnatomy(
    "unseen", scalp=(12.5, 14.0), skull=(11.5, 12.5), table=(3.0, 3.5), csf=(6.5, 7.5),
    ventricle_scale=(1.8, 2.1),
)
BRAIN_ANATOMIES = {a.name: a for a in (DEFAULT_BRAIN, ENGINE_BRAIN, UNSEEN_BRAIN)}
ANATOMIES = ("default", "unseen")  # what make_case and the command offer (the engine's is for training only)
#: The unseen-anatomy held-out cases' anatomy is drawn from ``default_rng([seed, UNSEEN_STREAM])``.
UNSEEN_STREAM = 3


# --------------------------------------------------------------------------- #
# Case container and public API
# --------------------------------------------------------------------------- #
@dataclass
class PhantomCase:
    """One generated case: images share size, spacing, origin and direction."""

    case_id: str
    region: str  # "Pelvis" or "Brain"
    mr: sitk.Image  # int16, arbitrary units
    ct: sitk.Image  # int16, HU
    mask: sitk.Image  # uint8, 0/1 body mask
    uuid: str
    #: Tissue label map (z, y, x), values of :class:`Tissue`; for tests/analysis.
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: Planning structures, uint8 0/1 on the CT's grid: "target" and organs at risk (pelvis: bladder, rectum;
    #: brain: brain, eye_right, eye_left), for dose evaluation (tools.dose). Drawn from the anatomy, no randomness
    #: of their own: the images are those of a generator without them.
    structures: dict[str, sitk.Image] = field(default_factory=dict, repr=False, compare=False)
    acquisition: str = "default"  # name of the MR acquisition, one of ACQUISITIONS


def case_id_for(region: str, seed: int, acquisition: str = "default", anatomy: str = "default") -> str:
    """SynthRAD-like case id, e.g. ``1PX0007``: the third letter is the phantom "centre", X for the default
    acquisition, Y for the second centre (``1PY0007``), Z for the second centre with T2-bright urine, U for the
    unseen anatomy (``1PU0007``)."""
    prefix = CASE_PREFIX[_canonical_region(region)]
    centre = "U" if anatomy == "unseen" else _acquisition(acquisition).centre
    return f"{prefix[:-1]}{centre}{seed:04d}"


# ``--synthrad-size``: the pelvis on a finer grid, the same anatomy in mm, so that the largest field of view
# (64 x 290 x 420 voxels at 2.5 x 1 x 1 mm) becomes SynthRAD2023's largest pelvis volume, 153 x 410 x 586 voxels
# (z, y, x) - for measuring training at scale (tools.bench --training-data).
SYNTHRAD_SCALE = (586 / 420, 586 / 420, 153 / 64)  # (x, y, z) voxels per phantom voxel


def make_case(region: str, seed: int, synthrad_size: bool = False, acquisition: str = "default",
              anatomy: str = "default") -> PhantomCase:
    """Generate the phantom case of ``region`` ("pelvis"/"brain") for ``seed``; ``synthrad_size``: a pelvis on
    the finer grid of :data:`SYNTHRAD_SCALE` (the same random draws, so the same anatomy); ``acquisition``: one
    of :data:`ACQUISITIONS`, a variant replacing the default MR by one rendered from
    ``default_rng([seed, VARIANT_STREAM])`` (everything else is the default case's); ``anatomy="unseen"``: the
    whole case drawn from ``default_rng([seed, UNSEEN_STREAM])`` with :data:`UNSEEN_PELVIS`'s or
    :data:`UNSEEN_BRAIN`'s anatomy, outside what the data engine trains on."""
    region = _canonical_region(region)
    settings = _acquisition(acquisition)
    if region not in settings.regions:
        raise ValueError(f"acquisition {acquisition!r} is for {' and '.join(settings.regions)}, not {region}")
    if anatomy not in ANATOMIES:
        raise ValueError(f"unknown anatomy {anatomy!r}, expected one of {', '.join(ANATOMIES)}")
    if anatomy != "default" and settings is not DEFAULT_ACQUISITION:
        raise ValueError(f"anatomy {anatomy!r} is drawn with the default acquisition")
    rng = np.random.default_rng(seed if anatomy == "default" else [seed, UNSEEN_STREAM])
    if region == "Pelvis":
        labels, spacing, structures = _pelvis_labels(rng, SYNTHRAD_SCALE if synthrad_size else (1.0, 1.0, 1.0),
                                                     PELVIS_ANATOMIES[anatomy])
    else:
        labels, spacing = _brain_labels(rng, BRAIN_ANATOMIES[anatomy])
        structures = _brain_structures(labels, spacing)
    ct = _render_ct(labels, rng)
    mr = _render_mr(labels, rng)
    if settings is not DEFAULT_ACQUISITION:
        mr = _render_mr(labels, np.random.default_rng([seed, VARIANT_STREAM]), settings)
    mask = _body_mask(labels, rng)
    case_uuid = str(uuid.UUID(bytes=rng.bytes(16), version=4))
    origin, direction = _random_header(rng)
    images = [_to_image(a, spacing, origin, direction) for a in (mr, ct, mask)]
    structures = {name: _to_image(m.astype(np.uint8), spacing, origin, direction) for name, m in structures.items()}
    return PhantomCase(
        case_id=case_id_for(region, seed, acquisition, anatomy),
        region=region,
        mr=images[0],
        ct=images[1],
        mask=images[2],
        uuid=case_uuid,
        labels=labels,
        structures=structures,
        acquisition=settings.name,
    )


def write_case(
    case: PhantomCase, out_dir: str | Path, layout: str = "dataset", fmt: str = "nii.gz"
) -> Path:
    """Write ``case`` below ``out_dir`` and return its case folder.

    ``layout="dataset"``: SynthRAD2023 layout ``<case>/{mr,ct,mask}.<fmt>``.
    ``layout="container"``: grand-challenge input folder
    ``<case>/images/{mri,body}/<uuid>.mha``, ``<case>/region.json`` and the
    ground truth ``<case>/ground-truth/<uuid>.mha`` (always .mha).
    Both: the planning structures in ``<case>/structures/<name>.<fmt>`` (.mha in the container layout).
    """
    case_dir = Path(out_dir) / case.case_id
    if layout == "dataset":
        files = {f"mr.{fmt}": case.mr, f"ct.{fmt}": case.ct, f"mask.{fmt}": case.mask}
    elif layout == "container":
        name = f"{case.uuid}.mha"
        files = {
            f"images/mri/{name}": case.mr,
            f"images/body/{name}": case.mask,
            f"ground-truth/{name}": case.ct,
        }
    else:
        raise ValueError(f"unknown layout {layout!r}")
    suffix = fmt if layout == "dataset" else "mha"
    files.update({f"structures/{name}.{suffix}": image for name, image in case.structures.items()})
    for rel, image in files.items():
        path = case_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(image, str(path), useCompression=True)
    if layout == "container":
        with open(case_dir / "region.json", "w") as f:
            json.dump(case.region, f)
    return case_dir


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point: generate ``--cases`` cases from ``--seed`` on."""
    parser = argparse.ArgumentParser(prog="python -m tools.phantom",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", required=True, choices=sorted(REGIONS))
    parser.add_argument("--cases", type=int, default=1, help="number of cases")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first case")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--layout", choices=("dataset", "container"), default="dataset")
    parser.add_argument(
        "--format", choices=("nii.gz", "mha"), default="nii.gz",
        help="file format of the dataset layout (container layout is always .mha)",
    )
    parser.add_argument("--synthrad-size", action="store_true",
                        help="pelvis only: SynthRAD-sized volumes, up to 153 x 410 x 586 voxels (a finer grid)")
    parser.add_argument("--acquisition", choices=ACQUISITIONS, default="default",
                        help="MR acquisition: the training data's (default) or a second centre's (case ids 1PY..., "
                             "with T2-bright urine 1PZ..., pelvis only); CT, mask and anatomy are the default's")
    parser.add_argument("--anatomy", choices=ANATOMIES, default="default",
                        help="'unseen' draws anatomy outside the data engine's training ranges, a held-out set (pelvis: "
                             "very obese, a very full bladder, large gas; brain: thick skull and scalp fat, large "
                             "ventricles, wide sulci; case ids 1PU..., 1BU...)")
    args = parser.parse_args(argv)
    region = _canonical_region(args.region)
    if args.synthrad_size and region != "Pelvis":
        parser.error("--synthrad-size is for the pelvis")
    if region not in MR_ACQUISITIONS[args.acquisition].regions:
        parser.error(f"--acquisition {args.acquisition} is for the pelvis")
    if args.anatomy != "default" and args.acquisition != "default":
        parser.error("--anatomy unseen is drawn with the default acquisition")
    for i in range(args.cases):
        case = make_case(args.region, args.seed + i, synthrad_size=args.synthrad_size,
                         acquisition=args.acquisition, anatomy=args.anatomy)
        case_dir = write_case(case, args.out, layout=args.layout, fmt=args.format)
        print(f"{case.case_id} {case.region} size={case.ct.GetSize()} -> {case_dir}")


def _canonical_region(region: str) -> str:
    """Map "pelvis"/"Pelvis"/"brain"/"Brain" to "Pelvis"/"Brain"."""
    try:
        return REGIONS[region.lower()]
    except KeyError:
        raise ValueError(f"unknown region {region!r}, expected pelvis or brain") from None


def _acquisition(name: str) -> MRAcquisition:
    """The settings of the MR acquisition ``name`` (one of :data:`ACQUISITIONS`)."""
    try:
        return MR_ACQUISITIONS[name]
    except KeyError:
        raise ValueError(f"unknown acquisition {name!r}, expected one of {', '.join(ACQUISITIONS)}") from None


# --------------------------------------------------------------------------- #
# Coordinate grid and solids
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Grid:
    """Voxel-centre coordinates (mm, float32) of an array in (z, y, x) order."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray

    @classmethod
    def centred(cls, size_xyz, spacing_xyz, shift_xyz) -> "Grid":
        """x and y centred on the array (plus shift), z counted from the first slice."""
        axes = []
        for axis, (n, s, d) in enumerate(zip(size_xyz, spacing_xyz, shift_xyz)):
            centre = 0.0 if axis == 2 else (n - 1) / 2.0
            axes.append(((np.arange(n) - centre) * s + d).astype(np.float32))
        return cls(*axes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (nz, ny, nx)."""
        return (len(self.z), len(self.y), len(self.x))

    def crop(self, lo, hi):
        """Slices (z, y, x) and broadcastable X, Y, Z covering the box lo..hi (x, y, z mm)."""
        ranges = [
            slice(int(np.searchsorted(ax, l, "left")), int(np.searchsorted(ax, h, "right")))
            for ax, l, h in zip((self.x, self.y, self.z), lo, hi)
        ]
        sl = (ranges[2], ranges[1], ranges[0])
        return (
            sl,
            self.x[ranges[0]][None, None, :],
            self.y[ranges[1]][None, :, None],
            self.z[ranges[2]][:, None, None],
        )

    def full(self):
        """Broadcastable X, Y, Z of the whole grid."""
        return self.x[None, None, :], self.y[None, :, None], self.z[:, None, None]


class Shape(Protocol):
    """A solid: bounding box (x, y, z mm) and approximate depth (mm, > 0 inside)."""

    def bounds(self) -> tuple[np.ndarray, np.ndarray]: ...

    def depth(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray: ...


def _ellipsoidal_depth(offsets, radii, scale=1.0):
    """Approximate depth below the surface rho = scale of an axis-aligned ellipsoid.

    ``offsets`` are coordinates relative to the centre, ``radii`` the semi-axes
    (scalars or broadcastable arrays).  The depth is measured along the ray from
    the centre, which is exact for spheres and close for moderate eccentricity.
    """
    rho2 = sum((o / r) ** 2 for o, r in zip(offsets, radii))
    dist2 = sum(o**2 for o in offsets)
    centre = rho2 < 1e-12
    ratio = np.sqrt(dist2 / np.where(centre, np.float32(1.0), rho2))
    ratio = np.where(centre, functools.reduce(np.minimum, radii), ratio)
    return (scale - np.sqrt(rho2)) * ratio


@dataclass(frozen=True)
class Ellipsoid:
    """Axis-aligned ellipsoid (a sphere when all radii are equal)."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]

    def bounds(self):
        c, r = np.asarray(self.centre), np.asarray(self.radii)
        return c - r, c + r

    def depth(self, x, y, z):
        offsets = (x - self.centre[0], y - self.centre[1], z - self.centre[2])
        return _ellipsoidal_depth(offsets, self.radii)


@dataclass(frozen=True)
class Capsule:
    """Cylinder of ``radius`` around the segment a-b, with spherical caps."""

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    radius: float

    def bounds(self):
        a, b = np.asarray(self.a), np.asarray(self.b)
        return np.minimum(a, b) - self.radius, np.maximum(a, b) + self.radius

    def depth(self, x, y, z):
        a, ab = np.asarray(self.a), np.asarray(self.b) - np.asarray(self.a)
        p = (x - a[0], y - a[1], z - a[2])
        t = np.clip(sum(pi * ab[i] for i, pi in enumerate(p)) / float(ab @ ab), 0.0, 1.0)
        dist2 = sum((pi - t * ab[i]) ** 2 for i, pi in enumerate(p))
        return self.radius - np.sqrt(dist2)


@dataclass(frozen=True)
class SphericalShell:
    """Spherical shell between radii ``inner`` and ``outer`` around ``centre``."""

    centre: tuple[float, float, float]
    inner: float
    outer: float

    def bounds(self):
        c = np.asarray(self.centre)
        return c - self.outer, c + self.outer

    def depth(self, x, y, z):
        c = self.centre
        r = np.sqrt((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2)
        return np.minimum(self.outer - r, r - self.inner)


@dataclass(frozen=True)
class HalfSpace:
    """Half space ``coordinate < value`` (sign +1) or ``coordinate > value`` (sign -1)."""

    axis: int  # 0 = x, 1 = y, 2 = z
    value: float
    sign: int

    def bounds(self):
        lo, hi = np.full(3, -np.inf), np.full(3, np.inf)
        (hi if self.sign > 0 else lo)[self.axis] = self.value
        return lo, hi

    def depth(self, x, y, z):
        return self.sign * (self.value - (x, y, z)[self.axis])


@dataclass(frozen=True)
class Intersection:
    """Intersection of solids (minimum of their depths)."""

    shapes: tuple

    def bounds(self):
        boxes = [s.bounds() for s in self.shapes]
        return np.max([b[0] for b in boxes], axis=0), np.min([b[1] for b in boxes], axis=0)

    def depth(self, x, y, z):
        return functools.reduce(np.minimum, (s.depth(x, y, z) for s in self.shapes))


def _paint(labels, grid: Grid, shape: Shape, tissue, margin=0.0, where=None) -> None:
    """Set ``labels`` to ``tissue`` where depth > margin (and the full-grid ``where``)."""
    sl, x, y, z = grid.crop(*shape.bounds())
    view = labels[sl]
    if view.size == 0:
        return
    inside = np.broadcast_to(shape.depth(x, y, z) > margin, view.shape)
    if where is not None:
        inside = inside & where[sl]
    view[inside] = tissue


def _accumulate_union(field_, grid: Grid, shape: Shape) -> None:
    """field_ = max(field_, depth of ``shape``): union of solids as a depth field."""
    sl, x, y, z = grid.crop(*shape.bounds())
    view = field_[sl]
    if view.size:
        np.maximum(view, np.broadcast_to(shape.depth(x, y, z), view.shape), out=view)


def _paint_bone(labels, depth, cortex_mm, where) -> None:
    """Cortical shell of thickness ``cortex_mm`` with marrow inside, from a depth field."""
    bone = (depth > 0) & where
    labels[bone] = Tissue.CORTICAL
    labels[bone & (depth > cortex_mm)] = Tissue.MARROW


# --------------------------------------------------------------------------- #
# Pelvis
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class PelvisBody:
    """Axial ellipse with a smooth angular perturbation, slow z variation and a flat back."""

    semi_x: float
    semi_y: float
    harmonics: np.ndarray  # (k, 2): cos/sin amplitudes of orders 2.. on the radius
    z_slope: tuple[float, float]  # relative size change per unit height (x, y)
    height: float
    back_y: float  # posterior flattening (patient lies on the table)

    def extent(self) -> tuple[float, float]:
        """Largest x and |y| reached by the outline (for choosing the FOV)."""
        grow = 1.0 + np.abs(self.harmonics).sum()
        zs = 1.0 + 0.5 * np.abs(np.asarray(self.z_slope))
        return self.semi_x * grow * zs[0], self.semi_y * grow * zs[1]

    def angular_scale(self, x, y) -> np.ndarray:
        """Relative outline radius as a function of the (normalised) polar angle."""
        theta = np.arctan2(y / self.semi_y, x / self.semi_x)
        scale = np.ones_like(theta)
        for order, (c, s) in enumerate(self.harmonics, start=2):
            scale += c * np.cos(order * theta) + s * np.sin(order * theta)
        return scale

    def depth(self, x, y, z):
        rel = z / self.height - 0.5
        semi_x = self.semi_x * (1.0 + self.z_slope[0] * rel)
        semi_y = self.semi_y * (1.0 + self.z_slope[1] * rel)
        outline = _ellipsoidal_depth((x, y), (semi_x, semi_y), self.angular_scale(x, y))
        return np.minimum(outline, self.back_y - y)


@dataclass(frozen=True)
class IliacWing:
    """Curved bony plate along an elliptic arc, flaring laterally towards the crest."""

    side: int  # +1: x > 0, -1: x < 0
    centre: tuple[float, float]  # (lateral offset, y) of the arc ellipse
    semi_axes: tuple[float, float]  # at the crest
    z_range: tuple[float, float]
    arc: tuple[float, float]  # polar angles (rad) of the ends, 0 = lateral, pi/2 = posterior
    half_thickness: float
    low_scale: float = 0.7  # relative size of the arc at the bottom

    def bounds(self):
        cx, cy = self.centre
        ax, ay = self.semi_axes[0] + self.half_thickness, self.semi_axes[1] + self.half_thickness
        xs = sorted((self.side * (cx - ax), self.side * (cx + ax)))
        return (
            np.array([xs[0], cy - ay, self.z_range[0]]),
            np.array([xs[1], cy + ay, self.z_range[1]]),
        )

    def depth(self, x, y, z):
        z0, z1 = self.z_range
        grow = self.low_scale + (1 - self.low_scale) * np.clip((z - z0) / (z1 - z0), 0, 1)
        lx, ly = self.side * x - self.centre[0], y - self.centre[1]
        axes = (self.semi_axes[0] * grow, self.semi_axes[1] * grow)
        across = self.half_thickness - np.abs(_ellipsoidal_depth((lx, ly), axes))
        phi = np.arctan2(ly * self.semi_axes[0], lx * self.semi_axes[1])
        along = np.minimum(phi - self.arc[0], self.arc[1] - phi) * np.sqrt(lx**2 + ly**2)
        return np.minimum(np.minimum(across, along), np.minimum(z - z0, z1 - z))


@dataclass(frozen=True)
class Sacrum:
    """Posterior midline wedge, wide at the top, curving forward to the coccyx."""

    y_centre: float
    half_width: float  # at the top
    half_depth: float
    z_range: tuple[float, float]
    curve: float  # anterior shift (mm) of the tip

    def bounds(self):
        z0, z1 = self.z_range
        return (
            np.array([-self.half_width, self.y_centre - self.curve - self.half_depth, z0]),
            np.array([self.half_width, self.y_centre + self.half_depth, z1]),
        )

    def depth(self, x, y, z):
        z0, z1 = self.z_range
        u = np.clip((z - z0) / (z1 - z0), 0, 1)
        w = self.half_width * (0.35 + 0.65 * u)
        h = self.half_depth * (0.6 + 0.4 * u)
        dy = y - (self.y_centre - self.curve * (1 - u) ** 2)
        body = _ellipsoidal_depth((x, dy), (w, h))
        canal = _ellipsoidal_depth((x, dy - 0.3 * h), (0.22 * w, 0.3 * h))
        return np.minimum(np.minimum(body, -canal), np.minimum(z - z0, z1 - z))


def _pelvis_labels(rng, scale=(1.0, 1.0, 1.0), anatomy: PelvisAnatomy = DEFAULT_PELVIS
                   ) -> tuple[np.ndarray, tuple[float, float, float], dict[str, np.ndarray]]:
    """Draw a pelvis field of view, its tissue label map and its planning structures from ``anatomy``'s ranges;
    ``scale``: voxels per default voxel along (x, y, z) (the field of view in mm stays the one drawn)."""
    a = anatomy
    nz = int(rng.integers(40, 65))
    semi_y = rng.uniform(*a.semi_y)
    body = PelvisBody(
        semi_x=rng.uniform(*a.semi_x),
        semi_y=semi_y,
        harmonics=rng.uniform(-0.008, 0.008, size=(3, 2)),
        z_slope=tuple(rng.uniform(-0.1, 0.1, size=2)),
        height=nz * PELVIS_SPACING[2],
        back_y=semi_y * rng.uniform(0.85, 0.95),
    )
    # obesity: the outline grows by the extra fat, the skeleton and viscera are placed in the lean body
    extra = _draw(rng, a.extra_fat_mm)
    outline = replace(body, semi_x=body.semi_x + extra, semi_y=body.semi_y + extra, back_y=body.back_y + extra)
    ext_x, ext_y = outline.extent()
    nx = int(np.clip(round(2 * ext_x + rng.uniform(16, 40)), *a.fov_x))
    ny = int(np.clip(round(ext_y + outline.back_y + rng.uniform(16, 40)), *a.fov_y))
    # shift so that the FOV is centred on the body's AP extent, plus a small offset
    shift = (rng.uniform(-5, 5), (outline.back_y - ext_y) / 2 + rng.uniform(-5, 5), 0.0)
    spacing = tuple(s / f for s, f in zip(PELVIS_SPACING, scale))
    grid = Grid.centred(tuple(round(n * f) for n, f in zip((nx, ny, nz), scale)), spacing, shift)

    x, y, z = grid.full()
    depth = outline.depth(x, y, z).astype(np.float32)
    skin = rng.uniform(1.5, 2.5)
    fat_thickness = rng.uniform(*a.fat_mm) * (1 + 0.3 * np.cos(
        np.arctan2(y, x) - rng.uniform(-np.pi, np.pi))) + extra
    labels = np.where(depth > 0, Tissue.SOFT, Tissue.AIR).astype(np.uint8)
    labels[(depth > skin) & (depth <= fat_thickness)] = Tissue.FAT
    inner = depth > fat_thickness + 3

    bones = _pelvis_bones(body, fat_thickness.mean() - extra, rng, a)
    bladder, rectum = _pelvis_viscera(labels, grid, body, bones, inner, rng, a)
    bone_depth = np.full(grid.shape, -1e3, np.float32)
    for shape in bones.solids:
        _accumulate_union(bone_depth, grid, shape)
    _paint_bone(labels, bone_depth, rng.uniform(2, 4), where=depth > skin + 2)
    return labels, spacing, _pelvis_structures(grid, bladder, rectum, inner)


# The pelvis phantom's target: a prostate-like sphere of this radius (mm) between the bladder's base and the rectum.
PELVIS_TARGET_RADIUS = 20.0


def _pelvis_structures(grid, bladder, rectum, inner) -> dict[str, np.ndarray]:
    """Bladder and rectum as drawn (their walls included), and a target sphere centred halfway between the
    bladder's posterior wall and the rectum's anterior wall, at the height of the bladder's lower part - all
    inside the pelvic cavity."""
    x, y, z = grid.full()
    height = bladder.centre[2] - 0.6 * bladder.radii[2]
    a, b = np.asarray(rectum.a), np.asarray(rectum.b)
    t = float(np.clip((height - a[2]) / (b[2] - a[2]), 0.0, 1.0)) if b[2] != a[2] else 0.0
    rectum_y = a[1] + t * (b[1] - a[1])
    between = 0.5 * ((bladder.centre[1] + bladder.radii[1]) + (rectum_y - rectum.radius))
    target = Ellipsoid((bladder.centre[0], between, height), (PELVIS_TARGET_RADIUS,) * 3)
    return {"target": (target.depth(x, y, z) > 0) & inner, "bladder": (bladder.depth(x, y, z) > 0) & inner,
            "rectum": (rectum.depth(x, y, z) > 0) & inner}


@dataclass(frozen=True)
class PelvisBones:
    """Bony solids of the pelvis and the landmarks the viscera are placed against."""

    solids: list
    head_z: float  # height of the femoral head centres
    symphysis: tuple[float, float, float]  # right end of the pubic symphysis
    sacrum: Sacrum


def _pelvis_bones(body: PelvisBody, fat: float, rng, anatomy: PelvisAnatomy = DEFAULT_PELVIS) -> PelvisBones:
    """Femora, acetabula, ilia, pubic and ischial rami and sacrum (both sides)."""
    a, b = body.semi_x, body.semi_y
    head_x = float(np.clip(a * rng.uniform(0.52, 0.6), 85, 100))
    head_y = b * rng.uniform(-0.15, 0.0)
    head_z = rng.uniform(35, 50)
    head_r = rng.uniform(*anatomy.head_r)
    ramus_r = rng.uniform(8, 10)
    symphysis = (ramus_r + rng.uniform(1.5, 3), -(b - fat - rng.uniform(20, 30)),
                 head_z - rng.uniform(5, 15))
    ischium = (head_x - rng.uniform(15, 25), head_y + rng.uniform(25, 35),
               head_z - rng.uniform(30, 40))
    trochanter = (head_x + rng.uniform(35, 45), head_y + rng.uniform(5, 15),
                  head_z - rng.uniform(25, 35))
    knee_x = head_x + rng.uniform(20, 30)
    wing_cx = a * rng.uniform(0.25, 0.32)
    wing_cy = b * rng.uniform(0.0, 0.1)
    wing_a = (head_x + 5 - wing_cx) / 0.7
    wing_b = b * rng.uniform(0.4, 0.5)
    wing_z = (head_z + 15, head_z + rng.uniform(90, 130))
    wing_arc = np.deg2rad((rng.uniform(-45, -35), rng.uniform(110, 120)))
    wing_half = rng.uniform(5.5, 8)
    neck_r, shaft_r, troch_r = head_r * 0.6, rng.uniform(13, 16), rng.uniform(16, 20)

    solids = []
    for s in (1, -1):
        head = (s * head_x, head_y, head_z)
        solids += [
            Ellipsoid(head, (head_r,) * 3),
            Capsule(head, (s * trochanter[0], *trochanter[1:]), neck_r),
            Ellipsoid((s * trochanter[0], *trochanter[1:]), (troch_r,) * 3),
            Capsule((s * (trochanter[0] - 5), *trochanter[1:]),
                    (s * knee_x, head_y + 10, head_z - 250), shaft_r),
            Intersection((SphericalShell(head, head_r + 2, head_r + 10),
                          HalfSpace(0, s * (head_x + 0.35 * head_r), s))),
            Capsule((s * (head_x - 8), head_y + 5, head_z + 10),
                    (s * (head_x - 5), wing_cy + 0.3 * wing_b, wing_z[0] + 15), 14.0),
            IliacWing(s, (wing_cx, wing_cy), (wing_a, wing_b), wing_z, tuple(wing_arc),
                      wing_half),
            Capsule((s * (head_x - 10), head_y - 0.6 * head_r, head_z + 3),
                    (s * symphysis[0], *symphysis[1:]), ramus_r),
            Capsule((s * symphysis[0], symphysis[1], symphysis[2] - 10),
                    (s * ischium[0], *ischium[1:]), ramus_r),
            Capsule((s * (head_x - 5), head_y + 0.6 * head_r, head_z - 5),
                    (s * ischium[0], *ischium[1:]), rng.uniform(11, 14)),
            Ellipsoid((s * ischium[0], *ischium[1:]), (14.0,) * 3),
        ]
    sacrum = Sacrum(
        y_centre=wing_cy + 0.9 * wing_b,
        half_width=rng.uniform(*anatomy.sacrum_half_width),
        half_depth=rng.uniform(12, 18),
        z_range=(head_z - rng.uniform(10, 20), wing_z[1] + 20),
        curve=rng.uniform(10, 20),
    )
    solids.append(sacrum)
    return PelvisBones(solids, head_z, symphysis, sacrum)


def _pelvis_viscera(labels, grid, body, bones, inner, rng, anatomy: PelvisAnatomy = DEFAULT_PELVIS) -> None:
    """Paint pelvic-cavity fat, psoas muscles, bowel loops with gas, rectum and bladder; returns the bladder and
    the rectum solids."""
    a, b = body.semi_x, body.semi_y
    head_z, symphysis, sacrum = bones.head_z, bones.symphysis, bones.sacrum
    cavity = Intersection((
        Ellipsoid((0, b * rng.uniform(-0.15, 0), head_z + 120),
                  (a * rng.uniform(0.35, 0.45), b * rng.uniform(0.45, 0.55), 160)),
        HalfSpace(2, head_z - 10, -1),
    ))
    _paint(labels, grid, cavity, Tissue.FAT, where=inner)
    for s in (1, -1):
        psoas = Capsule((s * rng.uniform(35, 50), b * rng.uniform(0.1, 0.25), head_z + 30),
                        (s * rng.uniform(45, 60), b * rng.uniform(0.0, 0.15), head_z + 400),
                        rng.uniform(15, 22))
        _paint(labels, grid, psoas, Tissue.SOFT, where=inner)

    n_loops = int(rng.integers(*anatomy.bowel_loops))
    for i in range(n_loops):
        loop = Ellipsoid(
            (a * rng.uniform(-0.35, 0.35), b * rng.uniform(-0.55, 0.1),
             rng.uniform(head_z + 25, body.height + 10)),
            tuple(rng.uniform(*anatomy.loop_radius, size=3)),
        )
        has_gas = rng.random() < anatomy.loop_gas_p or i < 2  # at least two loops hold gas
        _paint_bowel(labels, grid, loop, has_gas, rng, inner, anatomy.gas_level)

    tip_z = sacrum.z_range[0]
    rectum_r = rng.uniform(*anatomy.rectum_r)
    rectum = Capsule(
        (0.0, sacrum.y_centre - sacrum.curve - 0.6 * sacrum.half_depth - rectum_r - 6, tip_z - 20),
        (rng.uniform(-10, 10), sacrum.y_centre - sacrum.half_depth - rectum_r - 8, head_z + 50),
        rectum_r,
    )
    _paint(labels, grid, Capsule(rectum.a, rectum.b, rectum_r + rng.uniform(8, 15)),
           Tissue.FAT, where=inner)
    _paint_bowel(labels, grid, rectum, rng.random() < anatomy.rectum_gas_p, rng, inner, anatomy.gas_level)

    bladder = Ellipsoid(
        (0.0, symphysis[1] + rng.uniform(35, 45), head_z + rng.uniform(0, 20)),
        tuple(rng.uniform(*r) for r in anatomy.bladder_radii),
    )
    _paint(labels, grid, bladder, Tissue.SOFT, where=inner)
    _paint(labels, grid, bladder, Tissue.URINE, margin=2.0, where=inner)
    return bladder, rectum


def _paint_bowel(labels, grid, loop, has_gas, rng, where, gas_level=(0.4, 0.7)) -> None:
    """A bowel segment: soft-tissue wall, content and, optionally, a gas cap.

    The patient lies supine, so gas collects anteriorly (small y) above a
    horizontal gas-fluid level.
    """
    wall = 1.5
    _paint(labels, grid, loop, Tissue.SOFT, where=where)
    _paint(labels, grid, loop, Tissue.BOWEL, margin=wall, where=where)
    if has_gas:
        lo, hi = loop.bounds()
        level = lo[1] + (hi[1] - lo[1]) * rng.uniform(*gas_level)
        gas = Intersection((loop, HalfSpace(1, level, 1)))
        _paint(labels, grid, gas, Tissue.GAS, margin=wall, where=where)


# --------------------------------------------------------------------------- #
# Brain
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Head:
    """Ellipsoidal head (taller below the centre, reaching into the neck), perturbed."""

    semi_x: float
    semi_y: float
    semi_z_up: float
    semi_z_down: float
    centre_z: float
    perturbation: np.ndarray  # amplitudes of u, v, w, uv, uw, vw, u^2 - v^2

    def depth(self, x, y, z):
        dz = z - self.centre_z
        semi_z = np.where(dz >= 0, self.semi_z_up, self.semi_z_down).astype(np.float32)
        rho = np.sqrt((x / self.semi_x) ** 2 + (y / self.semi_y) ** 2 + (dz / semi_z) ** 2)
        rho = np.maximum(rho, 1e-6)
        u, v, w = x / self.semi_x / rho, y / self.semi_y / rho, dz / semi_z / rho
        basis = (u, v, w, u * v, u * w, v * w, u**2 - v**2)
        scale = 1.0 + sum(c * t for c, t in zip(self.perturbation, basis))
        return _ellipsoidal_depth((x, y, dz), (self.semi_x, self.semi_y, semi_z), scale)

    def front_y(self, x: float, z: float) -> float:
        """y of the (unperturbed) anterior surface at (x, z)."""
        dz = z - self.centre_z
        semi_z = self.semi_z_up if dz >= 0 else self.semi_z_down
        inside = 1 - (x / self.semi_x) ** 2 - (dz / semi_z) ** 2
        return -self.semi_y * float(np.sqrt(max(0.0, inside)))


@dataclass(frozen=True)
class BrainLayers:
    """Thicknesses (mm) of the layers from the skin inwards and the skull base plane."""

    skin: float
    scalp: float
    outer_table: float
    skull: float
    inner_table: float
    csf: float
    grey: float
    base_z: float  # skull-base height at y = 0
    base_slope: float  # base rises anteriorly by this many mm per mm
    base_curvature: float  # base dips laterally (middle cranial fossae), 1/mm
    base_thickness: float

    def base_height(self, x, y):
        """Height of the top of the skull base at (x, y).

        The anterior fossa is higher than the posterior one and the lateral
        (middle) fossae are lower than the midline.
        """
        return self.base_z - self.base_slope * y - self.base_curvature * x**2


def _brain_labels(rng, anatomy: BrainAnatomy = DEFAULT_BRAIN) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Draw a brain field of view and its tissue label map from ``anatomy``'s ranges."""
    a = anatomy
    head = Head(
        semi_x=rng.uniform(70, 85),
        semi_y=rng.uniform(88, 102),
        semi_z_up=rng.uniform(75, 88),
        semi_z_down=0.0,
        centre_z=0.0,
        perturbation=rng.uniform(-0.005, 0.005, size=7),
    )
    nx = int(np.clip(round(2 * head.semi_x * 1.04 + rng.uniform(10, 25)), 160, 200))
    ny = int(np.clip(round(2 * head.semi_y * 1.04 + rng.uniform(10, 25)), 190, 230))
    nz = int(rng.integers(160, 201))
    centre_z = nz - head.semi_z_up * 1.04 - rng.uniform(5, 15)
    head = replace(head, centre_z=centre_z,
                   semi_z_down=max(centre_z + 20, 1.2 * head.semi_z_up))
    grid = Grid.centred((nx, ny, nz), BRAIN_SPACING,
                        (rng.uniform(-4, 4), rng.uniform(-4, 4), 0.0))

    skull = rng.uniform(*a.skull)
    table_max = (skull - 1.5) / 2
    layers = BrainLayers(
        skin=rng.uniform(*a.skin), scalp=rng.uniform(*a.scalp),
        outer_table=min(rng.uniform(*a.table), table_max), skull=skull,
        inner_table=min(rng.uniform(*a.table), table_max),
        csf=rng.uniform(*a.csf), grey=rng.uniform(*a.grey),
        base_z=centre_z - head.semi_z_up * rng.uniform(0.25, 0.35),
        base_slope=rng.uniform(0.2, 0.3),
        base_curvature=rng.uniform(8, 15) / head.semi_x**2,
        base_thickness=rng.uniform(8, 14),
    )
    x, y, z = grid.full()
    depth = head.depth(x, y, z).astype(np.float32)
    labels = np.where(depth > 0, Tissue.SOFT, Tissue.AIR).astype(np.uint8)
    labels[(depth > layers.skin) & (depth <= layers.scalp)] = Tissue.FAT
    cavity = np.minimum(depth - layers.scalp - layers.skull,
                        (z - layers.base_height(x, y)) * (layers.skull / layers.base_thickness))
    _paint_skull_and_brain(labels, grid, head, depth, cavity, layers, rng, a)
    _paint_face_and_neck(labels, grid, head, depth, cavity, layers, rng, a)
    return labels, BRAIN_SPACING


# The brain phantom's target: a sphere of this radius (mm) in the white matter of one hemisphere.
BRAIN_TARGET_RADIUS = 15.0


def _brain_structures(labels: np.ndarray, spacing) -> dict[str, np.ndarray]:
    """From the label map: a target sphere centred on the white matter of the high-x hemisphere (inside the
    intracranial cavity), the brain (grey and white matter) outside it, and each eye's vitreous (the eye at low
    x is the patient's right in the LPS convention)."""
    head_x = np.nonzero(labels != Tissue.AIR)[2].mean()
    white = np.argwhere(labels == Tissue.WHITE)
    centre = white[white[:, 2] > head_x].mean(axis=0)
    zz, yy, xx = np.ogrid[tuple(slice(0, n) for n in labels.shape)]
    sz, sy, sx = (float(v) for v in spacing[::-1])
    sphere = ((zz - centre[0]) * sz) ** 2 + ((yy - centre[1]) * sy) ** 2 + ((xx - centre[2]) * sx) ** 2 < BRAIN_TARGET_RADIUS**2
    brain = np.isin(labels, (Tissue.GREY, Tissue.WHITE))
    target = sphere & (brain | (labels == Tissue.CSF))
    vitreous = labels == Tissue.VITREOUS
    low_x = np.zeros(labels.shape, bool)
    low_x[..., : int(round(head_x))] = True
    return {"target": target, "brain": brain & ~target, "eye_right": vitreous & low_x, "eye_left": vitreous & ~low_x}


def _paint_skull_and_brain(labels, grid, head, depth, cavity, layers, rng, anatomy=DEFAULT_BRAIN) -> None:
    """Skull (tables and diploe) around the intracranial cavity, CSF, cortex, WM, ventricles.

    ``cavity`` is the depth inside the intracranial cavity (negative in the skull).
    """
    x, y, z = grid.full()
    skull = (cavity > -layers.skull) & (cavity <= 0) & (depth > layers.scalp)
    labels[skull] = Tissue.DIPLOE
    table = (cavity + layers.skull < layers.outer_table) | (-cavity < layers.inner_table) | (
        depth - layers.scalp < layers.outer_table)
    labels[skull & table] = Tissue.CORTICAL

    freq = rng.uniform(0.15, 0.3, size=3)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    folding = (np.sin(freq[0] * x + phase[0]) * np.sin(freq[1] * y + phase[1])
               * np.sin(freq[2] * z + phase[2]))
    grey_limit = layers.csf + layers.grey * (1 + 0.4 * folding)
    labels[cavity > 0] = Tissue.CSF
    labels[cavity > layers.csf] = Tissue.GREY
    labels[cavity > grey_limit] = Tissue.WHITE

    centre_z = head.centre_z
    fissure = np.abs(x - rng.uniform(-2, 2))  # interhemispheric fissure with falx
    above = (z > centre_z + rng.uniform(10, 20)) & (cavity > 0)
    labels[above & (fissure < layers.grey + 1)] = Tissue.GREY
    labels[above & (fissure < rng.uniform(1, 2))] = Tissue.CSF

    deep = cavity > layers.csf + layers.grey + 3
    for s in (1, -1):
        nucleus = Ellipsoid((s * rng.uniform(18, 24), rng.uniform(-5, 5),
                             centre_z + rng.uniform(-5, 5)), tuple(rng.uniform(8, 12, 3)))
        _paint(labels, grid, nucleus, Tissue.GREY, where=deep)
        grow = _draw(rng, anatomy.ventricle_scale)
        ventricle = Ellipsoid((s * rng.uniform(6, 10), rng.uniform(-5, 10),
                               centre_z + rng.uniform(5, 15)),
                              (rng.uniform(4, 8) * grow, rng.uniform(22, 32) * grow, rng.uniform(7, 12) * grow))
        _paint(labels, grid, ventricle, Tissue.CSF, where=deep)
    _paint(labels, grid, Ellipsoid((0.0, rng.uniform(-5, 5), centre_z), (1.5, 10.0, 8.0)),
           Tissue.CSF, where=deep)


def _paint_face_and_neck(labels, grid, head, depth, cavity, layers, rng, anatomy=DEFAULT_BRAIN) -> None:
    """Structures below and in front of the cranial cavity."""
    in_body = depth > layers.scalp
    below_skull = (cavity <= -layers.skull) & in_body
    bone_depth = np.full(grid.shape, -1e3, np.float32)
    spine_y = _paint_cord_and_spine(labels, grid, head, layers, bone_depth, in_body, cavity, rng)
    eye = _paint_orbits(labels, grid, head, layers, bone_depth, in_body, rng, anatomy.eye_r)
    _paint_bone(labels, bone_depth, 1.5, where=in_body)
    _paint_airways(labels, grid, head, layers, eye, spine_y, in_body, below_skull, rng, anatomy.sinus_scale)


def _paint_cord_and_spine(labels, grid, head, layers, bone_depth, in_body, cavity, rng) -> float:
    """Brainstem and cord (in a CSF sheath) through the foramen magnum, vertebral column.

    The column is added to ``bone_depth``; returns its y position.
    """
    canal_y = head.semi_y * rng.uniform(0.05, 0.15)
    stem_top = (0.0, canal_y * 0.4, head.centre_z - 0.1 * head.semi_z_up)
    stem_bottom = (0.0, canal_y, NECK_BOTTOM_Z)
    cord_r = rng.uniform(6, 9)
    _paint(labels, grid, Capsule(stem_top, stem_bottom, cord_r + 3), Tissue.CSF,
           where=in_body & (cavity < layers.csf))
    _paint(labels, grid, Capsule(stem_top, stem_bottom, cord_r), Tissue.WHITE, where=in_body)

    base_below = layers.base_height(0.0, canal_y) - layers.base_thickness
    spine_y = canal_y - cord_r - 3 - rng.uniform(12, 16)
    column = Capsule((0.0, spine_y, base_below - rng.uniform(6, 10)),
                     (0.0, spine_y + 3, NECK_BOTTOM_Z), rng.uniform(8, 10))
    _accumulate_union(bone_depth, grid, column)
    return spine_y


def _paint_orbits(labels, grid, head, layers, bone_depth, in_body, rng, eye_r=(11.0, 12.5)) -> tuple:
    """Eyes (vitreous) in orbital fat with a posterior bony shell; returns the right eye.

    Returned as (x, y, z, radius); the orbit shells are added to ``bone_depth``.
    """
    eye_r = rng.uniform(*eye_r)
    eye_x = rng.uniform(28, 34)
    roof_z = layers.base_height(eye_x, -head.semi_y * 0.8) - layers.base_thickness
    eye_z = roof_z - eye_r - rng.uniform(4, 8)
    eye_y = head.front_y(eye_x, eye_z) + eye_r + layers.scalp + rng.uniform(0, 3)
    for s in (1, -1):
        eye = (s * eye_x, eye_y, eye_z)
        _paint(labels, grid, Ellipsoid(eye, (eye_r + 4,) * 3), Tissue.FAT, where=in_body)
        _accumulate_union(bone_depth, grid, Intersection((
            SphericalShell(eye, eye_r + 4, eye_r + 6), HalfSpace(1, eye_y, -1))))
        _paint(labels, grid, Ellipsoid(eye, (eye_r,) * 3), Tissue.VITREOUS, where=in_body)
    return eye_x, eye_y, eye_z, eye_r


def _paint_airways(labels, grid, head, layers, eye, spine_y, in_body, below_skull, rng, sinus_scale=(1.0, 1.0)) -> None:
    """Pharynx, nasal cavity and the sphenoid, maxillary and (usually) frontal sinuses.

    Sinuses are air ellipsoids inside a 2 mm cortical wall.
    """
    _, eye_y, eye_z, eye_r = eye
    airway_y = spine_y - 10 - rng.uniform(8, 14)
    nasal = (0.0, eye_y + rng.uniform(5, 15), eye_z - rng.uniform(15, 22))
    pharynx = Capsule((0.0, airway_y, NECK_BOTTOM_Z), (0.0, airway_y, nasal[2]), rng.uniform(5, 7))
    _paint(labels, grid, pharynx, Tissue.GAS, where=below_skull)
    _paint(labels, grid, Ellipsoid(nasal, (rng.uniform(6, 9), 25.0, 18.0)), Tissue.GAS,
           where=below_skull)

    base_below = layers.base_height(0.0, 0.0) - layers.base_thickness
    sinuses = [
        Ellipsoid((0.0, rng.uniform(-15, 0), base_below - rng.uniform(6, 10)),
                  (rng.uniform(10, 15), rng.uniform(10, 14), rng.uniform(8, 12))),
    ]
    maxillary_z = eye_z - eye_r - rng.uniform(12, 18)
    maxillary_radii = (rng.uniform(12, 16), rng.uniform(14, 18), rng.uniform(14, 20))
    for s in (1, -1):
        centre = (s * rng.uniform(25, 32), eye_y + rng.uniform(5, 15), maxillary_z)
        sinuses.append(Ellipsoid(centre, maxillary_radii))
    if rng.random() < 0.8:
        frontal_z = eye_z + eye_r + rng.uniform(12, 26)
        frontal_y = head.front_y(0.0, frontal_z) + layers.scalp + layers.skull / 2
        sinuses.append(Ellipsoid((0.0, frontal_y, frontal_z),
                                 (rng.uniform(8, 15), rng.uniform(4, 7), rng.uniform(6, 12))))
    grow = _draw(rng, sinus_scale)
    if grow != 1.0:
        sinuses = [Ellipsoid(sinus.centre, tuple(r * grow for r in sinus.radii)) for sinus in sinuses]
    for sinus in sinuses:
        wall = Ellipsoid(sinus.centre, tuple(r + 2 for r in sinus.radii))
        _paint(labels, grid, wall, Tissue.CORTICAL, where=in_body)
    for sinus in sinuses:
        _paint(labels, grid, sinus, Tissue.GAS, where=in_body)


# --------------------------------------------------------------------------- #
# Rendering: label map -> CT, MR, mask; header
# --------------------------------------------------------------------------- #
def _render_ct(labels: np.ndarray, rng) -> np.ndarray:
    """CT in HU (int16): per-case tissue values, partial-volume blur, noise."""
    lut = np.zeros(len(Tissue), np.float32)
    for tissue, (lo, hi) in CT_HU_RANGE.items():
        lut[tissue] = rng.uniform(lo, hi)
    hu = ndimage.gaussian_filter(lut[labels], CT_BLUR_SIGMA)
    hu += rng.standard_normal(hu.shape, dtype=np.float32) * np.float32(rng.uniform(10, 20))
    return np.clip(np.rint(hu), *HU_LIMITS).astype(np.int16)


def _render_mr(labels: np.ndarray, rng, acquisition: MRAcquisition = DEFAULT_ACQUISITION) -> np.ndarray:
    """T1-weighted-like MR (int16, arbitrary units) of the label map, acquired with ``acquisition``'s settings.

    Tissue intensities are jittered, blurred, given a nonlinear contrast, multiplied by
    a smooth bias field, corrupted by Rician noise and finally scaled by a random
    global factor.  The draws, in this order: the per-tissue factors, the tissues
    relative to fat, gamma, the blur sigmas, the bias field, the noise sigma, the
    noise, the scale (degenerate ranges draw nothing).
    """
    lut = np.zeros(len(Tissue), np.float32)
    for tissue, value in MR_T1.items():
        lut[tissue] = value * _draw(rng, *acquisition.contrast)
    for tissue, factor in acquisition.relative_to_fat:
        lut[tissue] = lut[Tissue.FAT] * _draw(rng, factor)
    gamma = _draw(rng, *acquisition.gamma)
    blur = (_draw(rng, acquisition.blur_z),) + (_draw(rng, acquisition.blur_yx),) * 2
    signal = ndimage.gaussian_filter(lut[labels], blur)
    if gamma != 1.0:
        peak = np.float32(signal.max())
        signal = peak * (signal / peak) ** np.float32(gamma)
    signal *= _bias_field(labels.shape, rng, acquisition.bias)
    sigma = np.float32(_draw(rng, acquisition.noise))
    real = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    magnitude = np.sqrt(real**2 + imag**2)
    magnitude *= np.float32(_draw(rng, acquisition.scale))
    return np.clip(np.rint(magnitude), 0, MR_MAX).astype(np.int16)


def _draw(rng, *ranges: tuple[float, float]) -> float:
    """A uniform draw from one of ``ranges`` (chosen at random where several); lo == hi draws nothing."""
    if len(ranges) > 1:
        ranges = (ranges[int(rng.integers(len(ranges)))],)
    ((lo, hi),) = ranges
    return lo if lo == hi else rng.uniform(lo, hi)


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


def _body_mask(labels: np.ndarray, rng) -> np.ndarray:
    """Body outline dilated in-plane by 1-2 voxels (uint8 0/1), like SynthRAD masks."""
    in_plane = ndimage.generate_binary_structure(2, 1)[None]
    mask = ndimage.binary_dilation(labels != Tissue.AIR, in_plane,
                                   iterations=int(rng.integers(1, 3)))
    return mask.astype(np.uint8)


def _random_header(rng) -> tuple[tuple[float, ...], tuple[float, ...]]:
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


def _to_image(array: np.ndarray, spacing, origin, direction) -> sitk.Image:
    """Wrap a (z, y, x) array as a SimpleITK image with the given header."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(direction)
    return image


if __name__ == "__main__":
    sys.exit(main())
