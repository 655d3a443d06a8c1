"""From the papers' extraction records (and curation files) to the harmonised tables.

Contracts (column order is part of them; other tools read these files):
endpoints.csv, studies.csv, checks.csv, failures.csv and audit.csv, with the
columns below. Every problem found is a named flag on the row and a line in
checks.csv, a row whose numbers are impossible never reaches pooling
unflagged, and every change a curator or a configured rule makes to a value is
a line in audit.csv.

Order of work for one paper: the extractor's choices -> curation decisions ->
cohort sizes -> denominator rule -> derived values and checks. Checks run on
the final values; a problem of an extracted value that curation replaced stays
visible as ``superseded:<check>``. Across papers, a trial reported twice keeps
one report (see `trialmeta.harmonise.duplicates`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from scipy import stats

from trialmeta.harmonise.curation import Curation, CurationError, Decision, load_curation, snap_landmark
from trialmeta.harmonise.duplicates import StudySummary, find_duplicates
from trialmeta.extract.numbers import MONTHS_PER_UNIT, find_quantities

__all__ = [
    "AUDIT_COLUMNS", "CHECK_COLUMNS", "ENDPOINT_COLUMNS", "FAILURE_COLUMNS", "STUDY_COLUMNS",
    "CurationError", "harmonise", "load_curation", "poolable", "rounding_tolerance",
]

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
AUDIT_COLUMNS = [
    "paper", "study", "endpoint", "landmark_months", "field", "old_value", "new_value", "decision", "reason", "file",
]

ENDPOINTS = (
    "n_treated", "cr_cri", "mrd_neg", "relapse", "relapse_cuminc", "rfs", "lfs", "efs", "os",
    "crs_any", "crs_grade3plus", "icans_any", "icans_grade3plus", "followup_median_months",
)
TIME_TO_EVENT = ("relapse_cuminc", "rfs", "lfs", "efs", "os")
PROPORTIONS = ("cr_cri", "mrd_neg", "relapse", "crs_any", "crs_grade3plus", "icans_any", "icans_grade3plus")
# Flags that make a value unusable for pooling until a curator decides.
BLOCKING_FLAGS = ("events_exceed_total", "negative_count", "estimate_outside_0_1")
# A row of a trial already in the table under another report: never pooled.
DUPLICATE_FLAG = "duplicate_of:"
DENOMINATOR_KINDS = ("treated", "evaluable", "enrolled")
DEFAULT_SETTINGS = {
    "denominator": ["treated", "evaluable", "enrolled"],
    "duplicate_rule": "latest_full_report",
    "duplicate_min_matches": 3,
    "pool_only_verified": False,
}
# Sources of a value a person checked: accepted as extracted (verified), or changed or added (curated).
VERIFIED_SOURCES = ("verified", "curated")
# With harmonise.pool_only_verified, a value no reviewer checked carries this flag and is not pooled.
UNVERIFIED_FLAG = "not_verified"
UNVERIFIED_REASON = "not verified by a reviewer (harmonise.pool_only_verified)"
VALUE_FIELDS = ("events", "total", "estimate", "ci_low", "ci_high", "se", "page")
# Context that marks a value as not describing the whole cohort.
PARTIAL_CONTEXT = ("subgroup", "background", "baseline", "mild_only")
ROW_CONTEXT_FLAGS = ("subgroup", "background", "mild_only")
# Problems looked for in the values of an endpoint that its row does not use.
OTHER_VALUE_CHECKS = ("events_exceed_total", "percent_count_mismatch", "ci_outside_0_1", "estimate_outside_ci")
# The extractor reads only 95% intervals ("95% CI, 55-99").
Z_95 = float(stats.norm.ppf(0.975))


def _decimals(value: float) -> int:
    text = f"{value:.10g}"
    return len(text.split(".")[1]) if "." in text else 0


def rounding_tolerance(percent: float) -> float:
    """Half a unit of the last printed decimal: 93.9 allows 93.85-93.95."""
    return 0.5 * 10 ** (-_decimals(percent)) + 1e-9


def _missing(value) -> bool:
    return value is None or isinstance(value, float) and math.isnan(value)


def _show(value) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _summary(values: dict) -> str:
    """A value in one short phrase for audit.csv: '14/15', '0.86 (0.68-1.04)', '0.612 ± 0.14'."""
    if not _missing(values.get("events")) and not _missing(values.get("total")):
        text = f"{values['events']}/{values['total']}"
    elif not _missing(values.get("estimate")):
        text = _show(values["estimate"])
    elif not _missing(values.get("total")):
        text = f"n = {values['total']}"
    else:
        text = "no value"
    if not _missing(values.get("ci_low")) and not _missing(values.get("ci_high")):
        text += f" ({_show(values['ci_low'])}-{_show(values['ci_high'])})"
    if not _missing(values.get("se")):
        text += f" ± {_show(values['se'])}"
    return text


@dataclass
class Row:
    """One endpoint value on its way into endpoints.csv; flags and findings accumulate."""

    values: dict
    flags: list
    percent_printed: float | None = None
    denominator: str | None = None  # the cohort a curator says the total counts
    replaced: Row | None = None  # the extracted value a curation decision replaced
    decided: tuple | None = None  # (Decision, curation file name) that set this row
    findings: list = field(default_factory=list)  # (check, detail) for checks.csv

    @property
    def key(self) -> tuple[str, float | None]:
        return (self.values["endpoint"], self.values["landmark_months"])

    def flag(self, name: str, detail: str, check: str | None = None) -> None:
        """A named problem: a flag on the row and a line in checks.csv."""
        if name not in self.flags:
            self.flags.append(name)
            self.findings.append((check or name, detail))

    def note(self, name: str) -> None:
        """Provenance shown in the row's flags only (a choice, not a problem)."""
        if name not in self.flags:
            self.flags.append(name)


