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

from metafor_reference import (
    CI_METHOD, ITERATIVE_TOL, UNPOOLABLE, assert_close, assert_exact_rows, assert_pooled_row, dataset,
    expected_pi, number, reference, reported_fit, small_k_reference,
)
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
    if name in UNPOOLABLE:
        # one study, or every study at 0% or at 100%: no model, the exact interval of the summed counts
        assert len(overall) == len(fits) + 1 == 109
        assert_exact_rows(overall, name)
        return
    assert len(overall) == len(fits) == 108
    for (_, row), fit in zip(overall.iterrows(), fits):
        assert_pooled_row(row, reported_fit(fit), f"{name} {fit['measure']}-{fit['method']}-{fit['test']}",
                          ITERATIVE_TOL, dataset(name)[1])


@pytest.mark.parametrize("glmm", reference()["glmm"], ids=lambda g: g["dataset"])
def test_glmm_row_matches_metafor_or_says_why_not(glmm):
    endpoints, studies = tables(glmm["dataset"])
    # glmm_t_below_k = 0 keeps metafor's z-based CI at every k
    config = pooling([{"measure": "PLO", "method": "GLMM", "ci_method": "z"}], glmm_t_below_k=0)
    pooled, details = pool_all(endpoints, studies, ["cr_cri"], config)
    row = pooled.iloc[0]
    note = details["endpoints"]["cr_cri"]["primary_note"]
    if glmm["refused"]:
        # metafor refuses these too (k = 1, all at 0%, all at 100%); the row stays, empty, and the
        # exact interval of the summed counts is the primary row
        assert pd.isna(row["estimate"]) and "not estimable" in note or "k = 1" in note
        assert_exact_rows(pooled[pooled["subgroup"] == "all"], glmm["dataset"])
        return
    assert note is None
    k = len(dataset(glmm["dataset"])[0])
    pi = back_transform(list(expected_pi({**glmm, "test": "z"}, k)), "PLO")
    expected = dict(glmm["back"], pi_low=pi[0], pi_high=pi[1])
    for column in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert_close(row[column], expected[column], ITERATIVE_TOL, f"GLMM {glmm['dataset']} {column}")
    assert row["model"] == "GLMM (logit, z-based CI)"
    assert_close(row["tau2"], glmm["tau2"], ITERATIVE_TOL, "GLMM tau2")
    assert_close(row["q"], glmm["q_lrt"], ITERATIVE_TOL, "GLMM Q (likelihood-ratio test)")


