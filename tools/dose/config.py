"""The dose evaluation's settings (``configs/dose/default.json`` is the default; ``--config`` another), read by the
settings engine the model configs use (model.settings): one line naming the file and the key on a mistake.

Defaults follow SynthRAD's plans as far as they are public: a coplanar 4-field photon IMRT box, a 2-field opposed
proton IMPT plan, a 3 mm dose grid, a prescription of 3 Gy (pelvis) or 2 Gy (brain) as one fraction, and the
planning system's own HU-to-stopping-power table (pyRadPlan's default: the same table for photons and protons).
"""
from __future__ import annotations

from dataclasses import dataclass
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
    hlut: tuple[tuple[float, float], ...] | None = setting(None, note="[[HU, relative stopping power], ...] for the dose "
                                                                      "calculation and the range shift; default the planning "
                                                                      "system's (pyRadPlan 0.5.0 picks proton spot energies "
                                                                      "with its own default table whatever this says)")
    gamma: Gamma = setting(Gamma())
    conformity_level: float = setting(0.95, above=0, maximum=1.5, note="the target's conformity in the DVH score at "
                                      "this x prescription (SynthRAD: 1.0; see tools.dose.metrics)")
    solver: Literal["scipy"] = setting("scipy")

    def region(self, name: str) -> RegionDefaults:
        return getattr(self, name)

    @property
    def stopping_power_table(self) -> tuple[tuple[float, float], ...]:
        return self.hlut or PLANNING_SYSTEM_HLUT


def load_dose_config(path: Path | None = None) -> DoseConfig:
    path = Path(path) if path else DEFAULT_CONFIG
    return parse_settings(DoseConfig, read_json(path, InputError), path)
