"""The ranges a thorax's anatomy is drawn from: :class:`ThoraxAnatomy` and its default, engine and unseen
instances; the grid's spacing and the sides' signs."""
from __future__ import annotations

from dataclasses import dataclass

SPACING = (1.0, 1.0, 3.0)  # SimpleITK (x, y, z) order, mm
RIGHT, LEFT = -1, 1  # the sign of x on the patient's right and left (LPS)


@dataclass(frozen=True)
class ThoraxAnatomy:
    """The ranges a thorax's anatomy is drawn from (uniformly; integers ``[lo, hi)`` for counts; ``*_p`` a
    probability). :data:`DEFAULT_THORAX` gives the sample and held-out default cases, the data engine trains on the
    wide :data:`ENGINE_THORAX`, and the unseen-anatomy held-out set (:data:`UNSEEN_THORAX`, case ids ``1THU...``)
    lies outside it."""

    name: str
    semi_x: tuple[float, float] = (150.0, 180.0)  # body half-width, mm, before any extra fat
    semi_y: tuple[float, float] = (100.0, 125.0)  # body half-depth
    fat_mm: tuple[float, float] = (6.0, 20.0)  # subcutaneous fat
    extra_fat_mm: tuple[float, float] = (0.0, 0.0)  # obesity: added to the fat and to the body outline
    fov_x: tuple[int, int] = (360, 500)  # field of view, voxels (the arms, and the body, may be cut at its edges)
    fov_y: tuple[int, int] = (250, 350)
    lung_height: tuple[float, float] = (150.0, 190.0)  # apex to the right dome of the diaphragm
    dome_drop: tuple[float, float] = (8.0, 22.0)  # the left dome below the right one
    heart_scale: tuple[float, float] = (0.9, 1.1)  # on an adult heart's radii (56, 43, 33 mm)
    heart_x: tuple[float, float] = (12.0, 30.0)  # the heart's centre left of the midline
    rib_level: tuple[float, float] = (22.0, 26.0)  # one vertebra and disc: the ribs' spacing at the spine
    rib_drop: tuple[float, float] = (60.0, 100.0)  # how far a mid rib runs down from the spine to its front end
    arms_in_p: float = 0.5  # arms along the sides (else raised above the head, out of the field)
    arm_r: tuple[float, float] = (38.0, 50.0)  # upper arm's radius, before the extra fat
    arm_gap: tuple[float, float] = (2.0, 20.0)  # between the arm and the chest wall
    breast_p: float = 0.35
    breast_mm: tuple[float, float] = (25.0, 55.0)  # how far a breast stands out of the chest wall
    vessel_branches: tuple[int, int] = (3, 6)  # main vessel branches per hilum, [lo, hi)
    airway_p: float = 0.5  # small airways visible in the lungs
    tumour_r: tuple[float, float] = (10.0, 25.0)


DEFAULT_THORAX = ThoraxAnatomy("default")
ENGINE_THORAX = ThoraxAnatomy(
    "engine", semi_x=(140.0, 195.0), semi_y=(95.0, 132.0), fat_mm=(4.0, 35.0), extra_fat_mm=(0.0, 45.0),
    fov_x=(340, 540), fov_y=(240, 390), lung_height=(130.0, 215.0), dome_drop=(0.0, 32.0),
    heart_scale=(0.8, 1.25), heart_x=(5.0, 38.0), rib_level=(19.0, 28.0), rib_drop=(45.0, 110.0),
    arms_in_p=0.5, arm_r=(32.0, 58.0), arm_gap=(0.0, 30.0), breast_p=0.4, breast_mm=(15.0, 75.0),
    vessel_branches=(2, 8), airway_p=0.5, tumour_r=(8.0, 28.0),
)
#: Outside the engine's ranges: very obese (32-40 mm of fat and 52-65 more), cardiomegaly (the heart 1.35-1.5 times an
#: adult's), and small lungs under a high diaphragm (105-125 mm from apex to dome).
UNSEEN_THORAX = ThoraxAnatomy(
    "unseen", fat_mm=(32.0, 40.0), extra_fat_mm=(52.0, 65.0), fov_x=(440, 600), fov_y=(330, 460),
    lung_height=(105.0, 125.0),
    heart_scale=(1.35, 1.5),
)
ANATOMIES = {a.name: a for a in (DEFAULT_THORAX, ENGINE_THORAX, UNSEEN_THORAX)}
