"""The pool stage end to end (harmonised table -> pooled.csv rows and results.json) against metafor.

tests/test_models_metafor.py and tests/test_sensitivity_metafor.py check the
estimators one call at a time; these tests check that `pool_all`, which the
pipeline runs, feeds them the right studies and settings and lays their
results out in the right rows and keys. Every expected number comes from
tests/reference/metafor_reference.json (written by metafor_reference.R).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metafor_reference import CI_METHOD, ITERATIVE_TOL, assert_close, assert_pooled_row, dataset, number, reference
from trialmeta.pool.effects import back_transform
from trialmeta.harmonise.table import ENDPOINT_COLUMNS
from trialmeta.pool.pooling import pool_all

DATASETS = sorted(reference()["datasets"])


def tables(name: str, years=None, **study_columns) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A harmonised endpoints/studies pair holding one reference dataset as endpoint 'cr_cri'.

    Study names sort in the dataset's order, and years increase with it, so the
    pipeline's order (by name; cumulative by year) is R's order.
    """
    events, total = dataset(name)
    studies = [f"s{i:02d}" for i in range(len(events))]
    endpoints = pd.DataFrame({
        "study": studies, "paper": studies, "endpoint": "cr_cri",
        "events": pd.array(events.astype(int), dtype="Int64"), "total": pd.array(total.astype(int), dtype="Int64"),
        "flags": "",
    }).reindex(columns=ENDPOINT_COLUMNS)
    endpoints["flags"] = ""
    frame = pd.DataFrame({"study": studies, "year": years if years is not None else 2000 + np.arange(len(events))})
    for column, values in study_columns.items():
        frame[column] = values
    return endpoints, frame


def pooling(analyses, **extra) -> dict:
    return {"level": 0.95, "continuity_correction": {"add": 0.5, "to": "only0"}, "analyses": analyses,
            "glmm_fallback": None, **extra}


@pytest.mark.parametrize("name", DATASETS)
def test_every_pooled_row_matches_metafor(name):
    fits = [f for f in reference()["fits"] if f["dataset"] == name]
    analyses = [{"measure": f["measure"], "method": f["method"], "ci_method": CI_METHOD[f["test"]]} for f in fits]
    endpoints, studies = tables(name)
    pooled, _ = pool_all(endpoints, studies, ["cr_cri"], pooling(analyses))
    overall = pooled[pooled["subgroup"] == "all"]
    assert len(overall) == len(fits) == 108
    for (_, row), fit in zip(overall.iterrows(), fits):
        assert_pooled_row(row, fit, f"{name} {fit['measure']}-{fit['method']}-{fit['test']}", ITERATIVE_TOL)


@pytest.mark.parametrize("glmm", reference()["glmm"], ids=lambda g: g["dataset"])
def test_glmm_row_matches_metafor_or_says_why_not(glmm):
    endpoints, studies = tables(glmm["dataset"])
    config = pooling([{"measure": "PLO", "method": "GLMM", "ci_method": "z"}])
    pooled, details = pool_all(endpoints, studies, ["cr_cri"], config)
    row = pooled.iloc[0]
    note = details["endpoints"]["cr_cri"]["primary_note"]
    if glmm["refused"]:
        # metafor refuses these too; the row stays, empty, and the reason is given
        assert pd.isna(row["estimate"]) and "could not be fitted" in note and "no fallback configured" in note
        return
    assert note is None
    for column in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert_close(row[column], glmm["back"][column], ITERATIVE_TOL, f"GLMM {glmm['dataset']} {column}")
    assert_close(row["tau2"], glmm["tau2"], ITERATIVE_TOL, "GLMM tau2")
    assert_close(row["q"], glmm["q_lrt"], ITERATIVE_TOL, "GLMM Q (likelihood-ratio test)")


