"""Dose metrics of an sCT: the plan optimised on the CT, recalculated on the sCT, both doses compared.

- ``high_dose_mae``: the mean absolute dose difference over the voxels where the CT's dose exceeds 90 % of the
  prescription, as a percentage of the prescription (SynthRAD's dose MAE).
- ``dvh_metrics``: target D98 and its conformity (the Paddick conformity number, as matRad's quality indicators
  compute it: TV_PIV^2 / (TV x PIV)) at ``conformity_level`` x the prescription; D2, D5 and Dmean of every organ
  at risk. ``Dx`` is the least dose of the hottest x % of the structure's voxels. SynthRAD takes the conformity
  at the prescription itself (``conformity_level`` 1.0); the default is 0.95 (configs/dose/default.json), because on a
  homogeneous plan normalised to D95 = prescription the target's dose sits within about 1 % of the prescription,
  and at 100 % a 0.5 % lower dose moved 90 % of a brain target below the level (conformity 0.81 -> 0.09): the
  score then measured the plan's homogeneity, not the sCT.
- ``dvh_score``: SynthRAD's DVH score - the relative differences of the target's D98 and conformity, plus the
  mean relative difference of D2 and Dmean over the three organs at risk with the highest (D5 + Dmean) / 2 on
  the CT.
- ``gamma_pass_rates``: global 3-D gamma (pymedphys), the CT's dose the reference, a 10 % low-dose cut-off.
- ``range_shift``: protons only - along each beam, the water-equivalent path length (WEPL) from outside the body
  to the target's distal edge, on the sCT against the CT (median and 95th percentile of |difference|, mm).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

HIGH_DOSE_FRACTION = 0.9
TOP_ORGANS = 3


def high_dose_mae(dose_ct: np.ndarray, dose_sct: np.ndarray, prescription: float) -> float:
    region = dose_ct > HIGH_DOSE_FRACTION * prescription
    if not region.any():
        return float("nan")
    return float(np.abs(dose_sct[region].astype(np.float64) - dose_ct[region]).mean() / prescription * 100)


def dose_at_volume(dose: np.ndarray, structure: np.ndarray, percent: float) -> float:
    """D<percent>: the least dose of the hottest ``percent`` % of the structure's voxels."""
    values = dose[structure]
    return float(np.percentile(values, 100 - percent)) if values.size else float("nan")


def conformity(dose: np.ndarray, target: np.ndarray, level: float) -> float:
    """Paddick's conformity number at dose ``level``: (target volume within the level)^2 / (target x level volume)."""
    covered = dose >= level
    inside = float((covered & target).sum())
    return inside**2 / (float(target.sum()) * float(covered.sum())) if covered.any() and target.any() else 0.0


def dvh_metrics(dose: np.ndarray, target: np.ndarray, organs: dict[str, np.ndarray], prescription: float,
                conformity_level: float = 0.95) -> dict:
    result = {"target": {"D98": dose_at_volume(dose, target, 98), "D50": dose_at_volume(dose, target, 50),
                         "D2": dose_at_volume(dose, target, 2),
                         "conformity": conformity(dose, target, conformity_level * prescription)}}
    for name, organ in organs.items():
        result[name] = {"D2": dose_at_volume(dose, organ, 2), "D5": dose_at_volume(dose, organ, 5),
                        "Dmean": float(dose[organ].mean()) if organ.any() else float("nan")}
    return result


def _relative(a: float, b: float) -> float:
    return abs(b - a) / abs(a) if a else (0.0 if a == b else float("inf"))


def dvh_score(on_ct: dict, on_sct: dict) -> float:
    """SynthRAD's DVH score of the sCT's DVH metrics against the CT's (0: identical)."""
    score = _relative(on_ct["target"]["D98"], on_sct["target"]["D98"])
    score += _relative(on_ct["target"]["conformity"], on_sct["target"]["conformity"])
    organs = sorted((n for n in on_ct if n != "target"), key=lambda n: -(on_ct[n]["D5"] + on_ct[n]["Dmean"]) / 2)
    errors = [_relative(on_ct[n][k], on_sct[n][k]) for n in organs[:TOP_ORGANS] for k in ("D2", "Dmean")]
    return float(score + (np.mean(errors) if errors else 0.0))


