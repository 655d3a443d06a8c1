"""The cohort model: how many were enrolled, treated and evaluable, and which cohort each value is over
(the group a sentence opens with, the evaluable patients, a stated "(n = N)")."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from trialmeta.extract.candidate import Candidate
from trialmeta.extract.lexicon import Lexicon
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


# -- the cohort model: enrolled / treated / evaluable counts from the sentences that state them --

_PCT = r"\(\s*\d+(?:\.\d+)?\s*%\s*\)"
_PATIENTS = rf"(?:{PATIENT_NOUN}|population|set|cohort)"


@functools.lru_cache(maxsize=8)
def _cohort_patterns(cues: tuple[tuple[str, str], ...]) -> dict[str, re.Pattern]:
    """Regular expressions of the cohort statements, built from the lexicon's `cohort` cues."""
    cue = dict(cues)
    count = rf"(?<![\w./-])(?P<n>{INT_WORD})"
    # "46 (79%) patients received", "a total of 30 adults with B-ALL were infused",
    # "189 patients who underwent leukapheresis"; at most a few words and one bracket between
    subject = (
        rf"{count}\s+(?:(?:out\s+)?of\s+(?:the\s+)?(?P<of>{INT_WORD})\s+)?(?:{_PCT}\s+)?(?:(?:[\w/‐-]+\s+){{0,3}}?{PATIENT_NOUN}\s+)?(?:{_PCT}\s+)?"
        rf"(?:\([^()]{{0,80}}\)\s+|\[[^\[\]]{{0,80}}\]\s+)?(?:(?:with|from|in|at|aged)\s+(?:\([^()]{{0,60}}\)|(?<=\d)\.(?=\d)|(?!\b(?:were|was|who|had)\b)[^,;.()]){{0,80}}?\s*)?"
        rf"(?:,\s*(?:including|of whom|with)\s[^,;.]{{0,60}},\s*)?"
        rf"(?:who\s+|that\s+)?(?:have\s+|has\s+|had\s+(?=been\b))?"
    )
    patterns = {}
    for kind in ("treated", "enrolled"):
        if kind in cue:
            patterns[f"{kind}:subject"] = re.compile(subject + rf"(?P<verb>{cue[kind]})\b", re.I)
        verb_first = cue.get(f"{kind}_object")
        if verb_first:
            # "were administered to 23 patients", "we enrolled a total of 40 adults"
            patterns[f"{kind}:object"] = re.compile(
                rf"\b{verb_first}\s+(?:a\s+total\s+of\s+|all\s+)?{count}\s+(?:[\w-]+\s+){{0,2}}?{PATIENT_NOUN}\b", re.I
            )
        adjective = cue.get(f"{kind}_adjectives")
        if adjective:
            # "352 adult patients treated at 8 centres"; not "patients treated with tocilizumab"
            patterns[f"{kind}:participle"] = re.compile(
                rf"{count}\s+(?:[\w-]+\s+){{0,2}}?{PATIENT_NOUN}\s+(?:with\s+(?:(?!\b(?:were|was|who|had)\b)[^,;.\d]){{0,60}}?\s+)?"
                rf"{adjective}\b(?!\s+(?:with|for)\b)",
                re.I,
            )
            # "33% (42 of 128) of treated patients": the denominator is the treated cohort
            patterns[f"{kind}:denominator"] = re.compile(
                rf"\b\d+\s*(?:of|/)\s*(?P<n>\d+)(?:\s+{PATIENT_NOUN})?\s*\)?\s+of\s+(?:all\s+)?(?:the\s+)?{adjective}\s+{PATIENT_NOUN}\b",
                re.I,
            )
            patterns[f"{kind}:adjective"] = re.compile(
                rf"{count}\s+(?:[\w-]+\s+){{0,2}}?{adjective}\s+{PATIENT_NOUN}\b|"
                rf"\b{adjective}\s+{_PATIENTS}\s*\(\s*n\s*=\s*(?P<m>\d+)\s*\)",
                re.I,
            )
    if "treated_nouns" in cue:
        patterns["treated:noun"] = re.compile(rf"{count}\s+{cue['treated_nouns']}\b", re.I)
    if "enrolled_size" in cue:
        # placeholders, so that the lexicon says where the count and the patients stand
        pieces = cue["enrolled_size"].replace("{PATIENTS}", PATIENT_NOUN).split("{COUNT}")
        sized = pieces[0] + "".join(count.replace("?P<n>", f"?P<n{i}>") + piece for i, piece in enumerate(pieces[1:], 1))
        patterns["enrolled:size"] = re.compile(sized, re.I)
    if "evaluable_adjectives" in cue:
        patterns["evaluable:adjective"] = re.compile(
            rf"{count}\s+(?:[\w-]+\s+){{0,2}}?(?:{PATIENT_NOUN}\s+)?(?:were\s+|was\s+)?{cue['evaluable_adjectives']}\b(?!\s+for\s+safety)|"
            rf"\b{cue['evaluable_adjectives']}\s+{_PATIENTS}\s*\(\s*n\s*=\s*(?P<m>\d+)\s*\)",
            re.I,
        )
    patterns["subset_before"] = re.compile(rf"\b{cue.get('subset_before', '(?!)')}\s+(?:the\s+)?$", re.I)
    patterns["subset_after"] = re.compile(rf"\s*{cue.get('subset_after', '(?!)')}", re.I)
    patterns["not_therapy"] = re.compile(rf"\s*(?:with\s+|for\s+)?(?:an?\s+|the\s+)?{cue.get('not_therapy', '(?!)')}", re.I)
    # a sentence that opens by naming the group it reports on: "Of the 16 eligible patients, ...",
    # "Among 61 MRD-evaluable patients", "In the efficacy-evaluable set (n = 23)"
    patterns["lead"] = re.compile(
        rf"^\W*(?:of|among|in|for)\s+(?:the\s+|all\s+|these\s+)?(?:(?P<n>{INT_WORD})\s+(?P<words>(?:[\w/–‐-]+\s+|\([\w-]+\)[\w/–‐-]*\s+){{0,4}}?)(?:{PATIENT_NOUN}|responders)\b"
        rf"|(?P<words2>[\w -]{{0,40}}?){_PATIENTS}\s*\(\s*n\s*=\s*(?P<m>\d+)\s*\))",
        re.I,
    )
    for kind in ("treated", "enrolled", "evaluable"):
        adjective = cue.get(f"{kind}_adjectives")
        patterns[f"is_{kind}"] = re.compile(rf"\b{adjective}\b" if adjective else "(?!)", re.I)
    patterns["is_responders"] = re.compile(rf"\b{cue['responders']}" if "responders" in cue else "(?!)", re.I)
    return patterns


