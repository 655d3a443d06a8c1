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
from dataclasses import asdict, dataclass
from pathlib import Path

from trialmeta.lexicon import Lexicon
from trialmeta.numbers import Landmark, Quantity, find_landmarks, find_quantities, split_sentences
from trialmeta.reading import Document, DocumentError, Passage, ReadSettings, Table, read_document

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
}
FAR_CHARS = 80
# Values in these contexts stay in the candidate list but are never chosen:
# they describe other studies or part of the cohort.
UNCHOOSABLE_CONTEXT = ("background", "subgroup", "baseline")
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

    @property
    def key(self) -> tuple[str, float | None]:
        return (self.endpoint, self.landmark_months)


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    endpoint: str


def find_mentions(sentence: str, lexicon: Lexicon) -> list[Mention]:
    """Endpoint phrases in a sentence; overlapping phrases resolve to the longest."""
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
    return sorted(kept, key=lambda m: m.start)


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


def _grade(sentence: str, mention: Mention, quantity: Quantity, lexicon: Lexicon) -> str | None:
    """'severe' or 'mild' when a grade cue qualifies the value, the cue nearest the value winning."""
    # The cue must sit between the phrase and the value, or just before the
    # phrase ("severe CRS in 2"); text after the value describes another value.
    window_start = max(0, min(quantity.start, mention.start - 30))
    window_end = mention.end + 10 if mention.start > quantity.start else max(mention.end, quantity.start)
    window = sentence[window_start:window_end]
    cues = [(m.start(), "severe") for m in lexicon.severe.finditer(window)]
    cues += [(m.start(), "mild") for m in lexicon.mild.finditer(window)]
    if not cues:
        return None
    value_at = quantity.start - window_start
    return min(cues, key=lambda cue: abs(cue[0] - value_at))[1]


def _nearest_landmark(landmarks: list[Landmark], quantity: Quantity, mention: Mention) -> float | None:
    if not landmarks:
        return None
    anchor = min(quantity.start, mention.start)
    before = [lm for lm in landmarks if lm.end <= anchor]
    if before:
        return before[-1].months
    return min(landmarks, key=lambda lm: abs(lm.start - quantity.end)).months


def _attribute(sentence, mentions, quantities, lexicon) -> list[tuple[Quantity, Mention, float | None, bool]]:
    """(quantity, mention, landmark, mention_after) pairs for one sentence.

    "A and B were x and y, respectively" pairs in order; otherwise each quantity
    goes to the nearest phrase of an endpoint kind it can describe.
    """
    landmarks = find_landmarks(sentence)
    kinds = {terms.name: terms.kind for terms in lexicon.endpoints}
    values = [q for q in quantities if q.form not in ("count", "count_subject", "duration")]
    if values:
        listed = _list_pairs(mentions, values, landmarks, kinds)
        if listed:
            return listed
    pairs = []
    for quantity in quantities:
        allowed = _kinds_for(quantity)
        best, best_distance = None, None
        for mention in mentions:
            if kinds[mention.endpoint] not in allowed:
                continue
            between = sentence[min(mention.end, quantity.end) : max(mention.start, quantity.start)]
            if ";" in between:
                continue
            if mention.end <= quantity.start:
                distance = quantity.start - mention.end
            else:
                distance = (mention.start - quantity.end) * FOLLOWING_DISTANCE_WEIGHT
            if best_distance is None or distance < best_distance:
                best, best_distance = mention, distance
        if best is not None:
            landmark = _nearest_landmark(landmarks, quantity, best) if kinds[best.endpoint] == "survival" else None
            pairs.append((quantity, best, landmark, best.start > quantity.start))
    return pairs


