"""The tissue labels of a phantom's label map, and the CT and MR values each is rendered with."""
from __future__ import annotations

from enum import IntEnum


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
    # SynthRAD2025's regions (head and neck, thorax, abdomen): tools.phantom.headneck, .thorax, .abdomen
    LUNG = 13  # aerated lung parenchyma (its vessels are BLOOD)
    ENAMEL = 14  # teeth
    METAL = 15  # dental fillings and crowns
    LIVER = 16
    SPLEEN = 17
    KIDNEY = 18
    BLOOD = 19  # heart chambers, great vessels, lung vessels
    GLAND = 20  # parotid and submandibular glands


#: The tissues of SynthRAD2023's regions (pelvis, brain): their phantoms, and the data engine's draws for them, draw
#: values for these only, in this order, so that every pelvis and brain is the same as before the other regions came.
SYNTHRAD2023_TISSUES = tuple(t for t in Tissue if t <= Tissue.VITREOUS)
ALL_TISSUES = tuple(Tissue)


def region_tissues(region: str) -> tuple[Tissue, ...]:
    """The tissues a region's renderings draw values for (region.json's name): SynthRAD2023's set for the pelvis and
    the brain, every tissue for SynthRAD2025's regions."""
    return SYNTHRAD2023_TISSUES if region in ("Pelvis", "Brain") else ALL_TISSUES


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
    Tissue.LUNG: (-870.0, -780.0),
    Tissue.ENAMEL: (2000.0, 2800.0),
    Tissue.METAL: (3071.0, 3071.0),  # the CT's ceiling
    Tissue.LIVER: (50.0, 65.0),
    Tissue.SPLEEN: (40.0, 50.0),
    Tissue.KIDNEY: (28.0, 38.0),
    Tissue.BLOOD: (35.0, 45.0),
    Tissue.GLAND: (-10.0, 20.0),
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
    Tissue.LUNG: 0.03,  # hardly any protons, very short T2*
    Tissue.ENAMEL: 0.02,
    Tissue.METAL: 0.0,  # a signal void
    Tissue.LIVER: 0.45,
    Tissue.SPLEEN: 0.3,
    Tissue.KIDNEY: 0.32,
    Tissue.BLOOD: 0.2,
    Tissue.GLAND: 0.55,
}

HU_LIMITS = (-1024, 3071)  # the CT's int16 range, HU
MR_MAX = 32767  # the MR's int16 ceiling
