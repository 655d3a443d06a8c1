"""Stage 4 of extraction: candidates, every value a sentence gives for an endpoint, kept with its context.

sentences (numbers.split_sentences) -> mentions -> binding -> one Candidate per bound
quantity and landmark, then the values derived from several of them (derived).
"""

from __future__ import annotations

import re
from dataclasses import replace

from trialmeta.extract.binding import bind_quantities
from trialmeta.extract.candidate import FAR_CHARS, FORM_CONFIDENCE, OVER_RESPONDERS, PENALTY, Candidate
from trialmeta.extract.cohort import (
    N_EQUALS,
    cohort_before,
    cohort_counts,
    evaluable_count,
    sentence_cohort,
    with_denominator,
)
from trialmeta.extract.context import (
    NEGATED_BEFORE,
    context_flags,
    is_threshold,
    section_of,
)
from trialmeta.extract.derived import (
    any_minus_mild,
    grade_sums,
    same_as_landmark,
    summed_parts,
)
from trialmeta.extract.lexicon import Lexicon
from trialmeta.extract.mentions import (
    ROMAN_GRADE,
    SINGLE_GRADE,
    Mention,
    coordination_start,
    find_mentions,
    grade_cue,
    negated_events,
)
from trialmeta.extract.numbers import Quantity, find_quantities, inside_brackets, split_sentences
from trialmeta.extract.reading import Passage


