"""The cohort a value is over: the group a sentence speaks of, the evaluable patients, a stated "(n = N)"."""

from __future__ import annotations

import re
from dataclasses import replace

from trialmeta.extract.candidate import Candidate
from trialmeta.extract.numbers import INT_WORD, PATIENT_NOUN, parse_int

# The size of the group a sentence speaks of: "the 10 patients", "three patients
# ..., and of them, 2 ...". Smaller than the treated cohort, it is a subgroup.
_COHORT = re.compile(
    rf"\b(?:the|these|those)\s+(?P<n>{INT_WORD})\s+(?:[\w-]+\s+){{0,2}}?{PATIENT_NOUN}\b|"
    rf"\b(?P<m>{INT_WORD})\s+(?:[\w-]+\s+){{0,2}}?{PATIENT_NOUN}\b[^.;]{{0,120}}?\b(?:of|among)\s+(?:them|these|whom)\b",
    re.I,
)


def cohort_before(sentence: str, position: int) -> int | None:
    size = None
    for m in _COHORT.finditer(sentence[:position]):
        size = parse_int(m.group("n") or m.group("m"))
    return size


_EVALUABLE = re.compile(
    rf"\b(?P<n>{INT_WORD})\s+(?:(?:[\w-]+\s+){{0,2}}?{PATIENT_NOUN}\s+)?(?:were\s+|was\s+)?evaluable\b|"
    r"\bevaluable\b[^.;()]{0,40}\(\s*n\s*=\s*(?P<m>\d+)\s*\)",
    re.I,
)
N_EQUALS = re.compile(r"\(\s*n\s*=\s*(\d+)\s*\)", re.I)


def evaluable_count(passages) -> int | None:
    """The number of evaluable patients when the paper states exactly one."""
    found = set()
    for passage in passages:
        for m in _EVALUABLE.finditer(passage.text):
            try:
                found.add(parse_int(m.group("n") or m.group("m")))
            except ValueError:
                continue
    return found.pop() if len(found) == 1 else None


def with_denominator(candidate: Candidate, sentence: str, evaluable: int | None, passage_n: int | None,
                      proportions: set[str]) -> Candidate:
    """A bare percentage or a zero count takes the denominator the paper states for it:
    the evaluable patients when its sentence speaks of them, else the one "(n = N)" of its paragraph."""
    if candidate.endpoint not in proportions:
        return candidate
    speaks_of_evaluable = evaluable is not None and re.search(r"\bevaluable\b", sentence, re.I)
    if candidate.total is not None:
        if candidate.total in (evaluable if speaks_of_evaluable else None, passage_n):
            return replace(candidate, context=(*candidate.context, "stated_denominator"))
        return candidate
    total = evaluable if speaks_of_evaluable else passage_n
    if total is None or candidate.estimate is None:
        return candidate
    return replace(candidate, total=total, context=(*candidate.context, "stated_denominator"))
