"""Landmark survival on the cloglog scale, checked against R's survival and metafor.

Reference values: tests/reference/survival_reference.json, written by
tests/reference/survival_reference.R (survfit CIs of three types, rma fits of
yi = log(-log S)). Tolerances as in tests/metafor_reference.py.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metafor_reference import CI_METHOD, CLOSED_FORM_TOL, ITERATIVE_TOL, assert_close, expected_pi, number
from trialmeta.harmonise.table import ENDPOINT_COLUMNS, STUDY_COLUMNS
from trialmeta.pool.survival import (
    NoPrecision,
    ci_scale,
    landmark_effect,
    pool_landmark,
    pool_landmarks,
    relapse_proportions,
)

REFERENCE = Path(__file__).parent / "reference" / "survival_reference.json"
Z = 1.959963984540054


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def _landmark_cases():
    for dataset, data in reference()["kaplan_meier"].items():
        for conf_type, block in data["landmarks"].items():
            for index, months in enumerate(block["times"]):
                yield pytest.param(dataset, conf_type, index, id=f"{dataset}-{conf_type}-{months}m")


@pytest.mark.parametrize("dataset, conf_type, index", list(_landmark_cases()))
def test_se_from_r_confidence_interval(dataset, conf_type, index):
    """The CI survfit prints gives back Greenwood's SE: Var(y) = (se(S) / (S log S))^2."""
    block = reference()["kaplan_meier"][dataset]["landmarks"][conf_type]
    s, se_s = number(block["surv"][index]), number(block["std_err"][index])
    low, high = number(block["lower"][index]), number(block["upper"][index])
    if not 0 < s < 1 or not np.isfinite(low):
        pytest.skip("no CI at S = 1 or S = 0")
    cut = low <= 0 or high >= 1
    if cut and conf_type != "plain":
        pytest.skip("R clipped a log CI at 1: its scale is not identifiable (see test_clipped_log_ci)")
    effect = landmark_effect(s, low, high)
    assert effect.se_source == ("ci_plain_one_sided" if cut else f"ci_{conf_type}")
    assert_close(effect.yi, math.log(-math.log(s)), CLOSED_FORM_TOL, "yi")
    assert_close(effect.vi, (se_s / (s * math.log(s))) ** 2, CLOSED_FORM_TOL, "vi")


def test_clipped_log_ci_is_taken_as_plain_and_flagged():
    # small cohort, 3 months, R conf.type = "log": upper limit clipped at 1
    block = reference()["kaplan_meier"]["small"]["landmarks"]["log"]
    s, low, high = (number(block[k][0]) for k in ("surv", "lower", "upper"))
    assert high == 1
    effect = landmark_effect(s, low, high)
    assert effect.se_source == "ci_plain_one_sided"
    assert "ci_cut_at_bound" in effect.flags
    # the SE is the plain lower half-width: (S - lo) / z
    assert effect.vi == pytest.approx(((s - low) / Z / (s * math.log(s))) ** 2, rel=1e-12)


def test_greenwood_without_censoring_matches_survfit():
    block = reference()["kaplan_meier"]["no_censoring"]["landmarks"]["log-log"]
    index = block["times"].index(12)
    s, se_s = number(block["surv"][index]), number(block["std_err"][index])
    assert s == pytest.approx(0.8)
    # the binomial SE is an opt-in imputation (survival.without_precision: binomial)
    effect = landmark_effect(0.8, n=20, without_precision="binomial")
    assert effect.se_source == "greenwood_no_censoring"
    assert "greenwood_assumes_no_censoring" in effect.flags
    assert_close(effect.vi, (se_s / (s * math.log(s))) ** 2, CLOSED_FORM_TOL, "vi")


def test_reported_se_by_hand():
    # 61.2% +- 14.0%: Var(y) = 0.14^2 / (0.612 log 0.612)^2
    effect = landmark_effect(0.612, se=0.14)
    assert effect.se_source == "reported_se"
    assert effect.vi == pytest.approx(0.14**2 / (0.612 * math.log(0.612)) ** 2, rel=1e-14)


def test_printed_plain_ci_beyond_100_percent_uses_full_width():
    # 86% (95% CI 68-104): symmetric on the plain scale, se(S) = 0.36 / (2 z)
    effect = landmark_effect(0.86, 0.68, 1.04)
    assert effect.se_source == "ci_plain"
    assert "ci_beyond_0_1_width_used" in effect.flags
    assert effect.vi == pytest.approx((0.36 / (2 * Z)) ** 2 / (0.86 * math.log(0.86)) ** 2, rel=1e-12)


