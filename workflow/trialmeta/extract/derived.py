"""Values derived from several candidates of one sentence: grade sums, summed parts, any minus mild,
and a value said to hold at another landmark."""

from __future__ import annotations

import re
from dataclasses import replace

from trialmeta.extract.candidate import (
    FORM_CONFIDENCE,
    PENALTY,
    UNCHOOSABLE_CONTEXT,
    Candidate,
)
from trialmeta.extract.lexicon import Lexicon
from trialmeta.extract.mentions import Mention, grade_cue
from trialmeta.extract.numbers import find_landmarks


def grade_sums(single_grades: list[tuple[Candidate, int]]) -> list[Candidate]:
    """Grade >= 3 as the sum of grades printed apart ("grade 3 in 22.7% and grade 4 in 4.5%")."""
    out = []
    groups: dict[tuple, list[tuple[Candidate, int]]] = {}
    for candidate, grade in single_grades:
        if "component" not in candidate.context:
            groups.setdefault((candidate.endpoint, candidate.landmark_months), []).append((candidate, grade))
    for parts in groups.values():
        grades = [grade for _, grade in parts]
        if len(parts) < 2 or len(set(grades)) != len(grades):
            continue
        cands = [c for c, _ in parts]
        totals = {c.total for c in cands}
        if all(c.events is not None for c in cands) and len(totals) == 1 and None not in totals:
            events, total = sum(c.events for c in cands), totals.pop()
            estimate, percent = events / total, None
        elif all(c.percent_printed is not None for c in cands):
            events, total = None, None
            percent = round(sum(c.percent_printed for c in cands), 6)
            estimate = percent / 100
        else:
            continue
        first = cands[0]
        flags = tuple(f for f in first.context if f not in ("single_grade", "mention_after", "far"))
        out.append(replace(
            first, events=events, total=total, estimate=estimate, percent_printed=percent, ci_low=None, ci_high=None,
            se=None, rule="text:grade_sum", context=flags,
            confidence=round(FORM_CONFIDENCE["grade_sum"] - sum(PENALTY.get(f, 0) for f in flags), 3),
        ))
    return out


def summed_parts(out: list[Candidate], named: list[tuple[Candidate, str]], lexicon: Lexicon) -> list[Candidate]:
    """An endpoint reported as its parts ("8 CR and 3 CRi"): one value per part, each given to a
    phrase naming only that part (lexicon `parts`), add up to the endpoint's value, flagged
    "summed"; the parts themselves become components (kept, never chosen)."""
    summed, parts_used = [], set()
    for endpoint, parts in lexicon.parts.items():
        found = []
        for part in parts:
            matching = [
                c for c, phrase in named
                if c.endpoint == endpoint and part.fullmatch(phrase)
                and not set(c.context).intersection(UNCHOOSABLE_CONTEXT)
            ]
            if len(matching) != 1:
                break
            found.append(matching[0])
        else:
            totals = {c.total for c in found}
            if all(c.events is not None for c in found) and len(totals) == 1:
                total = totals.pop()
                events = sum(c.events for c in found)
                estimate, percent = (None if total is None else events / total), None
            elif all(c.percent_printed is not None and c.events is None for c in found):
                events, total = None, None
                percent = round(sum(c.percent_printed for c in found), 6)
                estimate = percent / 100
            else:
                continue
            if total is not None and events > total or percent is not None and percent > 100:
                continue  # parts of one cohort never add up to more than all of it
            first = found[0]
            flags = tuple(f for f in first.context if f not in ("mention_after", "far")) + ("summed",)
            summed.append(replace(
                first, events=events, total=total, estimate=estimate, percent_printed=percent, ci_low=None,
                ci_high=None, se=None, rule="text:summed_parts", context=flags,
                confidence=round(FORM_CONFIDENCE["summed_parts"] - sum(PENALTY.get(f, 0) for f in flags), 3),
            ))
            parts_used.update(id(c) for c in found)
        parts_used.update(id(c) for c in _parts_alone(endpoint, parts, named))
    marked = [replace(c, context=(*c.context, "component")) if id(c) in parts_used and "component" not in c.context
              else c for c in out]
    return marked + summed


