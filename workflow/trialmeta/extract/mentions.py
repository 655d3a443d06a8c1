"""Stage 2 of extraction: mentions of endpoints in a sentence, and the cues that qualify them.

Endpoint phrases come from the lexicon (longest match wins); grade cues ("grade >= 3",
"severe", "grade 1-2") and negations ("no severe CRS") say which endpoint a value is for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trialmeta.extract.lexicon import Lexicon
from trialmeta.extract.numbers import Quantity


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    endpoint: str


def find_mentions(sentence: str, lexicon: Lexicon) -> list[Mention]:
    """Endpoint phrases in a sentence; overlapping phrases resolve to the longest.

    A long form followed by its abbreviation ("cytokine release syndrome (CRS)")
    is one mention, so cues before the long form reach values after it.
    """
    raw = [
        Mention(m.start(), m.end(), terms.name)
        for terms in lexicon.endpoints
        for m in terms.pattern.finditer(sentence)
    ]
    raw.sort(key=lambda m: (-(m.end - m.start), m.start))
    kept: list[Mention] = []
    for mention in raw:
        if all(mention.end <= k.start or mention.start >= k.end for k in kept):
            kept.append(mention)
    merged: list[Mention] = []
    for mention in sorted(kept, key=lambda m: m.start):
        if merged and merged[-1].endpoint == mention.endpoint:
            opening = sentence[merged[-1].end : mention.start]
            closing = re.match(r"\s*\)", sentence[mention.end :])
            if re.fullmatch(r"\s*\(\s*", opening) and closing:
                merged[-1] = Mention(merged[-1].start, mention.end + closing.end(), mention.endpoint)
                continue
        merged.append(mention)
    return merged


SINGLE_GRADE = re.compile(r"\bgrades?\s*(3|4|5|III|IV|V)\s*$", re.I)
ROMAN_GRADE = {"III": 3, "IV": 4, "V": 5}
# A grade cue right after a value, or one word on ("one had grade 3", "2 with grade 4"), qualifies it.
BLANKS = re.compile(r"\s*")
_ONE_WORD = re.compile(r"(?!(?:and|or|but|while)\b)[a-z]+\s+", re.I)


_COORDINATION = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|and\s+|or\s+|&\s*|/\s*)", re.I)


def coordination_start(sentence: str, mentions: list[Mention], mention: Mention) -> int:
    """Where the list of endpoint phrases that `mention` ends begins ("CRS, ICANS and infections")."""
    start = mention.start
    for earlier in sorted((m for m in mentions if m.end <= mention.start), key=lambda m: -m.end):
        if earlier.end <= start and _COORDINATION.fullmatch(sentence[earlier.end : start]):
            start = earlier.start
        else:
            break
    return start


def _qualifies_other_value(text: str, cue_start: int, cue_end: int, phrase_start: int) -> bool:
    if ";" in text[cue_end:phrase_start]:
        return True
    opening = text.rfind("(", 0, cue_start)
    closed_before_cue = opening < 0 or ")" in text[opening:cue_start]
    return (not closed_before_cue and ")" in text[cue_end:phrase_start]
            and re.match(r"\(\s*\d", text[opening:]) is not None)


def _lists_grades_after(text: str, phrase_end: int, cue_start: int, cue_end: int) -> bool:
    """Whether a cue sits in a bracket opened after the phrase that lists its grades ("had CRS
    (grade 1, n = 2; grade 3, n = 2)"): its first grade says nothing of the total before the phrase.
    A bracket holding the cue alone ("had CRS (grade 3)") qualifies the phrase."""
    if cue_start < phrase_end or "(" not in text[phrase_end:cue_start]:
        return False
    return not (re.match(r"\s*\(\s*$", text[phrase_end:cue_start]) and re.match(r"\s*\)", text[cue_end:]))


def grade_cue(sentence: str, mention: Mention, quantity: Quantity, lexicon: Lexicon) -> tuple[str, str] | None:
    """('severe' or 'mild', the cue) when a grade cue qualifies the value."""
    following = BLANKS.match(sentence, quantity.end).end()
    word = _ONE_WORD.match(sentence, following)
    for position in (following, word.end() if word else None):
        for kind, pattern in (("severe", lexicon.severe), ("mild", lexicon.mild)):
            cue = None if position is None else pattern.match(sentence, position)
            if cue:
                return kind, cue.group(0)
    # Otherwise the cue must sit between the phrase and the value, or just
    # before the phrase ("severe CRS in 2"); text after the value describes
    # another value. The cue nearest the value wins.
    window_start = max(0, min(quantity.start, mention.start - 30))
    window_end = mention.end + 10 if mention.start > quantity.start else max(mention.end, quantity.start)
    window = sentence[window_start:window_end]
    cues = [(m.start(), m.end(), "severe", m.group(0)) for m in lexicon.severe.finditer(window)]
    cues += [(m.start(), m.end(), "mild", m.group(0)) for m in lexicon.mild.finditer(window)]
    # a cue before the phrase inside a bracket that qualifies another value, or before a ";", is that
    # value's: "CRS in 82% (2% grade >= 3), neurotoxicity in 8%" says nothing of the 8%'s grade
    phrase_start = mention.start - window_start
    cues = [c for c in cues if c[1] > phrase_start or not _qualifies_other_value(window, c[0], c[1], phrase_start)]
    if quantity.start < mention.start:
        cues = [c for c in cues if not _lists_grades_after(sentence, mention.end, window_start + c[0], window_start + c[1])]
    if not cues:
        return None
    low, high = quantity.start - window_start, quantity.end - window_start
    nearest = min(cues, key=lambda cue: max(low - cue[1], cue[0] - high, 0))
    return nearest[2], nearest[3]


def negated_events(sentence: str, mentions: list[Mention], lexicon: Lexicon) -> list[tuple[str, int, int, str]]:
    """(endpoint, start, end) of events stated not to have happened: "no severe CRS", "CRS never exceeded grade 2"."""
    found = []
    kinds = {terms.name: terms for terms in lexicon.endpoints}
    for mention in mentions:
        terms = kinds[mention.endpoint]
        if terms.kind != "proportion":
            continue
        before = sentence[max(0, mention.start - 40) : mention.start]
        negation = None
        for m in lexicon.negation_before.finditer(before):
            negation = m
        # another endpoint named between the negation and this phrase makes its scope unclear
        other = any(m is not mention and m.start >= mention.start - len(before) + (negation.end() if negation else 0)
                    and m.end <= mention.start for m in mentions)
        # a number or a clause break between them ends the negation's scope; a grade cue
        # ("no patient had grade 3 or higher CRS") is part of it
        scope = None if negation is None else lexicon.severe.sub("", lexicon.mild.sub("", before[negation.end() :]))
        breaker = lexicon.negation_scope_breakers
        if negation is not None and breaker is not None and breaker.search(before[negation.end() :]):
            negation = None
        if negation is not None and not other and not re.search(r"[;,.]|\d", scope):
            between = before[negation.end() :]
            severe = lexicon.severe.search(between)
            if severe and SINGLE_GRADE.search(severe.group(0)):
                pass  # "no grade 3 CRS" leaves grade 4 open: no value
            elif severe and terms.grade_split:
                found.append((terms.grade_split, mention.start - len(before) + negation.start(), mention.end, "negation"))
            elif not lexicon.severe.search(between) and not lexicon.mild.search(between):
                found.append((terms.name, mention.start - len(before) + negation.start(), mention.end, "negation"))
                if terms.grade_split:  # none of any grade: none of grade >= 3 either
                    found.append((terms.grade_split, mention.start - len(before) + negation.start(), mention.end, "none_of_any_grade"))
        after = sentence[mention.end : mention.end + 60]
        capped = lexicon.negation_above_grade.search(after)
        # a ";" or a full stop ends the reach of the cap; a decimal point ("11.1%") does not
        # ... except the ";" right before the cap: "CRS occurred in 20 patients; none was grade 3"
        if capped and terms.grade_split and not re.search(r";|\.(?!\d)", re.sub(r";\s*$", "", after[: capped.start()])):
            found.append((terms.grade_split, mention.start, mention.end + capped.end(), "negation"))
    return found
