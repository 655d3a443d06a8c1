"""Stage 5 of extraction: choice, one candidate per (endpoint, landmark) with the reason why."""

from __future__ import annotations

from dataclasses import dataclass, replace

from trialmeta.extract.candidate import OVER_RESPONDERS, UNCHOOSABLE_CONTEXT, Candidate


# Cohorts of the whole study that may be smaller than the treated cohort: a value over the evaluable
# patients, or over the responders the same sentence counts (MRD negativity among those in CR), is a
# whole-study value; its denominator says which group it is. A group of treated (or enrolled)
# patients smaller than the treated count is a part of it ("Among 9 patients who received the
# second regimen, ...").
SMALLER_WHOLE_STUDY_COHORTS = ("evaluable", "responders")


@dataclass(frozen=True)
class Choice:
    candidate: Candidate
    reason: str
    alternatives: int


def _implied_total(candidate: Candidate, n_treated: int | None) -> int | None:
    """The denominator, or the treated cohort when a bare percentage is a whole number of it."""
    if candidate.total is not None or not n_treated or candidate.estimate is None:
        return candidate.total
    if candidate.percent_printed is None or candidate.landmark_months is not None:
        return None
    count = candidate.estimate * n_treated
    return n_treated if abs(count - round(count)) <= 0.0051 * n_treated else None


def _rank(candidate: Candidate, n_treated: int | None) -> tuple:
    score = candidate.confidence
    if n_treated and candidate.endpoint not in ("n_treated", "n_enrolled"):
        # The whole cohort (or the evaluable one the paper names) is the
        # denominator a pooled analysis wants; a percentage that is a whole
        # number of the cohort is consistent with it, but says less.
        if candidate.total is not None:
            whole = candidate.total == n_treated or "stated_denominator" in candidate.context
            score += 0.1 if whole else -0.1
        elif _implied_total(candidate, n_treated) is not None:
            score += 0.05
    completeness = sum(v is not None for v in (candidate.events, candidate.total, candidate.ci_low, candidate.se))
    return (round(score, 6), completeness, -candidate.order)


def disagree(a: Candidate, b: Candidate) -> bool:
    """Whether two values for one endpoint say different things: counts that differ, or estimates
    further apart than the rounding of a printed percentage (12/14 and "85.7%" agree)."""
    for field in ("events", "total"):
        x, y = getattr(a, field), getattr(b, field)
        if x is not None and y is not None and x != y:
            return True
    if a.estimate is None or b.estimate is None:
        return False
    return abs(a.estimate - b.estimate) > 0.0051


def overall_response_as_cr(candidates: list[Candidate]) -> list[Candidate]:
    """An overall response read as CR/CRi, for a paper that names no partial response.

    In B-ALL an overall response (or remission) is CR plus CRi; where partial responses exist
    (lymphoma, myeloma, CLL) it is not, and the paper then names them. The copies carry the
    context `orr_as_cr_cri`; `choose` takes them only where no CR/CRi value of its own exists.
    """
    return [
        replace(c, endpoint="cr_cri", context=(*c.context, "orr_as_cr_cri"), confidence=round(c.confidence - 0.05, 3))
        for c in candidates if c.endpoint == "orr"
    ]