def gamma_index(dose_ct: np.ndarray, dose_sct: np.ndarray, spacing_zyx, percent: float, mm: float,
                cutoff_percent: float = 10.0) -> np.ndarray:
    """Global 3-D gamma (pymedphys) of the sCT's dose against the CT's (the reference); NaN where the CT's dose
    is under ``cutoff_percent`` % of its maximum. Each voxel's search stops once it passes (``skip_once_passed``,
    ``max_gamma`` 1.1): whether a voxel passes is exact, values above 1.1 are not computed."""
    import pymedphys

    axes = tuple(np.arange(n) * float(s) for n, s in zip(dose_ct.shape, spacing_zyx))
    return pymedphys.gamma(axes, dose_ct, axes, dose_sct, percent, mm, lower_percent_dose_cutoff=cutoff_percent,
                           interp_fraction=5, max_gamma=1.1, skip_once_passed=True, interp_algo="scipy")


def gamma_pass_rates(dose_ct: np.ndarray, dose_sct: np.ndarray, spacing_zyx, criteria=((2.0, 2.0), (1.0, 1.0)),
                     cutoff_percent: float = 10.0, maps: dict | None = None) -> dict[str, float]:
    """Pass rates (%) for each (dose %, distance mm) criterion (:func:`gamma_index`); the gamma maps go into
    ``maps`` when given, by criterion name."""
    rates = {}
    for percent, mm in criteria:
        name = f"{percent:g}%/{mm:g}mm"
        gamma = gamma_index(dose_ct, dose_sct, spacing_zyx, percent, mm, cutoff_percent)
        valid = np.isfinite(gamma)
        rates[name] = float((gamma[valid] <= 1).mean() * 100) if valid.any() else float("nan")
        if maps is not None:
            maps[name] = gamma
    return rates


def stopping_power(hu: np.ndarray, table) -> np.ndarray:
    """Relative stopping power of ``hu`` by the HU table ((HU, RSP) pairs), linear between its points."""
    table = np.asarray(sorted(table), dtype=np.float64)
    return np.interp(hu, table[:, 0], table[:, 1]).astype(np.float32)


def beam_direction(gantry_deg: float) -> tuple[float, float]:
    """The direction a coplanar beam travels in, as (y, x) array components (LPS patient axes: x to the
    patient's left, y posterior): gantry 0 enters anteriorly and travels posteriorly (+y), gantry 90 enters
    from the patient's left and travels to the right (-x), as IEC 61217 for a head-first supine patient."""
    angle = np.deg2rad(gantry_deg)
    return float(np.cos(angle)), float(-np.sin(angle))


def wepl_to_distal_edge(rsp: np.ndarray, target: np.ndarray, spacing_mm: float, gantry_deg: float) -> np.ndarray:
    """For every ray of the beam (a line through the volume along its direction) that crosses the target, the
    water-equivalent path length (mm) from outside the volume to the target's last voxel along the beam.
    ``rsp``: relative stopping power on an isotropic grid of ``spacing_mm`` (z, y, x)."""
    dy, dx = beam_direction(gantry_deg)
    angle = np.rad2deg(np.arctan2(dx, dy))  # rotate the (y, x) plane so that the beam runs along +y
    pad = ((0, 0), (2, 2), (2, 2))  # vacuum around the volume: its edge voxels are interpolated whole

    def rotate(volume: np.ndarray) -> np.ndarray:
        return ndimage.rotate(np.pad(volume, pad), -angle, axes=(2, 1), reshape=True, order=1, mode="constant", cval=0.0)

    rotated_rsp = rotate(rsp.astype(np.float32))
    rotated_target = rotate(target.astype(np.float32)) > 0.5
    wepl = np.cumsum(rotated_rsp, axis=1) * spacing_mm  # to the far side of each voxel
    hit = rotated_target.any(axis=1)  # (z, x) rays crossing the target
    last = rotated_target.shape[1] - 1 - np.argmax(rotated_target[:, ::-1, :], axis=1)
    z, x = np.nonzero(hit)
    return wepl[z, last[z, x], x]


def range_shift(rsp_ct: np.ndarray, rsp_sct: np.ndarray, target: np.ndarray, spacing_mm: float,
                gantry_angles) -> dict[str, float]:
    """|WEPL on the sCT - WEPL on the CT| to the target's distal edge over all rays of all beams: median and 95th
    percentile (mm), and the mean signed shift (positive: the sCT's range is longer)."""
    shifts = np.concatenate([wepl_to_distal_edge(rsp_sct, target, spacing_mm, g) - wepl_to_distal_edge(rsp_ct, target, spacing_mm, g)
                             for g in gantry_angles])
    if not shifts.size:
        return {"median_mm": float("nan"), "p95_mm": float("nan"), "mean_signed_mm": float("nan")}
    return {"median_mm": float(np.median(np.abs(shifts))), "p95_mm": float(np.percentile(np.abs(shifts), 95)),
            "mean_signed_mm": float(shifts.mean())}
