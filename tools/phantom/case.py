"""A phantom case: its id, its generation from a seed (geometry, label map, renderings, header) and its files."""
from __future__ import annotations

import importlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from tools.phantom.acquisition import DEFAULT_ACQUISITION, VARIANT_STREAM, mr_acquisition
from tools.phantom.head import BRAIN_ANATOMIES, brain_labels, brain_structures
from tools.phantom.pelvis import PELVIS_ANATOMIES, pelvis_labels
from tools.phantom.render import body_mask, random_header, render_ct, render_mr, to_image
from tools.phantom.shapes import Drawn
from tools.phantom.tissues import region_tissues

#: Region names the command and make_case take (any case), and the region each stands for (region.json's value).
REGIONS = {"pelvis": "Pelvis", "brain": "Brain", "head-and-neck": "Head and Neck", "head and neck": "Head and Neck",
           "headneck": "Head and Neck", "thorax": "Thorax", "abdomen": "Abdomen"}
CASE_PREFIX = {"Pelvis": "1PX", "Brain": "1BX", "Head and Neck": "1HNX", "Thorax": "1THX", "Abdomen": "1ABX"}
#: SynthRAD2025's regions: the module that draws each (``draw_labels(rng, scale, anatomy) -> Drawn`` and
#: ``ANATOMIES``). Their CT and MR draw a value for every tissue (tools.phantom.tissues.region_tissues).
SYNTHRAD2025_MODULES = {"Head and Neck": "tools.phantom.headneck", "Thorax": "tools.phantom.thorax",
                        "Abdomen": "tools.phantom.abdomen"}
ANATOMIES = ("default", "unseen")  # what make_case and the command offer (the engine's is for training only)
#: The unseen-anatomy held-out cases' anatomy is drawn from ``default_rng([seed, UNSEEN_STREAM])``.
UNSEEN_STREAM = 3


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
    prefix = CASE_PREFIX[canonical_region(region)]
    centre = "U" if anatomy == "unseen" else mr_acquisition(acquisition).centre
    return f"{prefix[:-1]}{centre}{seed:04d}"


# ``--synthrad-size``: the pelvis on a finer grid, the same anatomy in mm, so that the largest field of view
# (64 x 290 x 420 voxels at 2.5 x 1 x 1 mm) becomes SynthRAD2023's largest pelvis volume, 153 x 410 x 586 voxels
# (z, y, x) - for measuring training at scale (python -m tools.bench training-data).
SYNTHRAD_SCALE = (586 / 420, 586 / 420, 153 / 64)  # (x, y, z) voxels per phantom voxel


def make_case(region: str, seed: int, synthrad_size: bool = False, acquisition: str = "default",
              anatomy: str = "default") -> PhantomCase:
    """Generate the phantom case of ``region`` ("pelvis"/"brain") for ``seed``; ``synthrad_size``: a pelvis on
    the finer grid of :data:`SYNTHRAD_SCALE` (the same random draws, so the same anatomy); ``acquisition``: one
    of :data:`ACQUISITIONS`, a variant replacing the default MR by one rendered from
    ``default_rng([seed, VARIANT_STREAM])`` (everything else is the default case's); ``anatomy="unseen"``: the
    whole case drawn from ``default_rng([seed, UNSEEN_STREAM])`` with :data:`UNSEEN_PELVIS`'s or
    :data:`UNSEEN_BRAIN`'s anatomy, outside what the data engine trains on."""
    region = canonical_region(region)
    settings = mr_acquisition(acquisition)
    if region not in settings.regions:
        raise ValueError(f"acquisition {acquisition!r} is for {' and '.join(settings.regions)}, not {region}")
    if anatomy not in ANATOMIES:
        raise ValueError(f"unknown anatomy {anatomy!r}, expected one of {', '.join(ANATOMIES)}")
    if anatomy != "default" and settings is not DEFAULT_ACQUISITION:
        raise ValueError(f"anatomy {anatomy!r} is drawn with the default acquisition")
    rng = np.random.default_rng(seed if anatomy == "default" else [seed, UNSEEN_STREAM])
    drawn = _draw_labels(region, rng, synthrad_size, anatomy)
    labels, spacing = drawn.labels, drawn.spacing
    tissues = region_tissues(region)
    ct = render_ct(labels, rng, tissues, drawn.ct_artefact)
    mr = render_mr(labels, rng, tissues=tissues)
    if settings is not DEFAULT_ACQUISITION:
        mr = render_mr(labels, np.random.default_rng([seed, VARIANT_STREAM]), settings, tissues)
    mask = body_mask(labels, rng)
    case_uuid = str(uuid.UUID(bytes=rng.bytes(16), version=4))
    origin, direction = random_header(rng)
    images = [to_image(a, spacing, origin, direction) for a in (mr, ct, mask)]
    structures = {name: to_image(m.astype(np.uint8), spacing, origin, direction)
                  for name, m in drawn.structures.items()}
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


def region_module(region: str):
    """The module that draws a SynthRAD2025 region's anatomy (imported when first asked for)."""
    return importlib.import_module(SYNTHRAD2025_MODULES[canonical_region(region)])


def _draw_labels(region: str, rng, synthrad_size: bool, anatomy: str) -> Drawn:
    """The region's label map, spacing and structures (and CT artefact) of ``anatomy``, the first draws of a case."""
    if region in SYNTHRAD2025_MODULES:
        module = region_module(region)
        return module.draw_labels(rng, (1.0, 1.0, 1.0), module.ANATOMIES[anatomy])
    if region == "Pelvis":
        return Drawn(*pelvis_labels(rng, SYNTHRAD_SCALE if synthrad_size else (1.0, 1.0, 1.0),
                                    PELVIS_ANATOMIES[anatomy]))
    labels, spacing = brain_labels(rng, BRAIN_ANATOMIES[anatomy])
    return Drawn(labels, spacing, brain_structures(labels, spacing))


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


def canonical_region(region: str) -> str:
    """Map a region name in any case ("pelvis", "Head and Neck", "head-and-neck", "thorax", ...) to region.json's
    ("Pelvis", "Brain", "Head and Neck", "Thorax", "Abdomen")."""
    try:
        return REGIONS[region.lower()]
    except KeyError:
        raise ValueError(f"unknown region {region!r}, expected one of "
                         f"{', '.join(sorted(set(REGIONS.values())))}") from None