# A verb right before an endpoint phrase makes it an outcome ("... achieved morphological CR"), whatever
# a "with" clause earlier in the sentence says about the patients.
_OUTCOME_VERB_BEFORE = re.compile(
    r"\b(?:achieved|attained|reached|obtained|developed|experienced|went\s+into|entered)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,2}$",
    re.I,
)


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
    """Every candidate a sentence gives. `locate(start, end)` -> (page, line, bbox).

    Cohort sizes (n_treated, n_enrolled) come from the cohort model (`cohort.cohort_counts`);
    every other value from its binding to an endpoint mention.
    """
    kinds = {terms.name: terms for terms in lexicon.endpoints}
    cohorts = _cohort_candidates(sentence, locate, section, order, lexicon)
    cohort_spans = tuple((c.start, c.end) for c in cohort_counts(sentence, lexicon))
    mentions = [m for m in find_mentions(sentence, lexicon) if kinds[m.endpoint].kind != "count"]
    if not mentions:
        return cohorts
    quantities = find_quantities(sentence)
    zero_events = negated_events(sentence, mentions, lexicon)
    if not quantities and not zero_events:
        return cohorts
    breakdown = lexicon.context.get("breakdown")
    baseline_after = lexicon.context.get("baseline_after")
    out: list[Candidate] = []
    placed: list[tuple[Candidate, Quantity]] = []  # text candidates with the quantity they came from
    named: list[tuple[Candidate, str]] = []  # text candidates with the endpoint phrase they were given to
    single_grades: list[tuple[Candidate, int]] = []
    headline_end: dict[str, int] = {}
    for quantity, mention, landmarks, mention_after in _bind_by_clause(sentence, mentions, quantities, lexicon):
        terms = kinds[mention.endpoint]
        if terms.at_landmark and landmarks and quantity.events is None:
            terms = kinds[terms.at_landmark]  # "the 2-year relapse rate was 20%": a cumulative incidence
        endpoint = terms.name
        if terms.kind == "survival" and not landmarks:
            continue  # a survival value without its time point cannot be pooled or checked
        if terms.kind == "duration" and not re.search(r"\bmedian\b", sentence, re.I):
            continue
        flags = list(context_flags(sentence, quantity.start, section, lexicon, cohort_spans))
        responders = lexicon.context.get("responders_scope")
        over_responders = responders is not None and responders.search(sentence, 0, quantity.start) is not None
        if over_responders and endpoint not in OVER_RESPONDERS:
            flags.append("subgroup")  # "among responders, grade 3 CRS in 10%": a part's value
        if quantity.bound:
            flags.append("approximate")
        if quantity.percent is not None and is_threshold(sentence, quantity, lexicon):
            flags.append("threshold")
        if (mention_after and re.search(r"\b(?:with|who had|including)\b", sentence[quantity.end : mention.start], re.I)
                and not _OUTCOME_VERB_BEFORE.search(sentence, 0, mention.start)):
            flags.append("baseline")  # "14 patients with prior CR", not "25 (83%), including 13 with ..., achieved CR"
        if baseline_after is not None and baseline_after.match(sentence[mention.end : mention.end + 60].lstrip()):
            flags.append("baseline")  # "in CR with detectable MRD": the state at entry
        grade_number = None
        if terms.grade_split:
            # "Grade 3 or higher CRS and neurotoxicity occurred in 9% and 4%": a cue before a list of
            # endpoints qualifies each of them
            # "grade 3-4 cytokine release syndrome (CRS; 10%)": the abbreviation in brackets is the
            # phrase before it, and the grade cue before that phrase is its cue too
            spelled_out = next((m for m in mentions if m.endpoint == mention.endpoint and m.end <= mention.start
                                and re.fullmatch(r"\s*\(\s*", sentence[m.end : mention.start])), mention)
            scope = Mention(coordination_start(sentence, mentions, spelled_out), mention.end, mention.endpoint)
            grade = grade_cue(sentence, scope, quantity, lexicon)
            if grade and grade[0] == "severe":
                endpoint = terms.grade_split
                single = SINGLE_GRADE.search(grade[1])
                if single:
                    token = single.group(1).upper()
                    grade_number = ROMAN_GRADE.get(token) or int(token)
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
                cohort=cohort_before(sentence, min(quantity.start, mention.start)),
                cohort_kind="responders" if over_responders and endpoint in OVER_RESPONDERS else None,
                **values,
            )
            out.append(candidate)
            placed.append((candidate, quantity))
            named.append((candidate, sentence[mention.start : mention.end]))
            if grade_number is not None:
                single_grades.append((candidate, grade_number))
    compared_values = lexicon.context.get("compared_values")
    if compared_values is not None and compared_values.search(sentence):
        out = _compared(out, named)
        # a value inside the comparison itself ("13 and 12 months for ALL and NHL") is one group's
        spans = [m.span() for m in compared_values.finditer(sentence)]
        inside = {id(c) for c, q in placed if any(a <= q.start < b for a, b in spans)}
        out = [replace(c, context=(*c.context, "comparison")) if id(c) in inside and "comparison" not in c.context else c
               for c in out]
    out += grade_sums(single_grades)
    out = [_denominator_from_percent(c, quantities) for c in out]
    out = summed_parts(out, named, lexicon)
    out += any_minus_mild(sentence, placed, quantities, mentions, lexicon)
    out += same_as_landmark(sentence, placed, mentions, lexicon)
    for endpoint, start, end, rule in zero_events:
        flags = context_flags(sentence, start, section, lexicon, cohort_spans)
        page, line, bbox = locate(start, end)
        out.append(Candidate(
            endpoint=endpoint, landmark_months=None, events=0, total=None, estimate=0.0, ci_low=None,
            ci_high=None, se=None, percent_printed=None, page=page, line=line, bbox=bbox,
            quote=sentence.strip(), rule=f"text:{rule}",
            confidence=round(FORM_CONFIDENCE["negation"] - sum(PENALTY[f] for f in flags), 3),
            context=flags, order=order, cohort=cohort_before(sentence, start),
        ))
    return cohorts + out


# Where a sentence may be cut into clauses that report separately ("CR was 90%, and MRD
# negativity 80%"; "...; ..."; "..., whereas ...").
_CLAUSE_BREAK = re.compile(r";\s*|,\s*(?:and|but|while|whereas)\s+|\s+(?:while|whereas)\s+", re.I)