@dataclass
class Cohort:
    """What a paper says about its patients, against which each value is read."""

    sizes: dict  # kind -> patients, for DENOMINATOR_KINDS that are known
    preference: list
    followup_median: float | None
    followup_max: float | None

    def kind_of(self, total: int) -> str:
        """The cohort a total counts, the configured preference first when sizes coincide."""
        order = list(self.preference) + [k for k in DENOMINATOR_KINDS if k not in self.preference]
        return next((k for k in order if self.sizes.get(k) == total), "other")

    def rank(self, kind: str) -> int:
        return self.preference.index(kind) if kind in self.preference else len(self.preference)


def _landmark(endpoint: str, months) -> float | None:
    # only time-to-event values have a time point; 1 year = 12 months = 365 days
    if endpoint not in TIME_TO_EVENT or _missing(months):
        return None
    return snap_landmark(float(months))


def _row_from_candidate(candidate: dict, base: dict) -> Row:
    values = {
        **base,
        "endpoint": candidate["endpoint"],
        "landmark_months": _landmark(candidate["endpoint"], candidate["landmark_months"]),
        **{name: candidate[name] for name in VALUE_FIELDS},
        "source": candidate.get("source", "extracted"),
        "quote": candidate["quote"],
    }
    context = list(candidate.get("context", [])) + list(candidate.get("flags", []))
    flags = [f for f in ROW_CONTEXT_FLAGS if f in context]
    return Row(values, flags, candidate.get("percent_printed"))


# ---------------------------------------------------------------- curation


class DecisionError(ValueError):
    """A decision that does not fit the extracted values (stale); the paper keeps its other decisions."""


def _audit(row_values: dict, field_name: str, old, new, decision: str, reason: str, file: str) -> dict:
    return {
        "paper": row_values["paper"], "study": row_values["study"], "endpoint": row_values.get("endpoint", ""),
        "landmark_months": row_values.get("landmark_months"), "field": field_name,
        "old_value": _show(old), "new_value": _show(new), "decision": decision, "reason": reason, "file": file,
    }


def _matches(candidate: dict, wanted: dict) -> bool:
    for name, value in wanted.items():
        have = candidate["percent_printed"] if name == "percent_printed" else candidate.get(name)
        if _missing(have):
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