def _list_pairs(mentions, values, landmarks, kinds) -> list:
    """Endpoints and values listed in the same order, with no endpoint phrase among the values.

    "A and B were x and y (, respectively)"; "A and B were x and y at 6 months
    and z and w at 1 year" (endpoints x landmarks); "C at 6 months and 1 year
    were x and y" (one endpoint, several landmarks).
    """
    first = values[0].start
    if any(m.start > first for m in mentions):
        return []
    distinct = []
    for m in mentions:
        if not distinct or distinct[-1].endpoint != m.endpoint:
            distinct.append(m)
    leading_landmarks = [lm for lm in landmarks if lm.end <= first]
    trailing_landmarks = [lm for lm in landmarks if lm.start >= first]
    survival = lambda m, months: months if kinds[m.endpoint] == "survival" else None  # noqa: E731
    if len(distinct) == 1 and len(leading_landmarks) == len(values) > 1:
        return [(q, distinct[0], lm.months, False) for q, lm in zip(values, leading_landmarks)]
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
    """Context flags of a value; a subgroup cue counts only before the value, where it sets the scope."""
    flags = []
    if "background" in lexicon.context and lexicon.context["background"].search(sentence):
        flags.append("background")
    if "subgroup" in lexicon.context and lexicon.context["subgroup"].search(sentence[:value_start]):
        flags.append("subgroup")
    if section and "section_background" in lexicon.context and lexicon.context["section_background"].search(section):
        results = lexicon.context.get("section_results")
        if results is None or not results.search(section):
            flags.append("section_background")
    return tuple(flags)


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
    out = []
    for quantity, mention, landmark, mention_after in _attribute(sentence, mentions, quantities, lexicon):
        terms = kinds[mention.endpoint]
        endpoint = terms.name
        if terms.kind == "survival" and landmark is None:
            continue  # a survival value without its time point cannot be pooled or checked
        if terms.kind == "duration" and not re.search(r"\bmedian\b", sentence, re.I):
            continue
        flags = list(_context(sentence, quantity.start, section, lexicon))
        if mention_after and re.search(r"\b(?:with|who had|including)\b", sentence[quantity.end : mention.start], re.I):
            flags.append("baseline")
        if terms.grade_split:
            grade = _grade(sentence, mention, quantity, lexicon)
            if grade == "severe":
                endpoint = terms.grade_split
            elif grade == "mild":
                flags.append("mild_only")
        values = _candidate_values(quantity, terms.kind)
        if values is None:
            continue
        confidence = FORM_CONFIDENCE[quantity.form] - sum(PENALTY[f] for f in flags if f in PENALTY)
        if mention_after:
            confidence -= PENALTY["mention_after"]
            flags.append("mention_after")
        gap = quantity.start - mention.end if not mention_after else mention.start - quantity.end
        if gap > FAR_CHARS:
            confidence -= PENALTY["far"]
            flags.append("far")
        page, line, bbox = locate(min(quantity.start, mention.start), max(quantity.end, mention.end))
        out.append(
            Candidate(
                endpoint=endpoint,
                landmark_months=landmark,
                page=page,
                line=line,
                bbox=bbox,
                quote=sentence.strip(),
                rule=f"text:{quantity.form}",
                confidence=round(max(0.01, min(1.0, confidence)), 3),
                context=tuple(flags),
                order=order,
                **values,
            )
        )
    for endpoint, start, end in zero_events:
        flags = _context(sentence, start, section, lexicon)
        page, line, bbox = locate(start, end)
        out.append(Candidate(
            endpoint=endpoint, landmark_months=None, events=0, total=None, estimate=0.0, ci_low=None,
            ci_high=None, se=None, percent_printed=None, page=page, line=line, bbox=bbox,
            quote=sentence.strip(), rule="text:negation",
            confidence=round(FORM_CONFIDENCE["negation"] - sum(PENALTY[f] for f in flags), 3),
            context=flags, order=order,
        ))
    return out


def _negated(sentence: str, mentions: list[Mention], lexicon: Lexicon) -> list[tuple[str, int, int]]:
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
        if negation is not None and not re.search(r"[;,.]|\d", before[negation.end() :]):
            between = before[negation.end() :]
            if lexicon.severe.search(between) and terms.grade_split:
                found.append((terms.grade_split, mention.start - len(before) + negation.start(), mention.end))
            elif not lexicon.severe.search(between) and not lexicon.mild.search(between):
                found.append((terms.name, mention.start - len(before) + negation.start(), mention.end))
        after = sentence[mention.end : mention.end + 60]
        capped = lexicon.negation_above_grade.search(after)
        if capped and terms.grade_split and not re.search(r"[;.]", after[: capped.start()]):
            found.append((terms.grade_split, mention.start, mention.end + capped.end()))
    return found


_INLINE_LABEL = re.compile(r"^\s*([A-Z][A-Za-z ]{2,30})[:.]\s")


