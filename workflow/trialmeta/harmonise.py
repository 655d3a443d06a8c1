"""From the papers' extraction records (and curation files) to the harmonised tables.

Contracts (column order is part of them; other tools read these files):
endpoints.csv, studies.csv, checks.csv and failures.csv, with the columns below.
Every problem found is a named flag on the row and a line in checks.csv, and a
row whose numbers are impossible never reaches pooling unflagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trialmeta.io import load_yaml_checked

ENDPOINT_COLUMNS = [
    "study", "paper", "trial_ids", "endpoint", "landmark_months", "events", "total",
    "estimate", "ci_low", "ci_high", "se", "source", "page", "quote", "flags",
]
STUDY_COLUMNS = [
    "study", "paper", "trial_ids", "target", "construct", "population", "age_group",
    "n_treated", "followup_median_months", "year",
]
CHECK_COLUMNS = ["paper", "study", "endpoint", "landmark_months", "check", "detail"]
FAILURE_COLUMNS = ["paper", "stage", "error_kind", "message"]

ENDPOINTS = (
    "n_treated", "cr_cri", "mrd_neg", "relapse", "relapse_cuminc", "rfs", "lfs", "efs", "os",
    "crs_any", "crs_grade3plus", "icans_any", "icans_grade3plus", "followup_median_months",
)
TIME_TO_EVENT = ("relapse_cuminc", "rfs", "lfs", "efs", "os")
PROPORTIONS = ("cr_cri", "mrd_neg", "relapse", "crs_any", "crs_grade3plus", "icans_any", "icans_grade3plus")
# Flags that make a value unusable for pooling until a curator decides.
BLOCKING_FLAGS = ("events_exceed_total", "negative_count")

CURATION_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "study": {"type": "string", "minLength": 1},
        "trial_ids": {"type": "array", "items": {"type": "string", "minLength": 3}},
        "target": {"enum": ["CD19", "CD22", "CD19/CD22"]},
        "construct": {"enum": ["single", "bispecific", "tandem", "sequential", "cocktail"]},
        "population": {"enum": ["mrd_positive", "relapsed_refractory", "mixed"]},
        "age_group": {"enum": ["pediatric", "adult", "mixed"]},
        "year": {"type": "integer", "minimum": 1950, "maximum": 2100},
        "reason": {"type": "string"},
    },
}


class CurationError(ValueError):
    """A curation file is not valid; the message names the file, the key and the problem."""


def load_curation(path: str | Path) -> dict:
    data = load_yaml_checked(path, {"anyOf": [{"type": "null"}, CURATION_SCHEMA]}, CurationError)
    return data or {}


def _decimals(value: float) -> int:
    text = f"{value:.10g}"
    return len(text.split(".")[1]) if "." in text else 0


def rounding_tolerance(percent: float) -> float:
    """Half a unit of the last printed decimal: 93.9 allows 93.85-93.95."""
    return 0.5 * 10 ** (-_decimals(percent)) + 1e-9


@dataclass
class Row:
    """One endpoint value on its way into endpoints.csv; flags accumulate."""

    values: dict
    flags: list

    def flag(self, name: str, detail: str, checks: list) -> None:
        if name not in self.flags:
            self.flags.append(name)
        checks.append({
            "paper": self.values["paper"], "study": self.values["study"],
            "endpoint": self.values["endpoint"], "landmark_months": self.values["landmark_months"],
            "check": name, "detail": detail,
        })


def _check_row(row: Row, n_treated: int | None, percent_printed: float | None, checks: list) -> None:
    v = row.values
    events, total, estimate = v["events"], v["total"], v["estimate"]
    if events is not None and events < 0 or total is not None and total < 0:
        row.flag("negative_count", f"events={events}, total={total}", checks)
    if events is not None and total is not None and events > total:
        row.flag("events_exceed_total", f"{events} events > {total} total", checks)
    if percent_printed is not None and events is not None and total:
        exact = 100 * events / total
        if abs(exact - percent_printed) > rounding_tolerance(percent_printed):
            row.flag(
                "percent_count_mismatch",
                f"printed {percent_printed:g}% but {events}/{total} = {exact:.2f}%",
                checks,
            )
    low, high = v["ci_low"], v["ci_high"]
    if low is not None and high is not None:
        if low < 0 or high > 1:
            row.flag("ci_outside_0_1", f"CI {low:g}-{high:g} leaves [0, 1]; kept for deriving the SE", checks)
        if estimate is not None and not (low - 1e-12 <= estimate <= high + 1e-12):
            row.flag("estimate_outside_ci", f"estimate {estimate:g} outside CI {low:g}-{high:g}", checks)
    if n_treated and total and v["endpoint"] != "n_treated" and total > n_treated:
        row.flag("subgroup_exceeds_cohort", f"denominator {total} > {n_treated} treated", checks)


def _derive_counts(row: Row, n_treated: int | None, percent_printed: float | None, checks: list) -> None:
    """Counts from a percentage and the treated cohort, only when they are unambiguous."""
    v = row.values
    if v["endpoint"] not in PROPORTIONS or v["events"] is not None and v["total"] is not None:
        return
    if v["total"] is None and n_treated:
        v["total"] = n_treated
        row.flag("assumed_denominator", f"denominator taken as the {n_treated} treated", checks)
    if v["events"] is None and v["total"] and v["estimate"] is not None:
        expected = v["estimate"] * v["total"]
        events = round(expected)
        tolerance = (rounding_tolerance(percent_printed) / 100 if percent_printed is not None else 0.005) * v["total"]
        if abs(expected - events) <= tolerance + 1e-9:
            v["events"] = int(events)
            row.flag("derived_count", f"{events} events derived from {v['estimate']:.4g} x {v['total']}", checks)
        else:
            row.flag("no_count", f"{v['estimate']:.4g} x {v['total']} is not a whole number of patients", checks)


def harmonise(records: list[dict], curation_dir: str | None) -> dict[str, pd.DataFrame]:
    """endpoints, studies, checks and failures tables from extraction records."""
    endpoint_rows, study_rows, checks, failures = [], [], [], []
    for record in sorted(records, key=lambda r: r["paper"]):
        paper = record["paper"]
        if record["status"] != "ok":
            failures.append({
                "paper": paper, "stage": "extract", "error_kind": record["error"]["kind"],
                "message": record["error"]["message"],
            })
            continue
        curation = {}
        if curation_dir:
            path = Path(curation_dir) / f"{paper}.yaml"
            if path.exists():
                try:
                    curation = load_curation(path)
                except CurationError as err:
                    failures.append({"paper": paper, "stage": "curate", "error_kind": "invalid_curation", "message": str(err)})
        metadata = {**record["metadata"], **{k: v for k, v in curation.items() if k != "reason"}}
        study = curation.get("study") or paper
        trial_ids = ";".join(metadata.get("trial_ids") or [])
        candidates = record["candidates"]
        chosen = [(candidates[c["candidate"]], c["reason"]) for c in record["chosen"]]
        n_treated = next((c["total"] for c, _ in chosen if c["endpoint"] == "n_treated"), None)
        followup = next((c["estimate"] for c, _ in chosen if c["endpoint"] == "followup_median_months"), None)
        paper_rows: list[Row] = []
        for candidate, reason in chosen:
            if candidate["endpoint"] not in ENDPOINTS:
                continue
            values = {
                "study": study, "paper": paper, "trial_ids": trial_ids,
                "endpoint": candidate["endpoint"],
                "landmark_months": candidate["landmark_months"] if candidate["endpoint"] in TIME_TO_EVENT else None,
                "events": candidate["events"], "total": candidate["total"], "estimate": candidate["estimate"],
                "ci_low": candidate["ci_low"], "ci_high": candidate["ci_high"], "se": candidate["se"],
                "source": "extracted", "page": candidate["page"], "quote": candidate["quote"],
            }
            row = Row(values, [f for f in candidate["context"] if f in ("subgroup", "background", "mild_only")])
            _derive_counts(row, n_treated, candidate["percent_printed"], checks)
            if values["endpoint"] in PROPORTIONS and values["events"] is not None and values["total"]:
                # an impossible count keeps its flag but never becomes a "proportion" above 1
                possible = 0 <= values["events"] <= values["total"]
                values["estimate"] = values["events"] / values["total"] if possible else None
            _check_row(row, n_treated, candidate["percent_printed"], checks)
            if followup is not None and values["landmark_months"] and values["landmark_months"] > followup:
                row.flag(
                    "landmark_beyond_followup",
                    f"{values['landmark_months']:g}-month value beyond the median follow-up of {followup:.3g} months",
                    checks,
                )
            paper_rows.append(row)
        by_endpoint = {row.values["endpoint"]: row for row in paper_rows}
        relapses, responders = by_endpoint.get("relapse"), by_endpoint.get("cr_cri")
        if relapses and responders and relapses.values["events"] is not None and responders.values["events"] is not None:
            if relapses.values["events"] > responders.values["events"]:
                relapses.flag(
                    "more_relapses_than_responders",
                    f"{relapses.values['events']} relapses > {responders.values['events']} responders", checks,
                )
        for row in paper_rows:
            row.values["flags"] = ";".join(row.flags)
            endpoint_rows.append(row.values)
        study_rows.append({
            "study": study, "paper": paper, "trial_ids": trial_ids,
            "target": metadata.get("target"), "construct": metadata.get("construct"),
            "population": metadata.get("population"), "age_group": metadata.get("age_group"),
            "n_treated": n_treated, "followup_median_months": followup, "year": metadata.get("year"),
        })
    tables = {
        "endpoints": pd.DataFrame(endpoint_rows, columns=ENDPOINT_COLUMNS),
        "studies": pd.DataFrame(study_rows, columns=STUDY_COLUMNS),
        "checks": pd.DataFrame(checks, columns=CHECK_COLUMNS),
        "failures": pd.DataFrame(failures, columns=FAILURE_COLUMNS),
    }
    for name in ("events", "total", "page"):
        tables["endpoints"][name] = tables["endpoints"][name].astype("Int64")
    for name in ("n_treated", "year"):
        tables["studies"][name] = tables["studies"][name].astype("Int64")
    tables["endpoints"] = tables["endpoints"].sort_values(
        ["study", "endpoint", "landmark_months"], na_position="first", kind="mergesort"
    ).reset_index(drop=True)
    return tables


def poolable(endpoints: pd.DataFrame, endpoint: str) -> tuple[pd.DataFrame, list[dict]]:
    """Rows of `endpoint` that can be pooled as events/total, and the excluded ones with reasons."""
    rows = endpoints[endpoints["endpoint"] == endpoint]
    keep, excluded = [], []
    for _, row in rows.iterrows():
        flags = set(filter(None, str(row["flags"] if isinstance(row["flags"], str) else "").split(";")))
        blocking = flags.intersection(BLOCKING_FLAGS)
        if blocking:
            excluded.append({"study": row["study"], "reason": "impossible value: " + ", ".join(sorted(blocking))})
        elif pd.isna(row["events"]) or pd.isna(row["total"]) or row["total"] == 0:
            excluded.append({"study": row["study"], "reason": "no events/total reported or derivable"})
        else:
            keep.append(row)
    frame = pd.DataFrame(keep, columns=endpoints.columns)
    return frame, excluded

