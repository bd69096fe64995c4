"""The dose evaluation's settings (``configs/dose/default.json`` is the default; ``--config`` another), read by the
settings engine the model configs use (model.settings): one line naming the file and the key on a mistake.

Defaults follow SynthRAD's plans as far as they are public: a coplanar 4-field photon IMRT box, a 2-field opposed
proton IMPT plan, a 3 mm dose grid, a prescription of 3 Gy (pelvis) or 2 Gy (brain) as one fraction, and the
planning system's own HU-to-stopping-power table (pyRadPlan's default: the same table for photons and protons).
SynthRAD2025's regions (its beams are not public) take the beam arrangements clinics use there: head and neck a
7-field photon IMRT and a 3-field IMPT (two anterior obliques and a posterior beam); thorax a 5-field photon IMRT
and a 3-field IMPT (both laterals and a posterior beam); abdomen a 7-field photon IMRT and 2 posterior-oblique
proton beams (the gas of the bowel lies in front); each 2 Gy in one fraction.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from model.settings import parse_settings, read_json, setting
from model.errors import InputError

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "dose" / "default.json"

# pyRadPlan 0.5.0's default HLUT (pyRadPlan.ct.default_hlut): HU -> relative stopping power / electron density.
PLANNING_SYSTEM_HLUT = ((-1024.0, 0.001), (-999.0, 0.001), (-90.0, 0.95), (-45.0, 0.99), (0.0, 1.0), (100.0, 1.095),
                        (350.0, 1.199), (3000.0, 2.505))


@dataclass(frozen=True)
class Beams:
    gantry_angles_deg: tuple[float, ...] = setting(note="coplanar beams, IEC 61217 (0: anterior)")
    bixel_width_mm: float = setting(5.0, above=0, note="the pencil beams' lateral spacing")
    machine: str = setting("Generic", note="pyRadPlan's machine data")


@dataclass(frozen=True)
class Objectives:
    """Squared deviation from the prescription in the target, squared overdose elsewhere (fractions of the
    prescription), with these priorities."""

    target_priority: float = setting(1000.0, above=0)
    organ_max_fraction: float = setting(0.5, above=0, note="organs at risk: overdose above this x prescription")
    organ_priority: float = setting(10.0, minimum=0)
    body_max_fraction: float = setting(0.8, above=0, note="the body: overdose above this x prescription")
    body_priority: float = setting(100.0, minimum=0)


@dataclass(frozen=True)
class RegionDefaults:
    prescription_gy: float = setting(above=0)
    target_radius_mm: float = setting(above=0, note="the default target sphere's radius (no --target given)")
    photon_angles_deg: tuple[float, ...] | None = setting(None, note="this region's photon gantry angles (default "
                                                          "photon.gantry_angles_deg)")
    proton_angles_deg: tuple[float, ...] | None = setting(None, note="this region's proton gantry angles (default "
                                                          "proton.gantry_angles_deg)")


@dataclass(frozen=True)
class Gamma:
    criteria: tuple[tuple[float, float], ...] = setting(((2.0, 2.0), (1.0, 1.0)), note="(dose %, distance mm) pairs")
    low_dose_cutoff_percent: float = setting(10.0, minimum=0, below=100)


@dataclass(frozen=True)
class DoseConfig:
    grid_mm: float = setting(3.0, above=0, note="the isotropic dose grid the CT, sCT and structures are resampled to")
    photon: Beams = setting(Beams(gantry_angles_deg=(0.0, 90.0, 180.0, 270.0)))
    proton: Beams = setting(Beams(gantry_angles_deg=(90.0, 270.0)))
    objectives: Objectives = setting(Objectives())
    pelvis: RegionDefaults = setting(RegionDefaults(prescription_gy=3.0, target_radius_mm=25.0))
    brain: RegionDefaults = setting(RegionDefaults(prescription_gy=2.0, target_radius_mm=15.0))
    head_and_neck: RegionDefaults = setting(RegionDefaults(
        prescription_gy=2.0, target_radius_mm=20.0, photon_angles_deg=(0.0, 51.4, 102.9, 154.3, 205.7, 257.1, 308.6),
        proton_angles_deg=(45.0, 180.0, 315.0)))
    thorax: RegionDefaults = setting(RegionDefaults(
        prescription_gy=2.0, target_radius_mm=20.0, photon_angles_deg=(0.0, 72.0, 144.0, 216.0, 288.0),
        proton_angles_deg=(90.0, 180.0, 270.0)))
    abdomen: RegionDefaults = setting(RegionDefaults(
        prescription_gy=2.0, target_radius_mm=20.0, photon_angles_deg=(0.0, 51.4, 102.9, 154.3, 205.7, 257.1, 308.6),
        proton_angles_deg=(135.0, 225.0)))
    hlut: tuple[tuple[float, float], ...] | None = setting(None, note="[[HU, relative stopping power], ...] for the dose "
                                                                      "calculation and the range shift; default the planning "
                                                                      "system's (pyRadPlan 0.5.0 picks proton spot energies "
                                                                      "with its own default table whatever this says)")
    gamma: Gamma = setting(Gamma())
    conformity_level: float = setting(0.95, above=0, maximum=1.5, note="the target's conformity in the DVH score at "
                                      "this x prescription (SynthRAD: 1.0; see tools.dose.metrics)")
    solver: Literal["scipy"] = setting("scipy")

    def region(self, name: str) -> RegionDefaults:
        """The settings of a region named as --region names it (pelvis, brain, head-and-neck, thorax, abdomen)."""
        return getattr(self, region_key(name))

    def beams(self, modality: str, region: str) -> Beams:
        """The photon or proton beams of ``region``: the modality's, with the region's own angles where it has
        them."""
        beams = getattr(self, modality)
        angles = getattr(self.region(region), f"{modality}_angles_deg")
        return beams if angles is None else replace(beams, gantry_angles_deg=tuple(angles))

    @property
    def stopping_power_table(self) -> tuple[tuple[float, float], ...]:
        return self.hlut or PLANNING_SYSTEM_HLUT


#: The regions --region takes, as the dose tools name them (SynthRAD's region names lower-cased, hyphenated).
REGIONS = ("pelvis", "brain", "head-and-neck", "thorax", "abdomen")


def region_key(name: str) -> str:
    """The config's section of a region: "head-and-neck" and "Head and Neck" -> "head_and_neck"."""
    return name.strip().lower().replace("-", " ").replace(" ", "_")


def load_dose_config(path: Path | None = None) -> DoseConfig:
    path = Path(path) if path else DEFAULT_CONFIG
    return parse_settings(DoseConfig, read_json(path, InputError), path)
