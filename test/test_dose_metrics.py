"""tools.dose.metrics on arrays worked out by hand."""
import numpy as np
import pytest

from tools.dose.metrics import (beam_direction, conformity, dose_at_volume, dvh_metrics, dvh_score, gamma_pass_rates,
                                high_dose_mae, range_shift, wepl_to_distal_edge)


def test_high_dose_mae_counts_only_where_the_ct_dose_exceeds_90_percent():
    ct = np.array([2.0, 1.9, 1.7, 0.5])
    sct = np.array([2.1, 1.7, 0.0, 0.0])  # 1.7 and 0.5 are under 1.8: not counted
    assert high_dose_mae(ct, sct, 2.0) == pytest.approx((0.1 + 0.2) / 2 / 2.0 * 100)


def test_dose_at_volume_and_conformity_by_hand():
    dose = np.arange(100, dtype=float)  # 0 .. 99
    everything = np.ones(100, bool)
    assert dose_at_volume(dose, everything, 98) == pytest.approx(np.percentile(dose, 2))  # 1.98
    assert dose_at_volume(dose, everything, 2) == pytest.approx(97.02)
    target = np.zeros(100, bool)
    target[50:80] = True  # 30 voxels
    # 60 voxels get >= 40: 30 of them in the target -> 30^2 / (30 * 60)
    assert conformity(dose, target, 40.0) == pytest.approx(0.5)
    assert conformity(dose, target, 50.0) == pytest.approx(30**2 / (30 * 50))


def test_dvh_score_is_zero_for_the_same_dose_and_sums_relative_errors():
    rng = np.random.default_rng(0)
    dose = rng.uniform(0, 2.2, (10, 10, 10))
    target = np.zeros(dose.shape, bool)
    target[3:7, 3:7, 3:7] = True
    dose[target] = rng.uniform(1.95, 2.1, target.sum())
    organs = {f"oar{i}": np.zeros(dose.shape, bool) for i in range(4)}
    for i, organ in enumerate(organs.values()):
        organ[i * 2:i * 2 + 2, :, 0:2] = True
    ct = dvh_metrics(dose, target, organs, 2.0)
    assert dvh_score(ct, ct) == 0.0
    sct = dvh_metrics(dose * 1.1, target, organs, 2.0)  # 10 % more everywhere: D98, D2 and Dmean off by 10 %
    coverage = abs(sct["target"]["conformity"] - ct["target"]["conformity"]) / ct["target"]["conformity"]
    assert dvh_score(ct, sct) == pytest.approx(0.1 + coverage + 0.1)


def test_gamma_is_100_percent_on_the_same_dose_and_lower_on_a_shifted_one():
    dose = np.zeros((12, 30, 30))
    dose[3:9, 8:22, 8:22] = 2.0
    dose = np.asarray(__import__("scipy").ndimage.gaussian_filter(dose, 1.5))
    assert gamma_pass_rates(dose, dose, (3.0, 3.0, 3.0)) == {"2%/2mm": 100.0, "1%/1mm": 100.0}
    shifted = np.roll(dose, 2, axis=2)  # 6 mm
    rates = gamma_pass_rates(dose, shifted, (3.0, 3.0, 3.0))
    assert rates["2%/2mm"] < 90 and rates["1%/1mm"] <= rates["2%/2mm"]


@pytest.mark.parametrize("gantry,travels", [(0, (1, 0)), (90, (0, -1)), (180, (-1, 0)), (270, (0, 1))])
def test_beams_travel_as_iec_61217_for_a_head_first_supine_patient(gantry, travels):
    assert np.allclose(beam_direction(gantry), travels, atol=1e-12)


@pytest.mark.parametrize("gantry", [0, 90, 180, 270])
def test_wepl_reaches_the_target_s_far_side_along_the_beam(gantry):
    """Water (RSP 1) in a 41 x 41 slab; the target a 5 x 5 block off centre: the distal edge's WEPL is the
    geometric depth of the block's far face from the entrance side, in mm."""
    n, spacing = 41, 3.0
    rsp = np.ones((3, n, n), np.float32)
    target = np.zeros(rsp.shape, bool)
    target[:, 10:15, 24:29] = True  # y 10..14, x 24..28
    far = {0: 14 + 1, 90: n - 24, 180: n - 10, 270: 28 + 1}[gantry]  # voxels crossed from the entrance face
    wepl = wepl_to_distal_edge(rsp, target, spacing, gantry)
    assert wepl.size >= 3 * 4 and np.median(wepl) == pytest.approx(far * spacing, abs=1.0 * spacing)


def test_range_shift_is_zero_on_the_same_stopping_power_and_follows_a_denser_layer():
    rsp = np.ones((3, 41, 41), np.float32)
    target = np.zeros(rsp.shape, bool)
    target[:, 18:23, 18:23] = True
    assert range_shift(rsp, rsp, target, 3.0, (90, 270)) == {"median_mm": 0.0, "p95_mm": 0.0, "mean_signed_mm": 0.0}
    denser = rsp.copy()
    denser[:, :, 0:5] = 1.2  # 5 voxels (15 mm) of denser tissue at low x: beam 270 enters there
    shift = range_shift(rsp, denser, target, 3.0, (270,))
    assert shift["median_mm"] == pytest.approx(0.2 * 15, abs=0.5) and shift["mean_signed_mm"] > 0


def test_conformity_is_taken_at_the_level_asked():
    dose = np.arange(100, dtype=float) / 50  # 0 .. 1.98 Gy
    target = np.zeros(100, bool)
    target[50:] = True  # exactly the voxels at 1 Gy and above
    at_rx = dvh_metrics(dose, target, {}, 1.0, conformity_level=1.0)["target"]["conformity"]
    at_95 = dvh_metrics(dose, target, {}, 1.0)["target"]["conformity"]  # the default: 0.95 Gy, 2 voxels more
    assert at_rx == pytest.approx(1.0) and at_95 == pytest.approx(50**2 / (50 * 52))


def test_the_shipped_dose_config_loads_and_a_mistake_names_the_key(tmp_path):
    import json

    from model.errors import InputError
    from tools.dose.config import DEFAULT_CONFIG, load_dose_config

    config = load_dose_config()
    assert config.photon.gantry_angles_deg == (0.0, 90.0, 180.0, 270.0) and config.proton.gantry_angles_deg == (90.0, 270.0)
    assert config.grid_mm == 3.0 and config.pelvis.prescription_gy == 3.0 and config.brain.prescription_gy == 2.0
    raw = json.loads(DEFAULT_CONFIG.read_text())
    raw["proton"]["gantry_angle_deg"] = raw["proton"].pop("gantry_angles_deg")
    (tmp_path / "d.json").write_text(json.dumps(raw))
    with pytest.raises(InputError, match=r"d.json: proton.gantry_angle_deg: unknown key \(did you mean 'gantry_angles_deg'\?\)"):
        load_dose_config(tmp_path / "d.json")
