"""Stage 3 of extraction: binding, which quantity of a sentence belongs to which endpoint and landmark.

"A and B were x and y, respectively" pairs in order; every other quantity goes to the phrase it
directly qualifies, else to the nearest phrase of an endpoint kind it can describe.
"""

from __future__ import annotations

import re

from trialmeta.extract.mentions import Mention
from trialmeta.extract.numbers import (
    EVENT_VERB,
    INT_WORD,
    PATIENT_NOUN,
    Landmark,
    Quantity,
    find_landmarks,
    inside_brackets,
)

# Following phrases are further from a percentage's meaning than preceding
# ones ("OS was 80%"), so their distance counts more.
FOLLOWING_DISTANCE_WEIGHT = 1.5


def _kinds_for(quantity: Quantity) -> tuple[str, ...]:
    if quantity.form == "duration":
        return ("duration",)
    if quantity.form == "count":
        # "14 patients in CR were enrolled" describes the cohort, not an outcome
        return ("count",)
    if quantity.form == "count_subject":
        return ("count", "proportion")
    if quantity.form in ("fraction",):
        # a survival estimate is a Kaplan-Meier proportion, never printed as a/b
        return ("count", "proportion")
    return ("proportion", "survival")


def _landmark_for(sentence: str, landmarks: list[Landmark], quantity: Quantity, mention: Mention) -> tuple[float, ...]:
    """Months of the time point(s) a survival value belongs to, never across a ";".

    A landmark right after the value wins ("32.7% at 1 year"), then one between
    the phrase and the value ("OS at 1 year was 92%"), then the last one before
    both ("the 12-month RFS was 77%"), then the first after the value;
    "at 12 and 18 months" gives both.
    """
    low, high = min(quantity.start, mention.start), max(quantity.end, mention.end)
    clause_start = sentence.rfind(";", 0, low) + 1
    clause_end = sentence.find(";", high)
    clause_end = len(sentence) if clause_end < 0 else clause_end
    usable = [lm for lm in landmarks if lm.start >= clause_start and lm.end <= clause_end]
    adjacent = [
        lm for lm in usable
        if lm.start >= quantity.end and re.fullmatch(r"\s*(?:at|by|in|after)?\s*", sentence[quantity.end : lm.start], re.I)
    ]
    between = [lm for lm in usable if lm.start >= low and lm.end <= high]
    before = [lm for lm in usable if lm.end <= low]
    after = [lm for lm in usable if lm.start >= high]
    ordered = (adjacent[:1], between[-1:], before[-1:], after[:1])
    chosen = next((found[0] for found in ordered if found), None)
    if chosen is None:
        return ()
    return tuple(lm.months for lm in landmarks if lm.group == chosen.group)


