"""Stage 6 of extraction: study metadata (registry ids, year, target, construct, population, age group),
each with its evidence, from lexicon cues over the whole text."""

from __future__ import annotations

import re
from collections import Counter

from trialmeta.extract.lexicon import Lexicon
from trialmeta.extract.reading import Document, Table
from trialmeta.extract.tables import is_per_patient

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
        if not is_per_patient(table):
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