def test_glmm_that_cannot_be_fitted_falls_back_only_when_configured():
    endpoints, studies = tables("all_events")
    glmm = {"measure": "PLO", "method": "GLMM", "ci_method": "z"}
    fallback = {"measure": "PLO", "method": "REML", "ci_method": "hk"}
    pooled, details = pool_all(endpoints, studies, ["cr_cri"], pooling([glmm]) | {"glmm_fallback": fallback})
    detail = details["endpoints"]["cr_cri"]
    assert list(pooled["method"][pooled["subgroup"] == "all"]) == ["GLMM", "REML"]
    assert pd.isna(pooled.iloc[0]["estimate"]) and not pd.isna(pooled.iloc[1]["estimate"])
    assert [a["primary"] for a in detail["analyses"]] == [False, True]
    assert "fallback PLO-REML-hk" in detail["primary_note"]
    expected = next(f for f in reference()["fits"]
                    if (f["dataset"], f["measure"], f["method"], f["test"]) == ("all_events", "PLO", "REML", "knha"))
    assert_close(pooled.iloc[1]["estimate"], expected["back"]["estimate"], ITERATIVE_TOL, "fallback estimate")


def _sensitivity_entry(name, measure, method, test):
    return next(s for s in reference()["sensitivity"]
                if (s["dataset"], s["measure"], s["method"], s["test"]) == (name, measure, method, test))


SENSITIVITY_CASES = [(s["dataset"], s["measure"], s["method"], s["test"]) for s in reference()["sensitivity"]]


@pytest.mark.parametrize("case", SENSITIVITY_CASES, ids="-".join)
def test_sensitivity_results_match_metafor(case):
    name, measure, method, test = case
    ref = _sensitivity_entry(*case)
    moderators = reference()["moderators"]
    k = len(dataset(name)[0])
    extra = {}
    if name == "hetero_k30":
        extra = {"target": list(moderators["group"]), "followup_median_months": number(moderators["dose"])}
    endpoints, studies = tables(name, **extra)
    config = pooling([{"measure": measure, "method": method, "ci_method": CI_METHOD[test]}],
                     subgroups=["target"] if extra else [], moderators=["followup_median_months"] if extra else [])
    _, details = pool_all(endpoints, studies, ["cr_cri"], config)
    detail = details["endpoints"]["cr_cri"]
    what = "-".join(case)

    # leave-one-out and cumulative: metafor reports the model scale; back-transform
    # it for the logit (PFT needs each subset's sizes, which metafor does not give)
    if measure == "PLO":
        for key, r_key in (("leave_one_out", "leave1out"), ("cumulative", "cumul")):
            got = [entry["estimate"] for entry in detail[key]]
            assert_close(got, back_transform(number(ref[r_key]["estimate"]), "PLO"), ITERATIVE_TOL, f"{what} {key}")
            if method != "FE":  # metafor's leave1out/cumul of a common-effect model list no tau2
                assert_close([e["tau2"] for e in detail[key]], ref[r_key]["tau2"], ITERATIVE_TOL, f"{what} {key} tau2")
    assert [entry["omitted"] for entry in detail["leave_one_out"]] == [f"s{i:02d}" for i in range(k)]
    assert [entry["study"] for entry in detail["influence"]] == [f"s{i:02d}" for i in range(k)]

    egger = detail["egger"]
    for field in ("stat", "pval", "slope", "slope_se", "limit_estimate", "limit_ci_low", "limit_ci_high"):
        assert_close(egger[field], ref["regtest"][field], ITERATIVE_TOL, f"{what} Egger {field}")
    assert (egger["warning"] is None) == (k >= 10)

    filled = detail["trim_and_fill"]
    assert filled["k0"] == ref["trimfill"]["k0"] and filled["side"] == ref["trimfill"]["side"]
    assert_close([f["yi"] for f in filled["filled"]], ref["trimfill"]["filled_yi"], ITERATIVE_TOL, f"{what} filled yi")
    if measure == "PLO":
        assert_close(filled["estimate"], back_transform(number(ref["trimfill"]["estimate"]), "PLO"),
                     ITERATIVE_TOL, f"{what} trim-and-fill estimate")

    if not extra:
        return
    subgroups = detail["subgroups"]["target"]
    assert [g["group"] for g in subgroups["groups"]] == list(ref["subgroups"]["groups"])
    assert_close(subgroups["q_between"], ref["subgroups"]["q_between"], ITERATIVE_TOL, f"{what} Q between")
    assert_close(subgroups["q_between_p"], ref["subgroups"]["q_between_p"], ITERATIVE_TOL, f"{what} Q between p")
    assert_close(subgroups["qm_mixed_effects"], ref["subgroups"]["mixed_effects"]["qm"], ITERATIVE_TOL, f"{what} QM")
    if measure == "PLO":
        expected = back_transform(number([f["estimate"] for f in ref["subgroups"]["fits"]]), "PLO")
        assert_close([g["estimate"] for g in subgroups["groups"]], expected, ITERATIVE_TOL, f"{what} subgroup estimates")
    regression = detail["meta_regression"]["followup_median_months"]
    assert_close([regression["intercept"], regression["slope"]], ref["metareg"]["coefficients"], ITERATIVE_TOL, f"{what} coefficients")
    for field, r_field in (("qm", "qm"), ("qm_p", "qm_p"), ("tau2", "tau2")):
        assert_close(regression[field], ref["metareg"][r_field], ITERATIVE_TOL, f"{what} meta-regression {field}")
    assert len(regression["points"]) == k