def _apply_decision(decision: Decision, rows: dict, candidates: list[dict], base: dict, curation: Curation,
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
        audit.append(_audit(audit_base, "row", _summary(old.values), "", **note))
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
                     and _landmark(endpoint, c["landmark_months"]) == decision.landmark_months and _matches(c, wanted)]
            if not found:
                shown = ", ".join(f"{k}={_show(v)}" for k, v in wanted.items())
                raise DecisionError(f"no extracted candidate of {what} has {shown}")
            new = _row_from_candidate(min(found, key=lambda c: c.get("order", 0)), base)
    else:  # override or add over an extracted value
        new = copy.deepcopy(old)
        _set_values(new, decision.values)
    # the extractor's own choice confirmed as it was is verified; any other decision makes the value the curator's
    new.values["source"] = "verified" if decision.decision == "accept" and not decision.values else "curated"
    new.denominator = decision.denominator
    # audited once values are derived, so the trail compares what the table shows
    new.replaced, new.decided = old, (decision, curation.file)
    rows[key] = new


def _apply_metadata(metadata: dict, curation: Curation, base: dict, audit: list) -> dict:
    merged = dict(metadata)
    for key, value in curation.metadata.items():
        if key == "study":
            continue  # the label is audited by the caller, which knows the default
        if merged.get(key) != value:
            old = ";".join(merged[key]) if isinstance(merged.get(key), list) else merged.get(key)
            new = ";".join(value) if isinstance(value, list) else value
            audit.append(_audit({**base, "endpoint": ""}, key, old, new, "metadata", curation.reason, curation.file))
        merged[key] = value
    return merged


# ---------------------------------------------------------------- derived values and checks


def _followup_max(row: Row | None) -> float | None:
    """The top of the follow-up range printed with the median ("15.5 months (range, 2.5-33)")."""
    if row is None or _missing(row.values["estimate"]):
        return None
    for quantity in find_quantities(row.values["quote"] or ""):
        if quantity.form == "duration" and quantity.range_high is not None:
            if abs(quantity.months - row.values["estimate"]) < 0.01:
                return quantity.range_high * MONTHS_PER_UNIT[quantity.unit]
    return None


def _clean_counts(candidate: dict) -> bool:
    events, total = candidate["events"], candidate["total"]
    return (candidate["landmark_months"] is None and events is not None and total is not None
            and 0 <= events <= total and not set(candidate.get("context", [])) & set(PARTIAL_CONTEXT))


def _denominator_rule(row: Row, candidates: list[dict], cohort: Cohort, base: dict, audit: list) -> None:
    """Among whole-cohort counts of this endpoint, take the one over the preferred denominator."""
    v = row.values
    if v["source"] != "extracted" or v["endpoint"] not in PROPORTIONS or _missing(v["total"]):
        return
    current = cohort.rank(cohort.kind_of(v["total"]))
    options = [c for c in candidates if c["endpoint"] == v["endpoint"] and _clean_counts(c)]
    best = min(options, key=lambda c: (cohort.rank(cohort.kind_of(c["total"])), c.get("order", 0)), default=None)
    if best is None or cohort.rank(cohort.kind_of(best["total"])) >= current:
        return
    old = _summary(v)
    new = _row_from_candidate(best, base)
    row.values.update({k: new.values[k] for k in (*VALUE_FIELDS, "quote")})
    row.percent_printed = new.percent_printed
    detail = (f"{_summary(row.values)} ({cohort.kind_of(best['total'])}) chosen over {old} "
              f"by harmonise.denominator = {', '.join(cohort.preference)}")
    row.flag("denominator_rule", detail)
    audit.append(_audit(v, "row", old, _summary(row.values), "denominator_rule", detail, "config.yaml"))


def _denominator(row: Row, cohort: Cohort) -> None:
    v = row.values
    if _missing(v["total"]):
        if _missing(v["events"]) and _missing(v["estimate"]):
            return
        kind = next((k for k in cohort.preference if k in cohort.sizes), None)
        if kind is None:
            return
        v["total"] = cohort.sizes[kind]
        row.denominator = row.denominator or kind
        row.flag("assumed_denominator", f"denominator taken as the {v['total']} {kind} (first known of harmonise.denominator)")
    row.note(f"denominator:{row.denominator or cohort.kind_of(v['total'])}")


