"""Methods generated from what ran (issue 17, PRISMA 2020 items 13b-13f): the model behind each
primary result, the data preparation, the caution for few studies, τ² on the boundary printed as 0.

The entries are hand-built results.json entries (tests/test_figures.py); what each sentence must
say follows from the entry, written out in each test.
"""

from __future__ import annotations

import copy

import pandas as pd
from test_figures import glmm_entry, landmarks
from test_report import CONFIG, endpoint_table, pooled_table

from trialmeta.report.methods import methods
from trialmeta.report.page import build_report


def _body(details: dict, config: dict = CONFIG) -> str:
    return " ".join(methods(config, details).paragraphs)


def _details() -> dict:
    return {"endpoints": {"relapse": glmm_entry()}, "landmarks": landmarks()}


def test_each_primary_result_names_its_model_and_the_fallback_is_said_where_it_ran():
    details = _details()
    cr = copy.deepcopy(glmm_entry())
    cr.update(endpoint="cr_cri", label="Complete remission", primary_note="PLO-GLMM-z could not be fitted (all at 100%)")
    cr["analyses"] = [{**cr["analyses"][1], "primary": True}]  # the REML-HK fallback took the primary role
    details["endpoints"]["cr_cri"] = cr
    body = _body(details)
    assert "Random effects (binomial-normal GLMM, z): Relapse" in body
    assert "Random effects (REML, PLO, Knapp-Hartung), in place of the GLMM, which could not be fitted: Complete remission" in body
    # a `model` field written by the pool stage wins over the label rebuilt from method and CI
    details["endpoints"]["relapse"]["analyses"][0]["model"] = "GLMM, t-based CI (small k)"
    assert "GLMM, t-based CI (small k): Relapse" in _body(details)


def test_heterogeneity_test_of_the_glmm_is_named_the_likelihood_ratio_test():
    body = _body(_details())
    assert "Cochran's Q for the inverse-variance models, the likelihood-ratio test for the GLMM" in body


def test_fewer_than_five_studies_gets_a_caution():
    details = _details()
    for entry in [details["endpoints"]["relapse"], *details["landmarks"].values()]:
        for analysis in entry["analyses"]:
            analysis["k"] = 4
    assert "Caution: every pooled endpoint rests on fewer than 5 studies" in _body(details)
    details["endpoints"]["relapse"]["analyses"][0]["k"] = 5
    # the landmark fixture has one fitted pool (rfs at 12 months) and one without studies
    assert "Caution: 1 of 2 pooled endpoints rest on fewer than 5 studies" in _body(details)


def test_data_preparation_lists_derived_counts_corrections_and_landmark_ses():
    details = _details()
    relapse = details["endpoints"]["relapse"]
    relapse["studies"][0]["flags"] = "assumed_denominator;denominator:treated;derived_count"
    relapse["analyses"][1]["notes"] = ["continuity correction 0.5 added to 1 of 5 studies"]
    landmark = next(iter(details["landmarks"].values()))
    landmark["studies"][0].update(se_source="ci_plain")
    landmark["studies"][1].update(se_source="peto_at_risk")
    landmark["excluded"].append({"study": "Zeta", "paper": "zeta", "reason": "os: a percentage without CI, standard "
                                 "error or number at risk: no usable precision (survival.without_precision: exclude)"})
    paragraph = methods(CONFIG, details).paragraphs[1]
    assert paragraph.startswith("Data preparation [")
    assert "Counts derived from a printed percentage and its denominator (only where exactly one whole number of " \
           "patients fits the percentage): Alpha (Relapse)." in paragraph
    assert "taken as the first cohort the paper sizes (harmonise.denominator): Alpha (Relapse)." in paragraph
    assert "a continuity correction was added to studies with 0 or all events: Relapse (PLO-REML-hk: 0.5 added to 1 of 5 studies)" in paragraph
    assert "the printed CI (symmetric on the plain scale) (1)" in paragraph
    assert "Peto's formula S·√((1 − S)/n at risk) from the number at risk [" in paragraph
    assert "Landmark values without any measure of precision were excluded (survival.without_precision: exclude): " \
           "Zeta (Relapse-free survival at 12 months)." in paragraph
    # the pre-existing exclusion of the landmark fixture is listed with its reason
    assert "Epsilon, Relapse-free survival at 12 months (reported at 24 months only)" in paragraph
    assert "Peto R, Pike MC" in " ".join(methods(CONFIG, details).references)