def clauses(sentence: str, mentions, quantities) -> list[tuple[int, int]]:
    """(start, end) of the clauses of a sentence, cut only where the text on each side names an
    endpoint and gives a value: each clause's values then bind to its own endpoints."""
    spans = [(0, len(sentence))]
    # a time ("at a median follow-up of 11 months, ...") is no value a clause reports on its own
    quantities = [q for q in quantities if q.form != "duration"]
    for cut in _CLAUSE_BREAK.finditer(sentence):
        if inside_brackets(sentence, cut.start()):
            continue  # the parts of one value, not two clauses
        start, end = spans[-1]
        left, right = (start, cut.start()), (cut.end(), end)
        if all(
            any(s <= m.start < e for m in mentions) and any(s <= q.start < e for q in quantities)
            for s, e in (left, right)
        ):
            spans[-1:] = [left, right]
    return spans


def _bind_by_clause(sentence, mentions, quantities, lexicon):
    pairs = []
    for start, end in clauses(sentence, mentions, quantities):
        pairs += bind_quantities(
            sentence,
            [m for m in mentions if start <= m.start < end],
            [q for q in quantities if start <= q.start < end],
            lexicon,
        )
    return sorted(pairs, key=lambda pair: pair[0].start)


def _denominator_from_percent(candidate: Candidate, quantities: list[Quantity]) -> Candidate:
    """A count with its percentage and no denominator ("41 (84%) achieved MRD negativity") is over
    the group of round(41 / 0.84) = 49 when the same sentence counts such a group ("Forty-nine
    (68%) patients had CR/CRi, with 41 (84%) ..."): that count is the denominator."""
    if candidate.total is not None or candidate.events is None or not candidate.percent_printed:
        return candidate
    size = round(candidate.events * 100 / candidate.percent_printed)
    if size <= candidate.events or abs(100 * candidate.events / size - candidate.percent_printed) > 0.51:
        return candidate
    if not any(q.events == size and q.total is None for q in quantities):
        return candidate
    return replace(
        candidate, total=size, cohort=size, cohort_kind="responders",
        context=(*candidate.context, "denominator_from_percent"),
    )


def _compared(out: list[Candidate], named: list[tuple[Candidate, str]]) -> list[Candidate]:
    """Different values one phrase takes in one sentence ("CRS in 80% of product A and 70% of
    product B") describe groups being compared: none is the cohort's, all get `comparison`."""
    by_phrase: dict[tuple, set] = {}
    for candidate, phrase in named:
        if not {"single_grade", "mild_only"} & set(candidate.context):
            by_phrase.setdefault((candidate.endpoint, candidate.landmark_months, phrase.lower()), set()).add(candidate.estimate)
    compared = {key[:2] for key, estimates in by_phrase.items() if len(estimates) > 1}
    return [
        replace(c, context=(*c.context, "comparison")) if c.key in compared and "comparison" not in c.context else c
        for c in out
    ]


COHORT_ENDPOINTS = {"treated": "n_treated", "enrolled": "n_enrolled"}


def _cohort_candidates(sentence, locate, section, order, lexicon) -> list[Candidate]:
    """n_treated and n_enrolled candidates from the cohort sizes a sentence states."""
    out = []
    for count in cohort_counts(sentence, lexicon):
        endpoint = COHORT_ENDPOINTS.get(count.kind)
        if endpoint is None:
            continue
        if NEGATED_BEFORE.search(sentence[max(0, count.start - 20) : count.start]):
            continue  # "the four who were not infused"
        # "patients who received X" is how a cohort is defined, not a subgroup of it: only a
        # statement about another study keeps a cohort size from being chosen
        flags = tuple(f for f in context_flags(sentence, count.start, section, lexicon) if f != "subgroup")
        page, line, bbox = locate(count.start, count.end)
        out.append(Candidate(
            endpoint=endpoint, landmark_months=None, events=None, total=count.n, estimate=None, ci_low=None,
            ci_high=None, se=None, percent_printed=None, page=page, line=line, bbox=bbox, quote=sentence.strip(),
            rule=count.rule, confidence=round(FORM_CONFIDENCE["cohort"] - sum(PENALTY.get(f, 0) for f in flags), 3),
            context=flags, order=order, cohort_kind=count.kind,
        ))
    return out