def _patterns(lexicon: Lexicon) -> dict[str, re.Pattern]:
    return _cohort_patterns(tuple(sorted(lexicon.cohort.items())))


@dataclass(frozen=True)
class CohortCount:
    """A cohort size a sentence states: `kind` is treated, enrolled or evaluable."""

    kind: str
    n: int
    start: int
    end: int
    rule: str


_OF_WHOM = re.compile(r"\b(?:of|among)\s+(?:whom|them|these)\s*,?\s*$", re.I)


def _count_group(m: re.Match) -> str:
    """The group holding a statement's count: `n`, or `m` in a pattern's second form, or `n1`, `n2`, ...
    in the lexicon's own `enrolled_size` forms."""
    return next(name for name, value in m.groupdict().items()
                if value and (name in ("n", "m") or (name[0] == "n" and name[1:].isdigit())))


def cohort_counts(sentence: str, lexicon: Lexicon) -> list[CohortCount]:
    """Every cohort size `sentence` states, in text order.

    A count is a cohort when it is the subject of a treatment or enrolment verb or stands beside
    a cohort adjective; never after "the first", "the remaining", "of whom" (a part of a larger
    group), never before "of M" (a part again), and "received" must name the therapy, not a
    transplant, a drug for a side effect or a conditioning regimen (lexicon `not_therapy`).
    """
    if not lexicon.cohort:
        return []
    patterns = _patterns(lexicon)
    matches: list[tuple[int, int, str, re.Match]] = []
    for name, pattern in patterns.items():
        if name.count(":") != 1:  # the statements; the other patterns are cues
            continue
        for m in pattern.finditer(sentence):
            matches.append((m.start(_count_group(m)), m.end() - m.start(), name, m))
    found: list[CohortCount] = []
    claimed: set[int] = set()
    # one count, one statement: the tightest statement around a count says what it is, except that
    # a verb naming the count as its object says it first ("the trial included 145 evaluable patients")
    for start, _, name, m in sorted(matches, key=lambda item: (item[0], not item[2].endswith(":object"), item[1])):
        kind, rule = name.split(":")
        group = _count_group(m)
        if start in claimed:
            continue
        try:
            n = parse_int(m.group(group))
        except ValueError:
            continue
        if patterns["subset_before"].search(sentence[max(0, start - 20) : start]) and not (
            # "58 patients were enrolled, of whom 51 received CAR T cells": the part of the enrolled
            # that was treated is the treated cohort, when it is most of them ("of whom 3 received the
            # lower dose" is a part)
            kind == "treated" and _OF_WHOM.search(sentence, max(0, start - 20), start)
            and any(c.kind == "enrolled" and c.end <= start and 2 * n >= c.n for c in found)
        ):
            continue
        if rule != "subject" and re.match(r"\s+(?:out\s+)?of\s+(?:the\s+)?\d|\s*/\s*\d", sentence[m.end(group) :]):
            continue  # "17 of 20 treated patients": a part of a group
        if rule in ("subject", "participle") and patterns["not_therapy"].match(sentence, m.end()):
            continue
        if rule in ("subject", "participle") and patterns["subset_after"].match(sentence, m.end()):
            continue
        claimed.add(start)
        found.append(CohortCount(kind, n, start, m.end(), f"cohort:{kind}_{rule}"))
        if rule == "subject" and kind == "treated" and m.groupdict().get("of"):
            # "Fifteen out of 19 enrolled patients completed the infusion": the 19 were enrolled
            try:
                found.append(CohortCount("enrolled", parse_int(m.group("of")), m.start("of"), m.end(), "cohort:enrolled_of_treated"))
            except ValueError:
                pass
    return sorted(found, key=lambda c: c.start)