def _derive_counts(row: Row) -> None:
    """Events from a percentage and a denominator, only when exactly one whole number fits."""
    v = row.values
    if not _missing(v["events"]) or _missing(v["total"]) or _missing(v["estimate"]):
        return
    total = int(v["total"])
    percent = row.percent_printed if row.percent_printed is not None else v["estimate"] * 100
    tolerance = rounding_tolerance(percent)
    fitting = [k for k in range(total + 1) if abs(100 * k / total - percent) <= tolerance]
    if len(fitting) == 1:
        v["events"] = fitting[0]
        row.flag("derived_count", f"{fitting[0]} events derived from {percent:g}% of {total}")
    elif not fitting:
        row.flag("no_count", f"{percent:g}% of {total} is not a whole number of patients")
    else:
        row.flag("no_count", f"{percent:g}% of {total} fits {fitting[0]} to {fitting[-1]} patients")


def _check_values(row: Row, cohort: Cohort) -> None:
    v = row.values
    events, total, estimate = v["events"], v["total"], v["estimate"]
    if not _missing(events) and events < 0 or not _missing(total) and total < 0:
        row.flag("negative_count", f"events={_show(events)}, total={_show(total)}")
    if not _missing(events) and not _missing(total) and events > total:
        row.flag("events_exceed_total", f"{events} events > {total} total")
    if row.percent_printed is not None and not _missing(events) and total:
        exact = 100 * events / total
        if abs(exact - row.percent_printed) > rounding_tolerance(row.percent_printed):
            row.flag("percent_count_mismatch", f"printed {row.percent_printed:g}% but {events}/{total} = {exact:.2f}%")
    if v["endpoint"] in PROPORTIONS + TIME_TO_EVENT and not _missing(estimate) and not 0 <= estimate <= 1:
        row.flag("estimate_outside_0_1", f"estimate {100 * estimate:g}% is not a proportion")
    low, high = v["ci_low"], v["ci_high"]
    if not _missing(low) and not _missing(high):
        if low < 0 or high > 1:
            row.flag("ci_outside_0_1", f"CI {low:g}-{high:g} leaves [0, 1]; kept for deriving the SE")
        if not _missing(estimate) and not (low - 1e-12 <= estimate <= high + 1e-12):
            row.flag("estimate_outside_ci", f"estimate {estimate:g} outside CI {low:g}-{high:g}")
    largest = max(cohort.sizes.items(), key=lambda item: item[1], default=None)
    if largest and not _missing(total) and v["endpoint"] != "n_treated" and total > largest[1]:
        row.flag("subgroup_exceeds_cohort", f"denominator {total} > {largest[1]} {largest[0]}")


def _check_landmark(row: Row, cohort: Cohort) -> None:
    """A survival value is read off the curve; past the longest follow-up nobody was observed."""
    landmark = row.values["landmark_months"]
    if landmark is None:
        return
    if cohort.followup_max is not None:
        if landmark > cohort.followup_max + 1e-9:
            row.flag("landmark_beyond_followup",
                     f"{landmark:g}-month value beyond the longest follow-up of {cohort.followup_max:.3g} months")
    elif cohort.followup_median is not None and landmark > cohort.followup_median + 1e-9:
        row.flag("landmark_beyond_followup",
                 f"{landmark:g}-month value beyond the median follow-up of {cohort.followup_median:.3g} months "
                 "(longest follow-up not reported)")


def _evaluate(row: Row, cohort: Cohort) -> None:
    v = row.values
    if v["endpoint"] in PROPORTIONS:
        _denominator(row, cohort)
        _derive_counts(row)
        if not _missing(v["events"]) and v["total"]:
            # an impossible count keeps its flag but never becomes a "proportion" above 1
            v["estimate"] = v["events"] / v["total"] if 0 <= v["events"] <= v["total"] else None
    if _missing(v["se"]) and not _missing(v["ci_low"]) and not _missing(v["ci_high"]):
        v["se"] = (v["ci_high"] - v["ci_low"]) / (2 * Z_95)
        row.note("se_from_ci")
    _check_values(row, cohort)
    _check_landmark(row, cohort)


