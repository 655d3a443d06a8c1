"""Patient-level Kaplan-Meier (lifelines) against R's survival, and per-patient tables.

Reference values: tests/reference/survival_reference.json (survfit with
conf.type = "log-log", survdiff), written by tests/reference/survival_reference.R.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metafor_reference import CLOSED_FORM_TOL, assert_close, number
from trialmeta.harmonise.patients import (
    DAYS_PER_MONTH,
    PatientTableError,
    SurvivalData,
    compare_groups,
    curve_of,
    endpoint_data,
    kaplan_meier,
    landmark_check,
    patients_from_table,
    pooled_curve,
)

REFERENCE = Path(__file__).parent / "reference" / "survival_reference.json"


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def _cohort(name: str):
    data = reference()["kaplan_meier"][name]
    return data, np.array(data["time_in"], dtype=float), np.array(data["status_in"]) == 1


@pytest.mark.parametrize("name", ["small", "simulated", "no_censoring"])
def test_kaplan_meier_matches_survfit(name):
    data, time, status = _cohort(name)
    curve = kaplan_meier(time, status)
    at = [curve.at(t) for t in number(data["time"])]
    assert_close([a[0] for a in at], data["surv"], CLOSED_FORM_TOL, f"{name} survival")
    assert_close([a[1] for a in at], data["lower"], CLOSED_FORM_TOL, f"{name} lower")
    assert_close([a[2] for a in at], data["upper"], CLOSED_FORM_TOL, f"{name} upper")
    landmarks = data["landmarks"]["log-log"]
    at = [curve.at(t) for t in landmarks["times"]]
    assert_close([a[0] for a in at], landmarks["surv"], CLOSED_FORM_TOL, f"{name} landmark S")
    assert_close([a[1] for a in at], landmarks["lower"], CLOSED_FORM_TOL, f"{name} landmark lower")
    assert_close([a[2] for a in at], landmarks["upper"], CLOSED_FORM_TOL, f"{name} landmark upper")
    assert curve.n == time.size and curve.events == int(status.sum())


def _by_group(name: str, labels: set[str]) -> list[SurvivalData]:
    data, time, status = _cohort(name)
    group = np.array(data["group_in"])
    return [
        SurvivalData(g, "os", (), tuple(time[group == g]), tuple(status[group == g]), ())
        for g in sorted(labels)
    ]


@pytest.mark.parametrize("name", ["small", "simulated"])
def test_logrank_matches_survdiff(name):
    data = reference()["kaplan_meier"][name]
    two = compare_groups(_by_group(name, {"a", "b"}), {"a": "a", "b": "b"})
    assert_close(two.statistic, data["logrank_ab"]["chisq"], CLOSED_FORM_TOL, "chisq a vs b")
    assert_close(two.p, data["logrank_ab"]["p"], CLOSED_FORM_TOL, "p a vs b")
    labels = set(data["group_in"])
    every = compare_groups(_by_group(name, labels), {g: g for g in labels})
    assert every.df == number(data["logrank_all"]["df"])
    assert_close(every.statistic, data["logrank_all"]["chisq"], CLOSED_FORM_TOL, "chisq all groups")
    assert_close(every.p, data["logrank_all"]["p"], CLOSED_FORM_TOL, "p all groups")
    assert "across trials" in every.note


# A per-patient table laid out as paper 002's Table 2 (patient number and the
# clinical outcome columns), and the relapse days its text gives.
TABLE = {
    "page": 4, "bbox": [50.0, 72.4, 545.28, 401.56],
    "header": ["Patient", "Age, years", "CRS grade", "Clinical outcomes"],
    "rows": [[str(i), "30", "1", outcome] for i, outcome in enumerate(
        ["MR", "MR", "MR", "Relapse", "Relapse", "MR", "Relapse", "MR", "Relapse (death)", "MR", "MR", "MR",
         "MR", "MR"], start=1)],
}
RELAPSE_DAYS = {"4": {"relapse": 740}, "5": {"relapse": 238}, "7": {"relapse": 597}, "9": {"relapse": 238}}
FOLLOWUP_MONTHS = 647 / DAYS_PER_MONTH


def test_per_patient_table_to_efs_with_stated_assumptions():
    patients = patients_from_table(TABLE, RELAPSE_DAYS, time_unit="days")
    assert [p.patient for p in patients if p.relapsed] == ["4", "5", "7", "9"]
    assert [p.patient for p in patients if p.died] == ["9"]
    efs = endpoint_data(patients, "CD19 MRD", "efs", FOLLOWUP_MONTHS)
    assert sum(efs.events) == 4
    assert efs.durations[3] == pytest.approx(740 / DAYS_PER_MONTH)
    assert efs.approximate
    assert efs.assumptions == (
        "censored at the median follow-up (21.3 months), no follow-up time given: "
        "patients 1, 2, 3, 6, 8, 10, 11, 12, 13, 14",
    )
    curve = curve_of(efs)
    # by hand: 2 events of 14 at 238 days, 1 of 12 at 597 days; the relapse at
    # 740 days (24.3 months) is after the landmark
    s, _, _ = curve.at(24)
    assert s == pytest.approx(12 / 14 * 11 / 12, rel=1e-12)
    row = landmark_check(curve, "002", "CD19 MRD", "efs", 24, 0.612, reported_se=0.14)
    assert row["check"] in ("km_landmark_consistent", "km_landmark_inconsistent")
    assert row["detail"].startswith("approximate comparison: lifelines Kaplan-Meier from 14 patients (4 events): 78.6%")
    assert "vs reported 61.2% ± 14.0; difference +17.4 percentage points" in row["detail"]
    assert "censored at the median follow-up" in row["detail"]


def test_check_name_follows_the_km_interval():
    # 10 patients, 5 events at 1..5 months, 5 followed to 30: S(12) = 0.5
    curve = kaplan_meier([1, 2, 3, 4, 5] + [30] * 5, [True] * 5 + [False] * 5)
    s, low, high = curve.at(12)
    assert s == pytest.approx(0.5)
    inside = landmark_check(curve, "p", "s", "os", 12, 0.5)
    outside = landmark_check(curve, "p", "s", "os", 12, 0.99)
    assert inside["check"] == "km_landmark_consistent" and outside["check"] == "km_landmark_inconsistent"
    assert not inside["detail"].startswith("approximate")
    assert low < 0.5 < high < 0.99


def test_overall_survival_places_an_untimed_death_after_its_relapse():
    patients = patients_from_table(TABLE, RELAPSE_DAYS, time_unit="days")
    os_data = endpoint_data(patients, "CD19 MRD", "os", FOLLOWUP_MONTHS)
    assert sum(os_data.events) == 1
    assert os_data.durations[8] == pytest.approx(FOLLOWUP_MONTHS)
    assert any("event without a time" in a and "patients 9" in a for a in os_data.assumptions)
    # a death known to follow a relapse later than the median follow-up stays after it
    late = patients_from_table(TABLE, {"9": {"relapse": 900}}, time_unit="days")
    assert endpoint_data(late, "s", "os", FOLLOWUP_MONTHS).durations[8] == pytest.approx(900 / DAYS_PER_MONTH)


def test_given_follow_up_times_need_no_assumption():
    times = {str(i): {"last_followup": 24.0} for i in range(1, 15)}
    for patient, event in {"4": {"relapse": 20.0}, "5": {"relapse": 8.0}, "7": {"relapse": 19.0},
                           "9": {"relapse": 8.0, "death": 12.0}}.items():
        times[patient] = {**times[patient], **event}
    patients = patients_from_table(TABLE, times, time_unit="months")
    efs = endpoint_data(patients, "s", "efs", None)
    assert not efs.approximate and efs.assumptions == ()
    assert efs.durations[8] == 8.0
    assert endpoint_data(patients, "s", "os", None).durations[8] == 12.0


def test_bad_tables_name_the_problem():
    with pytest.raises(PatientTableError, match="no outcome column"):
        patients_from_table({"header": ["Patient", "Age"], "rows": [["1", "30"]]})
    with pytest.raises(PatientTableError, match="not in the table"):
        patients_from_table(TABLE, {"99": {"relapse": 10}})
    with pytest.raises(PatientTableError, match="outcome is 'MR'"):
        patients_from_table(TABLE, {"1": {"relapse": 10}})
    with pytest.raises(ValueError, match="no median follow-up"):
        endpoint_data(patients_from_table(TABLE), "s", "efs", None)


def test_pooled_curve_and_plot_dict():
    first = SurvivalData("A", "os", ("1", "2", "3"), (2.0, 5.0, 9.0), (True, False, True), ("an assumption",))
    second = SurvivalData("B", "os", ("1", "2"), (4.0, 12.0), (True, False), ())
    curve = pooled_curve([first, second], at_risk_step=6)
    # by hand: events at 2 (5 at risk), 4 (4 at risk), 9 (2 at risk)
    assert curve.at(10)[0] == pytest.approx(4 / 5 * 3 / 4 * 1 / 2)
    assert curve.approximate
    assert curve.assumptions[0] == "A: an assumption"
    assert "pooled across 2 trials" in curve.assumptions[-1]
    plot = curve.as_dict()
    assert set(plot) == {"timeline", "survival", "ci_low", "ci_high", "at_risk_times", "at_risk", "assumptions",
                         "approximate"}
    assert plot["at_risk_times"] == [0.0, 6.0, 12.0] and plot["at_risk"] == [5, 2, 1]
    assert math.isclose(plot["survival"][0], 1.0)


def test_a_study_without_times_or_median_follow_up_is_a_check_not_a_crash():
    # found by the 200-paper benchmark: one such paper stopped harmonise for the whole corpus
    from trialmeta.harmonise.patient_level import patient_level

    table = {"header": ["Patient", "Outcome"], "rows": [["1", "CR, ongoing"], ["2", "Relapse"], ["3", "CR, ongoing"]]}
    records = [{"paper": "p", "status": "ok", "tables": [table]}]
    studies = pd.DataFrame({"study": ["P"], "paper": ["p"], "followup_median_months": [None]})
    endpoints = pd.DataFrame({"paper": ["p"], "study": ["P"], "endpoint": ["efs"], "landmark_months": [12.0],
                              "estimate": [0.6], "ci_low": [None], "ci_high": [None], "se": [None]})
    rows, checks, _ = patient_level(records, None, endpoints, studies)
    assert rows.empty
    assert [c["check"] for c in checks] == ["km_not_built"]
    assert "no median follow-up" in checks[0]["detail"] and "patient_times" in checks[0]["detail"]


def test_greenwood_se_by_hand():
    # 10 patients; deaths at 1, 2, 3 (one censored at 2 after the death), censored at 4:
    # S(1) = 9/10, Var = S^2 * 1/(10*9); S(3) = 0.9 * 8/9 * 6/7 (7 at risk at 3 after one censored at 2)
    curve = kaplan_meier([1, 2, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 0, 1, 0, 1, 1, 0, 1, 0])
    assert curve.se_at(1.5) == pytest.approx(0.9 * math.sqrt(1 / (10 * 9)))
    s3 = 0.9 * (8 / 9) * (6 / 7)
    assert curve.at(3.0)[0] == pytest.approx(s3)
    assert curve.se_at(3.0) == pytest.approx(s3 * math.sqrt(1 / 90 + 1 / (9 * 8) + 1 / (7 * 6)))
