"""How the reader got a candidate's text, added to the candidate's provenance.

Two things the extraction cannot see in the text itself: the PDF had no text
layer and was read by OCR (every value gets the `ocr` flag and a lower
confidence: Tesseract can misread a digit or a sign, "≥3" as "23"), and a
glyph map re-read a symbol-font character inside the candidate's source box
(flag "glyph_map:<font>", the entry of glyph_map.yaml that gave it).
"""

from __future__ import annotations

from dataclasses import replace

from .model import BBox, Document

OCR_FLAG = "ocr"
# Subtracted from the confidence of values read from OCR text: below every
# rule's confidence for text read from a text layer with the same wording.
OCR_CONFIDENCE_PENALTY = 0.15


def _overlaps(a: BBox, b: BBox) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def reading_flags(document: Document, page: int | None, bbox: BBox | None) -> tuple[str, ...]:
    """Flags for a value read at `bbox` on `page` of `document`."""
    flags = [OCR_FLAG] if document.ocr else []
    if page is not None and bbox is not None:
        flags += sorted({source for at, box, source in document.reread if at == page and _overlaps(box, bbox)})
    return tuple(flags)


def with_reading_provenance(candidate, document: Document):
    """`candidate` (an extraction Candidate: page, bbox, context, confidence)
    with the reader's flags added to its context; an OCR-read one ranked lower."""
    flags = reading_flags(document, candidate.page, candidate.bbox)
    if not flags:
        return candidate
    confidence = candidate.confidence
    if OCR_FLAG in flags:
        confidence = round(max(0.01, confidence - OCR_CONFIDENCE_PENALTY), 3)
    return replace(candidate, context=tuple(candidate.context) + flags, confidence=confidence)