# What may stand before a sentence's subject count: "A total of", "Overall,", "In this study,"
_SUBJECT_START = re.compile(r"\W*(?:(?:overall|in total|in all|in (?:this|the|our) (?:study|trial|cohort)),?\s+)?(?:a\s+total\s+of\s+)?", re.I)


@dataclass(frozen=True)
class SentenceCohort:
    """The group a sentence opens by naming: its size and what it is (treated, enrolled,
    evaluable, or `group` when the sentence does not say)."""

    n: int
    kind: str


def sentence_cohort(sentence: str, lexicon: Lexicon) -> SentenceCohort | None:
    if not lexicon.cohort:
        return None
    patterns = _patterns(lexicon)
    m = patterns["lead"].match(sentence)
    if not m:
        # "Twenty patients received X as second salvage, with CR in 25%": a sentence whose subject is
        # a treated (or enrolled) group speaks of that group
        subject = next((c for c in cohort_counts(sentence, lexicon) if c.rule.endswith("_subject")), None)
        if subject is not None and _SUBJECT_START.fullmatch(sentence[: subject.start]):
            return SentenceCohort(subject.n, subject.kind)
        return None
    words = m.group(0)  # the noun too: "Of the 24 responders, ..."
    # "Of the 100 patients in the efficacy-evaluable population, ...": the words up to the comma say it too
    words += " " + re.match(r"[^,;]{0,60}", sentence[m.end():]).group(0)
    try:
        n = parse_int(m.group("n") or m.group("m"))
    except ValueError:
        return None
    kind = next((k for k in ("evaluable", "treated", "enrolled", "responders") if patterns[f"is_{k}"].search(words)), None)
    if kind is None:
        # "Of 189 patients who underwent leukapheresis, ...": the statement itself says what they are
        stated = [c.kind for c in cohort_counts(sentence, lexicon) if c.n == n]
        kind = stated[0] if stated else "group"
    return SentenceCohort(n, kind)