def test_ci_scale_detection_by_hand():
    # 77% (55-99) is symmetric on the plain scale only
    assert ci_scale(0.77, 0.55, 0.99) == ("plain", ())
    # exp(-exp(log(-log 0.6) -+ 0.5)) is symmetric on the log-log scale; printed to 0.1%
    y = math.log(-math.log(0.6))
    low, high = (round(math.exp(-math.exp(y + d)), 3) for d in (0.5, -0.5))
    assert ci_scale(0.6, low, high)[0] == "log-log"
    # a CI that fits no scale is flagged
    assert "ci_scale_uncertain" in ci_scale(0.5, 0.1, 0.6)[1]


def test_bound_estimates_are_moved_half_a_patient_inside():
    effect = landmark_effect(1.0, n=20, without_precision="binomial")
    assert effect.survival == pytest.approx(0.975)
    assert "estimate_truncated" in effect.flags
    assert landmark_effect(0.0, n=10, without_precision="binomial").survival == pytest.approx(0.05)
    with pytest.raises(NoPrecision, match="at the bound"):
        landmark_effect(1.0, se=0.05)


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"survival": 0.7}, "no usable precision"),
        ({"survival": 0.7, "ci_low": 0.75, "ci_high": 0.9}, "does not contain"),
        ({"survival": 1.3, "n": 10}, "not a proportion"),
    ],
)
def test_no_precision_reasons(kwargs, reason):
    with pytest.raises(NoPrecision, match=reason):
        landmark_effect(**kwargs)


# ------------------------------------------------------------------ pooling ---


def _frame(rows: list[dict]) -> pd.DataFrame:
    base = {c: None for c in ENDPOINT_COLUMNS}
    frame = pd.DataFrame([{**base, "paper": r["study"].lower(), "source": "extracted", "flags": "", **r} for r in rows],
                         columns=ENDPOINT_COLUMNS)
    for name in ("events", "total", "page"):
        frame[name] = frame[name].astype("Int64")
    for name in ("landmark_months", "estimate", "ci_low", "ci_high", "se"):
        frame[name] = frame[name].astype(float)
    return frame


def _studies(names, n_treated=None) -> pd.DataFrame:
    rows = [{c: None for c in STUDY_COLUMNS} | {"study": s, "paper": s.lower(), "year": 2020 + i,
                                                "n_treated": None if n_treated is None else n_treated[i]}
            for i, s in enumerate(names)]
    frame = pd.DataFrame(rows, columns=STUDY_COLUMNS)
    frame["year"] = frame["year"].astype("Int64")
    frame["n_treated"] = frame["n_treated"].astype("Int64")
    return frame


ALL_FITS = [{"measure": "PLO", "method": m, "ci_method": t} for m in ("FE", "DL", "REML", "PM") for t in ("z", "hk")]


