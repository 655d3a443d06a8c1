"""A candidate value: one number for one endpoint, with its provenance and how sure the rule is.

The confidence tables and the contexts that keep a value from being chosen live here, beside
the type every later stage (derived values, tables, choice) works on.
"""

from __future__ import annotations

from dataclasses import dataclass

# How much each quantity form says on its own: counts with a denominator are
# the most checkable, a bare percentage or a count without denominator less so.
FORM_CONFIDENCE = {
    "percent_fraction": 0.95,
    "fraction_percent": 0.95,
    "fraction_percent_ci": 0.95,
    "count_percent_ci": 0.9,
    "all_n": 0.9,
    "percent_ci": 0.9,
    "percent_pm": 0.9,
    "duration": 0.9,
    "fraction": 0.85,
    "count_percent": 0.85,
    "percent_n": 0.85,
    "percent": 0.75,
    "count": 0.6,
    "count_subject": 0.7,
    "negation": 0.7,
    "table": 0.8,
    "grade_sum": 0.85,
    "summed_parts": 0.85,
    "any_minus_mild": 0.8,
    "same_as_landmark": 0.75,
    "cohort": 0.8,
}
# Penalties for context; values stay candidates but rank lower.
PENALTY = {
    "background": 0.5,  # sentence about other studies (citations, "et al")
    "section_background": 0.3,  # introduction or discussion
    "subgroup": 0.3,  # part of the cohort, or a comparison
    "comparison": 0.3,  # a group brought in for comparison
    "baseline": 0.3,  # "14 patients with prior relapse": a characteristic, not an outcome
    "mild_only": 0.3,  # any-grade endpoint but only grade 1-2 counted
    "mention_after": 0.05,  # endpoint phrase after the number
    "far": 0.1,  # endpoint phrase far from the number
    "single_grade": 0.2,  # one grade of a grade >= 3 endpoint ("grade 4 in 1"): the sum ranks higher
}
FAR_CHARS = 80
# Values in these contexts stay in the candidate list but are never chosen:
# they describe other studies or part of the cohort.
# "approximate": a bound or hedge ("higher than 80%"); "component": one part of
# a total given just before ("100%, with 93% CR and 7% CRi").
# "threshold": a percentage that defines a category ("MRD negativity was defined as < 0.01%").
# The endpoints a value over the responders is a whole-study value of (MRD negativity among those in
# CR, relapse after remission); a CRS count among the responders is a part's
OVER_RESPONDERS = ("mrd_neg", "relapse")
UNCHOOSABLE_CONTEXT = ("background", "subgroup", "comparison", "baseline", "approximate", "component", "threshold")


@dataclass(frozen=True)
class Candidate:
    """One value for one endpoint, with where it came from and how sure the rule is."""

    endpoint: str
    landmark_months: float | None
    events: int | None
    total: int | None
    estimate: float | None  # proportion (0-1) or, for follow-up, months
    ci_low: float | None
    ci_high: float | None
    se: float | None
    percent_printed: float | None  # the percentage as printed, for consistency checks
    page: int | None
    line: int | None
    bbox: tuple[float, float, float, float] | None
    quote: str
    rule: str
    confidence: float
    context: tuple[str, ...]
    order: int  # position in reading order, for stable choices
    cohort: int | None = None  # size of the group the sentence speaks of ("the 10 patients"), when stated
    # what that group is: treated, enrolled, evaluable (a whole-study cohort) or group (unsaid)
    cohort_kind: str | None = None

    @property
    def key(self) -> tuple[str, float | None]:
        return (self.endpoint, self.landmark_months)
