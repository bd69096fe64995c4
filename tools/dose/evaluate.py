"""One case's dose evaluation: for each modality, the plan optimised on the CT and recalculated on the CT, the
sCT and the bulk-water sCT; the sCT's and the water's dose metrics against the CT's (tools.dose.metrics), and
their image metrics (both challenges') on the CT's own grid."""
from __future__ import annotations

import time

from tools.dose.config import DoseConfig
from tools.dose.inputs import DoseCase
from tools.dose.metrics import dvh_metrics, dvh_score, gamma_pass_rates, high_dose_mae, range_shift, stopping_power
from tools.dose.planning import Plan
from tools.metrics.image import image_metrics, water_baseline


def image_scores(case: DoseCase) -> dict:
    """Image metrics of the sCT and of the bulk water on the CT's own grid (2023's, and 2025's PSNR and MS-SSIM)."""
    ct, sct, body_native = case.native["ct"], case.native["sct"], case.native["body"]
    scores = {}
    for name, volume in (("sct", sct), ("water", water_baseline(body_native))):
        scores[name] = {**{f"{k}_2023": v for k, v in image_metrics(ct, volume, body_native, "2023").items()},
                        **{f"{k}_2025": v for k, v in image_metrics(ct, volume, body_native, "2025").items() if k != "mae"}}
    return scores


def evaluate_case(case: DoseCase, config: DoseConfig, modalities, prescription_gy: float,
                  region: str = "pelvis") -> tuple[dict, dict]:
    """(results as JSON, volumes for the report: doses and gamma maps per modality); ``region``'s beams."""
    results = {"prescription_gy": prescription_gy, "grid_mm": config.grid_mm, "target": case.target_rule or "given",
               "target_cc": float(case.target.sum() * config.grid_mm**3 / 1000), "modalities": {}}
    volumes = {}
    spacing = (config.grid_mm,) * 3
    for modality in modalities:
        start = time.perf_counter()
        beams = config.beams(modality, region)
        plan = Plan(case, modality, config, prescription_gy, beams)
        doses = {"ct": plan.dose_on(case.ct, "CT"), **{name: plan.dose_on(hu, name) for name, hu in case.scts.items()}}
        on_ct = dvh_metrics(doses["ct"], case.target, case.organs, prescription_gy, config.conformity_level)
        entry = {"beams": list(beams.gantry_angles_deg), "beamlets": int(plan.weights.size),
                 "dvh_ct": on_ct}
        maps = {}
        rsp_ct = stopping_power(case.ct, config.stopping_power_table) if modality == "proton" else None
        for name in case.scts:
            dvh = dvh_metrics(doses[name], case.target, case.organs, prescription_gy, config.conformity_level)
            gamma_maps = {} if name == "sct" else None
            entry[name] = {
                "dose_mae_percent": high_dose_mae(doses["ct"], doses[name], prescription_gy),
                "gamma_pass_percent": gamma_pass_rates(doses["ct"], doses[name], spacing, config.gamma.criteria,
                                                       config.gamma.low_dose_cutoff_percent, gamma_maps),
                "dvh_score": dvh_score(on_ct, dvh),
                "dvh": dvh,
            }
            if modality == "proton":
                entry[name]["range_shift"] = range_shift(rsp_ct, stopping_power(case.scts[name], config.stopping_power_table),
                                                         case.target, config.grid_mm, beams.gantry_angles_deg)
            if gamma_maps:
                maps = gamma_maps
        entry["seconds"] = {**{k: round(v, 2) for k, v in plan.seconds.items()}, "total": round(time.perf_counter() - start, 2)}
        results["modalities"][modality] = entry
        volumes[modality] = {"doses": doses, "gamma": maps}
    return results, volumes
