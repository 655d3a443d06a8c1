"""The harmonised tables' columns and vocabulary, and one value on its way into endpoints.csv.

`Row` is an endpoint value whose flags and findings accumulate as harmonise
works on it; `Cohort` is what a paper says about its patients, against which
each value is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy import stats

from trialmeta.harmonise.curation import snap_landmark

ENDPOINT_COLUMNS = [
    "study", "paper", "trial_ids", "endpoint", "landmark_months", "events", "total",
    "estimate", "ci_low", "ci_high", "se", "source", "page", "quote", "flags",
]
STUDY_COLUMNS = [
    "study", "paper", "trial_ids", "target", "construct", "population", "age_group",
    "n_treated", "followup_median_months", "year", "first_author", "journal", "doi", "n_enrolled",
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
# A row of a study its curation file excludes (`exclude: <reason>`): never pooled.
EXCLUDED_FLAG = "excluded:"
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
# How the reader got the value, kept in the row's flags as provenance (not a problem): "ocr" is a value
# read by Tesseract from a page without a text layer, whose digits a reviewer checks against the image.
READING_FLAGS = ("ocr",)
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


def missing(value) -> bool:
    return value is None or isinstance(value, float) and math.isnan(value)


def show(value) -> str:
    if missing(value):
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def value_summary(values: dict) -> str:
    """A value in one short phrase for audit.csv: '14/15', '0.86 (0.68-1.04)', '0.612 ± 0.14'."""
    if not missing(values.get("events")) and not missing(values.get("total")):
        text = f"{values['events']}/{values['total']}"
    elif not missing(values.get("estimate")):
        text = show(values["estimate"])
    elif not missing(values.get("total")):
        text = f"n = {values['total']}"
    else:
        text = "no value"
    if not missing(values.get("ci_low")) and not missing(values.get("ci_high")):
        text += f" ({show(values['ci_low'])}-{show(values['ci_high'])})"
    if not missing(values.get("se")):
        text += f" ± {show(values['se'])}"
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


def landmark_of(endpoint: str, months) -> float | None:
    # only time-to-event values have a time point; 1 year = 12 months = 365 days
    if endpoint not in TIME_TO_EVENT or missing(months):
        return None
    return snap_landmark(float(months))


def row_from_candidate(candidate: dict, base: dict) -> Row:
    values = {
        **base,
        "endpoint": candidate["endpoint"],
        "landmark_months": landmark_of(candidate["endpoint"], candidate["landmark_months"]),
        **{name: candidate[name] for name in VALUE_FIELDS},
        "source": candidate.get("source", "extracted"),
        "quote": candidate["quote"],
    }
    context = list(candidate.get("context", [])) + list(candidate.get("flags", []))
    flags = [f for f in (*ROW_CONTEXT_FLAGS, *READING_FLAGS) if f in context]
    # a value over the responders whose number the paper does not give ("among responders, 90% were
    # MRD-negative") keeps that cohort: no other cohort's size may be assumed for it
    over_responders = candidate.get("cohort_kind") == "responders" and missing(candidate.get("total"))
    return Row(values, flags, candidate.get("percent_printed"), denominator="responders" if over_responders else None)