@pytest.mark.parametrize("name", list(reference()["landmark_pooling"]))
def test_pooled_landmarks_match_metafor(name):
    data = reference()["landmark_pooling"][name]
    k = len(data["survival"])
    names = [f"S{i:02d}" for i in range(k)]
    rows = []
    for i, study in enumerate(names):
        low, high, se = (number(data[key][i]) for key in ("ci_low", "ci_high", "se"))
        rows.append({
            "study": study, "endpoint": "rfs", "landmark_months": 12, "estimate": number(data["survival"][i]),
            "ci_low": None if np.isnan(low) else low, "ci_high": None if np.isnan(high) else high,
            "se": None if np.isnan(se) else se, "total": int(number(data["n"][i])),
        })
    pooling = {"level": 0.95, "analyses": ALL_FITS}
    out_rows, entry = pool_landmark(_frame(rows), _studies(names), pooling, "rfs", 12, without_precision="binomial")
    # the repeat without imputed-SE studies is tested in test_sensitivity_without_imputed_se
    out_rows = [r for r in out_rows if r["subgroup"] == "all"]
    assert [s["se_source"] for s in entry["studies"]] == data["source"]
    assert_close([s["yi"] for s in entry["studies"]], data["yi"], CLOSED_FORM_TOL, f"{name} yi")
    assert_close([s["vi"] for s in entry["studies"]], data["vi"], CLOSED_FORM_TOL, f"{name} vi")
    assert len(out_rows) == len(data["fits"])
    for fit, row, analysis in zip(data["fits"], out_rows, entry["analyses"]):
        assert (row["method"], row["ci_method"]) == (fit["method"], CI_METHOD[fit["test"]])
        assert row["measure"] == "cloglog" and row["landmark_months"] == 12
        tol = CLOSED_FORM_TOL if fit["method"] in ("FE", "DL") else ITERATIVE_TOL
        what = f"{name} {fit['method']} {fit['test']}"
        assert_close(analysis["estimate_yi"], fit["estimate"], tol, f"{what} estimate")
        assert_close(analysis["se_yi"], fit["se"], tol, f"{what} se")
        # the prediction interval: t on k - 1 df, k >= 3 only (issue 17); S = exp(-exp(x)) swaps its limits
        pi = expected_pi(fit, len(data["yi"]))
        survival = dict(fit["survival"], pi_low=float(np.exp(-np.exp(pi[1]))), pi_high=float(np.exp(-np.exp(pi[0]))))
        for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            assert_close(row[key], survival[key], tol, f"{what} {key}")
        for key in ("tau2", "i2", "h2", "q", "q_p"):
            assert_close(row[key], fit[key], tol, f"{what} {key}")
        if fit["method"] != "FE":
            # Q-profile limits: root searches on both sides
            assert_close([row["tau2_ci_low"], row["tau2_ci_high"]], [fit["tau2_ci_low"], fit["tau2_ci_high"]],
                         ITERATIVE_TOL, f"{what} tau2 CI")
    primary = data["fits"][0]
    assert_close([s["weight"] for s in entry["studies"]], primary["weights"], CLOSED_FORM_TOL, f"{name} weights")


def test_24_month_only_study_never_enters_12_month_pool():
    rows = [
        {"study": "A", "endpoint": "rfs", "landmark_months": 12, "estimate": 0.77, "ci_low": 0.55, "ci_high": 0.99},
        {"study": "B", "endpoint": "lfs", "landmark_months": 12, "estimate": 0.795, "se": 0.09, "total": 20},
        {"study": "C", "endpoint": "efs", "landmark_months": 24, "estimate": 0.612, "se": 0.14},
        {"study": "D", "endpoint": "os", "landmark_months": 12, "estimate": 0.9},
    ]
    pooling = {"level": 0.95, "analyses": [{"measure": "PLO", "method": "DL", "ci_method": "z"}]}
    out_rows, entries = pool_landmarks(_frame(rows), _studies("ABCD"), pooling, ["rfs+lfs+efs", "os"], [12, 24])
    twelve = entries["rfs+lfs+efs_12m"]
    assert [s["study"] for s in twelve["studies"]] == ["A", "B"]
    assert [s["endpoint"] for s in twelve["studies"]] == ["rfs", "lfs"]
    assert twelve["excluded"] == [{
        "study": "C", "paper": "c",
        "reason": "no 12-month value (reports efs at 24 months); not pooled at 12 months",
    }]
    assert [s["study"] for s in entries["rfs+lfs+efs_24m"]["studies"]] == ["C"]
    # D has no CI, SE or n: excluded with the reason, never silently dropped
    assert entries["os_12m"]["studies"] == []
    assert entries["os_12m"]["excluded"][0]["study"] == "D"
    assert "no usable precision" in entries["os_12m"]["excluded"][0]["reason"]
    assert {(r["endpoint"], r["landmark_months"], r["k"]) for r in out_rows} == {
        ("rfs+lfs+efs", 12, 2), ("rfs+lfs+efs", 24, 1)}


def test_glmm_is_skipped_with_a_note_and_the_fallback_is_primary():
    rows = [{"study": "A", "endpoint": "os", "landmark_months": 12, "estimate": 0.8, "se": 0.09, "total": 20},
            {"study": "B", "endpoint": "os", "landmark_months": 12, "estimate": 0.6, "se": 0.09, "total": 30}]
    pooling = {"level": 0.95,
               "analyses": [{"measure": "PLO", "method": "GLMM", "ci_method": "z"},
                            {"measure": "PLO", "method": "DL", "ci_method": "z"},
                            {"measure": "PFT", "method": "DL", "ci_method": "z"}],
               "glmm_fallback": {"measure": "PLO", "method": "REML", "ci_method": "hk"}}
    out_rows, entry = pool_landmark(_frame(rows), _studies("AB"), pooling, "os", 12)
    assert [(r["method"], r["ci_method"]) for r in out_rows] == [("REML", "hk"), ("DL", "z")]
    assert [a["primary"] for a in entry["analyses"]] == [True, False]
    assert any("GLMM skipped" in note for note in entry["notes"])