# Between a value and the phrase it qualifies ("22.7% grade III CRS", "3 had a
# relapse"): at most three words, none of them a verb, preposition or conjunction.
_TIGHT_GAP = re.compile(
    r"\s*(?:of\s+(?:them|these|those|whom)\s+)?(?:(?!(?:and|or|but|was|were|is|are|had|has|have|with|in|at|of|to|for|by|than|vs|while|who|which|"
    r"whereas|after|before|during)\b)[\w≥>=+-]+\s*){0,3}",
    re.I,
)
_VERB_AFTER = re.compile(rf"\s*(?:{PATIENT_NOUN}\s+)?{EVENT_VERB}", re.I)
# "72% of the patients achieving CR", "40% of patients who developed CRS": a share of patients whose
# event is what follows, not what precedes ("the ORR was 100%, with 72% of the patients achieving CR")
_SHARE_VERB_AFTER = re.compile(
    rf"\s*of\s+(?:the\s+|all\s+|these\s+)?(?:[\w-]+\s+)?{PATIENT_NOUN}\s+(?:who\s+)?"
    rf"(?:{EVENT_VERB}|achieving|attaining|reaching|having|developing|experiencing|showing|converting)",
    re.I,
)
# A count that is the subject of its own verb ("2 (4%) progressed", "4 (9%) were unevaluable"), not the
# object of a preposition ("CRS occurred in 10 (50%) patients")
_SUBJECT_VERB_AFTER = re.compile(rf"\s*(?:{PATIENT_NOUN}\s+)?(?:were|was|had|has|have|[a-z]+ed)\b", re.I)
_OBJECT_BEFORE = re.compile(r"\b(?:in|among|of|for|to|with|by|than)\s+(?:a\s+total\s+of\s+|only\s+|the\s+)?$", re.I)
# A value that opens a bracket right after a word, and the gap from the phrase that then owns it
_OPENS_BRACKET = re.compile(r"\b([A-Za-z][\w-]*)\s*\(\s*$")
_BRACKET_GAP = re.compile(r"(?:\s+(?:rates?|incidences?|events?|in\s+all|overall))?\s*\(\s*", re.I)
# "<noun> in 8%": the noun owns the value, unless the word is a verb or a qualifier ("occurred in", "seen in")
_NOUN_IN = re.compile(r"\b([A-Za-z][\w-]*)\s+in\s+$")
_NOT_A_NOUN = re.compile(
    rf"[\w-]*(?:ed|en|ing)|{PATIENT_NOUN}|{INT_WORD}|was|were|is|are|occurs?|seen|common|frequent|present|evident|"
    r"grades?|rates?|incidence|observed|reported|noted|documented|only|all|overall|total|respectively|and|or|but",
    re.I,
)
_NOUN_IN_GAP = re.compile(r"(?:\s+(?:rates?|incidences?|events?))?\s+in\s+", re.I)
# Between a value and a bracket that qualifies it: "82% (", "32% of participants ("
_QUALIFIES_PREVIOUS = re.compile(rf"\s*(?:of\s+(?:the\s+|all\s+)?(?:[\w-]+\s+)?{PATIENT_NOUN}\s*)?\(\s*", re.I)
# A value that completes the phrase before it: "the ORR at 1 month was 58.0%", "a CR rate of 41.9%",
# "CRS: 40%". The phrase after it does not take it ("58.0% with a complete response rate of 41.9%").
_PREDICATE_GAP = re.compile(
    r"[^;%()]{0,40}?\b(?:was|were|is|are|of|reached|totall?ed|amounted\s+to|"
    r"(?:seen|observed|reported|noted|occurr(?:ed|ing)|found|documented|developed)\s+in)\s*"
    r"(?:only\s+|about\s+|approximately\s+|nearly\s+|around\s+)?|\s*(?:\([^()]{0,40}\)\s*)?[:=]\s*",
    re.I,
)
_OF_GAP = re.compile(r"\s+of\s+", re.I)
_STATEMENT_END = re.compile(r";|\brespectively\b", re.I)
# How far after a counted subject's verb its event may be named ("3 had grade 3 CRS")
_SUBJECT_REACH = 40


def _ends_statement(sentence: str, start: int, end: int) -> bool:
    """A ";" or a finished "respectively" between two places; a ";" inside brackets separates the
    parts of one value ("CRS in 87.5% (grade 1-2: 75.0%; grade 3: 12.5%)") and ends nothing."""
    for m in _STATEMENT_END.finditer(sentence, start, end):
        if m.group(0) != ";" or not inside_brackets(sentence, m.start()):
            return True
    return False


def _named_after(quantity: Quantity, usable: list, quantities: list, after: int, reach: int) -> list:
    """The phrases named after `after`, within `reach` of the value's end, with no other value
    between: the event a counted subject's verb names ("3 had CRS", "72% of the patients achieving CR")."""
    return [m for m in usable if after < m.start <= quantity.end + reach
            and not any(quantity.end <= q.start < m.start for q in quantities)]


_IN_BEFORE = re.compile(r"\b(?:in|among)\s+(?:a\s+total\s+of\s+|only\s+)?$", re.I)
# Between endpoint phrases listed together ("OS, PFS, and relapse rates", "CRS rate and ICANS
# rate"): a comma or a conjunction, after at most two words.
_LIST_JOINT = re.compile(r"(?:\s+[\w-]+){0,2}?\s*(?:,\s*(?:and\s+|or\s+)?|and\s+|or\s+|&\s*|/\s*)", re.I)
# Where a list of values ends: "..., respectively", "while", "whereas", ";".
_LIST_END = re.compile(r"\brespectively\b|\bwhile\b|\bwhereas\b|;", re.I)