def _replaced_values(row: Row, cohort: Cohort) -> Row:
    """The extracted value a decision replaced, with its own derived values and findings."""
    before = copy.deepcopy(row.replaced)
    before.flags, before.findings = [], []
    _evaluate(before, cohort)
    return before


def _superseded(row: Row, before: Row) -> None:
    """Problems of the extracted value a curator replaced: named, but no longer about this row."""
    current = {name for name, _ in row.findings}
    for name, detail in before.findings:
        if name not in current and name not in ("assumed_denominator", "derived_count", "no_count"):
            row.flag(f"superseded:{name}", f"extracted value, replaced by curation ({row.decided[1]}): {detail}", name)


def _audit_decision(row: Row, before: Row | None, audit: list) -> None:
    """One audit line per field the decision changed (a 'row' line when it changed none or added the row)."""
    decision, file = row.decided
    note = dict(decision=decision.decision, reason=decision.reason, file=file)
    changed = [] if before is None else [
        name for name in VALUE_FIELDS if _show(before.values[name]) != _show(row.values[name])
    ]
    if not changed:
        old = "" if before is None else _summary(before.values)
        audit.append(_audit(row.values, "row", old, _summary(row.values), **note))
    for name in changed:
        audit.append(_audit(row.values, name, before.values[name], row.values[name], **note))


def _other_values(row: Row, candidates: list[dict], base: dict) -> None:
    """Problems in other whole-cohort values of this endpoint: the paper disagrees with itself.

    "93.9% (14/15)" stays a named problem even when the row holds another
    printing of the value (or a curated one).
    """
    v = row.values
    no_cohort = Cohort(sizes={}, preference=[], followup_median=None, followup_max=None)
    current = {name for name, _ in row.findings}
    for candidate in sorted(candidates, key=lambda c: c.get("order", 0)):
        if candidate["endpoint"] != v["endpoint"] or set(candidate.get("context", [])) & set(PARTIAL_CONTEXT):
            continue
        if _landmark(candidate["endpoint"], candidate["landmark_months"]) != v["landmark_months"]:
            continue
        other = _row_from_candidate(candidate, base)
        _check_values(other, no_cohort)
        for name, detail in other.findings:
            if name in OTHER_VALUE_CHECKS and name not in current:
                page = "" if _missing(candidate["page"]) else f" (page {candidate['page']})"
                row.flag(f"other_value:{name}", f"another printed value of this endpoint{page}: {detail}", name)


# ---------------------------------------------------------------- one paper


@dataclass
class PaperResult:
    rows: list
    study: dict
    summary: StudySummary
    audit: list
    checks: list  # lines not about one row: decisions that no longer fit the extraction


def _curation_for(paper: str, curation_dir: str | None, failures: list) -> Curation | None:
    if not curation_dir:
        return None
    path = Path(curation_dir) / f"{paper}.yaml"
    if not path.exists():
        return None
    try:
        return load_curation(path)
    except CurationError as err:
        failures.append({"paper": paper, "stage": "curate", "error_kind": "invalid_curation", "message": str(err)})
        return None