def test_cumulative_incidence_is_pooled_as_its_complement():
    # F = 0.3 (0.2-0.4) carries the precision of S = 0.7 (0.6-0.8); k = 1 returns it
    rows = [{"study": "A", "endpoint": "relapse_cuminc", "landmark_months": 12, "estimate": 0.3,
             "ci_low": 0.2, "ci_high": 0.4}]
    pooling = {"level": 0.95, "analyses": [{"measure": "PLO", "method": "DL", "ci_method": "z"}]}
    out_rows, entry = pool_landmark(_frame(rows), _studies("A"), pooling, "relapse_cuminc", 12)
    survival = landmark_effect(0.7, 0.6, 0.8)
    assert entry["studies"][0]["vi"] == pytest.approx(survival.vi, rel=1e-12)
    half = Z * math.sqrt(survival.vi)
    assert out_rows[0]["estimate"] == pytest.approx(0.3, rel=1e-12)
    assert out_rows[0]["ci_low"] == pytest.approx(1 - math.exp(-math.exp(survival.yi - half)), rel=1e-12)
    assert out_rows[0]["ci_low"] < 0.3 < out_rows[0]["ci_high"]


def test_survival_bounds_swap_on_back_transformation():
    rows = [{"study": "A", "endpoint": "os", "landmark_months": 12, "estimate": 0.7, "ci_low": 0.6, "ci_high": 0.8}]
    pooling = {"level": 0.95, "analyses": [{"measure": "PLO", "method": "DL", "ci_method": "z"}]}
    out_rows, entry = pool_landmark(_frame(rows), _studies("A"), pooling, "os", 12)
    effect = landmark_effect(0.7, 0.6, 0.8)
    half = Z * math.sqrt(effect.vi)
    assert out_rows[0]["ci_low"] == pytest.approx(math.exp(-math.exp(effect.yi + half)), rel=1e-12)
    assert out_rows[0]["ci_high"] == pytest.approx(math.exp(-math.exp(effect.yi - half)), rel=1e-12)


# ------------------------------------------------------------------ relapse ---


def test_relapse_denominators_are_explicit():
    rows = [
        {"study": "A", "endpoint": "relapse", "events": 5, "total": 15, "flags": "assumed_denominator"},
        {"study": "A", "endpoint": "cr_cri", "events": 14, "total": 15},
        {"study": "A", "endpoint": "n_treated", "total": 15},
        {"study": "B", "endpoint": "relapse", "events": 3, "total": 20},
        {"study": "B", "endpoint": "n_treated", "total": 20},
        {"study": "C", "endpoint": "relapse", "events": 4, "total": 4},
        {"study": "C", "endpoint": "cr_cri", "events": 3, "total": 10},
    ]
    responders, excluded = relapse_proportions(_frame(rows), "responders")
    assert responders[["study", "endpoint", "events", "total"]].values.tolist() == [["A", "relapse_responders", 5, 14]]
    assert responders["estimate"].tolist() == [5 / 14]
    assert responders["flags"].tolist() == ["denominator_responders"]
    assert {e["study"]: e["reason"] for e in excluded} == {
        "B": "no number of CR/CRi responders", "C": "4 relapses > 3 CR/CRi responders"}
    treated, excluded = relapse_proportions(_frame(rows), "treated")
    assert treated[["study", "events", "total"]].values.tolist() == [["A", 5, 15], ["B", 3, 20]]
    assert excluded == [{"study": "C", "paper": "c", "reason": "no number of treated patients"}]
    with pytest.raises(ValueError, match="denominator"):
        relapse_proportions(_frame(rows), "evaluable")


# ----------------------------------------------- landmarks without precision ---
# Issue 17 (statistical review, finding 4): a bare percentage was pooled with the binomial SE,
# which ignores censoring; S = 1 was moved silently and shown with a CI that excludes it.


