"""Deterministic MR / CT / body-mask phantoms: SynthRAD2023 Task 1's regions (pelvis, brain) and SynthRAD2025's
(head and neck, thorax, abdomen).

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

The modules: ``tissues`` (the labels, their CT and MR values), ``shapes`` (the
solids and the painting of a label map) and ``solids`` (more solids: unions,
complements, cones, oriented ellipsoids, lofts), ``pelvis`` and ``head`` (each
region's anatomy ranges and label map), the packages ``headneck``, ``thorax`` and
``abdomen`` (SynthRAD2025's regions: ranges, parts, ``draw_labels``), ``acquisition``
(the MR acquisitions: the default and the second-centre variants), ``render`` (CT, MR, mask, header), ``case``
(:func:`make_case`, :func:`write_case`) and ``__main__`` (the command line,
``python -m tools.phantom --help``).  The names most callers need are here.
"""
from tools.phantom.acquisition import ACQUISITIONS
from tools.phantom.case import ANATOMIES, PhantomCase, case_id_for, make_case, write_case
from tools.phantom.tissues import Tissue

__all__ = ["ACQUISITIONS", "ANATOMIES", "PhantomCase", "Tissue", "case_id_for", "make_case", "write_case"]
