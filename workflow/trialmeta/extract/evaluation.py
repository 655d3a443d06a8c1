"""Extraction accuracy against a gold file: precision, recall and F1 per endpoint."""

from __future__ import annotations

import math

import pandas as pd
import yaml

# Proportions, CIs and SEs agree within 0.001, or within half a unit of the
# last digit the paper printed when that is coarser: a gold 0.91 (printed "91%")
# accepts 21/23 = 0.913, which the paper would also print as 91%.
VALUE_TOLERANCE = 0.001
FOLLOWUP_TOLERANCE_MONTHS = 0.05
METADATA_FIELDS = ("target", "construct", "population", "age_group")


def load_gold(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["papers"]


def _same(field: str, gold_value, row) -> bool:
    value = row[field]
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return False
    if field in ("events", "total"):
        return int(value) == int(gold_value)
    if row["endpoint"] == "followup_median_months":
        tolerance = FOLLOWUP_TOLERANCE_MONTHS
    else:
        tolerance = max(VALUE_TOLERANCE, printed_half_unit(float(gold_value)))
    return abs(float(value) - float(gold_value)) <= tolerance + 1e-12


def printed_half_unit(proportion: float) -> float:
    """Half a unit of the last decimal of a proportion printed as a percentage (0.91 -> 91% -> 0.005)."""
    text = f"{proportion * 100:.10g}"
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10 ** (-decimals) / 100


def _landmark(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def match(gold_entry: dict, row) -> bool:
    if row["endpoint"] != gold_entry["endpoint"]:
        return False
    if _landmark(row["landmark_months"]) != _landmark(gold_entry.get("landmark_months")):
        return False
    return all(_same(f, v, row) for f, v in gold_entry.items() if f not in ("endpoint", "landmark_months"))


def evaluate(endpoints: pd.DataFrame, gold: dict) -> pd.DataFrame:
    """One row per endpoint (and 'all'): true positives, extracted, gold, precision, recall, F1.

    Only papers in the gold file count; an extracted row is a true positive when
    it matches the paper's gold entry for the same endpoint and landmark.
    """
    counts: dict[str, list[int]] = {}
    for paper, facts in gold.items():
        rows = endpoints[endpoints["paper"] == paper]
        for _, row in rows.iterrows():
            tally = counts.setdefault(row["endpoint"], [0, 0, 0])
            tally[1] += 1
            tally[0] += any(match(entry, row) for entry in facts["endpoints"])
        for entry in facts["endpoints"]:
            counts.setdefault(entry["endpoint"], [0, 0, 0])[2] += 1
    table = []
    for endpoint in sorted(counts):
        table.append((endpoint, *counts[endpoint]))
    table.append(("all", *(sum(c[i] for c in counts.values()) for i in range(3))))
    frame = pd.DataFrame(table, columns=["endpoint", "true_positive", "extracted", "gold"])
    frame["precision"] = frame["true_positive"] / frame["extracted"].where(frame["extracted"] > 0)
    frame["recall"] = frame["true_positive"] / frame["gold"].where(frame["gold"] > 0)
    frame["f1"] = 2 * frame["precision"] * frame["recall"] / (frame["precision"] + frame["recall"])
    return frame


def evaluate_metadata(studies: pd.DataFrame, gold: dict) -> pd.DataFrame:
    rows = []
    for paper, facts in gold.items():
        found = studies[studies["paper"] == paper]
        for field in (*METADATA_FIELDS, "trial_ids"):
            expected = ";".join(facts.get(field, [])) if field == "trial_ids" else facts.get(field)
            got = None if found.empty else found.iloc[0][field]
            got = "" if field == "trial_ids" and (got is None or pd.isna(got)) else got
            rows.append({"paper": paper, "field": field, "gold": expected, "extracted": got, "correct": got == expected})
    return pd.DataFrame(rows)


# Gold rows of the development corpus (tests/gold/devcorpus.csv) carry a population: empty for the
# whole cohort, a whole-study cohort by name, or "subgroup: ..." for a part. The value a pooled
# analysis wants is the whole cohort's, else the first whole-study cohort in this order (the
# harmonise stage's default denominator order, then responders); subgroup rows are never targets.
COHORT_PRECEDENCE = ("", "treated", "infused", "evaluable", "enrolled", "responders")
# Endpoints of the gold that the pipeline has no column for (ORR with partial responses, PFS):
# kept in the gold for the record, not scored.
UNSCORED_ENDPOINTS = ("orr", "pfs", "n_enrolled", "none")
PERCENT_FIELDS = ("estimate", "ci_low", "ci_high")
# A survival estimate or a median follow-up is scored on its value: the cohort size annotators
# note beside it is not part of what is pooled (S and its CI are).
VALUE_ONLY_ENDPOINTS = ("relapse_cuminc", "rfs", "lfs", "efs", "os", "followup_median_months")


def load_gold_csv(path: str, papers: set[str] | None = None) -> dict:
    """The development-corpus gold as `load_gold` gives the YAML gold: one target entry per
    (paper, endpoint, landmark), percentages as proportions, follow-up in months."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    gold: dict = {}
    chosen: dict[tuple, tuple[int, dict]] = {}
    for row in frame.to_dict("records"):
        paper = row["paper"]
        if papers is not None and paper not in papers:
            continue
        gold.setdefault(paper, {"endpoints": []})
        if row["endpoint"] in UNSCORED_ENDPOINTS:
            continue
        population = row["population"].strip().lower()
        if population not in COHORT_PRECEDENCE:
            continue
        entry: dict = {"endpoint": row["endpoint"]}
        if row["timepoint_months"]:
            entry["landmark_months"] = float(row["timepoint_months"])
        for field in ("events", "total"):
            if row[field] and row["endpoint"] not in VALUE_ONLY_ENDPOINTS:
                entry[field] = int(float(row[field]))
        for field in PERCENT_FIELDS:
            if row[field]:
                value = float(row[field])
                entry[field] = value if row["endpoint"] == "followup_median_months" else value / 100
        key = (paper, entry["endpoint"], entry.get("landmark_months"))
        rank = COHORT_PRECEDENCE.index(population)
        if key not in chosen or rank < chosen[key][0]:
            chosen[key] = (rank, entry)
    for (paper, _, _), (_, entry) in sorted(chosen.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or -1)):
        gold[paper]["endpoints"].append(entry)
    return gold