def _parts_alone(endpoint: str, parts, named: list[tuple[Candidate, str]]) -> list[Candidate]:
    """Values of one part that are not the endpoint's: a later part alone ("27 had a CRp" is no
    CR/CRi value), and the first part beside the whole or beside a later part in one sentence ("CR
    plus CRh was 42%; CR 30%": the 42% is the endpoint's; "10 CR and 12 CRp": CR/CRi is their sum,
    never the 10)."""
    mine = [(c, phrase) for c, phrase in named if c.endpoint == endpoint]
    later = [c for c, phrase in mine if any(p.fullmatch(phrase) for p in parts[1:]) and not parts[0].fullmatch(phrase)]
    whole = any(not any(part.fullmatch(phrase) for part in parts) for _, phrase in mine)
    first = [c for c, phrase in mine if parts[0].fullmatch(phrase)] if whole or later else []
    return later + first


def any_minus_mild(sentence, placed, quantities, mentions, lexicon) -> list[Candidate]:
    """Grade >= 3 as any grade minus grade 1-2 when one sentence gives both counts:
    "CRS in 18 of 20, grade 1-2 in 17" -> 1 of 20 of grade >= 3."""
    kinds = {terms.name: terms for terms in lexicon.endpoints}
    out = []
    for candidate, quantity in placed:
        terms = kinds.get(candidate.endpoint)
        if terms is None or not terms.grade_split or candidate.events is None or candidate.total is None:
            continue
        if "mild_only" in candidate.context:
            continue
        for later in quantities:
            if later.start <= quantity.end or later.events is None or later.total not in (None, candidate.total):
                continue
            if ";" in sentence[quantity.end : later.start]:
                break
            # the later count must be a grade 1-2 one ("grade 1-2 in 17", "three had grade 1")
            grade = grade_cue(sentence, Mention(quantity.start, quantity.end, candidate.endpoint), later, lexicon)
            if grade is None or grade[0] != "mild":
                continue
            if any(quantity.end <= m.start < later.start and m.endpoint != candidate.endpoint for m in mentions):
                continue
            if later.events > candidate.events:
                continue
            flags = tuple(f for f in candidate.context if f not in ("mention_after", "far"))
            out.append(replace(
                candidate, endpoint=terms.grade_split, events=candidate.events - later.events,
                estimate=(candidate.events - later.events) / candidate.total, percent_printed=None,
                rule="text:any_minus_mild", context=flags,
                confidence=round(FORM_CONFIDENCE["any_minus_mild"] - sum(PENALTY.get(f, 0) for f in flags), 3),
            ))
            break
    return out


_SAME_VALUE = re.compile(r"\b(?:the same|unchanged|(?:had|has|have|did|was|were) not changed?)\b", re.I)


def same_as_landmark(sentence, placed, mentions, lexicon) -> list[Candidate]:
    """Values a sentence says held at another time point: "OS was 80% at 12 months and
    unchanged at 24 months", "EFS and OS at 24 months: the same as at 12 months"."""
    kinds = {terms.name: terms.kind for terms in lexicon.endpoints}
    survival = [(c, q) for c, q in placed if kinds.get(c.endpoint) == "survival" and c.landmark_months is not None]
    if not survival:
        return []
    out = []
    start = 0
    for clause in sentence.split(";"):
        end = start + len(clause)
        cue = _SAME_VALUE.search(clause)
        in_clause = [(c, q) for c, q in survival if start <= q.start < end]
        if cue and in_clause:
            used = {c.landmark_months for c, _ in survival}
            for landmark in find_landmarks(clause):
                if landmark.months in used:
                    continue
                named = {
                    m.endpoint for m in mentions
                    if start + landmark.end <= m.start < end and kinds[m.endpoint] == "survival"
                }
                for candidate, _ in in_clause:
                    if named and candidate.endpoint not in named:
                        continue
                    out.append(replace(
                        candidate, landmark_months=landmark.months, rule="text:same_as_landmark",
                        confidence=round(min(candidate.confidence, FORM_CONFIDENCE["same_as_landmark"]), 3),
                    ))
                used.add(landmark.months)
        start = end + 1
    return out