def bind_quantities(sentence, mentions, quantities, lexicon) -> list[tuple[Quantity, Mention, tuple[float, ...], bool]]:
    """(quantity, mention, landmark months, mention_after) for one sentence.

    "A and B were x and y, respectively" pairs in order; every other quantity
    goes to the phrase it directly qualifies ("4.5% grade IV CRS"), else to the
    nearest phrase of an endpoint kind it can describe.
    """
    landmarks = find_landmarks(sentence)
    kinds = {terms.name: terms.kind for terms in lexicon.endpoints}
    # endpoints whose percentage at a landmark is another endpoint (a relapse rate at 2 years is a
    # cumulative incidence): they are timed like survival endpoints
    at_landmark = {terms.name for terms in lexicon.endpoints if terms.at_landmark}
    timed = {name: kind if name not in at_landmark else "survival" for name, kind in kinds.items()}
    values = [q for q in quantities if q.form not in ("count", "count_subject", "duration")]
    pairs = _list_pairs(sentence, mentions, values, landmarks, timed) if values else []
    listed = {id(pair[0]) for pair in pairs}
    bound_before: list[tuple[Quantity, Mention | None]] = []  # the values before, with the phrase each went to
    for quantity in quantities:
        if id(quantity) in listed:
            continue
        allowed = _kinds_for(quantity)
        in_count = quantity.form == "count" and _IN_BEFORE.search(sentence, 0, quantity.start) is not None
        if in_count:
            allowed = ("count", "proportion")  # "CRS was observed in 10 patients": those who had the event
        usable = [
            m for m in mentions
            if kinds[m.endpoint] in allowed
            # a ";" or a finished "..., respectively" list stands between them: not the same statement
            and not _ends_statement(sentence, min(m.end, quantity.end), max(m.start, quantity.start))
            and (not in_count or m.end <= quantity.start)
        ]
        if quantity.form == "duration":
            # "responses lasted 9.5 months in median (DOR), over a median follow-up of 18 months": a duration
            # belongs to the phrase with no other endpoint, and no other duration, between them
            usable = [
                m for m in usable
                if not any(min(m.end, quantity.end) <= o.start < max(m.start, quantity.start) for o in mentions if o is not m)
                and not any(min(m.end, quantity.end) <= q.start < max(m.start, quantity.start)
                            for q in quantities if q is not quantity and q.form == "duration")
            ]
        if quantity.form == "count_subject":
            # "5 patients relapsed", "3 had CRS": the event is what the verb names, right after it;
            # "1 patient died, and 5 relapsed" gives the death to no endpoint
            usable = _named_after(quantity, usable, quantities, quantity.start, _SUBJECT_REACH)
        counted = quantity.form in ("count_percent", "count_percent_ci", "fraction_percent", "percent_fraction", "all_n")
        if counted and (_VERB_AFTER.match(sentence, quantity.end) or (
                _SUBJECT_VERB_AFTER.match(sentence, quantity.end) and not _OBJECT_BEFORE.search(sentence, 0, quantity.start))):
            # "27 (30%) had a CRp": a counted subject's event is what its verb names, after it
            named = _named_after(quantity, usable, quantities, quantity.end, _SUBJECT_REACH)
            if not named and not _VERB_AFTER.match(sentence, quantity.end):
                # "Forty (87%) achieved CR, 2 (4%) progressed": a subject whose verb names no endpoint
                # reports an event outside the lexicon, not a value of the endpoint named before it
                continue
            usable = named or usable
        elif quantity.form in ("percent", "percent_ci", "percent_n") and _SHARE_VERB_AFTER.match(sentence, quantity.end):
            usable = _named_after(quantity, usable, quantities, quantity.end, 2 * _SUBJECT_REACH) or usable
        previous = bound_before[-1] if bound_before else None
        opened = _OPENS_BRACKET.search(sentence, 0, quantity.start)
        noun_in = _NOUN_IN.search(sentence, 0, quantity.start)
        if (previous is not None and previous[0].form not in ("count", "count_subject", "duration")
                and _QUALIFIES_PREVIOUS.fullmatch(sentence[previous[0].end : quantity.start])):
            # "82% (2% grade >= 3)", "in 32% of participants (5% grade >= 3)": a bracket right after a
            # value qualifies that value, and goes where it went (nowhere, if it was no endpoint's)
            usable = [m for m in usable if m is previous[1]]
        elif opened and not re.fullmatch(rf"(?:{INT_WORD}|{PATIENT_NOUN}|total|overall|all|respectively)", opened.group(1), re.I):
            # "cytokine release syndrome (51.0%), pyrexia (24.8%)": a value in brackets belongs to the
            # phrase right before the bracket, and to no endpoint when that phrase is none
            usable = [m for m in usable if m.end <= quantity.start and _BRACKET_GAP.fullmatch(sentence[m.end : quantity.start])]
        elif noun_in and not _NOT_A_NOUN.fullmatch(noun_in.group(1)):
            # "neurotoxicity in 8%, and infections in 32%": a value after "<noun> in" is that noun's
            usable = [m for m in usable if m.end <= quantity.start and _NOUN_IN_GAP.fullmatch(sentence[m.end : quantity.start])]
        bound_before.append((quantity, None))
        if not usable:
            continue
        tight = [m for m in usable if m.start >= quantity.end and _TIGHT_GAP.fullmatch(sentence[quantity.end : m.start])]
        if quantity.form == "duration":
            # "23.7 (range, 7-30) months of follow-up": the time the phrase right after it measures
            tight += [m for m in usable if m.start >= quantity.end and _OF_GAP.fullmatch(sentence[quantity.end : m.start])]

        def distance(m, _q=quantity):
            if m.end <= _q.start:
                return _q.start - m.end
            return (m.start - _q.end) * FOLLOWING_DISTANCE_WEIGHT

        # the phrase a value completes as its predicate, with no other value or phrase between them
        predicate = [
            m for m in usable
            if m.end <= quantity.start and _PREDICATE_GAP.fullmatch(sentence[m.end : quantity.start])
            and not any(m.end <= q.start < quantity.start and q.form != "duration" for q in quantities)
            and not any(m.end <= o.start < quantity.start for o in mentions if o is not m)
        ]
        best = tight[0] if tight else predicate[-1] if predicate else min(usable, key=distance)
        bound_before[-1] = (quantity, best)
        timed = kinds[best.endpoint] == "survival" or (best.endpoint in at_landmark and quantity.events is None)
        landmark = _landmark_for(sentence, landmarks, quantity, best) if timed else ()
        pairs.append((quantity, best, landmark, best.start > quantity.start))
        if tight:
            # "All 20 (100%) achieved CR and MRD negativity": the value holds for both
            following = [m for m in usable if m.start >= best.end]
            for after in following:
                if not re.fullmatch(r"\s*(?:and|&)\s*", sentence[best.end : after.start], re.I):
                    break
                pairs.append((quantity, after, (), True))
                best = after
    return sorted(pairs, key=lambda pair: pair[0].start)