def _harmonise_paper(record: dict, curation: Curation | None, settings: dict) -> PaperResult:
    paper = record["paper"]
    audit, paper_checks = [], []
    default_label = record.get("study") or paper
    study = (curation.metadata.get("study") if curation else None) or default_label
    base = {"study": study, "paper": paper}
    metadata = {k: v for k, v in record["metadata"].items() if k != "evidence"}
    if curation:
        if study != default_label:
            audit.append(_audit({**base, "endpoint": ""}, "study", default_label, study, "metadata",
                                curation.reason, curation.file))
        metadata = _apply_metadata(metadata, curation, base, audit)
    trial_ids = ";".join(metadata.get("trial_ids") or [])
    base["trial_ids"] = trial_ids
    candidates = record["candidates"]
    rows: dict[tuple, Row] = {}
    n_enrolled = None
    for choice in record["chosen"]:
        candidate = candidates[choice["candidate"]]
        if candidate["endpoint"] == "n_enrolled" and not set(candidate["context"]) & set(PARTIAL_CONTEXT):
            n_enrolled = candidate["total"]
        if candidate["endpoint"] in ENDPOINTS:
            row = _row_from_candidate(candidate, base)
            rows.setdefault(row.key, row)
    if curation:
        for decision in curation.decisions:
            try:
                _apply_decision(decision, rows, candidates, base, curation, audit)
            except DecisionError as err:
                paper_checks.append({
                    **base, "endpoint": decision.endpoint, "landmark_months": decision.landmark_months,
                    "check": "curation_not_applied", "detail": f"{curation.file}: {decision.key}: {err}",
                })
    treated_row, followup_row = rows.get(("n_treated", None)), rows.get(("followup_median_months", None))
    sizes = {
        "treated": None if treated_row is None else treated_row.values["total"],
        "enrolled": (curation.cohort.get("enrolled") if curation else None) or n_enrolled,
        "evaluable": curation.cohort.get("evaluable") if curation else None,
    }
    followup = None if followup_row is None else followup_row.values["estimate"]
    cohort = Cohort(
        sizes={k: int(v) for k, v in sizes.items() if not _missing(v)},
        preference=list(settings["denominator"]),
        followup_median=None if _missing(followup) else followup,
        followup_max=(curation.followup_max_months if curation else None) or _followup_max(followup_row),
    )
    ordered = [rows[key] for key in sorted(rows, key=lambda k: (k[0], -1 if k[1] is None else k[1]))]
    for row in ordered:
        _denominator_rule(row, candidates, cohort, base, audit)
        _evaluate(row, cohort)
        before = None if row.replaced is None else _replaced_values(row, cohort)
        if before is not None:
            _superseded(row, before)
        if row.decided is not None:
            _audit_decision(row, before, audit)
        _other_values(row, candidates, base)
        if settings["pool_only_verified"] and row.values["source"] not in VERIFIED_SOURCES:
            row.note(UNVERIFIED_FLAG)
    relapses, responders = rows.get(("relapse", None)), rows.get(("cr_cri", None))
    if relapses and responders and not _missing(relapses.values["events"]) and not _missing(responders.values["events"]):
        if relapses.values["events"] > responders.values["events"]:
            relapses.flag("more_relapses_than_responders",
                          f"{relapses.values['events']} relapses > {responders.values['events']} responders")
    counts = {
        r.values["endpoint"]: (int(r.values["events"]), int(r.values["total"])) for r in ordered
        if r.values["endpoint"] in PROPORTIONS and not _missing(r.values["events"]) and not _missing(r.values["total"])
        and not set(r.flags) & set(ROW_CONTEXT_FLAGS)
    }
    n_treated = cohort.sizes.get("treated")
    summary = StudySummary(
        paper=paper, study=study, trial_ids=tuple(metadata.get("trial_ids") or ()), n_treated=n_treated,
        year=metadata.get("year"), report=metadata.get("report"), centre=metadata.get("centre"), counts=counts,
    )
    study_row = {
        "study": study, "paper": paper, "trial_ids": trial_ids,
        "target": metadata.get("target"), "construct": metadata.get("construct"),
        "population": metadata.get("population"), "age_group": metadata.get("age_group"),
        "n_treated": n_treated, "followup_median_months": cohort.followup_median, "year": metadata.get("year"),
    }
    return PaperResult(ordered, study_row, summary, audit, paper_checks)


# ---------------------------------------------------------------- all papers


