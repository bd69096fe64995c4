"""Plans with pyRadPlan (an open Python reimplementation of matRad, the planning system SynthRAD used).

One plan per modality is optimised on the CT - beams from the config, a pencil-beam dose engine (photons: SVD
pencil beam, protons: Hong's), the dose influence matrix on the dose grid, fluence optimised against squared
deviation in the target and squared overdose in the organs and the body - and then recalculated, with the same
beams and the same optimised weights, on any other HU volume of the same grid (:meth:`Plan.dose_on`): the CT
itself, the sCT, the bulk-water sCT. The CT's own dose is a forward recalculation too, so the CT against itself
differs by exactly nothing. The weights are scaled so that 95 % of the target receives the prescription on the
CT (D95 = prescription), as plans are normalised in the clinic.

Dose in Gy for one fraction of the prescription (the plan has one fraction).
"""
from __future__ import annotations

import copy
import logging
import time

import numpy as np
import SimpleITK as sitk

from model.imageio import array_to_image
from tools.dose.config import Beams, DoseConfig
from tools.dose.inputs import DoseCase

ENGINES = {"photon": "SVDPB", "proton": "HongPB"}  # pyRadPlan's pencil-beam engines


class Plan:
    def __init__(self, case: DoseCase, modality: str, config: DoseConfig, prescription_gy: float,
                 beams: Beams | None = None):
        from pyRadPlan import IonPlan, PhotonPlan, calc_dose_influence, fluence_optimization, generate_stf
        from pyRadPlan.core import ProgressReporter

        ProgressReporter.console_progress = False  # no progress bar per beam and ray on the console
        logging.getLogger("pyRadPlan").setLevel(logging.ERROR)  # its notes on every plan ("property overwritten")

        self.case, self.modality, self.config, self.prescription = case, modality, config, float(prescription_gy)
        beams = beams or getattr(config, modality)  # the region's (DoseConfig.beams), else the modality's
        start = time.perf_counter()
        ct, cst = self._patient(case.ct)
        pln = PhotonPlan(machine=beams.machine) if modality == "photon" else IonPlan(radiation_mode="protons",
                                                                                      machine=beams.machine)
        pln.num_of_fractions = 1
        pln.prescribed_dose = self.prescription
        angles = [float(a) for a in beams.gantry_angles_deg]
        pln.prop_stf = {"gantry_angles": angles, "couch_angles": [0.0] * len(angles), "bixel_width": beams.bixel_width_mm}
        dose_calc = {"engine": ENGINES[modality], "dose_grid": {"resolution": {axis: config.grid_mm for axis in "xyz"}}}
        if config.hlut is not None:
            dose_calc["hlut"] = np.asarray(config.hlut, dtype=float)
        pln.prop_dose_calc = dose_calc
        pln.prop_opt = {"solver": config.solver}
        self.pln = pln
        with np.errstate(invalid="ignore", divide="ignore"):  # pyRadPlan's ray tracer meets rays that miss the grid
            self.stf = generate_stf(ct, cst, pln)
            dij = calc_dose_influence(ct, cst, self.stf, pln)
            weights = np.asarray(fluence_optimization(ct, cst, self.stf, dij, pln))
        # Normalised as clinics prescribe: 95 % of the target gets the prescription on the CT (dose is linear in
        # the weights); a squared-deviation optimum would centre the target's dose on the prescription.
        optimum = dij.compute_result_ct_grid(weights)["physical_dose"]
        optimum = sitk.GetArrayFromImage(optimum) if isinstance(optimum, sitk.Image) else np.asarray(optimum)
        self.weights = weights * (self.prescription / float(np.percentile(optimum[case.target], 5)))
        self.seconds = {"optimisation": time.perf_counter() - start}

    def _patient(self, hu: np.ndarray):
        """pyRadPlan's CT and structure set for ``hu`` on the case's dose grid, with the objectives."""
        from pyRadPlan import CT
        from pyRadPlan.cst import create_cst
        from pyRadPlan.cst._voi import create_voi
        from pyRadPlan.optimization.objectives import SquaredDeviation, SquaredOverdosing

        case, o, rx = self.case, self.config.objectives, self.prescription
        ct = CT(cube_hu=array_to_image(hu.astype(np.float32), case.grid))
        vois = []
        # The body must be a structure: voxels outside every structure count as vacuum.
        for name, mask, kind, objectives in (
            ("BODY", case.body, "EXTERNAL", [SquaredOverdosing(priority=o.body_priority, d_max=o.body_max_fraction * rx)]),
            ("TARGET", case.target, "TARGET", [SquaredDeviation(priority=o.target_priority, d_ref=rx)]),
            *((name, mask, "OAR", [SquaredOverdosing(priority=o.organ_priority, d_max=o.organ_max_fraction * rx)])
              for name, mask in case.organs.items()),
        ):
            voi = create_voi(name=name, voi_type=kind, mask=array_to_image(mask.astype(np.uint8), case.grid), ct_image=ct)
            voi.objectives = objectives
            vois.append(voi)
        return ct, create_cst(vois, ct=ct)

    def dose_on(self, hu: np.ndarray, label: str = "") -> np.ndarray:
        """The plan (its beams and optimised weights) recalculated on ``hu`` (same grid): Gy, (z, y, x)."""
        from pyRadPlan import calc_dose_forward

        start = time.perf_counter()
        ct, cst = self._patient(hu)
        with np.errstate(invalid="ignore", divide="ignore"):  # a copy: the forward calculation writes into the stf
            dose = calc_dose_forward(ct, cst, copy.deepcopy(self.stf), self.pln, self.weights)["physical_dose"]
        dose = sitk.GetArrayFromImage(dose) if isinstance(dose, sitk.Image) else np.asarray(dose)
        if label:
            self.seconds[f"recalculation on {label}"] = time.perf_counter() - start
        return dose.astype(np.float32)
