"""Intention-to-treat sensitivity analysis (trialmeta.pool.itt) against R's metafor rma.glmm.

Reference values: tests/reference/itt_reference.json, written by tests/reference/itt_reference.R.
Issue 17 (statistical review, PRISMA 13f): responses were pooled over the infused patients only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from metafor_reference import ITERATIVE_TOL, assert_close
from trialmeta.harmonise.table import ENDPOINT_COLUMNS, STUDY_COLUMNS
from trialmeta.pool.itt import ITT_SUBGROUP, enrolled_denominators
from trialmeta.pool.pooling import pool_endpoint

REFERENCE = json.loads((Path(__file__).parent / "reference" / "itt_reference.json").read_text())["glmm"]
POOLING = {
    "level": 0.95, "analyses": [{"measure": "PLO", "method": "GLMM", "ci_method": "z"}],
    "glmm_fallback": {"measure": "PLO", "method": "REML", "ci_method": "hk"},
    "continuity_correction": {"add": 0.5, "to": "only0"}, "subgroups": [], "moderators": [],
    "intention_to_treat": ["mrd_neg"],
}
# the four shared reports' MRD-negative remission: (study, events, total, n_treated, n_enrolled)
STUDIES = [("Bispecific", 15, 15, 15, 19), ("MRD+", 12, 14, 14, None), ("Sequential", 20, 20, 20, 20),
           ("Tandem", 21, 22, 23, None)]


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    endpoints = pd.DataFrame([{**dict.fromkeys(ENDPOINT_COLUMNS), "study": s, "paper": s.lower(), "endpoint": "mrd_neg",
                               "events": e, "total": t, "estimate": e / t, "source": "extracted", "flags": ""}
                              for s, e, t, _, _ in STUDIES], columns=ENDPOINT_COLUMNS)
    studies = pd.DataFrame([{**dict.fromkeys(STUDY_COLUMNS), "study": s, "paper": s.lower(), "n_treated": n,
                             "n_enrolled": enrolled} for s, _, _, n, enrolled in STUDIES], columns=STUDY_COLUMNS)
    for frame, columns in ((endpoints, ("events", "total", "page")), (studies, ("n_treated", "year", "n_enrolled"))):
        for column in columns:
            frame[column] = frame[column].astype("Int64")
    return endpoints, studies


def test_denominators_are_the_enrolled_else_the_largest_cohort():
    endpoints, studies = _tables()
    frame, changes = enrolled_denominators(endpoints, studies)
    assert frame["total"].tolist() == [19, 14, 20, 23]
    assert frame["events"].tolist() == [15, 12, 20, 21]
    assert [(c["study"], c["per_protocol_total"], c["itt_total"], c["source"]) for c in changes] == [
        ("Bispecific", 15, 19, "enrolled"), ("MRD+", 14, 14, "as reported"), ("Sequential", 20, 20, "as reported"),
        ("Tandem", 22, 23, "treated")]


def test_itt_row_matches_metafor_glmm_over_the_enrolled():
    endpoints, studies = _tables()
    rows, detail = pool_endpoint(endpoints, studies, "mrd_neg", POOLING)
    primary = next(r for r in rows if r["subgroup"] == "all" and r["method"] == "GLMM")
    itt = next(r for r in rows if r["subgroup"] == ITT_SUBGROUP)
    for key in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
        assert_close(primary[key], REFERENCE["per_protocol"][key], ITERATIVE_TOL, f"per protocol {key}")
        assert_close(itt[key], REFERENCE["itt"][key], ITERATIVE_TOL, f"ITT {key}")
    assert (itt["method"], itt["k"], itt["n_total"]) == ("GLMM", 4, 76)
    entry = detail["intention_to_treat"]
    assert entry["model"] == "GLMM (logit, t-based CI)" and entry["estimate"] == itt["estimate"]
    assert any("no enrolled count for MRD+, Tandem" in note for note in entry["notes"])


def test_no_itt_row_unless_configured():
    endpoints, studies = _tables()
    rows, detail = pool_endpoint(endpoints, studies, "mrd_neg", {**POOLING, "intention_to_treat": []})
    assert all(r["subgroup"] != ITT_SUBGROUP for r in rows) and "intention_to_treat" not in detail
