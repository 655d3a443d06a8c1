"""Stage 6 of extraction: study metadata (registry ids, year, target, construct, population, age group),
each with its evidence, from lexicon cues over the whole text; and the paper's reference (DOI, journal,
first author) where the paper prints it in a form that cannot be another paper's."""

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

# A DOI as printed ("doi: 10.1200/JCO.22.01797.", "https://doi.org/10.1007/s00262-021-02941-4");
# the reference list is already split off by the reader, so a DOI left in the text is the paper's
# own or one it cites in passing: only a single distinct one is taken.
_DOI = re.compile(r"(?:\bdoi\s*:?\s*|doi\.org/)(10\.\d{4,9}/[^\s\"<>]+)", re.I)
# A citation of the paper itself, PubMed style: "J Clin Oncol. 2023 May 10;41(14):2594-2606. doi: ..."
_CITATION = re.compile(r"(?:^|:\s+)(?P<journal>[A-Z][A-Za-z&' ]{1,60}?(?:\.[A-Za-z&' ]{1,40}?)*)\.\s+(?:19|20)\d{2}\b[^;]{0,16};\s*\d")
# A running head naming the journal before the DOI: "Cancer Immunology, Immunotherapy https://doi.org/..."
_HEAD = re.compile(r"^(?P<journal>[A-Z][A-Za-z&,' ]{2,80}?)\s+(?:https?://)?(?:dx\.)?doi\.org/10\.")
# An author line with its separators ("Wenyi Lu^1,2 · Yunxiong Wei^1 · ..."): names, never a sentence.
_AUTHOR = re.compile(r"^\s*(?:[A-Z][a-z'-]+\s+){1,3}(?P<surname>[A-Z][A-Za-z'-]+)(?:\^[\d,*]+)?\s*[·•]")


def _reference(document: Document) -> dict:
    """DOI, journal and first author, each None unless printed unambiguously."""
    dois = []
    for passage in document.passages:
        for m in _DOI.finditer(passage.text):
            doi = m.group(1).rstrip(".,;)]")
            if doi.lower() not in (d.lower() for d in dois):
                dois.append(doi)
    doi = dois[0] if len(dois) == 1 else None
    journal = first_author = None
    for passage in document.passages[:12]:
        text = passage.text.strip()
        if doi and doi in text:
            found = _HEAD.match(text) or _CITATION.search(text)
            journal = journal or (found.group("journal").strip(" ,") if found else None)
        author = _AUTHOR.match(text)
        if author and first_author is None and text.count("·") + text.count("•") >= 2:
            first_author = author.group("surname")
    return {"doi": doi, "journal": journal, "first_author": first_author}


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
    metadata.update(_reference(document))
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