def choose(candidates: list[Candidate], grade_splits: dict[str, str] | None = None) -> list[Choice]:
    """One candidate per (endpoint, landmark): the best ranked, with the reason why.

    Never chosen: values in UNCHOOSABLE_CONTEXT, values about a group smaller
    than the treated cohort, and grade 1-2 counts for an any-grade endpoint,
    unless (with `grade_splits`, any-grade -> grade >= 3 endpoint) the paper
    states that no grade >= 3 event occurred: then the grade 1-2 count is all of them.
    """
    choosable = [c for c in candidates if not set(c.context).intersection(UNCHOOSABLE_CONTEXT)]
    own_cr = {c.key for c in choosable if c.endpoint == "cr_cri" and "orr_as_cr_cri" not in c.context}
    choosable = [c for c in choosable if "orr_as_cr_cri" not in c.context or c.key not in own_cr]
    enrolled = [c for c in choosable if c.key == ("n_enrolled", None)]
    counts = [c for c in choosable if c.key == ("n_treated", None)]
    # Several treated counts: dose levels, arms and "the first 6" are parts of the whole, and the
    # whole is the largest count the paper states for treated patients. Without a treated count
    # the enrolled patients are the cohort values are compared with (no n_treated is claimed:
    # harmonise reads the enrolled count as the denominator, and says so).
    sized = counts or enrolled
    n_treated = max(sized, key=lambda c: (c.total or 0, _rank(c, None))).total if sized else None
    # "all 20 patients had CRS" in a paper whose largest treated count is 5: that count is a part
    # (5 who received another drug as well), and no treated size is claimed
    everyone = max((c.total for c in choosable if c.rule == "text:all_n" and c.total), default=0)
    if n_treated and everyone > n_treated:
        choosable = [c for c in choosable if c.endpoint not in ("n_treated", "n_enrolled")]
        n_treated = everyone
    by_key: dict[tuple, list[Candidate]] = {}
    mild: dict[tuple, list[Candidate]] = {}
    for candidate in choosable:
        whole_study = candidate.cohort_kind in SMALLER_WHOLE_STUDY_COHORTS and (
            candidate.cohort_kind != "responders" or candidate.endpoint in OVER_RESPONDERS)
        if (n_treated and candidate.cohort is not None and candidate.cohort < n_treated
                and not whole_study and candidate.endpoint != "n_treated"):
            continue
        target = mild if "mild_only" in candidate.context else by_key
        target.setdefault(candidate.key, []).append(candidate)
    for (endpoint, landmark), group in mild.items():
        severe = by_key.get(((grade_splits or {}).get(endpoint), landmark), [])
        if (endpoint, landmark) not in by_key and severe:
            best_severe = max(severe, key=lambda c: _rank(c, n_treated))
            if best_severe.events == 0 or best_severe.estimate == 0:
                by_key[(endpoint, landmark)] = group
    choices = []
    for key in sorted(by_key, key=lambda k: (k[0], -1 if k[1] is None else k[1])):
        group = by_key[key]
        if key in (("n_treated", None), ("n_enrolled", None)):
            ranked = sorted(group, key=lambda c: (c.total or 0, _rank(c, None)), reverse=True)
            best = ranked[0]
            reason = f"largest {key[0][2:]} count of {len(group)} candidate(s): rule {best.rule}, confidence {best.confidence}"
        else:
            ranked = sorted(group, key=lambda c: _rank(c, n_treated), reverse=True)
            best = ranked[0]
            reason = f"highest-ranked of {len(group)} candidate(s): rule {best.rule}, confidence {best.confidence}"
        if n_treated and best.total == n_treated and key[0] not in ("n_treated", "n_enrolled"):
            reason += f"; denominator equals the {n_treated} treated"
        if best.context:
            reason += "; context: " + ", ".join(best.context)
        if "mild_only" in best.context:
            reason += "; no grade >= 3 event stated, so the grade 1-2 count is the any-grade count"
        disagreeing = [c for c in ranked[1:] if disagree(c, best)]
        if disagreeing:
            reason += f"; {len(disagreeing)} other candidate(s) disagree"
            tied = [c for c in disagreeing if _rank(c, n_treated)[:2] == _rank(best, n_treated)[:2]]
            if tied and key[0] not in ("n_treated", "n_enrolled"):
                continue  # two values as credible as each other: the paper is ambiguous, a reviewer decides
        choices.append(Choice(best, reason, len(group) - 1))
    # "no ICANS" implies no grade >= 3 ICANS only if no event of any grade is chosen either
    any_grade = {c.candidate.key: c.candidate for c in choices}
    severe_of = {v: k for k, v in (grade_splits or {}).items()}
    return [
        c for c in choices
        if not (c.candidate.rule == "text:none_of_any_grade"
                and (any_grade.get((severe_of.get(c.candidate.endpoint), c.candidate.landmark_months)) or c.candidate).estimate)
    ]


def ambiguous(candidates: list[Candidate], choices: list[Choice]) -> set[tuple]:
    """(endpoint, landmark) keys left unchosen although choosable candidates give different values."""
    chosen = {c.candidate.key for c in choices}
    open_values: dict[tuple, list[Candidate]] = {}
    for c in candidates:
        if c.key not in chosen and not set(c.context) & set(UNCHOOSABLE_CONTEXT) and "mild_only" not in c.context:
            open_values.setdefault(c.key, []).append(c)
    return {key for key, found in open_values.items() if any(disagree(a, b) for a in found for b in found)}


def why_not_chosen(candidate: Candidate, chosen: dict[tuple, Candidate], ambiguous: set[tuple] = frozenset()) -> str:
    """Why a candidate lost, in words a reviewer can act on (recorded beside it in the record)."""
    blocking = [f for f in candidate.context if f in UNCHOOSABLE_CONTEXT]
    if blocking:
        return "never chosen in context " + ", ".join(blocking) + " (" + "; ".join(UNCHOSEN_CONTEXT_MEANING[f] for f in blocking) + ")"
    if "orr_as_cr_cri" in candidate.context and candidate.key in chosen:
        return "an overall response read as CR/CRi, not needed: the paper states CR/CRi itself"
    if "mild_only" in candidate.context:
        return "a grade 1-2 count: the any-grade count only when the paper says no grade >= 3 event occurred"
    winner = chosen.get(candidate.key)
    if winner is None:
        if candidate.key in ambiguous:
            return "as credible as another value for this endpoint: left for a reviewer (check ambiguous_value)"
        if candidate.cohort is not None:
            return f"about a group of {candidate.cohort} patients, smaller than the cohort"
        return "not chosen"
    if candidate.cohort is not None and candidate.cohort_kind not in SMALLER_WHOLE_STUDY_COHORTS and winner.cohort != candidate.cohort:
        return f"about a group of {candidate.cohort} patients, smaller than the cohort"
    return f"ranked below the chosen value (rule {winner.rule}, confidence {winner.confidence}, sentence {winner.order})"


UNCHOSEN_CONTEXT_MEANING = {
    "background": "another study's result or the introduction",
    "subgroup": "a part of the cohort",
    "comparison": "groups compared with each other",
    "baseline": "the patients' state at entry",
    "approximate": "a bound or a hedge, not a value",
    "component": "one part of a total given beside it",
    "threshold": "a threshold that defines a category",
}