def _over_sentence_cohort(candidate: Candidate, cohort, proportions: set[str], survivals: set[str]) -> Candidate:
    """A proportion in a sentence that opens by naming its group ("Of the 16 eligible patients,
    14 achieved ...") is over that group: its size is the denominator a bare percentage lacks.
    A survival estimate there ("In 32 patients in remission, the 1-year EFS was 59%") is that
    group's too: it keeps the group's size, so a group smaller than the cohort is never chosen."""
    if cohort is None or candidate.endpoint not in proportions | survivals:
        return candidate
    context = candidate.context
    total = candidate.total
    if (total is None and (candidate.estimate is not None or candidate.events is not None)
            and candidate.endpoint in proportions):
        # "Of the 24 responders, 22 were MRD-negative": a bare count is over the group too
        total, context = cohort.n, (*context, "stated_denominator")
    return replace(candidate, total=total, context=context, cohort=cohort.n, cohort_kind=cohort.kind)


# Words that bring a paragraph back to the whole cohort after it reported its parts in turn
_WHOLE_COHORT = re.compile(r"\b(?:all|entire|whole|overall)\s+(?:(?:[\w-]+\s+)?(?:patients|cohort|population|participants)|of\s+them)\b|^\W*(?:overall|in\s+total),", re.I)


def _opens_with_part(sentence: str, lexicon: Lexicon) -> bool:
    """Whether a sentence opens by naming a described part of the cohort ("Among adults with
    lymphoma, ..."): its values are that part's. The reach is this sentence only: carried to the
    next sentence it took whole-cohort values on the held-out part of the corpus."""
    part = lexicon.context.get("subgroup_lead")
    return part is not None and part.match(sentence.lstrip()) is not None


def candidates_from_passages(passages: tuple[Passage, ...], lexicon: Lexicon) -> list[Candidate]:
    out: list[Candidate] = []
    section = None
    order = 0
    evaluable = evaluable_count(passages)
    proportions = {t.name for t in lexicon.endpoints if t.kind == "proportion"}
    proportions |= {t.grade_split for t in lexicon.endpoints if t.kind == "proportion" and t.grade_split}
    survivals = {t.name for t in lexicon.endpoints if t.kind == "survival"}
    for passage in passages:
        section = section_of(passage, section)
        if passage.kind in ("heading", "title"):
            continue
        stated = set(N_EQUALS.findall(passage.text))
        passage_n = int(stated.pop()) if len(stated) == 1 else None
        spans = split_sentences(passage.text)
        # A paragraph that reports two or more parts in turn ("Among patients with ALL, ... . Among
        # adults with NHL, ..."): the sentences after a part's opening are that part's too, until one
        # speaks of the whole cohort again
        opens = [_opens_with_part(passage.text[a:b], lexicon) for a, b in spans]
        parts_in_turn = sum(opens) >= 2
        in_part = False
        for (start, end), opens_part in zip(spans, opens):
            sentence = passage.text[start:end]

            def locate(s, e, _start=start, _passage=passage):
                return _passage.locate(_start + s, _start + e)

            found = candidates_from_sentence(sentence, locate, section, order, lexicon)
            lead = sentence_cohort(sentence, lexicon)
            in_part = parts_in_turn and (opens_part or (in_part and lead is None and not _WHOLE_COHORT.search(sentence)))
            if opens_part or in_part:
                found = [c if c.cohort_kind or "subgroup" in c.context else replace(c, context=(*c.context, "subgroup"))
                         for c in found]
            out.extend(
                with_denominator(_over_sentence_cohort(c, lead, proportions, survivals), sentence, evaluable, passage_n, proportions)
                for c in found
            )
            order += 1
    return out
