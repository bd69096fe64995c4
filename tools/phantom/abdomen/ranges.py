"""The ranges an abdomen's anatomy is drawn from: :class:`AbdomenAnatomy` and its default, engine and unseen
instances; the grid's spacing and the visceral share of obesity's fat."""
from __future__ import annotations

from dataclasses import dataclass

SPACING = (1.0, 1.0, 3.0)  # SimpleITK (x, y, z) order, mm
VISCERAL_SHARE = 0.35  # of the extra fat: inside the abdominal wall


@dataclass(frozen=True)
class AbdomenAnatomy:
    """The ranges an abdomen's anatomy is drawn from (mm, uniformly; ``*_scale``: factors on the default sizes;
    ``*_p``: chances). :data:`DEFAULT_ABDOMEN` is the generator's own, the data engine trains on the wider
    :data:`ENGINE_ABDOMEN`, and the unseen-anatomy held-out set (:data:`UNSEEN_ABDOMEN`, case ids ``1AU...``)
    lies outside it."""

    name: str
    slices: tuple[int, int] = (40, 60)  # number of 3-mm slices, both ends included
    semi_x: tuple[float, float] = (150.0, 180.0)  # body half-width before any extra fat
    semi_y: tuple[float, float] = (105.0, 130.0)  # anterior half-depth before any extra fat
    fat_mm: tuple[float, float] = (8.0, 30.0)  # subcutaneous fat
    extra_fat_mm: tuple[float, float] = (0.0, 0.0)  # obesity: added to the fat and the outline (more in front)
    visceral_fat: tuple[float, float] = (0.25, 0.6)  # fat's share of the free peritoneal space (obesity adds)
    wall_mm: tuple[float, float] = (8.0, 14.0)  # abdominal wall muscles
    fov_x: tuple[int, int] = (350, 480)  # field of view, voxels (the body or the arms may be cut at its edges)
    fov_y: tuple[int, int] = (250, 330)
    dome_depth: tuple[float, float] = (0.0, 30.0)  # the right dome's top below the top slice
    dome_to_l1: tuple[float, float] = (65.0, 100.0)  # L1's body below the right dome (deep inspiration: less)
    liver_scale: tuple[float, float] = (0.9, 1.1)
    spleen_scale: tuple[float, float] = (0.85, 1.15)
    kidney_scale: tuple[float, float] = (0.9, 1.1)
    stomach_scale: tuple[float, float] = (0.8, 1.2)
    stomach_gas: tuple[float, float] = (0.1, 0.5)  # fraction of the stomach's AP extent above its fluid level
    bowel_loops: tuple[int, int] = (8, 16)  # small-bowel loops, [lo, hi)
    loop_radius: tuple[float, float] = (10.0, 20.0)
    loop_gas_p: tuple[float, float] = (0.3, 0.7)  # each loop's chance of gas (itself drawn per case)
    gas_level: tuple[float, float] = (0.2, 0.6)  # gas fraction of a gassy loop's AP extent
    colon_r: tuple[float, float] = (15.0, 25.0)
    arms_in_p: float = 0.2  # arms down at the sides (otherwise raised out of the field of view)
    tumour_r: tuple[float, float] = (12.0, 25.0)
    liver_tumour_p: float = 0.7  # the target in the liver (otherwise in the pancreas)
    calcification_p: float = 0.3  # aortic wall calcifications


DEFAULT_ABDOMEN = AbdomenAnatomy("default")
ENGINE_ABDOMEN = AbdomenAnatomy(
    "engine", slices=(36, 64), semi_x=(135.0, 195.0), semi_y=(95.0, 140.0), fat_mm=(3.0, 35.0),
    extra_fat_mm=(0.0, 45.0), visceral_fat=(0.1, 0.8), wall_mm=(5.0, 18.0), fov_x=(340, 512), fov_y=(240, 360),
    dome_depth=(-15.0, 55.0), dome_to_l1=(55.0, 110.0), liver_scale=(0.75, 1.25), spleen_scale=(0.7, 1.4),
    kidney_scale=(0.75, 1.25), stomach_scale=(0.6, 1.5), stomach_gas=(0.0, 0.8), bowel_loops=(3, 24),
    loop_radius=(7.0, 26.0), loop_gas_p=(0.0, 0.9), gas_level=(0.05, 0.9), colon_r=(10.0, 30.0), arms_in_p=0.35,
    tumour_r=(8.0, 30.0), liver_tumour_p=0.5, calcification_p=0.5,
)
#: Outside the engine's ranges on three properties: very obese (fat 36-42 mm and extra fat 50-60 mm), hepato- and
#: splenomegaly (liver and spleen 1.3-1.4 and 1.5-1.7 times the default), and distended gas-filled bowel (loops of
#: radius 27-32 mm, nearly all gassy, gas over 92-97 % of their depth; a wide colon, a stomach full of gas).
UNSEEN_ABDOMEN = AbdomenAnatomy(
    "unseen", fat_mm=(36.0, 42.0), extra_fat_mm=(50.0, 60.0), visceral_fat=(0.6, 0.8), fov_x=(440, 560),
    fov_y=(320, 420), liver_scale=(1.3, 1.4), spleen_scale=(1.5, 1.7), stomach_gas=(0.85, 0.95),
    bowel_loops=(8, 14), loop_radius=(27.0, 32.0), loop_gas_p=(0.95, 1.0), gas_level=(0.92, 0.97),
    colon_r=(32.0, 38.0),
)
ANATOMIES = {a.name: a for a in (DEFAULT_ABDOMEN, ENGINE_ABDOMEN, UNSEEN_ABDOMEN)}
