"""Derived values (denominators, counts from percentages, SEs from CIs) and the checks on every row.

Checks run on the final values; a problem of an extracted value that curation
replaced stays visible as ``superseded:<check>``, and another printing of the
same endpoint that disagrees is ``other_value:<check>``.
"""

from __future__ import annotations

import copy

from trialmeta.extract.numbers import MONTHS_PER_UNIT, find_quantities
from trialmeta.harmonise.decisions import audit_line
from trialmeta.harmonise.rows import (
    OTHER_VALUE_CHECKS, PARTIAL_CONTEXT, PROPORTIONS, TIME_TO_EVENT, VALUE_FIELDS, Z_95,
    Cohort, Row, landmark_of, missing, rounding_tolerance, row_from_candidate, show, value_summary,
)


def longest_followup(row: Row | None) -> float | None:
    """The top of the follow-up range printed with the median ("15.5 months (range, 2.5-33)")."""
    if row is None or missing(row.values["estimate"]):
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


def apply_denominator_rule(row: Row, candidates: list[dict], cohort: Cohort, base: dict, audit: list) -> None:
    """Among whole-cohort counts of this endpoint, take the one over the preferred denominator."""
    v = row.values
    if v["source"] != "extracted" or v["endpoint"] not in PROPORTIONS or missing(v["total"]):
        return
    current = cohort.rank(cohort.kind_of(v["total"]))
    options = [c for c in candidates if c["endpoint"] == v["endpoint"] and _clean_counts(c)]
    best = min(options, key=lambda c: (cohort.rank(cohort.kind_of(c["total"])), c.get("order", 0)), default=None)
    if best is None or cohort.rank(cohort.kind_of(best["total"])) >= current:
        return
    old = value_summary(v)
    new = row_from_candidate(best, base)
    row.values.update({k: new.values[k] for k in (*VALUE_FIELDS, "quote")})
    row.percent_printed = new.percent_printed
    detail = (f"{value_summary(row.values)} ({cohort.kind_of(best['total'])}) chosen over {old} "
              f"by harmonise.denominator = {', '.join(cohort.preference)}")
    row.flag("denominator_rule", detail)
    audit.append(audit_line(v, "row", old, value_summary(row.values), "denominator_rule", detail, "config.yaml"))


def _denominator(row: Row, cohort: Cohort) -> None:
    v = row.values
    if missing(v["total"]):
        if missing(v["events"]) and missing(v["estimate"]):
            return
        if row.denominator == "responders":
            row.flag("unknown_denominator", "a value over the responders, whose number the paper does not give: no "
                     "other cohort's size is assumed for it")
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
    if not missing(v["events"]) or missing(v["total"]) or missing(v["estimate"]):
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
    if not missing(events) and events < 0 or not missing(total) and total < 0:
        row.flag("negative_count", f"events={show(events)}, total={show(total)}")
    if not missing(events) and not missing(total) and events > total:
        row.flag("events_exceed_total", f"{events} events > {total} total")
    if row.percent_printed is not None and not missing(events) and total:
        exact = 100 * events / total
        if abs(exact - row.percent_printed) > rounding_tolerance(row.percent_printed):
            row.flag("percent_count_mismatch", f"printed {row.percent_printed:g}% but {events}/{total} = {exact:.2f}%")
    if v["endpoint"] in PROPORTIONS + TIME_TO_EVENT and not missing(estimate) and not 0 <= estimate <= 1:
        row.flag("estimate_outside_0_1", f"estimate {100 * estimate:g}% is not a proportion")
    low, high = v["ci_low"], v["ci_high"]
    if not missing(low) and not missing(high):
        if low < 0 or high > 1:
            row.flag("ci_outside_0_1", f"CI {low:g}-{high:g} leaves [0, 1]; kept for deriving the SE")
        if not missing(estimate) and not (low - 1e-12 <= estimate <= high + 1e-12):
            row.flag("estimate_outside_ci", f"estimate {estimate:g} outside CI {low:g}-{high:g}")
    largest = max(cohort.sizes.items(), key=lambda item: item[1], default=None)
    if largest and not missing(total) and v["endpoint"] != "n_treated" and total > largest[1]:
        row.flag("subgroup_exceeds_cohort", f"denominator {total} > {largest[1]} {largest[0]}")


def _check_landmark(row: Row, cohort: Cohort) -> None:
    """A survival value is read off the curve; past the longest follow-up nobody was observed, and
    past the median follow-up most patients were censored before the landmark, so the value rests
    on few patients at risk (a bare percentage then says nothing of its precision)."""
    landmark = row.values["landmark_months"]
    if landmark is None:
        return
    if cohort.followup_max is not None and landmark > cohort.followup_max + 1e-9:
        row.flag("landmark_beyond_followup",
                 f"{landmark:g}-month value beyond the longest follow-up of {cohort.followup_max:.3g} months")
    elif cohort.followup_median is not None and landmark > cohort.followup_median + 1e-9:
        longest = ("longest follow-up not reported" if cohort.followup_max is None
                   else f"longest {cohort.followup_max:.3g} months")
        row.flag("landmark_beyond_median_followup",
                 f"{landmark:g}-month value beyond the median follow-up of {cohort.followup_median:.3g} months "
                 f"({longest}): at most half the patients were followed to the landmark")


def evaluate(row: Row, cohort: Cohort) -> None:
    v = row.values
    if v["endpoint"] in PROPORTIONS:
        _denominator(row, cohort)
        _derive_counts(row)
        if not missing(v["events"]) and v["total"]:
            # an impossible count keeps its flag but never becomes a "proportion" above 1
            v["estimate"] = v["events"] / v["total"] if 0 <= v["events"] <= v["total"] else None
    if missing(v["se"]) and not missing(v["ci_low"]) and not missing(v["ci_high"]):
        v["se"] = (v["ci_high"] - v["ci_low"]) / (2 * Z_95)
        row.note("se_from_ci")
    _check_values(row, cohort)
    _check_landmark(row, cohort)


def replaced_values(row: Row, cohort: Cohort) -> Row:
    """The extracted value a decision replaced, with its own derived values and findings."""
    before = copy.deepcopy(row.replaced)
    before.flags, before.findings = [], []
    evaluate(before, cohort)
    return before


def mark_superseded(row: Row, before: Row) -> None:
    """Problems of the extracted value a curator replaced: named, but no longer about this row."""
    current = {name for name, _ in row.findings}
    for name, detail in before.findings:
        if name not in current and name not in ("assumed_denominator", "derived_count", "no_count"):
            row.flag(f"superseded:{name}", f"extracted value, replaced by curation ({row.decided[1]}): {detail}", name)


def check_other_values(row: Row, candidates: list[dict], base: dict) -> None:
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
        if landmark_of(candidate["endpoint"], candidate["landmark_months"]) != v["landmark_months"]:
            continue
        other = row_from_candidate(candidate, base)
        _check_values(other, no_cohort)
        for name, detail in other.findings:
            if name in OTHER_VALUE_CHECKS and name not in current:
                page = "" if missing(candidate["page"]) else f" (page {candidate['page']})"
                row.flag(f"other_value:{name}", f"another printed value of this endpoint{page}: {detail}", name)