def test_subgroup_rows_in_pooled_csv_name_column_and_value():
    events, _ = dataset("hetero_k30")
    groups = reference()["moderators"]["group"]
    endpoints, studies = tables("hetero_k30", target=list(groups))
    config = pooling([{"measure": "PLO", "method": "REML", "ci_method": "hk"}], subgroups=["target"])
    pooled, _ = pool_all(endpoints, studies, ["cr_cri"], config)
    sub = pooled[pooled["subgroup"] != "all"]
    assert list(sub["subgroup"]) == ["target=g1", "target=g2", "target=g3"]
    assert list(sub["k"]) == [groups.count(g) for g in ("g1", "g2", "g3")]
    ref = _sensitivity_entry("hetero_k30", "PLO", "REML", "knha")["subgroups"]["fits"]
    for (_, row), fit in zip(sub.iterrows(), ref):
        assert_close(row["ci_low"], back_transform(number(fit["ci_low"]), "PLO"), ITERATIVE_TOL, "subgroup CI")


def test_too_few_studies_give_a_reason_not_a_result():
    endpoints, studies = tables("k2", target=["CD19", "CD22"])
    config = pooling([{"measure": "PLO", "method": "REML", "ci_method": "z"}], subgroups=["target"], moderators=["year"])
    _, details = pool_all(endpoints, studies, ["cr_cri"], config)
    detail = details["endpoints"]["cr_cri"]
    assert detail["egger"] is None and "at least 3 studies" in detail["egger_note"]
    assert detail["trim_and_fill"] is None
    assert detail["subgroups"] == {} and "single study" in detail["subgroups_note"]["target"]
    assert detail["meta_regression"] == {} and "at least 3" in detail["meta_regression_note"]["year"]
    assert len(detail["leave_one_out"]) == 2
    assert math.isclose(detail["cumulative"][-1]["estimate"], next(
        a["estimate_prop"] for a in detail["analyses"] if a["primary"]), rel_tol=1e-12)


def test_subgroup_test_that_cannot_be_computed_is_a_note_not_a_crash():
    # three identical studies: under Knapp-Hartung their subgroup's SE is 0 (metafor's too), so the
    # common-effect test between subgroups has a zero variance and cannot be computed
    endpoints, studies = tables("k2")
    endpoints = pd.concat([endpoints.iloc[[0]]] * 3 + [endpoints.iloc[[1]]], ignore_index=True)
    endpoints["study"] = endpoints["paper"] = ["a", "b", "c", "d"]
    endpoints["events"] = pd.array([9, 9, 9, 22], dtype="Int64")
    endpoints["total"] = pd.array([12, 12, 12, 22], dtype="Int64")
    studies = pd.DataFrame({"study": list("abcd"), "year": [2020] * 4, "target": ["CD19"] * 3 + ["CD19/CD22"]})
    config = pooling([{"measure": "PLO", "method": "REML", "ci_method": "hk"}], subgroups=["target"])
    pooled, details = pool_all(endpoints, studies, ["cr_cri"], config)
    detail = details["endpoints"]["cr_cri"]
    assert detail["subgroups"] == {} and "not estimable" in detail["subgroups_note"]["target"]
    assert not pd.isna(pooled.iloc[0]["estimate"])
