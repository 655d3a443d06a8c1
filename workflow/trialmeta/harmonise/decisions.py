"""A curation file's decisions and metadata applied to one paper's rows, and their audit lines."""

from __future__ import annotations

import copy

from trialmeta.harmonise.curation import Curation, Decision
from trialmeta.harmonise.rows import (
    TIME_TO_EVENT, VALUE_FIELDS, Row, landmark_of, missing, row_from_candidate, show, value_summary,
)


class DecisionError(ValueError):
    """A decision that does not fit the extracted values (stale); the paper keeps its other decisions."""


def audit_line(row_values: dict, field_name: str, old, new, decision: str, reason: str, file: str) -> dict:
    return {
        "paper": row_values["paper"], "study": row_values["study"], "endpoint": row_values.get("endpoint", ""),
        "landmark_months": row_values.get("landmark_months"), "field": field_name,
        "old_value": show(old), "new_value": show(new), "decision": decision, "reason": reason, "file": file,
    }


def _matches(candidate: dict, wanted: dict) -> bool:
    for name, value in wanted.items():
        have = candidate["percent_printed"] if name == "percent_printed" else candidate.get(name)
        if missing(have):
            return False
        if isinstance(value, float) or isinstance(have, float):
            if abs(float(have) - float(value)) > 1e-6:
                return False
        elif have != value:
            return False
    return True


def _set_values(row: Row, new: dict) -> None:
    """Put a decision's values on a row; numbers printed with the old values go with them."""
    counts_given = "events" in new or "total" in new
    proportion_given = "estimate" in new
    if proportion_given and "events" not in new:
        row.values["events"] = None  # the old count does not belong to the new proportion
    if counts_given and not proportion_given:
        row.values["estimate"] = None  # recomputed from the counts
    if counts_given or proportion_given:
        row.percent_printed = new.get("percent_printed")
    for name in VALUE_FIELDS:
        if name in new:
            row.values[name] = new[name]


def apply_decision(decision: Decision, rows: dict, candidates: list[dict], base: dict, curation: Curation,
                    audit: list) -> None:
    endpoint = decision.endpoint
    if decision.landmark_months is not None and endpoint not in TIME_TO_EVENT:
        raise DecisionError(f"a landmark is given but {endpoint} is not a time-to-event endpoint")
    if decision.landmark_months is None and endpoint in TIME_TO_EVENT:
        raise DecisionError(f"{endpoint} is a time-to-event endpoint: give its landmark ('12 months')")
    key = (endpoint, decision.landmark_months)
    what = endpoint if decision.landmark_months is None else f"{endpoint} at {decision.landmark_months:g} months"
    old = rows.get(key)
    note = dict(decision=decision.decision, reason=decision.reason, file=curation.file)
    audit_base = {**base, "endpoint": endpoint, "landmark_months": decision.landmark_months}
    if decision.decision == "reject":
        if old is None:
            raise DecisionError(f"nothing extracted for {what} to reject")
        del rows[key]
        audit.append(audit_line(audit_base, "row", value_summary(old.values), "", **note))
        return
    if old is None and decision.decision in ("add", "override"):
        # an override of a value the extractor no longer finds still holds, and
        # an added value the extractor later finds stays the curator's
        row = Row({**base, "endpoint": endpoint, "landmark_months": decision.landmark_months,
                   **{name: None for name in VALUE_FIELDS}, "source": "curated",
                   "quote": f"added by curation ({curation.file}): {decision.reason}"}, [])
        _set_values(row, decision.values)
        row.denominator = decision.denominator
        row.decided = (decision, curation.file)
        rows[key] = row
        return
    if decision.decision == "accept":
        wanted = dict(decision.values)
        if not wanted:
            if old is None:
                raise DecisionError(f"nothing extracted for {what} to accept")
            new = copy.deepcopy(old)
        else:
            found = [c for c in candidates if c["endpoint"] == endpoint
                     and landmark_of(endpoint, c["landmark_months"]) == decision.landmark_months and _matches(c, wanted)]
            if not found:
                shown = ", ".join(f"{k}={show(v)}" for k, v in wanted.items())
                raise DecisionError(f"no extracted candidate of {what} has {shown}")
            new = row_from_candidate(min(found, key=lambda c: c.get("order", 0)), base)
    else:  # override or add over an extracted value
        new = copy.deepcopy(old)
        _set_values(new, decision.values)
    # the extractor's own choice confirmed as it was is verified; any other decision makes the value the curator's
    new.values["source"] = "verified" if decision.decision == "accept" and not decision.values else "curated"
    new.denominator = decision.denominator
    # audited once values are derived, so the trail compares what the table shows
    new.replaced, new.decided = old, (decision, curation.file)
    rows[key] = new


def apply_metadata(metadata: dict, curation: Curation, base: dict, audit: list) -> dict:
    merged = dict(metadata)
    for key, value in curation.metadata.items():
        if key == "study":
            continue  # the label is audited by the caller, which knows the default
        if merged.get(key) != value:
            old = ";".join(merged[key]) if isinstance(merged.get(key), list) else merged.get(key)
            new = ";".join(value) if isinstance(value, list) else value
            audit.append(audit_line({**base, "endpoint": ""}, key, old, new, "metadata", curation.reason, curation.file))
        merged[key] = value
    return merged


def audit_decision(row: Row, before: Row | None, audit: list) -> None:
    """One audit line per field the decision changed (a 'row' line when it changed none or added the row)."""
    decision, file = row.decided
    note = dict(decision=decision.decision, reason=decision.reason, file=file)
    changed = [] if before is None else [
        name for name in VALUE_FIELDS if show(before.values[name]) != show(row.values[name])
    ]
    if not changed:
        old = "" if before is None else value_summary(before.values)
        audit.append(audit_line(row.values, "row", old, value_summary(row.values), **note))
    for name in changed:
        audit.append(audit_line(row.values, name, before.values[name], row.values[name], **note))
