"""What the reader returns: passages with provenance, tables, and read errors."""

from __future__ import annotations

from dataclasses import dataclass

BBox = tuple[float, float, float, float]  # (x0, top, x1, bottom) in PDF points, origin top-left

# Passage kinds searched for numbers, and the kinds of `Document.removed`.
SEARCHED_KINDS = ("title", "heading", "body", "caption")
REMOVED_KINDS = ("running_header", "running_footer", "page_number", "references", "watermark", "letter_spaced")


def union_bbox(boxes) -> BBox | None:
    """The smallest box holding every box given (None when none is given)."""
    boxes = list(boxes)
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


@dataclass(frozen=True)
class Span:
    """Where a run of a passage's text came from."""

    start: int  # offset into Passage.text (inclusive)
    end: int  # offset into Passage.text (exclusive)
    page: int | None  # 1-based page for PDFs, None for text files
    line: int | None  # 1-based source line for text files, None for PDFs
    bbox: BBox | None  # box of the source line on the page (PDFs only)


@dataclass(frozen=True)
class Passage:
    """One paragraph, heading or caption, in reading order.

    `text` has hyphenation joined, ligatures expanded and superscripts written
    with a caret (``10^6``, ``m^2``, citation marks ``year.^5,6``); a superscript
    made only of signs stays plain (``CD3+``).
    """

    text: str
    kind: str  # see SEARCHED_KINDS; `Document.removed` uses REMOVED_KINDS
    spans: tuple[Span, ...]

    def locate(self, start: int, end: int) -> tuple[int | None, int | None, BBox | None]:
        """(page, line, bbox union) of text[start:end].

        Page and line are those of the first span the range touches; the box
        is the union of the touched spans on that page (a range that runs onto
        the next column or page keeps the box of its first part).
        """
        touched = [s for s in self.spans if s.start < max(end, start + 1) and s.end > start]
        if not touched:
            # an empty or out-of-range request: the nearest span before it
            before = [s for s in self.spans if s.start <= start]
            touched = [before[-1] if before else self.spans[0]] if self.spans else []
        if not touched:
            return None, None, None
        first = touched[0]
        same_page = [s.bbox for s in touched if s.page == first.page and s.bbox is not None]
        return first.page, first.line, union_bbox(same_page)


@dataclass(frozen=True)
class Table:
    page: int | None  # first page of the table (a table continued on later pages keeps its first page)
    bbox: BBox | None  # box of the table's first part
    caption: str | None  # e.g. "Table 2 Characteristics of ..." when found above it
    rows: tuple[tuple[str, ...], ...]  # header row first; cells cleaned like passage text


@dataclass(frozen=True)
class Document:
    path: str
    sha256: str
    kind: str  # "pdf" | "text" | "markdown"
    n_pages: int | None
    passages: tuple[Passage, ...]  # reading order, searched for numbers
    tables: tuple[Table, ...]
    removed: tuple[Passage, ...]  # running headers/footers, page numbers, reference list; not searched
    warnings: tuple[str, ...]
    ocr: str | None = None  # a PDF without a text layer: what read it ("Tesseract 5.3.0 (eng) via OCRmyPDF ...")
    # characters a glyph map re-read (pdf_fonts): (page, box of the glyph, "glyph_map:<font>")
    reread: tuple[tuple[int, BBox, str], ...] = ()


ERROR_KINDS = (
    "empty",
    "not_pdf",
    "too_large",
    "encrypted",
    "truncated",
    "image_only",
    "no_text",
    "ocr_unavailable",
    "not_utf8",
    "binary",
    "too_many_pages",
    "unreadable",
)


class DocumentError(Exception):
    """A file that cannot be read; `str(err)` names the file and what to do."""

    def __init__(self, kind: str, path: str, message: str):
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown DocumentError kind {kind!r}")
        super().__init__(f"{path}: {message}")
        self.kind = kind
        self.path = path

    def __reduce__(self):  # picklable across processes (Snakemake, multiprocessing)
        return (_rebuild_error, (self.kind, self.path, str(self)))


def _rebuild_error(kind: str, path: str, full_message: str) -> DocumentError:
    prefix = f"{path}: "
    message = full_message[len(prefix):] if full_message.startswith(prefix) else full_message
    return DocumentError(kind, path, message)