def harmonise(records: list[dict], curation_dir: str | None, settings: dict | None = None) -> dict[str, pd.DataFrame]:
    """endpoints, studies, checks, failures and audit tables from extraction records.

    `settings` is the config's ``harmonise`` block: ``denominator`` (preference
    order of treated / evaluable / enrolled), ``duplicate_rule`` and
    ``duplicate_min_matches``; missing keys take DEFAULT_SETTINGS.
    """
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    results: list[PaperResult] = []
    failures = []
    for record in sorted(records, key=lambda r: r["paper"]):
        paper = record["paper"]
        if record["status"] != "ok":
            failures.append({
                "paper": paper, "stage": "extract", "error_kind": record["error"]["kind"],
                "message": record["error"]["message"],
            })
            continue
        curation = _curation_for(paper, curation_dir, failures)
        result = _harmonise_paper(record, curation, settings)
        if not result.rows:
            failures.append({
                "paper": paper, "stage": "harmonise", "error_kind": "no_values",
                "message": f"{record['file']}: the text was read but no endpoint value was found in it; check that "
                           f"it reports trial results, or add its values in a curation file {paper}.yaml",
            })
        results.append(result)
    duplicates = find_duplicates([r.summary for r in results], settings["duplicate_rule"], settings["duplicate_min_matches"])
    dropped = {d.paper: d for d in duplicates}
    for result in results:
        duplicate = dropped.get(result.summary.paper)
        if duplicate is None:
            continue
        kept = duplicate.kept_study.replace(";", ",")  # ';' separates flags
        reason = f"{duplicate.evidence}; harmonise.duplicate_rule = {settings['duplicate_rule']} keeps {duplicate.kept_paper}"
        for row in result.rows:
            row.flag(f"{DUPLICATE_FLAG}{kept}", reason, "duplicate_of")
        result.audit.append(_audit({**result.study, "endpoint": ""}, "pooled", "yes", f"no: same trial as {kept}",
                                   "duplicate", reason, "config.yaml"))
    endpoint_rows, checks, audit = [], [], []
    for result in results:
        for row in result.rows:
            endpoint_rows.append({**row.values, "flags": ";".join(row.flags)})
            checks.extend({
                "paper": row.values["paper"], "study": row.values["study"], "endpoint": row.values["endpoint"],
                "landmark_months": row.values["landmark_months"], "check": name, "detail": detail,
            } for name, detail in row.findings)
        checks.extend(result.checks)
        audit.extend(result.audit)
    tables = {
        "endpoints": pd.DataFrame(endpoint_rows, columns=ENDPOINT_COLUMNS),
        "studies": pd.DataFrame([r.study for r in results], columns=STUDY_COLUMNS),
        "checks": pd.DataFrame(checks, columns=CHECK_COLUMNS),
        "failures": pd.DataFrame(failures, columns=FAILURE_COLUMNS),
        "audit": pd.DataFrame(audit, columns=AUDIT_COLUMNS),
    }
    for name in ("events", "total", "page"):
        tables["endpoints"][name] = tables["endpoints"][name].astype("Int64")
    for name in ("n_treated", "year"):
        tables["studies"][name] = tables["studies"][name].astype("Int64")
    tables["endpoints"] = tables["endpoints"].sort_values(
        ["study", "endpoint", "landmark_months"], na_position="first", kind="mergesort"
    ).reset_index(drop=True)
    return tables


def _flags(row) -> set[str]:
    return set(filter(None, (row["flags"] if isinstance(row["flags"], str) else "").split(";")))


def poolable(endpoints: pd.DataFrame, endpoint: str, landmark_months: float | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Rows of `endpoint` that can be pooled as events/total, and the excluded ones with reasons.

    Only rows at exactly `landmark_months` (None: rows without a landmark), so a
    24-month value is never pooled as a 12-month one; never a second report of
    a trial already in the table (flag ``duplicate_of:<study>``).
    """
    rows = endpoints[endpoints["endpoint"] == endpoint]
    if landmark_months is None:
        rows = rows[rows["landmark_months"].isna()]
    else:
        rows = rows[rows["landmark_months"] == snap_landmark(float(landmark_months))]
    keep, excluded = [], []
    for _, row in rows.iterrows():
        flags = _flags(row)
        blocking = flags.intersection(BLOCKING_FLAGS)
        duplicate = sorted(f for f in flags if f.startswith(DUPLICATE_FLAG))
        if duplicate:
            excluded.append({"study": row["study"], "reason": "same trial as " + duplicate[0][len(DUPLICATE_FLAG):]})
        elif blocking:
            excluded.append({"study": row["study"], "reason": "impossible value: " + ", ".join(sorted(blocking))})
        elif UNVERIFIED_FLAG in flags:
            excluded.append({"study": row["study"], "reason": UNVERIFIED_REASON})
        elif pd.isna(row["events"]) or pd.isna(row["total"]) or row["total"] == 0:
            excluded.append({"study": row["study"], "reason": "no events/total reported or derivable"})
        else:
            keep.append(row)
    frame = pd.DataFrame(keep, columns=endpoints.columns)
    return frame, excluded