def _small_k_tables(name: str, **study_columns) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`tables` for a dataset of small_k_reference.json (issue 17's probes)."""
    data = small_k_reference()["datasets"][name]
    events, total = np.array(data["events"], dtype=int), np.array(data["total"], dtype=int)
    names = [f"s{i:02d}" for i in range(len(events))]
    endpoints = pd.DataFrame({"study": names, "paper": names, "endpoint": "cr_cri", "events": pd.array(events, dtype="Int64"),
                              "total": pd.array(total, dtype="Int64"), "flags": ""}).reindex(columns=ENDPOINT_COLUMNS)
    endpoints["flags"] = ""
    frame = pd.DataFrame({"study": names, "year": 2000 + np.arange(len(events)), **study_columns})
    return endpoints, frame


def _small_k_rma(name: str, measure: str, test: str) -> dict:
    return next(r for r in small_k_reference()["rma"] if (r["dataset"], r["measure"], r["test"]) == (name, measure, test))


def test_glmm_that_cannot_be_fitted_falls_back_only_when_configured():
    # 0/10 and 10/10: the GLMM's between-study SD runs away (metafor "fits" tau = 172); the fallback
    # (REML logit, ad hoc Knapp-Hartung) becomes primary and its row says so
    endpoints, studies = _small_k_tables("split")
    glmm = {"measure": "PLO", "method": "GLMM", "ci_method": "z"}
    fallback = {"measure": "PLO", "method": "REML", "ci_method": "hk_adhoc"}
    pooled, details = pool_all(endpoints, studies, ["cr_cri"], pooling([glmm]) | {"glmm_fallback": fallback})
    detail = details["endpoints"]["cr_cri"]
    assert list(pooled["method"][pooled["subgroup"] == "all"]) == ["GLMM", "REML"]
    assert pd.isna(pooled.iloc[0]["estimate"]) and not pd.isna(pooled.iloc[1]["estimate"])
    assert [a["primary"] for a in detail["analyses"]] == [False, True]
    assert "fallback PLO-REML-hk_adhoc" in detail["primary_note"]
    assert pooled.iloc[1]["model"].startswith("REML logit, ad hoc Knapp-Hartung (fallback: GLMM not fitted: ")
    expected = _small_k_rma("split", "PLO", "adhoc")
    assert_close([pooled.iloc[1]["estimate"], pooled.iloc[1]["ci_low"], pooled.iloc[1]["ci_high"]],
                 [expected["estimate_prop"], expected["ci_low_prop"], expected["ci_high_prop"]], ITERATIVE_TOL, "fallback")
    # without a fallback the row stays empty and the note says none is configured
    _, details = pool_all(endpoints, studies, ["cr_cri"], pooling([glmm]))
    assert "no fallback configured" in details["endpoints"]["cr_cri"]["primary_note"]


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
    # bias_tests_min_k = 3 runs Egger's test and trim-and-fill below meta's 10 studies, to compare with metafor
    config = pooling([{"measure": measure, "method": method, "ci_method": CI_METHOD[test]}], bias_tests_min_k=3,
                     subgroups=["target"] if extra else [], moderators=["followup_median_months"] if extra else [])
    _, details = pool_all(endpoints, studies, ["cr_cri"], config)
    detail = details["endpoints"]["cr_cri"]
    what = "-".join(case)

    # a step of one study, or of studies all at 0% or all at 100%, is not pooled (issue 17): the summed
    # counts with their exact interval; the others are metafor's leave1out and cumul
    events, total = dataset(name)
    first = detail["cumulative"][0]
    assert first["model"].startswith("single study") and first["tau2"] is None and first["pi_low"] is None
    subsets = {"leave_one_out": [np.arange(k) != i for i in range(k)],
               "cumulative": [np.arange(k) <= i for i in range(k)]}
    for key, r_key in (("leave_one_out", "leave1out"), ("cumulative", "cumul")):
        for entry, subset in zip(detail[key], subsets[key]):
            x, n = events[subset], total[subset]
            if len(x) == 1 or np.all(x == 0) or np.all(x == n):
                assert entry["estimate"] == x.sum() / n.sum() and entry["tau2"] is None, f"{what} {key}"
        # metafor reports the model scale; back-transform it for the logit (PFT needs each subset's
        # sizes, which metafor does not give)
        if measure != "PLO":
            continue
        keep = [not (s.sum() == 1 or np.all(events[s] == 0) or np.all(events[s] == total[s])) for s in subsets[key]]
        got = [entry["estimate"] for entry, kept in zip(detail[key], keep) if kept]
        expected = back_transform(number(ref[r_key]["estimate"]), "PLO")[keep]
        assert_close(got, expected, ITERATIVE_TOL, f"{what} {key}")
        if method != "FE":  # metafor's leave1out/cumul of a common-effect model list no tau2
            assert_close([e["tau2"] for e, kept in zip(detail[key], keep) if kept], number(ref[r_key]["tau2"])[keep],
                         ITERATIVE_TOL, f"{what} {key} tau2")
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
    assert detail["egger"] is None and "pooling.bias_tests_min_k" in detail["egger_note"]
    assert detail["trim_and_fill"] is None
    assert detail["subgroups"] == {} and "single study" in detail["subgroups_note"]["target"]
    assert detail["meta_regression"] == {} and "at least 3" in detail["meta_regression_note"]["year"]
    assert len(detail["leave_one_out"]) == 2
    assert math.isclose(detail["cumulative"][-1]["estimate"], next(
        a["estimate_prop"] for a in detail["analyses"] if a["primary"]), rel_tol=1e-12)


def test_subgroup_of_identical_studies_and_a_single_study_gives_no_test():
    # three identical studies: plain Knapp-Hartung has SE 0 there (metafor's too), which once made the test
    # between subgroups fail; the ad hoc correction now replaces it. The other subgroup is one study
    # (22/22): shown, not pooled, and left out of the test, which then has one subgroup and is not run.
    endpoints, studies = tables("k2")
    endpoints = pd.concat([endpoints.iloc[[0]]] * 3 + [endpoints.iloc[[1]]], ignore_index=True)
    endpoints["study"] = endpoints["paper"] = ["a", "b", "c", "d"]
    endpoints["events"] = pd.array([9, 9, 9, 22], dtype="Int64")
    endpoints["total"] = pd.array([12, 12, 12, 22], dtype="Int64")
    studies = pd.DataFrame({"study": list("abcd"), "year": [2020] * 4, "target": ["CD19"] * 3 + ["CD19/CD22"]})
    config = pooling([{"measure": "PLO", "method": "REML", "ci_method": "hk"}], subgroups=["target"])
    pooled, details = pool_all(endpoints, studies, ["cr_cri"], config)
    subgroup = details["endpoints"]["cr_cri"]["subgroups"]["target"]
    assert subgroup["q_between"] is None and subgroup["test"] is None
    assert "1 subgroup with >= 2 studies" in subgroup["test_note"]
    assert subgroup["left_out_of_test"] == ["CD19/CD22 (k = 1: the study is shown, not pooled)"]
    single = subgroup["groups"][1]
    assert single["model"].startswith("single study") and single["estimate"] == 1.0 and single["tau2"] is None
    # 9/12 three times: REML tau2 = 0 and the ad hoc se is the common-effect one, 1/sqrt(3 w) with
    # w = 1/(1/9 + 1/3) = 9/4 (vi = 1/x + 1/(n - x)): not a zero-width interval
    group = subgroup["groups"][0]
    assert group["ci_low"] < 0.75 < group["ci_high"]
    assert not pd.isna(pooled.iloc[0]["estimate"])


def test_between_subgroup_q_leaves_out_single_study_subgroups_and_names_the_test():
    # R (small_k_reference.R): two subgroups of two studies and one single-study subgroup; meta's
    # Q.b.random over the two, each fitted by REML logit with ad hoc Knapp-Hartung
    ref = small_k_reference()["subgroup"]
    events, total, groups = ref["data"]["events"], ref["data"]["total"], ref["data"]["group"]
    names = [f"s{i:02d}" for i in range(len(events))]
    endpoints = pd.DataFrame({"study": names, "paper": names, "endpoint": "cr_cri", "events": pd.array(events, dtype="Int64"),
                              "total": pd.array(total, dtype="Int64")}).reindex(columns=ENDPOINT_COLUMNS)
    endpoints["flags"] = ""
    studies = pd.DataFrame({"study": names, "year": 2000 + np.arange(len(names)), "target": groups})
    config = pooling([{"measure": "PLO", "method": "REML", "ci_method": "hk_adhoc"}], subgroups=["target"])
    # meta's rule by default: no test below 10 studies in the subgroups compared
    _, details = pool_all(endpoints, studies, ["cr_cri"], config)
    subgroup = details["endpoints"]["cr_cri"]["subgroups"]["target"]
    assert subgroup["q_between"] is None and "k = 4 < 10" in subgroup["test_note"]
    _, details = pool_all(endpoints, studies, ["cr_cri"], config | {"subgroup_test_min_k": 4})
    subgroup = details["endpoints"]["cr_cri"]["subgroups"]["target"]
    assert subgroup["test"] == "Q-test for subgroup differences (random-effects, 2 subgroups with >= 2 studies)"
    assert subgroup["q_between_df"] == ref["q_between_df"] == 1
    assert_close([subgroup["q_between"], subgroup["q_between_p"]], [ref["q_between"], ref["q_between_p"]],
                 ITERATIVE_TOL, "Q between")
    assert subgroup["left_out_of_test"] == ["c (k = 1: the study is shown, not pooled)"]