def _list_pairs(sentence, mentions, values, landmarks, kinds) -> list:
    """Endpoints and values listed in the same order.

    "A and B were x and y (, respectively)"; "A and B were x and y at 6 months
    and z and w at 1 year" (endpoints x landmarks); "C at 6 months and 1 year
    were x and y" (one endpoint, several landmarks). The list of values ends
    at the next endpoint phrase or at "respectively", "while", ";".
    """
    first = values[0].start
    end = min((m.start for m in mentions if m.start > first), default=len(sentence))
    stop = _LIST_END.search(sentence, values[0].end)
    if stop and stop.start() < end:
        end = stop.start()
    values = [v for v in values if v.start < end]
    mentions = [m for m in mentions if m.start < first]
    distinct = []
    for m in mentions:
        if not distinct or distinct[-1].endpoint != m.endpoint:
            distinct.append(m)
    if not distinct:
        return []
    leading_landmarks = [lm for lm in landmarks if lm.end <= first]
    trailing_landmarks = [lm for lm in landmarks if first <= lm.start < end]
    survival = lambda m, months: (months,) if kinds[m.endpoint] == "survival" and months is not None else ()  # noqa: E731
    if len(distinct) == 1 and len(leading_landmarks) == len(values) > 1 and kinds[distinct[0].endpoint] == "survival":
        return [(q, distinct[0], (lm.months,), False) for q, lm in zip(values, leading_landmarks)]
    groups = max(1, len(trailing_landmarks))
    if len(values) % groups:
        return []
    per_group = len(values) // groups
    if per_group < 2 or len(distinct) < per_group:
        return []
    listed = distinct[-per_group:]
    if not all(_LIST_JOINT.fullmatch(sentence[a.end : b.start]) for a, b in zip(listed, listed[1:])):
        return []  # "at a follow-up of 14 months, the ORR was 63%, with 65 (39%) in CR" is no list
    pairs = []
    for index, quantity in enumerate(values):
        group, position = divmod(index, per_group)
        if trailing_landmarks:
            landmark = trailing_landmarks[group]
            if landmark.start < quantity.end:
                return []
            months = landmark.months
        else:
            months = leading_landmarks[-1].months if leading_landmarks else None
        pairs.append((quantity, listed[position], survival(listed[position], months), False))
    return pairs
