"""Intention-to-treat sensitivity analysis: responses over the enrolled patients.

Single-arm CAR-T reports give responses over the infused patients, a
per-protocol denominator: a patient enrolled but never infused (manufacturing
failure, progression, death while waiting) drops out of it. The sensitivity
analysis counts every such patient as a non-responder,

    events unchanged,   total = max(n_enrolled, n_treated, the row's own total),

the enrolled count where the paper (or its curation file's ``cohort``) gives
it; where it does not, the largest cohort the paper sizes, so that no
patient the paper counts is left out (a response over 22 evaluable of 23
treated becomes x/23). A study whose denominator does not change enters with
its own counts. This is the conservative "non-infused = failure" analysis of
the ITT principle (ICH E9, 1998, section 5.2.1; Gupta SK (2011), Intention-to-
treat concept: a review, Perspect Clin Res 2:109-112, doi:10.4103/2229-3485.83221).
The endpoints it applies to are ``pooling.intention_to_treat`` (responses;
adverse events need infusion and keep the treated denominator).
"""

from __future__ import annotations

import pandas as pd

# pooled.csv `subgroup` of the intention-to-treat repeat of an endpoint's primary analysis
ITT_SUBGROUP = "sensitivity:enrolled_denominator"


def _count(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def enrolled_denominators(data: pd.DataFrame, studies: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """`data` (poolable events/total rows) with each total raised to the intention-to-treat denominator.

    Returns the new rows (same columns) and one record per study: its
    per-protocol and ITT totals and where the ITT total came from
    ("enrolled", "treated" or "as reported").
    """
    table = studies.set_index("study")

    def size(study: str, column: str) -> int | None:
        return _count(table[column].get(study)) if column in table else None

    rows, changes = [], []
    for _, row in data.iterrows():
        total = int(row["total"])
        enrolled, treated = size(row["study"], "n_enrolled"), size(row["study"], "n_treated")
        itt = max(v for v in (enrolled, treated, total) if v is not None)
        source = "as reported" if itt == total else "enrolled" if itt == enrolled else "treated"
        changes.append({"study": row["study"], "events": int(row["events"]), "per_protocol_total": total,
                        "itt_total": itt, "source": source, "enrolled": enrolled})
        rows.append({**row.to_dict(), "total": itt, "estimate": int(row["events"]) / itt})
    frame = pd.DataFrame(rows, columns=data.columns)
    for column in ("events", "total"):
        frame[column] = frame[column].astype("Int64")
    return frame, changes


def itt_entry(changes: list[dict], summary: dict | None, model: str, reason: str | None = None) -> dict:
    """results.json "intention_to_treat" of one endpoint: the studies' denominators and the pooled result."""
    changed = [c for c in changes if c["itt_total"] != c["per_protocol_total"]]
    unknown = [c["study"] for c in changes if c["enrolled"] is None]
    entry = {"model": model, "subgroup": ITT_SUBGROUP, "studies": changes, **(summary or {})}
    notes = []
    if not changed:
        notes.append("no study gives an enrolled or treated count above its denominator: the analysis equals the primary one")
    if unknown:
        notes.append(f"no enrolled count for {', '.join(unknown)}: the largest cohort the paper sizes is used")
    if reason:
        notes.append(reason)
    entry["notes"] = notes
    return entry
