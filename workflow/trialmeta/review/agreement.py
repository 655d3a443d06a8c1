"""Double extraction: how far two reviewers, curating the same papers independently, agree.

Each reviewer's curation folder is applied to the same extraction (by the caller, with harmonise),
and the two resulting tables are compared value by value: the decision each reviewer took on an
endpoint (at a landmark) and each number it left in endpoints.csv, and each study's metadata.
Per field: percent agreement and Cohen's kappa,

    kappa = (p_o - p_e) / (1 - p_e),  p_o the observed agreement, p_e = sum_k p1(k) p2(k)

the agreement expected from each reviewer's own category frequencies (Cohen 1960,
doi:10.1177/001316446002000104), computed by statsmodels' ``cohens_kappa``; R's
``irr::kappa2(ratings, weight = "unweighted")`` gives the same. kappa is undefined (empty) when
both reviewers use one and the same category for every item (p_e = 1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from statsmodels.stats.inter_rater import cohens_kappa

AGREEMENT_COLUMNS = ["paper", "endpoint", "landmark_months", "field", "first", "second", "agree"]
SUMMARY_COLUMNS = ["field", "items", "agreed", "percent_agreement", "kappa"]
VALUE_FIELDS = ("events", "total", "estimate", "ci_low", "ci_high")
METADATA_FIELDS = ("study", "target", "construct", "population", "age_group", "year")
# Decisions a reviewer takes on a value (audit.csv's decision column); the rest are configured rules.
REVIEW_DECISIONS = ("accept", "override", "add", "reject")
ABSENT = "(no row)"


def _text(value) -> str:
    if value is None or isinstance(value, float) and math.isnan(value) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _landmark(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _decisions(audit: pd.DataFrame) -> dict:
    """(paper, endpoint, landmark) -> the reviewer's decision on it."""
    out = {}
    for _, line in audit[audit["decision"].isin(REVIEW_DECISIONS)].iterrows():
        out[(line["paper"], line["endpoint"], _landmark(line["landmark_months"]))] = line["decision"]
    return out


def _values(endpoints: pd.DataFrame) -> dict:
    return {(r["paper"], r["endpoint"], _landmark(r["landmark_months"])): r for _, r in endpoints.iterrows()}


def compare(first: dict[str, pd.DataFrame], second: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per value (or study) and field with both reviewers' answers; `first`/`second` are harmonise's tables."""
    rows = []
    decided = _decisions(first["audit"]), _decisions(second["audit"])
    values = _values(first["endpoints"]), _values(second["endpoints"])
    keys = sorted(set(values[0]) | set(values[1]) | set(decided[0]) | set(decided[1]),
                  key=lambda k: (k[0], k[1], -1 if k[2] is None else k[2]))
    for key in keys:
        answers = [d.get(key, "none") for d in decided]
        rows.append([*key, "decision", *answers])
        for name in VALUE_FIELDS:
            answers = [ABSENT if key not in v else _text(v[key][name]) for v in values]
            rows.append([*key, name, *answers])
    studies = [s.set_index("paper") for s in (first["studies"], second["studies"])]
    for paper in sorted(set(studies[0].index) | set(studies[1].index)):
        for name in METADATA_FIELDS:
            answers = [ABSENT if paper not in s.index else _text(s.loc[paper, name]) for s in studies]
            rows.append([paper, "", None, name, *answers])
    table = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS[:-1])
    table["agree"] = np.where(table["first"] == table["second"], "yes", "no")
    return table


def kappa(first: list[str], second: list[str]) -> float | None:
    """Cohen's kappa of two raters' categories for the same items; None when undefined (p_e = 1)."""
    categories = sorted(set(first) | set(second))
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    for a, b in zip(first, second):
        table[index[a], index[b]] += 1
    if len(categories) < 2:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):  # its variance (not used) is undefined for a perfect table
        result = cohens_kappa(table)
    return None if not math.isfinite(result.kappa) else float(result.kappa)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Percent agreement and Cohen's kappa per field, decisions first."""
    order = ["decision", *VALUE_FIELDS, *METADATA_FIELDS]
    rows = []
    for name in order:
        part = table[table["field"] == name]
        if part.empty:
            continue
        agreed = int((part["agree"] == "yes").sum())
        rows.append({"field": name, "items": len(part), "agreed": agreed,
                     "percent_agreement": 100 * agreed / len(part),
                     "kappa": kappa(list(part["first"]), list(part["second"]))})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
