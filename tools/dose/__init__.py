"""Dose evaluation of sCTs: photon and proton plans optimised on the CT and recalculated on the sCT (pyRadPlan),
scored as SynthRAD scores them, with gamma, DVHs, proton range shifts and a report (``python -m tools.dose``).

The dose tools are optional and stay out of the container image: ``pip install --no-deps -r
requirements-dose.txt`` (exact pins; pyRadPlan without its optional AI stack).
"""
from __future__ import annotations

from pathlib import Path

from model.errors import InputError

INSTALL = "pip install --no-deps -r requirements-dose.txt"
MODALITIES = ("photon", "proton")
MODALITY_CHOICES = (*MODALITIES, "both")  # a command's --modality


def chosen_modalities(choice: str) -> tuple[str, ...]:
    """The modalities a command's ``--modality`` asks for."""
    return MODALITIES if choice == "both" else (choice,)


def require_dose_tools() -> None:
    """A missing dose tool is one line saying what to install."""
    missing = []
    for module, package in (("pyRadPlan", "pyradplan"), ("pymedphys", "pymedphys"), ("matplotlib", "matplotlib")):
        try:
            __import__(module)
        except ImportError as err:
            missing.append(f"{package} ({err})")
    if missing:
        raise InputError(Path("requirements-dose.txt"), f"the dose tools are not installed: {'; '.join(missing)}; "
                                                        f"install them with: {INSTALL}")
