"""From a read document to endpoint candidates with provenance, then one choice per endpoint.

Stages, each a pure function:
  sentences -> endpoint mentions + quantities + landmarks -> candidates (every
  one kept, conflicting ones too) -> a choice per (endpoint, landmark) with its
  reason. Study metadata (registry ids, target, construct, population, age
  group, year) comes from lexicon cues over the whole text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from trialmeta.extract.lexicon import Lexicon
from trialmeta.extract.numbers import (
    INT_WORD,
    PATIENT_NOUN,
    Landmark,
    Quantity,
    find_landmarks,
    find_quantities,
    parse_int,
    split_sentences,
)
from trialmeta.core.records import failed_record
from trialmeta.extract.reading import Document, DocumentError, Passage, ReadSettings, Table, read_document
from trialmeta.extract.reading.provenance import with_reading_provenance

# How much each quantity form says on its own: counts with a denominator are
# the most checkable, a bare percentage or a count without denominator less so.
FORM_CONFIDENCE = {
    "percent_fraction": 0.95,
    "fraction_percent": 0.95,
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
}
# Penalties for context; values stay candidates but rank lower.
PENALTY = {
    "background": 0.5,  # sentence about other studies (citations, "et al")
    "section_background": 0.3,  # introduction or discussion
    "subgroup": 0.3,  # part of the cohort, or a comparison
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
UNCHOOSABLE_CONTEXT = ("background", "subgroup", "baseline", "approximate", "component", "threshold")
# Following phrases are further from a percentage's meaning than preceding
# ones ("OS was 80%"), so their distance counts more.
FOLLOWING_DISTANCE_WEIGHT = 1.5

TRIAL_ID_PATTERNS = (
    (re.compile(r"\bNCT\s*[:#]?\s*(\d{8})\b"), "NCT{}"),
    (re.compile(r"\b(ChiCTR[-A-Z]*\d{6,})\b"), "{}"),
    (re.compile(r"\b(ISRCTN\d{8})\b"), "{}"),
    (re.compile(r"\b(ACTRN\d{14})\b"), "{}"),
    (re.compile(r"\b(DRKS\d{8})\b"), "{}"),
    (re.compile(r"\b(jRCT[a-z]?\d{10})\b"), "{}"),
    (re.compile(r"\b(CTRI/\d{4}/\d{2,3}/\d{6})\b"), "{}"),
    (re.compile(r"\bEudraCT\s*(?:no\.?|number)?\s*[:#]?\s*(\d{4}-\d{6}-\d{2})\b", re.I), "EudraCT {}"),
)
_YEAR = re.compile(r"(?:published(?: online)?|©|\(c\)|copyright|accepted)\D{0,40}?\b((?:19|20)\d{2})\b", re.I)
_AGE_RANGE = re.compile(
    r"(?:aged?|ages)\D{0,40}?(\d{1,2}(?:\.\d)?)\s*(?:[-–]|to)\s*(\d{1,2}(?:\.\d)?)\s*(?:\(|years|yrs|y\b)|"
    r"median age[^.;]{0,30}?\d{1,2}(?:\.\d)?\s*(?:years?)?\s*\(\s*(?:range[,:]?\s*)?(\d{1,2}(?:\.\d)?)\s*[-–]\s*(\d{1,2}(?:\.\d)?)",
    re.I,
)
ADULT_AGE = 18


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

    @property
    def key(self) -> tuple[str, float | None]:
        return (self.endpoint, self.landmark_months)


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


_SINGLE_GRADE = re.compile(r"\bgrades?\s*(3|4|5|III|IV|V)\s*$", re.I)
_ROMAN_GRADE = {"III": 3, "IV": 4, "V": 5}
# A grade cue right after a value, or one word on ("one had grade 3", "2 with grade 4"), qualifies it.
_BLANKS = re.compile(r"\s*")
_ONE_WORD = re.compile(r"(?!(?:and|or|but|while)\b)[a-z]+\s+", re.I)


def _grade(sentence: str, mention: Mention, quantity: Quantity, lexicon: Lexicon) -> tuple[str, str] | None:
    """('severe' or 'mild', the cue) when a grade cue qualifies the value."""
    following = _BLANKS.match(sentence, quantity.end).end()
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
    if not cues:
        return None
    low, high = quantity.start - window_start, quantity.end - window_start
    nearest = min(cues, key=lambda cue: max(low - cue[1], cue[0] - high, 0))
    return nearest[2], nearest[3]


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
    r"\s*(?:(?!(?:and|or|but|was|were|is|are|had|has|have|with|in|at|of|to|for|by|than|vs|while|who|which|"
    r"whereas|after|before|during)\b)[\w≥>=+-]+\s*){0,3}",
    re.I,
)
# Where a list of values ends: "..., respectively", "while", "whereas", ";".
_LIST_END = re.compile(r"\brespectively\b|\bwhile\b|\bwhereas\b|;", re.I)


def _attribute(sentence, mentions, quantities, lexicon) -> list[tuple[Quantity, Mention, tuple[float, ...], bool]]:
    """(quantity, mention, landmark months, mention_after) for one sentence.

    "A and B were x and y, respectively" pairs in order; every other quantity
    goes to the phrase it directly qualifies ("4.5% grade IV CRS"), else to the
    nearest phrase of an endpoint kind it can describe.
    """
    landmarks = find_landmarks(sentence)
    kinds = {terms.name: terms.kind for terms in lexicon.endpoints}
    values = [q for q in quantities if q.form not in ("count", "count_subject", "duration")]
    pairs = _list_pairs(sentence, mentions, values, landmarks, kinds) if values else []
    listed = {id(pair[0]) for pair in pairs}
    for quantity in quantities:
        if id(quantity) in listed:
            continue
        allowed = _kinds_for(quantity)
        usable = [
            m for m in mentions
            if kinds[m.endpoint] in allowed
            and ";" not in sentence[min(m.end, quantity.end) : max(m.start, quantity.start)]
        ]
        if not usable:
            continue
        tight = [m for m in usable if m.start >= quantity.end and _TIGHT_GAP.fullmatch(sentence[quantity.end : m.start])]

        def distance(m, _q=quantity):
            if m.end <= _q.start:
                return _q.start - m.end
            return (m.start - _q.end) * FOLLOWING_DISTANCE_WEIGHT

        best = tight[0] if tight else min(usable, key=distance)
        landmark = _landmark_for(sentence, landmarks, quantity, best) if kinds[best.endpoint] == "survival" else ()
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
    if len(distinct) == 1 and len(leading_landmarks) == len(values) > 1:
        return [(q, distinct[0], (lm.months,), False) for q, lm in zip(values, leading_landmarks)]
    groups = max(1, len(trailing_landmarks))
    if len(values) % groups:
        return []
    per_group = len(values) // groups
    if per_group < 2 or len(distinct) < per_group:
        return []
    listed = distinct[-per_group:]
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


def _context(sentence: str, value_start: int, section: str | None, lexicon: Lexicon) -> tuple[str, ...]:
    """Context flags of a value; a subgroup cue counts only before the value, where it sets the scope.

    A sentence that says it reports this study ("in our study") is never
    background, whatever its citations or section.
    """
    flags = []
    own = "own_study" in lexicon.context and lexicon.context["own_study"].search(sentence)
    if not own and "background" in lexicon.context and lexicon.context["background"].search(sentence):
        flags.append("background")
    if "subgroup" in lexicon.context and lexicon.context["subgroup"].search(sentence[:value_start]):
        flags.append("subgroup")
    if not own and section and "section_background" in lexicon.context and lexicon.context["section_background"].search(section):
        results = lexicon.context.get("section_results")
        if results is None or not results.search(section):
            flags.append("section_background")
    return tuple(flags)


# The size of the group a sentence speaks of: "the 10 patients", "three patients
# ..., and of them, 2 ...". Smaller than the treated cohort, it is a subgroup.
_COHORT = re.compile(
    rf"\b(?:the|these|those)\s+(?P<n>{INT_WORD})\s+(?:[\w-]+\s+){{0,2}}?{PATIENT_NOUN}\b|"
    rf"\b(?P<m>{INT_WORD})\s+(?:[\w-]+\s+){{0,2}}?{PATIENT_NOUN}\b[^.;]{{0,120}}?\b(?:of|among)\s+(?:them|these|whom)\b",
    re.I,
)


def _cohort_before(sentence: str, position: int) -> int | None:
    size = None
    for m in _COHORT.finditer(sentence[:position]):
        size = parse_int(m.group("n") or m.group("m"))
    return size


# Between a threshold cue and its value: comparison signs ("defined as < 0.01%", "below ≤ 1%").
_COMPARISON_GAP = re.compile(r"[\s<>≤≥=~]*$")


def _threshold(sentence: str, quantity: Quantity, lexicon: Lexicon) -> bool:
    """Whether a percentage defines a category rather than reports one: a threshold cue right
    before it ("defined as < 0.01%"), or a level of disease right after it ("0.01% leukemic cells")."""
    before = lexicon.context.get("threshold_before")
    if before is not None:
        window = sentence[max(0, quantity.start - 40) : quantity.start]
        gap = _COMPARISON_GAP.search(window)
        if any(m.end() == gap.start() for m in before.finditer(window)):
            return True
    after = lexicon.context.get("level_after")
    return after is not None and after.match(sentence, _BLANKS.match(sentence, quantity.end).end()) is not None


_NEGATED_BEFORE = re.compile(r"\b(?:not|never|no longer)\s+(?:\w+\s+)?$", re.I)


def _candidate_values(quantity: Quantity, kind: str) -> dict | None:
    """events/total/estimate/ci/se for an endpoint of `kind` from one quantity."""
    pct = quantity.percent
    values = dict(
        events=quantity.events,
        total=quantity.total,
        estimate=None if pct is None else pct / 100,
        ci_low=None if quantity.ci_low is None else quantity.ci_low / 100,
        ci_high=None if quantity.ci_high is None else quantity.ci_high / 100,
        se=None if quantity.se is None else quantity.se / 100,
        percent_printed=pct,
    )
    if kind == "count":
        # "15 of 19 patients were infused": the count of interest is the first number.
        count = quantity.events
        if count is None:
            return None
        return dict(events=None, total=count, estimate=None, ci_low=None, ci_high=None, se=None, percent_printed=None)
    if kind == "duration":
        return dict(
            events=None, total=None, estimate=quantity.months, ci_low=None, ci_high=None, se=None, percent_printed=None
        )
    if kind == "survival":
        if pct is None and quantity.events is not None and quantity.total:
            values["estimate"] = quantity.events / quantity.total
        if values["estimate"] is None:
            return None
        values["events"] = values["total"] = None
        return values
    if values["estimate"] is None and values["events"] is not None and values["total"]:
        values["estimate"] = values["events"] / values["total"]
    return values


def candidates_from_sentence(
    sentence: str, locate, section: str | None, order: int, lexicon: Lexicon
) -> list[Candidate]:
    """Every candidate a sentence gives. `locate(start, end)` -> (page, line, bbox)."""
    mentions = find_mentions(sentence, lexicon)
    if not mentions:
        return []
    quantities = find_quantities(sentence)
    zero_events = _negated(sentence, mentions, lexicon)
    if not quantities and not zero_events:
        return []
    kinds = {terms.name: terms for terms in lexicon.endpoints}
    breakdown = lexicon.context.get("breakdown")
    baseline_after = lexicon.context.get("baseline_after")
    out: list[Candidate] = []
    placed: list[tuple[Candidate, Quantity]] = []  # text candidates with the quantity they came from
    named: list[tuple[Candidate, str]] = []  # text candidates with the endpoint phrase they were given to
    single_grades: list[tuple[Candidate, int]] = []
    headline_end: dict[str, int] = {}
    for quantity, mention, landmarks, mention_after in _attribute(sentence, mentions, quantities, lexicon):
        terms = kinds[mention.endpoint]
        endpoint = terms.name
        if terms.kind == "survival" and not landmarks:
            continue  # a survival value without its time point cannot be pooled or checked
        if terms.kind == "duration" and not re.search(r"\bmedian\b", sentence, re.I):
            continue
        if terms.kind == "count" and _NEGATED_BEFORE.search(sentence[max(0, mention.start - 20) : mention.start]):
            continue  # "the four who were not infused"
        flags = list(_context(sentence, quantity.start, section, lexicon))
        if quantity.bound:
            flags.append("approximate")
        if quantity.percent is not None and _threshold(sentence, quantity, lexicon):
            flags.append("threshold")
        if mention_after and re.search(r"\b(?:with|who had|including)\b", sentence[quantity.end : mention.start], re.I):
            flags.append("baseline")
        if baseline_after is not None and baseline_after.match(sentence[mention.end : mention.end + 60].lstrip()):
            flags.append("baseline")  # "in CR with detectable MRD": the state at entry
        grade_number = None
        if terms.grade_split:
            grade = _grade(sentence, mention, quantity, lexicon)
            if grade and grade[0] == "severe":
                endpoint = terms.grade_split
                single = _SINGLE_GRADE.search(grade[1])
                if single:
                    token = single.group(1).upper()
                    grade_number = _ROMAN_GRADE.get(token) or int(token)
                    flags.append("single_grade")
            elif grade:
                flags.append("mild_only")
        values = _candidate_values(quantity, terms.kind)
        if values is None:
            continue
        if endpoint in headline_end and breakdown is not None and breakdown.search(sentence[headline_end[endpoint] : quantity.start]):
            flags.append("component")
        headline_end.setdefault(endpoint, quantity.end)
        confidence = FORM_CONFIDENCE[quantity.form] - sum(PENALTY[f] for f in flags if f in PENALTY)
        if mention_after:
            confidence -= PENALTY["mention_after"]
            flags.append("mention_after")
        gap = quantity.start - mention.end if not mention_after else mention.start - quantity.end
        if gap > FAR_CHARS:
            confidence -= PENALTY["far"]
            flags.append("far")
        page, line, bbox = locate(min(quantity.start, mention.start), max(quantity.end, mention.end))
        for months in landmarks or (None,):
            candidate = Candidate(
                endpoint=endpoint,
                landmark_months=months,
                page=page,
                line=line,
                bbox=bbox,
                quote=sentence.strip(),
                rule=f"text:{quantity.form}",
                confidence=round(max(0.01, min(1.0, confidence)), 3),
                context=tuple(flags),
                order=order,
                cohort=_cohort_before(sentence, min(quantity.start, mention.start)),
                **values,
            )
            out.append(candidate)
            placed.append((candidate, quantity))
            named.append((candidate, sentence[mention.start : mention.end]))
            if grade_number is not None:
                single_grades.append((candidate, grade_number))
    out += _grade_sums(single_grades)
    out = _summed_parts(out, named, lexicon)
    out += _any_minus_mild(sentence, placed, quantities, mentions, lexicon)
    out += _same_as_landmark(sentence, placed, mentions, lexicon)
    for endpoint, start, end, rule in zero_events:
        flags = _context(sentence, start, section, lexicon)
        page, line, bbox = locate(start, end)
        out.append(Candidate(
            endpoint=endpoint, landmark_months=None, events=0, total=None, estimate=0.0, ci_low=None,
            ci_high=None, se=None, percent_printed=None, page=page, line=line, bbox=bbox,
            quote=sentence.strip(), rule=f"text:{rule}",
            confidence=round(FORM_CONFIDENCE["negation"] - sum(PENALTY[f] for f in flags), 3),
            context=flags, order=order, cohort=_cohort_before(sentence, start),
        ))
    return out


def _grade_sums(single_grades: list[tuple[Candidate, int]]) -> list[Candidate]:
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


def _summed_parts(out: list[Candidate], named: list[tuple[Candidate, str]], lexicon: Lexicon) -> list[Candidate]:
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
            if total is not None and events > total:
                continue
            first = found[0]
            flags = tuple(f for f in first.context if f not in ("mention_after", "far")) + ("summed",)
            summed.append(replace(
                first, events=events, total=total, estimate=estimate, percent_printed=percent, ci_low=None,
                ci_high=None, se=None, rule="text:summed_parts", context=flags,
                confidence=round(FORM_CONFIDENCE["summed_parts"] - sum(PENALTY.get(f, 0) for f in flags), 3),
            ))
            parts_used.update(id(c) for c in found)
    marked = [replace(c, context=(*c.context, "component")) if id(c) in parts_used else c for c in out]
    return marked + summed


def _any_minus_mild(sentence, placed, quantities, mentions, lexicon) -> list[Candidate]:
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
            grade = _grade(sentence, Mention(quantity.start, quantity.end, candidate.endpoint), later, lexicon)
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


def _same_as_landmark(sentence, placed, mentions, lexicon) -> list[Candidate]:
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


def _negated(sentence: str, mentions: list[Mention], lexicon: Lexicon) -> list[tuple[str, int, int, str]]:
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
        if negation is not None and not other and not re.search(r"[;,.]|\d", scope):
            between = before[negation.end() :]
            severe = lexicon.severe.search(between)
            if severe and _SINGLE_GRADE.search(severe.group(0)):
                pass  # "no grade 3 CRS" leaves grade 4 open: no value
            elif severe and terms.grade_split:
                found.append((terms.grade_split, mention.start - len(before) + negation.start(), mention.end, "negation"))
            elif not lexicon.severe.search(between) and not lexicon.mild.search(between):
                found.append((terms.name, mention.start - len(before) + negation.start(), mention.end, "negation"))
                if terms.grade_split:  # none of any grade: none of grade >= 3 either
                    found.append((terms.grade_split, mention.start - len(before) + negation.start(), mention.end, "none_of_any_grade"))
        after = sentence[mention.end : mention.end + 60]
        capped = lexicon.negation_above_grade.search(after)
        if capped and terms.grade_split and not re.search(r"[;.]", after[: capped.start()]):
            found.append((terms.grade_split, mention.start, mention.end + capped.end(), "negation"))
    return found


_INLINE_LABEL = re.compile(r"^\s*([A-Z][A-Za-z ]{2,30})[:.]\s")


def _section_of(passage: Passage, current: str | None) -> str | None:
    """The section a passage belongs to: its heading, or an inline label such as "Results:"."""
    if passage.kind in ("heading", "title"):
        return passage.text.strip()
    label = _INLINE_LABEL.match(passage.text)
    return label.group(1) if label else current


_EVALUABLE = re.compile(
    rf"\b(?P<n>{INT_WORD})\s+(?:(?:[\w-]+\s+){{0,2}}?{PATIENT_NOUN}\s+)?(?:were\s+|was\s+)?evaluable\b|"
    r"\bevaluable\b[^.;()]{0,40}\(\s*n\s*=\s*(?P<m>\d+)\s*\)",
    re.I,
)
_N_EQUALS = re.compile(r"\(\s*n\s*=\s*(\d+)\s*\)", re.I)


def _evaluable_count(passages) -> int | None:
    """The number of evaluable patients when the paper states exactly one."""
    found = set()
    for passage in passages:
        for m in _EVALUABLE.finditer(passage.text):
            try:
                found.add(parse_int(m.group("n") or m.group("m")))
            except ValueError:
                continue
    return found.pop() if len(found) == 1 else None


def _with_denominator(candidate: Candidate, sentence: str, evaluable: int | None, passage_n: int | None,
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


def candidates_from_passages(passages: tuple[Passage, ...], lexicon: Lexicon) -> list[Candidate]:
    out: list[Candidate] = []
    section = None
    order = 0
    evaluable = _evaluable_count(passages)
    proportions = {t.name for t in lexicon.endpoints if t.kind == "proportion"}
    proportions |= {t.grade_split for t in lexicon.endpoints if t.kind == "proportion" and t.grade_split}
    for passage in passages:
        section = _section_of(passage, section)
        if passage.kind in ("heading", "title"):
            continue
        stated = set(_N_EQUALS.findall(passage.text))
        passage_n = int(stated.pop()) if len(stated) == 1 else None
        for start, end in split_sentences(passage.text):
            sentence = passage.text[start:end]

            def locate(s, e, _start=start, _passage=passage):
                return _passage.locate(_start + s, _start + e)

            found = candidates_from_sentence(sentence, locate, section, order, lexicon)
            out.extend(_with_denominator(c, sentence, evaluable, passage_n, proportions) for c in found)
            order += 1
    return out


def _per_patient(table: Table) -> bool:
    if len(table.rows) < 3:
        return False
    first_header = (table.rows[0][0] or "").strip().lower()
    return bool(re.match(r"(patients?|pt|case|no\.?|id|#|upn)\b", first_header))


def candidates_from_tables(tables: tuple[Table, ...], lexicon: Lexicon, order_start: int) -> list[Candidate]:
    """Counts from per-patient tables: one row per patient, columns named by the lexicon."""
    out = []
    for index, table in enumerate(tables):
        if not _per_patient(table):
            continue
        header, *rows = table.rows
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        total = len(rows)
        order = order_start + index
        caption = f"{table.caption}: " if table.caption else ""

        def make(endpoint, events, column, rule, cells, _order=order):
            return Candidate(
                endpoint=endpoint, landmark_months=None, events=events, total=total,
                estimate=None if events is None else events / total, ci_low=None, ci_high=None, se=None, percent_printed=None,
                page=table.page, line=None, bbox=table.bbox,
                quote=f"{caption}column '{column}' over {total} patients: " + "; ".join(cells),
                rule=rule, confidence=FORM_CONFIDENCE["table"], context=(), order=_order,
            )

        out.append(make("n_treated", None, header[0], "table:per_patient_rows", [row[0] for row in rows]))
        for spec in lexicon.table_columns:
            found = _table_column(spec, header, rows)
            if found is None:
                continue
            name, cells, events = found
            if spec.grade:
                terms = lexicon.endpoint(spec.endpoint)
                out.append(make(spec.endpoint, sum(g >= 1 for g in events), name, "table:grade_column", cells))
                if terms.grade_split:
                    out.append(make(terms.grade_split, sum(g >= 3 for g in events), name, "table:grade_column", cells))
            else:
                rule = "table:category_column" if events else "table:category_column_none"
                out.append(make(spec.endpoint, events, name, rule, cells))
    return out


def _table_column(spec, header, rows):
    """(header, cells, grades or event count) of the first usable column, header phrases in priority order.

    A grade column must hold a grade in every row; a category column must have
    at least one cell matching `positive` ("MRD status" holding disease types
    is passed over for "MRD at day 28" holding the responses). When no column
    has one, the first column filled in every row says that no patient had
    the event ("Outcome" listing only continuing remissions: no relapse).
    """
    without_events = None
    for phrase in spec.header:
        for col, name in enumerate(header):
            if not name or not phrase.search(name):
                continue
            cells = [row[col] if col < len(row) else "" for row in rows]
            if spec.grade:
                grades = [_grade_number(cell) for cell in cells]
                if all(g is not None for g in grades):
                    return name, cells, grades
            elif spec.positive is not None:
                events = sum(bool(spec.positive.search(cell)) for cell in cells)
                if events:
                    return name, cells, events
                if without_events is None and all(cell.strip() for cell in cells):
                    without_events = (name, cells, 0)
    return without_events


def _grade_number(cell: str) -> int | None:
    cell = cell.strip()
    roman = {"0": 0, "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "none": 0, "no": 0, "-": 0, "–": 0}
    if cell.isdigit():
        return int(cell)
    return roman.get(cell.lower())


def extract_candidates(document: Document, lexicon: Lexicon) -> list[Candidate]:
    from_text = candidates_from_passages(document.passages, lexicon)
    found = from_text + candidates_from_tables(document.tables, lexicon, order_start=len(from_text) + 1)
    return [with_reading_provenance(c, document) for c in found]  # OCR and glyph-map flags (reading/provenance.py)


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


def choose(candidates: list[Candidate], grade_splits: dict[str, str] | None = None) -> list[Choice]:
    """One candidate per (endpoint, landmark): the best ranked, with the reason why.

    Never chosen: values in UNCHOOSABLE_CONTEXT, values about a group smaller
    than the treated cohort, and grade 1-2 counts for an any-grade endpoint,
    unless (with `grade_splits`, any-grade -> grade >= 3 endpoint) the paper
    states that no grade >= 3 event occurred: then the grade 1-2 count is all of them.
    """
    choosable = [c for c in candidates if not set(c.context).intersection(UNCHOOSABLE_CONTEXT)]
    counts = [c for c in choosable if c.key == ("n_treated", None)]
    enrolled = [c for c in choosable if c.key == ("n_enrolled", None)]
    if not counts and enrolled:
        # no treated count stated: the enrolled patients are the cohort, said so in the reason
        best_enrolled = max(enrolled, key=lambda c: _rank(c, None))
        counts = [replace(best_enrolled, endpoint="n_treated", context=(*best_enrolled.context, "enrolled_as_treated"))]
        choosable.append(counts[0])
    n_treated = max(counts, key=lambda c: _rank(c, None)).total if counts else None
    by_key: dict[tuple, list[Candidate]] = {}
    mild: dict[tuple, list[Candidate]] = {}
    for candidate in choosable:
        if n_treated and candidate.cohort is not None and candidate.cohort < n_treated and candidate.endpoint != "n_treated":
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
        ranked = sorted(group, key=lambda c: _rank(c, n_treated), reverse=True)
        best = ranked[0]
        reason = f"highest-ranked of {len(group)} candidate(s): rule {best.rule}, confidence {best.confidence}"
        if n_treated and best.total == n_treated and key[0] not in ("n_treated", "n_enrolled"):
            reason += f"; denominator equals the {n_treated} treated"
        if best.context:
            reason += "; context: " + ", ".join(best.context)
        if "mild_only" in best.context:
            reason += "; no grade >= 3 event stated, so the grade 1-2 count is the any-grade count"
        disagreeing = [
            c for c in ranked[1:]
            if (c.events, c.total, c.estimate) != (best.events, best.total, best.estimate)
        ]
        if disagreeing:
            reason += f"; {len(disagreeing)} other candidate(s) disagree"
        choices.append(Choice(best, reason, len(group) - 1))
    # "no ICANS" implies no grade >= 3 ICANS only if no event of any grade is chosen either
    any_grade = {c.candidate.key: c.candidate for c in choices}
    severe_of = {v: k for k, v in (grade_splits or {}).items()}
    return [
        c for c in choices
        if not (c.candidate.rule == "text:none_of_any_grade"
                and (any_grade.get((severe_of.get(c.candidate.endpoint), c.candidate.landmark_months)) or c.candidate).estimate)
    ]


def _label_scores(document: Document, patterns: dict[str, re.Pattern]) -> Counter:
    scores: Counter = Counter()
    for index, passage in enumerate(document.passages):
        weight = 2 if passage.kind == "title" or index < 3 else 1
        for label, pattern in patterns.items():
            scores[label] += weight * len(pattern.findall(passage.text))
    return scores


def _best_label(scores: Counter) -> str | None:
    ranked = scores.most_common()
    if not ranked or ranked[0][1] == 0:
        return None
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None
    return ranked[0][0]


def extract_metadata(document: Document, lexicon: Lexicon) -> dict:
    """Registry ids, year, target, construct, population and age group, each with its evidence."""
    text = "\n".join(p.text for p in document.passages)
    trial_ids = []
    for pattern, template in TRIAL_ID_PATTERNS:
        for m in pattern.finditer(text):
            trial_id = template.format(m.group(1))
            if trial_id not in trial_ids:
                trial_ids.append(trial_id)
    metadata: dict = {"trial_ids": trial_ids}
    year = _YEAR.search(text)
    metadata["year"] = int(year.group(1)) if year else None
    evidence = {}
    for field, patterns in lexicon.metadata.items():
        scores = _label_scores(document, patterns)
        metadata[field] = _best_label(scores)
        evidence[field] = {label: count for label, count in sorted(scores.items()) if count}
    if metadata.get("target") in ("CD19", "CD22") and metadata.get("construct") is None:
        # one antigen and no dual-antigen design named: a single-target product
        metadata["construct"] = "single"
    age = _AGE_RANGE.search(text)
    ages = [float(g) for g in age.groups() if g is not None][:2] if age else _table_age_range(document.tables)
    if ages:
        low, high = ages
        metadata["age_group"] = "pediatric" if high < ADULT_AGE else "adult" if low >= ADULT_AGE else "mixed"
        evidence["age_range"] = [low, high]
    metadata["evidence"] = evidence
    return metadata


_AGE_HEADER = re.compile(r"^\s*age\b", re.I)


def _table_age_range(tables: tuple[Table, ...]) -> list[float] | None:
    """Youngest and oldest age in the age column of a per-patient table, when every row gives one."""
    for table in tables:
        if not _per_patient(table):
            continue
        header, *rows = table.rows
        for col, name in enumerate(header):
            if not _AGE_HEADER.match(name or ""):
                continue
            cells = [row[col].strip() if col < len(row) else "" for row in rows if any(c.strip() for c in row)]
            if cells and all(re.fullmatch(r"\d{1,3}(?:\.\d+)?", cell) for cell in cells):
                ages = [float(cell) for cell in cells]
                return [min(ages), max(ages)]
    return None


def table_record(table: Table) -> dict:
    """A table as read: page, box, header cells and body rows (for patient-level data downstream)."""
    header, *rows = table.rows if table.rows else ((),)
    return {
        "page": table.page,
        "bbox": None if table.bbox is None else [round(v, 2) for v in table.bbox],
        "caption": table.caption,
        "header": list(header),
        "rows": [list(row) for row in rows],
    }


def candidate_record(candidate: Candidate) -> dict:
    record = asdict(candidate)
    record["bbox"] = None if candidate.bbox is None else [round(v, 2) for v in candidate.bbox]
    record["context"] = list(candidate.context)
    return record


def extract_paper(path: str, lexicon: Lexicon, settings=None) -> dict:
    """The extraction record of one paper: metadata, every candidate, the choices.

    A paper that cannot be read gives a record with ``status: failed`` and the
    reader's error (kind and a message naming the file), so the pipeline goes
    on with the other papers and reports this one in failures.csv.
    """
    try:
        document = read_document(path, settings or ReadSettings())
    except DocumentError as err:
        return failed_record(path, lexicon.source, err.kind, str(err))
    record: dict = {"paper": Path(path).stem, "file": Path(path).name, "lexicon": Path(lexicon.source).name}
    candidates = extract_candidates(document, lexicon)
    choices = choose(candidates, {t.name: t.grade_split for t in lexicon.endpoints if t.grade_split})
    # a choice may be made from a candidate (the enrolled count standing in for the treated one)
    candidates += [c.candidate for c in choices if all(c.candidate is not k for k in candidates)]
    index = {id(c): i for i, c in enumerate(candidates)}
    record.update(
        status="ok",
        error=None,
        sha256=document.sha256,
        kind=document.kind,
        n_pages=document.n_pages,
        warnings=list(document.warnings),
        metadata=extract_metadata(document, lexicon),
        tables=[table_record(t) for t in document.tables],
        candidates=[candidate_record(c) for c in candidates],
        chosen=[
            {"candidate": index[id(choice.candidate)], "reason": choice.reason, "alternatives": choice.alternatives}
            for choice in choices
        ],
    )
    return record