def test_bare_percentage_is_excluded_by_default_with_the_reason():
    rows = [{"study": "A", "endpoint": "os", "landmark_months": 12, "estimate": 0.86, "ci_low": 0.68, "ci_high": 1.04},
            {"study": "B", "endpoint": "os", "landmark_months": 12, "estimate": 0.57, "total": 23}]
    pooling = {"level": 0.95, "analyses": [{"measure": "PLO", "method": "DL", "ci_method": "z"}]}
    out_rows, entry = pool_landmark(_frame(rows), _studies("AB"), pooling, "os", 12)
    assert [s["study"] for s in entry["studies"]] == ["A"]
    assert entry["excluded"][0]["study"] == "B"
    assert "without CI, standard error or number at risk" in entry["excluded"][0]["reason"]
    assert "survival.without_precision: exclude" in entry["excluded"][0]["reason"]
    assert [r["k"] for r in out_rows] == [1]
    assert "without_imputed_se" not in entry


def test_peto_se_from_number_at_risk_matches_survfit_without_censoring():
    # Peto: SE(S) = S sqrt((1 - S) / n_risk). Without censoring n_risk = n S, so it equals
    # Greenwood's SE, which R's survfit prints (no_censoring cohort: S = 0.8 at 12 months, 16 at risk).
    block = reference()["kaplan_meier"]["no_censoring"]["landmarks"]["log-log"]
    index = block["times"].index(12)
    s, se_s, at_risk = (number(block[key][index]) for key in ("surv", "std_err", "n_risk"))
    assert at_risk == 16
    effect = landmark_effect(s, n_at_risk=at_risk)
    assert effect.se_source == "peto_at_risk"
    assert_close(effect.vi, (se_s / (s * math.log(s))) ** 2, CLOSED_FORM_TOL, "vi")


def test_peto_se_by_hand_widens_with_censoring():
    # 12-month S = 0.6 with 5 of 23 patients still at risk (the others censored or had the event):
    # SE(S) = 0.6 sqrt(0.4 / 5) = 0.16971; Var(y) = SE^2 / (S log S)^2 = 0.0800 / 0.26094 = 0.30658
    effect = landmark_effect(0.6, n=23, n_at_risk=5)
    assert effect.vi == pytest.approx((0.6 * math.sqrt(0.4 / 5)) ** 2 / (0.6 * math.log(0.6)) ** 2, rel=1e-12)
    assert effect.vi == pytest.approx(0.30658, abs=5e-5)
    binomial = landmark_effect(0.6, n=23, without_precision="binomial")
    assert binomial.vi == pytest.approx(0.4 / (23 * 0.6 * math.log(0.6) ** 2), rel=1e-12)
    assert effect.vi > 2.5 * binomial.vi  # the binomial variance is 4.6 times too small here


def test_number_at_risk_column_of_a_sheet_is_used():
    rows = [{"study": "A", "endpoint": "rfs", "landmark_months": 12, "estimate": 0.6, "total": 23},
            {"study": "B", "endpoint": "rfs", "landmark_months": 12, "estimate": 0.7, "ci_low": 0.5, "ci_high": 0.9}]
    frame = _frame(rows).assign(n_at_risk=[5.0, None])
    pooling = {"level": 0.95, "analyses": [{"measure": "PLO", "method": "DL", "ci_method": "z"}]}
    _, entry = pool_landmark(frame, _studies("AB"), pooling, "rfs", 12)
    assert [s["se_source"] for s in entry["studies"]] == ["peto_at_risk", "ci_plain"]
    assert entry["studies"][0]["vi"] == pytest.approx(0.4 / (5 * math.log(0.6) ** 2), rel=1e-12)


