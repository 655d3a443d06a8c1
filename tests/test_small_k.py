"""Issue 17: small k, studies at 0% or 100%, and naming the model behind every pooled number.

Each case is one the statistical review found (../shared/notes/statistical-review.md), run through
`pool_all` with the default analyses of config.yaml. Expected values come from R
(tests/reference/small_k_reference.R -> small_k_reference.json: metafor 3.8-1, binom.test) or a hand
calculation shown beside the assertion. The numbers before the fix are in the comments.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from metafor_reference import ITERATIVE_TOL, CLOSED_FORM_TOL, assert_close, small_k_reference
from trialmeta.figures import diagnostics, forest
from trialmeta.harmonise.table import ENDPOINT_COLUMNS
from trialmeta.pool.pooling import EXACT_MODEL, SINGLE_STUDY_MODEL, pool_all

ROOT = Path(__file__).resolve().parents[1]
REF = small_k_reference()


def defaults() -> dict:
    """The pooling block of config.yaml, as a run uses it."""
    return yaml.safe_load((ROOT / "config.yaml").read_text())["pooling"] | {"subgroups": [], "moderators": []}


def tables(name: str, **study_columns) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = REF["datasets"][name]
    events, total = np.array(data["events"], dtype=int), np.array(data["total"], dtype=int)
    names = [f"s{i:02d}" for i in range(len(events))]
    endpoints = pd.DataFrame({"study": names, "paper": names, "endpoint": "cr_cri", "events": pd.array(events, dtype="Int64"),
                              "total": pd.array(total, dtype="Int64")}).reindex(columns=ENDPOINT_COLUMNS)
    endpoints["flags"] = ""
    return endpoints, pd.DataFrame({"study": names, "year": 2000 + np.arange(len(names)), **study_columns})


def pooled(name: str, pooling: dict | None = None) -> tuple[pd.DataFrame, dict]:
    rows, details = pool_all(*tables(name), ["cr_cri"], pooling or defaults())
    return rows[rows["subgroup"] == "all"], details["endpoints"]["cr_cri"]


def primary(detail: dict) -> dict:
    return next(a for a in detail["analyses"] if a["primary"])


def rma(name: str, measure: str, test: str) -> dict:
    return next(r for r in REF["rma"] if (r["dataset"], r["measure"], r["test"]) == (name, measure, test))


def glmm(name: str, test: str) -> dict:
    return next(g for g in REF["glmm"] if (g["dataset"], g["test"]) == (name, test))


def test_defaults_use_ad_hoc_knapp_hartung_and_leave_freeman_tukey_out():
    pooling = defaults()
    methods = [(a["measure"], a["method"], a["ci_method"]) for a in pooling["analyses"]]
    assert ("PLO", "REML", "hk_adhoc") in methods and not any(m == "PFT" for m, _, _ in methods)
    assert "hk" not in [c for _, _, c in methods] and pooling["glmm_fallback"]["ci_method"] == "hk_adhoc"
    assert pooling["bias_tests_min_k"] == pooling["subgroup_test_min_k"] == pooling["glmm_t_below_k"] == 10


# ------------------------------------------------------------- 1. no zero-width interval ---


def test_five_identical_studies_give_no_zero_width_interval():
    # 5 x 5/25: plain Knapp-Hartung gave 20.0% [20.0, 20.0] (s2 = 0), in every leave-one-out and cumulative row too
    rows, detail = pooled("identical5")
    reml = rows[rows["method"] == "REML"].iloc[0]
    expected = rma("identical5", "PLO", "adhoc")
    assert_close([reml["estimate"], reml["ci_low"], reml["ci_high"]],
                 [expected["estimate_prop"], expected["ci_low_prop"], expected["ci_high_prop"]], ITERATIVE_TOL, "REML adhoc")
    assert reml["model"] == "REML logit, ad hoc Knapp-Hartung"
    for key in ("leave_one_out", "cumulative"):
        for entry in detail[key]:
            assert entry["ci_high"] - entry["ci_low"] > 0.05, (key, entry)


def test_plain_knapp_hartung_configured_with_agreeing_studies_takes_the_ad_hoc_correction():
    pooling = defaults() | {"analyses": [{"measure": "PFT", "method": "REML", "ci_method": "hk"}], "glmm_fallback": None}
    rows, _ = pooled("identical5", pooling)
    row = rows.iloc[0]
    expected = rma("identical5", "PFT", "adhoc")  # metafor knha: [20.0, 20.0]
    assert_close([row["ci_low"], row["ci_high"]], [expected["ci_low_prop"], expected["ci_high_prop"]], ITERATIVE_TOL, "PFT")
    assert row["model"] == "REML Freeman-Tukey, ad hoc Knapp-Hartung" and "s2 = 0" in row["flags"]


# ----------------------------------------------------------- 2. all at 0% or all at 100% ---


@pytest.mark.parametrize(("name", "why", "before"), [
    ("cr_cri", "all studies at 100%", "97.8% [94.9, 99.1]"),   # 20/20, 23/23 -> 43/43
    ("full3", "all studies at 100%", "96.2% [94.0, 97.6]"),    # 10/10, 12/12, 15/15 -> 37/37
    ("zeros3", "all studies at 0%", "3.8% [2.4, 6.0]"),        # 0/10, 0/12, 0/15 -> 0/37
])
def test_every_study_at_a_boundary_gives_the_exact_interval_of_the_summed_counts(name, why, before):
    rows, detail = pooled(name)
    exact = rows[rows["method"] == "exact"]
    assert len(exact) == 1 and exact.iloc[0]["model"] == EXACT_MODEL
    expected = REF["exact"][name]
    assert_close([exact.iloc[0]["ci_low"], exact.iloc[0]["ci_high"]], [expected["low"], expected["high"]],
                 CLOSED_FORM_TOL, f"{name} (was {before})")
    assert exact.iloc[0]["flags"] == f"random-effects model not estimable: {why}"
    assert primary(detail)["model"] == EXACT_MODEL and pd.isna(exact.iloc[0]["tau2"]) and pd.isna(exact.iloc[0]["pi_low"])
    # no model was fitted with a continuity correction, and nothing built on one
    assert rows[rows["method"] != "exact"]["estimate"].isna().all()
    assert "leave_one_out" not in detail and "egger" not in detail and why in detail["sensitivity_note"]


def test_exact_intervals_quoted_in_the_issue():
    # 43/43 -> [91.8, 100]; 0/37 -> [0, 9.5] (binom.test)
    assert round(100 * REF["exact"]["cr_cri"]["low"], 1) == 91.8 and REF["exact"]["cr_cri"]["high"] == 1
    assert REF["exact"]["zeros3"]["low"] == 0 and round(100 * REF["exact"]["zeros3"]["high"], 1) == 9.5
    # hand check of the x = n limit: (a/2)^(1/n) = 0.025^(1/43)
    assert REF["exact"]["cr_cri"]["low"] == pytest.approx(0.025 ** (1 / 43), rel=1e-12)


# ------------------------------------------------------- 3. prediction and GLMM intervals ---


def test_glmm_is_t_based_for_small_k_and_its_pi_uses_t_on_k_minus_1_df():
    # MRD-negative remission, k = 4: z gave CI [83.3, 99.2] and PI [80.5, 99.3]
    rows, detail = pooled("mrd_neg")
    row = rows[rows["method"] == "GLMM"].iloc[0]
    ref = glmm("mrd_neg", "t")
    assert_close([row["ci_low"], row["ci_high"]], [ref["ci_low_prop"], ref["ci_high_prop"]], ITERATIVE_TOL, "GLMM t CI")
    assert_close([row["pi_low"], row["pi_high"]], [ref["pi_low_prop"], ref["pi_high_prop"]], ITERATIVE_TOL, "GLMM t PI")
    assert [round(100 * v, 1) for v in (row["ci_low"], row["ci_high"], row["pi_low"], row["pi_high"])] == [65.2, 99.7, 57.8, 99.8]
    assert row["model"] == "GLMM (logit, t-based CI)" and "pooling.glmm_t_below_k" in row["flags"]
    assert primary(detail)["model"] == "GLMM (logit, t-based CI)"


def test_glmm_kept_z_based_still_gets_a_t_prediction_interval():
    pooling = defaults() | {"glmm_t_below_k": 0}
    rows, _ = pooled("crs_any", pooling)
    row = rows[rows["method"] == "GLMM"].iloc[0]
    ref = glmm("crs_any", "z")  # metafor's z PI was [14.6, 98.3]; t on 3 df: [2.7, 99.7]
    assert_close([row["ci_low"], row["ci_high"]], [ref["ci_low_prop"], ref["ci_high_prop"]], ITERATIVE_TOL, "GLMM z CI")
    assert_close([row["pi_low"], row["pi_high"]], [ref["pi_t_low_prop"], ref["pi_t_high_prop"]], ITERATIVE_TOL, "PI t(k-1)")
    assert row["model"] == "GLMM (logit, z-based CI)"


def test_no_prediction_interval_below_three_studies():
    # k = 2 (10/20 twice): the PI was printed and equal to the CI
    rows, detail = pooled("identical2")
    assert rows["pi_low"].isna().all() and rows["pi_high"].isna().all()
    fig = forest.forest_figure(detail)
    assert "Prediction interval" not in [t.get_text() for t in fig.axes[0].texts]
    plt.close(fig)


# --------------------------------------------------------------------------- 4. k = 1 ---


def test_one_study_is_shown_not_pooled():
    # 7/10: was "pooled" by REML-HK (z used) as 70.0 [37.6, 90.0] with a diamond, PI = CI and I² = 0%
    rows, detail = pooled("single")
    first = primary(detail)
    assert first["model"] == SINGLE_STUDY_MODEL and first["k"] == 1
    assert_close([first["ci_low_prop"], first["ci_high_prop"]], [REF["exact"]["single"]["low"], REF["exact"]["single"]["high"]],
                 CLOSED_FORM_TOL, "k = 1 exact CI")
    assert first["estimate_prop"] == 0.7 and first["tau2"] is None and first["i2"] is None and first["pi_low_prop"] is None
    fig = forest.forest_figure(detail)
    left, plot, _ = fig.axes
    assert not [p for p in plot.patches if p.__class__.__name__ == "Polygon"]  # no diamond
    labels = [t.get_text() for t in left.texts]
    assert "Not pooled: a single study (k = 1); its exact interval is shown above" in labels
    assert not any(label.startswith("Heterogeneity: I²") for label in labels)
    plt.close(fig)


# --------------------------------------------------------------- 5. tests that need k >= 10 ---


def test_small_study_tests_are_not_run_below_ten_studies_and_the_funnel_says_why():
    # MRD-negative, k = 4: Egger p = 0.056 and trim-and-fill adding 2 studies were reported
    _, detail = pooled("mrd_neg")
    assert detail["egger"] is None and detail["trim_and_fill"] is None
    assert detail["egger_note"].startswith("not run: k = 4 < 10 studies (pooling.bias_tests_min_k)")
    fig = diagnostics.funnel_figure(detail)
    assert any("not run: k = 4 < 10" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_subgroup_forest_names_its_test_and_shows_the_main_forests_overall_estimate():
    ref = REF["subgroup"]
    names = [f"s{i:02d}" for i in range(len(ref["data"]["events"]))]
    endpoints = pd.DataFrame({"study": names, "paper": names, "endpoint": "cr_cri",
                              "events": pd.array(ref["data"]["events"], dtype="Int64"),
                              "total": pd.array(ref["data"]["total"], dtype="Int64")}).reindex(columns=ENDPOINT_COLUMNS)
    endpoints["flags"] = ""
    studies = pd.DataFrame({"study": names, "year": 2000 + np.arange(len(names)), "target": ref["data"]["group"]})
    pooling = defaults() | {"subgroups": ["target"], "subgroup_test_min_k": 4}
    _, details = pool_all(endpoints, studies, ["cr_cri"], pooling)
    detail = details["endpoints"]["cr_cri"]
    fig = forest.subgroup_forest_figure(detail, "target")
    labels = [t.get_text() for t in fig.axes[0].texts]
    text = " ".join(labels)  # long footnotes are wrapped over several rows
    assert "Q-test for subgroup differences (random-effects, 2 subgroups with >= 2 studies): Q = 4.49" in text
    assert "(not in the test: c (k = 1: the study is shown, not pooled))" in text
    assert primary(detail)["model"] in labels  # the overall diamond is the primary GLMM's, as in the main forest
    assert "Subgroup estimates: REML logit, ad hoc Knapp-Hartung" in labels and "Single study: not pooled" in labels
    plt.close(fig)


# ---------------------------------------------------------------------- 6. Freeman-Tukey ---


def test_freeman_tukey_row_whose_ci_excludes_the_crude_proportion_is_flagged():
    # 0/5, 1/100, 2/400: PFT-REML-HK 0.0% [0.0, 0.18] against a crude 3/505 = 0.59%, once without a word
    pooling = defaults() | {"analyses": [*defaults()["analyses"], {"measure": "PFT", "method": "REML", "ci_method": "hk"}]}
    rows, _ = pooled("pft_unequal", pooling)
    row = rows[rows["measure"] == "PFT"].iloc[0]
    expected = rma("pft_unequal", "PFT", "knha")
    assert_close([row["estimate"], row["ci_high"]], [expected["estimate_prop"], expected["ci_high_prop"]], ITERATIVE_TOL, "PFT")
    assert "excludes the crude pooled proportion 0.59%" in row["flags"]
    assert not rows[rows["measure"] == "PLO"]["flags"].str.contains("Freeman-Tukey").any()


# ---------------------------------------------------------------- 7. model names, tau2 = 0 ---


def test_tau2_on_the_boundary_is_zero():
    # the GLMM of 5 x 5/25 stops at tau ~ 1e-11 (tau2 ~ 1e-21 was printed as 3.17e-21)
    rows, detail = pooled("identical5")
    assert rows[rows["method"] == "GLMM"].iloc[0]["tau2"] == 0
    assert "τ² = 0," in forest.heterogeneity_text(primary(detail))