def test_landmark_methods_follow_the_precision_setting():
    details = _details()
    assert "a value with none of these is listed as excluded with the reason" in _body(details)
    binomial = {**CONFIG, "survival": {"without_precision": "binomial"}}
    assert "repeated without those studies" in _body(details, binomial)


def test_summary_names_the_model_per_row_and_prints_tau2_on_the_boundary_as_zero():
    details = _details()
    details["endpoints"]["relapse"]["analyses"][0]["tau2"] = 3.17e-21  # GLMM optimiser stopped on the boundary
    details["km"] = {}
    empty = pd.DataFrame(columns=["paper", "stage", "error_kind", "message"])
    studies = pd.DataFrame({"study": ["Alpha", "Beta"], "year": [2019, 2020]})
    html = build_report(endpoint_table(), studies, pooled_table(), pd.DataFrame(columns=["paper", "check"]), empty,
                        details, {}, CONFIG)
    summary = html[html.index("id='summary'"):html.index("id='changes'")]
    assert "3.17e-21" not in summary
    relapse_row = summary[summary.index("#ep-relapse"):].split("</tr>")[0]
    # tau2 printed as 0, then the model that produced the row (the summary's last column)
    assert "<td>0</td><td>Random effects (binomial-normal GLMM, z)</td>" in relapse_row
    landmark_row = summary[summary.index("#ep-rfs"):].split("</tr>")[0]
    assert "Random effects (REML, PLO, Knapp-Hartung)" in landmark_row


def test_report_shows_the_itt_and_the_without_imputed_repeats_beside_the_primary_rows():
    details = _details()
    details["km"] = {}
    details["endpoints"]["relapse"]["intention_to_treat"] = {
        "model": "PLO-GLMM-z", "k": 2, "n_total": 40, "estimate": 0.25, "ci_low": 0.1, "ci_high": 0.5,
        "studies": [{"study": "Alpha", "events": 9, "per_protocol_total": 12, "itt_total": 15, "source": "enrolled"},
                    {"study": "Beta", "events": 3, "per_protocol_total": 20, "itt_total": 20, "source": "as reported"}],
        "notes": ["no enrolled count for Beta: the largest cohort the paper sizes is used"]}
    rfs = details["landmarks"]["rfs_12m"]
    rfs["without_imputed_se"] = {"subgroup": "sensitivity:without_imputed_se", "omitted": ["Gamma"],
                                 "studies": ["Alpha"], "analyses": []}
    base = pooled_table().iloc[0].to_dict()
    landmark_row = {**base, "endpoint": "rfs", "landmark_months": 12, "measure": "cloglog", "method": "REML", "ci_method": "hk"}
    pooled = pd.DataFrame([base, {**base, "subgroup": "sensitivity:enrolled_denominator", "estimate": 0.25},
                           {**landmark_row, "subgroup": "all", "estimate": 0.7},
                           {**landmark_row, "subgroup": "sensitivity:without_imputed_se", "estimate": 0.61}])
    empty = pd.DataFrame(columns=["paper", "stage", "error_kind", "message"])
    studies = pd.DataFrame({"study": ["Alpha", "Beta"], "year": [2019, 2020]})
    html = build_report(endpoint_table(), studies, pooled, pd.DataFrame(columns=["paper", "check"]), empty,
                        details, {}, CONFIG)
    relapse = html[html.index("id='ep-relapse'"):html.index("<h3>Subgroups", html.index("id='ep-relapse'"))]
    # the primary-rows table holds the 'all' row only; the ITT row (25.0%) appears in its own section
    primary_table = relapse[relapse.index("all configured analyses"):relapse.index("Intention to treat")]
    assert "30.0%" in primary_table and "25.0%" not in primary_table
    assert "PLO-GLMM-z: 25.0% [10.0%, 50.0%] from 2 studies, 40 patients. Denominators changed: Alpha 9/12 → 9/15 (enrolled)." in relapse
    landmark = html[html.index("id='ep-rfs-12m'"):]
    landmark = landmark[:landmark.index("</section>")]
    assert "Omitted: Gamma." in landmark and "61.0%" in landmark.split("Without the studies whose SE was imputed")[1]
