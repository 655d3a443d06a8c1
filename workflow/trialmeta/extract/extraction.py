"""From a paper file to its extraction record: the driver of the extraction stages.

Stages, each a pure function in its own module: sentences (numbers) -> mentions -> binding ->
candidates (and derived values, per-patient tables) -> choice -> metadata. Every candidate is
kept, conflicting ones too; the record says which one was chosen per endpoint and why.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from trialmeta.core.records import failed_record
from trialmeta.extract.abbreviations import defined_abbreviations
from trialmeta.extract.candidate import Candidate
from trialmeta.extract.candidates import candidates_from_passages
from trialmeta.extract.choice import ambiguous, choose, overall_response_as_cr, why_not_chosen
from trialmeta.extract.cohort import evaluable_count
from trialmeta.extract.lexicon import Lexicon
from trialmeta.extract.metadata import extract_metadata
from trialmeta.extract.reading import (
    Document,
    DocumentError,
    ReadSettings,
    read_document,
)
from trialmeta.extract.reading.provenance import with_reading_provenance
from trialmeta.extract.tables import candidates_from_tables, table_record


def _response_is_remission(document: Document, lexicon: Lexicon) -> bool:
    """Whether an overall response of this paper is CR/CRi: a paper about acute lymphoblastic
    leukaemia (lexicon context `response_is_remission`) that names no partial response."""
    remission, partial = lexicon.context.get("response_is_remission"), lexicon.context.get("partial_response")
    if remission is None or partial is None:
        return False
    texts = [p.text for p in document.passages]
    return any(remission.search(t) for t in texts) and not any(partial.search(t) for t in texts)


def extract_candidates(document: Document, lexicon: Lexicon) -> list[Candidate]:
    from_text = candidates_from_passages(document.passages, lexicon)
    found = from_text + candidates_from_tables(document.tables, lexicon, order_start=len(from_text) + 1)
    return [with_reading_provenance(c, document) for c in found]  # OCR and glyph-map flags (reading/provenance.py)


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
    abbreviations = defined_abbreviations([p.text for p in document.passages], lexicon)
    lexicon = lexicon.with_phrases(abbreviations)
    candidates = extract_candidates(document, lexicon)
    if _response_is_remission(document, lexicon):
        candidates += overall_response_as_cr(candidates)
    choices = choose(candidates, {t.name: t.grade_split for t in lexicon.endpoints if t.grade_split})
    # a choice may be made from a candidate (the enrolled count standing in for the treated one)
    candidates += [c.candidate for c in choices if all(c.candidate is not k for k in candidates)]
    index = {id(c): i for i, c in enumerate(candidates)}
    chosen_ids = {id(choice.candidate) for choice in choices}
    winners = {choice.candidate.key: choice.candidate for choice in choices}
    unsettled = ambiguous(candidates, choices)
    record.update(
        status="ok",
        error=None,
        sha256=document.sha256,
        kind=document.kind,
        n_pages=document.n_pages,
        warnings=list(document.warnings),
        abbreviations=abbreviations,
        # the one evaluable count the paper states: harmonise's denominator where no treated count exists
        cohort={"evaluable": evaluable_count(document.passages)},
        metadata=extract_metadata(document, lexicon),
        tables=[table_record(t) for t in document.tables],
        candidates=[
            {**candidate_record(c), "why_not_chosen": None if id(c) in chosen_ids else why_not_chosen(c, winners, unsettled)}
            for c in candidates
        ],
        # endpoints whose choosable candidates disagree and rank alike: harmonise raises ambiguous_value
        ambiguous=[
            {"endpoint": endpoint, "landmark_months": landmark,
             "candidates": [index[id(c)] for c in candidates if c.key == (endpoint, landmark)]}
            for endpoint, landmark in sorted(unsettled, key=lambda k: (k[0], -1 if k[1] is None else k[1]))
        ],
        chosen=[
            {
                "candidate": index[id(choice.candidate)],
                "endpoint": choice.candidate.endpoint,
                "landmark_months": choice.candidate.landmark_months,
                "reason": choice.reason,
                "alternatives": choice.alternatives,
            }
            for choice in choices
        ],
    )
    return record