def test_sensitivity_without_imputed_se_matches_metafor():
    # survival.without_precision: binomial pools the imputed studies and repeats every analysis
    # without them; R: rma() on the first three studies (dataset imputed_mixed_without)
    data, without = (reference()["landmark_pooling"][name] for name in ("imputed_mixed", "imputed_mixed_without"))
    names = [f"S{i:02d}" for i in range(len(data["survival"]))]
    rows = []
    for i, study in enumerate(names):
        low, high, se = (number(data[key][i]) for key in ("ci_low", "ci_high", "se"))
        rows.append({"study": study, "endpoint": "os", "landmark_months": 12, "estimate": number(data["survival"][i]),
                     "ci_low": None if np.isnan(low) else low, "ci_high": None if np.isnan(high) else high,
                     "se": None if np.isnan(se) else se, "total": int(number(data["n"][i]))})
    pooling = {"level": 0.95, "analyses": ALL_FITS}
    out_rows, entry = pool_landmark(_frame(rows), _studies(names), pooling, "os", 12, without_precision="binomial")
    assert entry["without_imputed_se"]["omitted"] == ["S03", "S04"]
    repeated = [r for r in out_rows if r["subgroup"] == "sensitivity:without_imputed_se"]
    assert len(repeated) == len(without["fits"]) == len(entry["without_imputed_se"]["analyses"])
    for fit, row in zip(without["fits"], repeated):
        assert (row["method"], row["ci_method"], row["k"]) == (fit["method"], CI_METHOD[fit["test"]], 3)
        tol = CLOSED_FORM_TOL if fit["method"] in ("FE", "DL") else ITERATIVE_TOL
        # the prediction interval: t on k - 1 df (issue 17), by hand from R's estimate, se and tau2 as above
        pi = expected_pi(fit, 3)
        survival = dict(fit["survival"], pi_low=float(np.exp(-np.exp(pi[1]))), pi_high=float(np.exp(-np.exp(pi[0]))))
        for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            assert_close(row[key], survival[key], tol, f"{fit['method']} {fit['test']} {key}")


def test_survival_of_one_is_named_and_its_interval_contains_it():
    # Review probe: OS 12 m = 100% of 15, no CI. With the binomial imputation S is pooled as
    # 1 - 0.5/15 = 0.96667; y +- 1.96 sqrt(vi) back-transformed gave "100.0 [58.2, 99.8]".
    rows = [{"study": "L1", "endpoint": "os", "landmark_months": 12, "estimate": 1.0, "total": 15},
            {"study": "L2", "endpoint": "os", "landmark_months": 12, "estimate": 0.8, "se": 0.09, "total": 20}]
    pooling = {"level": 0.95, "analyses": [{"measure": "PLO", "method": "DL", "ci_method": "z"}]}
    _, entry = pool_landmark(_frame(rows), _studies(["L1", "L2"]), pooling, "os", 12, without_precision="binomial")
    study = entry["studies"][0]
    s = 1 - 0.5 / 15
    vi = (1 - s) / (15 * s * math.log(s) ** 2)
    low = math.exp(-math.exp(math.log(-math.log(s)) + Z * math.sqrt(vi)))
    assert low == pytest.approx(0.582, abs=5e-4)  # the review's lower limit
    assert study["estimate"] == 1.0
    assert (study["ci_low"], study["ci_high"]) == (pytest.approx(low, rel=1e-12), 1.0)
    assert "estimate_truncated" in study["flags"]
    assert any(note.startswith("L1: the printed 100% has no finite log(-log S); pooled as 96.7%") for note in entry["notes"])
    # without the imputation the same study is excluded, not moved
    _, default = pool_landmark(_frame(rows), _studies(["L1", "L2"]), pooling, "os", 12)
    assert [x["study"] for x in default["excluded"]] == ["L1"]


def test_a_landmark_with_one_study_shows_the_study_and_pools_nothing():
    # Issue 17: k = 1 is shown, not pooled (no tau2, I², Q or prediction interval; meta does the same).
    # The study's interval is its own Wald interval on the log(-log S) scale, whatever the analysis.
    rows = [{"study": "S00", "endpoint": "os", "landmark_months": 12, "estimate": 0.6, "ci_low": 0.4, "ci_high": 0.8,
             "se": None, "total": 30}]
    out_rows, entry = pool_landmark(_frame(rows), _studies(["S00"]), {"level": 0.95, "analyses": ALL_FITS}, "os", 12)
    yi, vi = entry["studies"][0]["yi"], entry["studies"][0]["vi"]
    half = 1.959963984540054 * np.sqrt(vi)
    low, high = np.exp(-np.exp(yi + half)), np.exp(-np.exp(yi - half))  # S decreases in y
    assert out_rows
    for row in out_rows:
        assert row["model"] == "single study, not pooled (its own interval)" and row["k"] == 1
        assert all(row[key] is None for key in ("tau2", "i2", "q", "pi_low", "pi_high"))
        assert_close([row["estimate"], row["ci_low"], row["ci_high"]], [np.exp(-np.exp(yi)), low, high], 1e-12, "own")
