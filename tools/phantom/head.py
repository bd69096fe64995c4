"""The head (brain region): its anatomy's ranges, its solids (head, skull layers, brain, face and neck), its label
map and its planning structures."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tools.phantom.shapes import (Capsule, Ellipsoid, Grid, HalfSpace, Intersection, SphericalShell, accumulate_union,
                                  draw, ellipsoidal_depth, paint, paint_bone)
from tools.phantom.tissues import Tissue

BRAIN_SPACING = (1.0, 1.0, 1.0)
NECK_BOTTOM_Z = -20.0  # brain: cord, spine and pharynx run below the FOV, mm


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
        return ellipsoidal_depth((x, y, dz), (self.semi_x, self.semi_y, semi_z), scale)

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


def brain_labels(rng, anatomy: BrainAnatomy = DEFAULT_BRAIN) -> tuple[np.ndarray, tuple[float, float, float]]:
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


def brain_structures(labels: np.ndarray, spacing) -> dict[str, np.ndarray]:
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
        paint(labels, grid, nucleus, Tissue.GREY, where=deep)
        grow = draw(rng, anatomy.ventricle_scale)
        ventricle = Ellipsoid((s * rng.uniform(6, 10), rng.uniform(-5, 10),
                               centre_z + rng.uniform(5, 15)),
                              (rng.uniform(4, 8) * grow, rng.uniform(22, 32) * grow, rng.uniform(7, 12) * grow))
        paint(labels, grid, ventricle, Tissue.CSF, where=deep)
    paint(labels, grid, Ellipsoid((0.0, rng.uniform(-5, 5), centre_z), (1.5, 10.0, 8.0)),
          Tissue.CSF, where=deep)


def _paint_face_and_neck(labels, grid, head, depth, cavity, layers, rng, anatomy=DEFAULT_BRAIN) -> None:
    """Structures below and in front of the cranial cavity."""
    in_body = depth > layers.scalp
    below_skull = (cavity <= -layers.skull) & in_body
    bone_depth = np.full(grid.shape, -1e3, np.float32)
    spine_y = _paint_cord_and_spine(labels, grid, head, layers, bone_depth, in_body, cavity, rng)
    eye = _paint_orbits(labels, grid, head, layers, bone_depth, in_body, rng, anatomy.eye_r)
    paint_bone(labels, bone_depth, 1.5, where=in_body)
    _paint_airways(labels, grid, head, layers, eye, spine_y, in_body, below_skull, rng, anatomy.sinus_scale)


def _paint_cord_and_spine(labels, grid, head, layers, bone_depth, in_body, cavity, rng) -> float:
    """Brainstem and cord (in a CSF sheath) through the foramen magnum, vertebral column.

    The column is added to ``bone_depth``; returns its y position.
    """
    canal_y = head.semi_y * rng.uniform(0.05, 0.15)
    stem_top = (0.0, canal_y * 0.4, head.centre_z - 0.1 * head.semi_z_up)
    stem_bottom = (0.0, canal_y, NECK_BOTTOM_Z)
    cord_r = rng.uniform(6, 9)
    paint(labels, grid, Capsule(stem_top, stem_bottom, cord_r + 3), Tissue.CSF,
          where=in_body & (cavity < layers.csf))
    paint(labels, grid, Capsule(stem_top, stem_bottom, cord_r), Tissue.WHITE, where=in_body)

    base_below = layers.base_height(0.0, canal_y) - layers.base_thickness
    spine_y = canal_y - cord_r - 3 - rng.uniform(12, 16)
    column = Capsule((0.0, spine_y, base_below - rng.uniform(6, 10)),
                     (0.0, spine_y + 3, NECK_BOTTOM_Z), rng.uniform(8, 10))
    accumulate_union(bone_depth, grid, column)
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
        paint(labels, grid, Ellipsoid(eye, (eye_r + 4,) * 3), Tissue.FAT, where=in_body)
        accumulate_union(bone_depth, grid, Intersection((
            SphericalShell(eye, eye_r + 4, eye_r + 6), HalfSpace(1, eye_y, -1))))
        paint(labels, grid, Ellipsoid(eye, (eye_r,) * 3), Tissue.VITREOUS, where=in_body)
    return eye_x, eye_y, eye_z, eye_r


def _paint_airways(labels, grid, head, layers, eye, spine_y, in_body, below_skull, rng, sinus_scale=(1.0, 1.0)) -> None:
    """Pharynx, nasal cavity and the sphenoid, maxillary and (usually) frontal sinuses.

    Sinuses are air ellipsoids inside a 2 mm cortical wall.
    """
    _, eye_y, eye_z, eye_r = eye
    airway_y = spine_y - 10 - rng.uniform(8, 14)
    nasal = (0.0, eye_y + rng.uniform(5, 15), eye_z - rng.uniform(15, 22))
    pharynx = Capsule((0.0, airway_y, NECK_BOTTOM_Z), (0.0, airway_y, nasal[2]), rng.uniform(5, 7))
    paint(labels, grid, pharynx, Tissue.GAS, where=below_skull)
    paint(labels, grid, Ellipsoid(nasal, (rng.uniform(6, 9), 25.0, 18.0)), Tissue.GAS,
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
    grow = draw(rng, sinus_scale)
    if grow != 1.0:
        sinuses = [Ellipsoid(sinus.centre, tuple(r * grow for r in sinus.radii)) for sinus in sinuses]
    for sinus in sinuses:
        wall = Ellipsoid(sinus.centre, tuple(r + 2 for r in sinus.radii))
        paint(labels, grid, wall, Tissue.CORTICAL, where=in_body)
    for sinus in sinuses:
        paint(labels, grid, sinus, Tissue.GAS, where=in_body)