def _section_of(passage: Passage, current: str | None) -> str | None:
    """The section a passage belongs to: its heading, or an inline label such as "Results:"."""
    if passage.kind in ("heading", "title"):
        return passage.text.strip()
    label = _INLINE_LABEL.match(passage.text)
    return label.group(1) if label else current


def candidates_from_passages(passages: tuple[Passage, ...], lexicon: Lexicon) -> list[Candidate]:
    out: list[Candidate] = []
    section = None
    order = 0
    for passage in passages:
        section = _section_of(passage, section)
        if passage.kind in ("heading", "title"):
            continue
        for start, end in split_sentences(passage.text):
            sentence = passage.text[start:end]

            def locate(s, e, _start=start, _passage=passage):
                return _passage.locate(_start + s, _start + e)

            found = candidates_from_sentence(sentence, locate, section, order, lexicon)
            out.extend(found)
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
                out.append(make(spec.endpoint, events, name, "table:category_column", cells))
    return out


def _table_column(spec, header, rows):
    """(header, cells, grades or event count) of the first usable column, header phrases in priority order.

    A grade column must hold a grade in every row; a category column must have
    at least one cell matching `positive` ("MRD status" holding disease types
    is passed over for "MRD at day 28" holding the responses).
    """
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
    return None


def _grade_number(cell: str) -> int | None:
    cell = cell.strip()
    roman = {"0": 0, "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "none": 0, "no": 0, "-": 0, "–": 0}
    if cell.isdigit():
        return int(cell)
    return roman.get(cell.lower())


def extract_candidates(document: Document, lexicon: Lexicon) -> list[Candidate]:
    from_text = candidates_from_passages(document.passages, lexicon)
    return from_text + candidates_from_tables(document.tables, lexicon, order_start=len(from_text) + 1)


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
    total = _implied_total(candidate, n_treated)
    if n_treated and total is not None and candidate.endpoint not in ("n_treated", "n_enrolled"):
        # The whole cohort is the denominator a pooled analysis wants.
        score += 0.1 if total == n_treated else -0.1
    completeness = sum(v is not None for v in (candidate.events, candidate.total, candidate.ci_low, candidate.se))
    return (round(score, 6), completeness, -candidate.order)


def choose(candidates: list[Candidate]) -> list[Choice]:
    """One candidate per (endpoint, landmark): the best ranked, with the reason why."""
    by_key: dict[tuple, list[Candidate]] = {}
    for candidate in candidates:
        if not set(candidate.context).intersection(UNCHOOSABLE_CONTEXT):
            by_key.setdefault(candidate.key, []).append(candidate)
    n_treated = None
    if ("n_treated", None) in by_key:
        n_treated = max(by_key[("n_treated", None)], key=lambda c: _rank(c, None)).total
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
        disagreeing = [
            c for c in ranked[1:]
            if (c.events, c.total, c.estimate) != (best.events, best.total, best.estimate)
        ]
        if disagreeing:
            reason += f"; {len(disagreeing)} other candidate(s) disagree"
        choices.append(Choice(best, reason, len(group) - 1))
    return choices


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
    if age:
        low, high = [float(g) for g in age.groups() if g is not None][:2]
        metadata["age_group"] = "pediatric" if high < ADULT_AGE else "adult" if low >= ADULT_AGE else "mixed"
        evidence["age_range"] = [low, high]
    metadata["evidence"] = evidence
    return metadata


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
    name = Path(path).name
    record: dict = {"paper": Path(path).stem, "file": name, "lexicon": Path(lexicon.source).name}
    try:
        document = read_document(path, settings or ReadSettings())
    except DocumentError as err:
        record.update(status="failed", error={"kind": err.kind, "message": str(err)}, candidates=[], chosen=[])
        return record
    candidates = extract_candidates(document, lexicon)
    choices = choose(candidates)
    index = {id(c): i for i, c in enumerate(candidates)}
    record.update(
        status="ok",
        error=None,
        sha256=document.sha256,
        kind=document.kind,
        n_pages=document.n_pages,
        warnings=list(document.warnings),
        metadata=extract_metadata(document, lexicon),
        candidates=[candidate_record(c) for c in candidates],
        chosen=[
            {"candidate": index[id(choice.candidate)], "reason": choice.reason, "alternatives": choice.alternatives}
            for choice in choices
        ],
    )
    return record
