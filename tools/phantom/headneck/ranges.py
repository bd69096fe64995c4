"""The ranges a head and neck's anatomy is drawn from: :class:`HeadNeckAnatomy` and its default, engine and unseen
instances; the grid's spacing and slice count."""
from __future__ import annotations

from dataclasses import dataclass

SPACING = (1.0, 1.0, 3.0)  # SimpleITK (x, y, z) order, mm
SLICES = (50, 80)  # the field of view's slice count is clipped to this


@dataclass(frozen=True)
class HeadNeckAnatomy:
    """The ranges a head and neck is drawn from (uniformly; integers for counts, [lo, hi)). The data engine trains
    on :data:`ENGINE_HEADNECK`; the unseen-anatomy held-out set (:data:`UNSEEN_HEADNECK`) lies outside it."""

    name: str
    neck_length: tuple[float, float] = (135.0, 160.0)  # sternal notch to hard palate, mm
    neck_semi_x: tuple[float, float] = (50.0, 57.0)  # lean half-width of the mid-neck, mm
    head_scale: tuple[float, float] = (0.96, 1.04)
    shoulder_semi_x: tuple[float, float] = (160.0, 180.0)
    shoulder_top: tuple[float, float] = (40.0, 60.0)  # the trapezius beside the neck, mm above the notch
    fat_mm: tuple[float, float] = (4.0, 12.0)  # subcutaneous fat of the neck (half of it on the face)
    deep_fat: tuple[float, float] = (0.8, 1.2)  # size factor of the fat spaces between the muscles
    tooth_p: tuple[float, float] = (0.85, 1.0)  # each tooth's chance of being there (drawn per case)
    fillings: tuple[int, int] = (0, 4)  # count, [lo, hi)
    filling_r: tuple[float, float] = (1.5, 3.0)  # radius, mm
    mouth_open_deg: tuple[float, float] = (0.0, 4.0)
    oral_air_mm: tuple[float, float] = (0.0, 3.0)  # air between tongue and palate
    airway_r: tuple[float, float] = (7.0, 9.5)  # tracheal lumen radius, mm
    pharynx_scale: tuple[float, float] = (0.8, 1.2)
    gland_scale: tuple[float, float] = (0.9, 1.1)
    tumour_r: tuple[float, float] = (12.0, 20.0)
    node_p: float = 0.5  # chance that the target is a neck node rather than an oropharyngeal primary
    fov_top: tuple[float, float] = (20.0, 50.0)  # mm above the hard palate
    fov_bottom: tuple[float, float] = (10.0, 35.0)  # mm below the sternal notch (negative: above it)
    fov_x: tuple[int, int] = (220, 260)  # voxels (1 mm); the shoulders are cut
    fov_y: tuple[int, int] = (220, 250)


DEFAULT_HEADNECK = HeadNeckAnatomy("default")
ENGINE_HEADNECK = HeadNeckAnatomy(
    "engine", neck_length=(115.0, 180.0), neck_semi_x=(44.0, 66.0), head_scale=(0.9, 1.1),
    shoulder_semi_x=(145.0, 195.0), shoulder_top=(25.0, 75.0), fat_mm=(1.5, 25.0), deep_fat=(0.5, 1.6),
    tooth_p=(0.2, 1.0), fillings=(0, 7), filling_r=(1.2, 4.0), mouth_open_deg=(0.0, 18.0), oral_air_mm=(0.0, 10.0),
    airway_r=(5.0, 12.0), pharynx_scale=(0.4, 1.6), gland_scale=(0.7, 1.35), tumour_r=(10.0, 25.0),
    fov_top=(5.0, 65.0), fov_bottom=(-50.0, 45.0), fov_x=(200, 300), fov_y=(200, 290),
)
#: Outside the engine's ranges: very thick fat (30-38 mm), many large fillings and metal crowns (8-12 of 4.5-5.5 mm
#: radius), a very large tumour (radius 28-33 mm). The field of view grows with the fat.
UNSEEN_HEADNECK = HeadNeckAnatomy(
    "unseen", fat_mm=(30.0, 38.0), fillings=(8, 13), filling_r=(4.5, 5.5), tumour_r=(28.0, 33.0),
    fov_x=(260, 330), fov_y=(260, 330),
)
ANATOMIES = {a.name: a for a in (DEFAULT_HEADNECK, ENGINE_HEADNECK, UNSEEN_HEADNECK)}
