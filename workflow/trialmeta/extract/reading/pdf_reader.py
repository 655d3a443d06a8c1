"""Read a PDF: open and check it, then per page glyphs -> tables and rows ->
lines in reading order, and for the whole document passages and tables."""

from __future__ import annotations

import io
import re
import zlib
from collections import Counter
from dataclasses import dataclass, replace

import pdfplumber
import pypdfium2
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdftypes import LITERALS_FLATE_DECODE, PDFStream, resolve1
from pdfplumber.utils.exceptions import PdfminerException

from .model import DocumentError, Passage, Span, Table
from .ocr import ocr_pdf, repair_signs
from .pdf_fonts import DEFAULT_GLYPH_MAP, FontEntry, load_glyph_map, page_fixes
from .pdf_glyphs import glyphs_from_chars, rows_from_glyphs, words_of_row
from .pdf_layout import Line, Obstacle, Rule, mark_footnotes, order_lines, running_rows
from .pdf_labels import split_side_labels
from .pdf_noise import split_letter_spaced, watermark_rows
from .pdf_passages import TableArea, build_passages, text_style
from .scan_rules import scan_rules
from .pdf_tables import (
    ScanLines,
    TablePart,
    aligned_blocks,
    continues,
    has_ruling,
    rule_table_boxes,
    ruled_table_boxes,
    ruled_table_part,
    split_glyphs,
    table_rows,
)
from .settings import ReadSettings
from .text_rules import HYPHEN, Vocabulary, vocabulary_of_lines


@dataclass
class _Page:
    number: int
    height: float
    rows: list[Line]  # full-width rows, top to bottom, tables left out
    rules: list[Rule]
    tables: list[TablePart]
    had_images: bool
    rotated_chars: int  # left out: margin notes, watermarks
    reread: list[tuple[int, tuple[float, float, float, float], str]]  # glyphs the glyph map re-read
    letter_spaced: list[Line]  # left out of the rows (pdf_noise)


@dataclass(frozen=True)
class PdfContent:
    n_pages: int
    passages: tuple[Passage, ...]
    tables: tuple[Table, ...]
    removed: tuple[Passage, ...]
    warnings: tuple[str, ...]
    ocr: str | None = None  # what read the text when the PDF had no text layer
    reread: tuple[tuple[int, tuple[float, float, float, float], str], ...] = ()  # see Document.reread


# A complete PDF ends with an end-of-file marker; writers may add a little after it.
_EOF_WINDOW = 2048


def _truncated(data: bytes) -> bool:
    return b"%%EOF" not in data[-_EOF_WINDOW:]


def _open(data: bytes, path: str):
    try:
        return pdfplumber.open(io.BytesIO(data))
    except PdfminerException as err:
        cause = err.args[0] if err.args else err
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise DocumentError(
                "encrypted", path, "the PDF is encrypted with a password; save an unprotected copy and read that"
            ) from err
        if _truncated(data):
            raise DocumentError(
                "truncated", path, f"the PDF ends early ({len(data)} bytes, no end-of-file marker); download it again"
            ) from err
        raise DocumentError("unreadable", path, f"the PDF cannot be parsed ({cause!r}); re-save it with a PDF tool") from err


def _check_page_count(n_pages: int, path: str, settings: ReadSettings) -> None:
    if n_pages > settings.max_pages:
        raise DocumentError(
            "too_many_pages", path,
            f"the PDF has {n_pages} pages, more than max_pages={settings.max_pages}; "
            "raise the limit if this is really one paper",
        )


def _declared_pages(pdf) -> int:
    """The page count the page tree declares: known before any page is built
    (building thousands of pages takes seconds); 0 when it is missing or odd."""
    try:
        count = resolve1(resolve1(pdf.doc.catalog["Pages"])["Count"])
    except Exception:  # a damaged catalog: the pages themselves are counted next
        return 0
    return count if isinstance(count, int) else 0


# Inflated in pieces of this size, so that measuring a stream never holds it.
_INFLATE_CHUNK = 1 << 20


def _decoded_size(stream, limit: int) -> int:
    """Bytes a content stream decodes to, counted up to just past `limit`.

    Flate (nearly every content stream) is inflated piece by piece and thrown
    away; a stream under another filter counts as its stored size.
    """
    stream = resolve1(stream)
    if not isinstance(stream, PDFStream):
        return 0
    if stream.data is not None:
        return len(stream.data)
    data = stream.rawdata or b""
    if stream.decipher:
        data = stream.decipher(stream.objid, stream.genno, data, stream.attrs)
    filters = [name for name, _ in stream.get_filters()]
    if len(filters) != 1 or filters[0] not in LITERALS_FLATE_DECODE:
        return len(data)
    inflater = zlib.decompressobj()
    size = 0
    try:
        while size <= limit:
            piece = inflater.decompress(data, _INFLATE_CHUNK)
            if not piece:
                break
            size += len(piece)
            data = inflater.unconsumed_tail
    except zlib.error:
        pass  # damaged data: pdfminer's own repair decides what is left of it
    return size


def _out_of_memory(err: BaseException) -> bool:
    """Whether `err` is a MemoryError, or wraps one (pdfplumber wraps pdfminer's errors)."""
    while err is not None:
        if isinstance(err, MemoryError) or any(isinstance(arg, MemoryError) for arg in err.args):
            return True
        err = err.__cause__ or err.__context__
    return False


def _check_content_size(page, path: str, settings: ReadSettings) -> None:
    """Refuse a page whose drawing instructions would take minutes and
    gigabytes to interpret (a decompression bomb, or a damaged or generated
    file), before pdfminer inflates them whole. Forms and other streams the
    page uses are bounded by the per-paper time and memory limits instead."""
    limit = settings.max_page_content_bytes
    try:
        size = sum(_decoded_size(stream, limit) for stream in page.page_obj.contents)
    except Exception:  # an odd content entry: leave it to the page reader
        return
    if size > limit:
        raise DocumentError(
            "too_large", path,
            f"page {page.page_number}'s content decompresses to more than max_page_content_bytes={limit} "
            "bytes (a decompression bomb or a damaged file; a journal page holds well under 1 MB); "
            "re-save the PDF with a PDF tool or leave it out",
        )


def _rules(page, settings: ReadSettings) -> list[Rule]:
    """Horizontal lines and thin filled boxes (both draw rules)."""
    thin = settings.rule_max_thickness
    rules = [Rule(l["x0"], l["top"], l["x1"]) for l in page.lines if abs(l["bottom"] - l["top"]) < thin]
    rules += [Rule(r["x0"], r["top"], r["x1"]) for r in page.rects if r["bottom"] - r["top"] < thin]
    return rules


def _read_page(page, settings: ReadSettings, glyph_map: dict[str, FontEntry], scanned: ScanLines | None = None) -> _Page:
    """One page; `scanned` holds the rules found in the picture of a page read by OCR."""
    glyphs = glyphs_from_chars(page.chars, page_fixes(page.pdf, page, glyph_map))
    reread = [(page.page_number, tuple(round(v, 2) for v in (g.x0, g.top, g.x1, g.bottom)), g.mapped) for g in glyphs if g.mapped]
    rules = _rules(page, settings)
    if scanned is not None:
        rules += [Rule(x0, y, x1) for x0, y, x1 in scanned[0]]
    tables = []
    boxes = ruled_table_boxes(page, settings, scanned) if glyphs and has_ruling(page, settings, scanned) else []
    if glyphs and len(rules) >= 3:
        boxes += rule_table_boxes(rules, glyphs, [bbox for bbox, _ in boxes], settings)
    if boxes:
        glyphs, in_tables = split_glyphs(glyphs, [bbox for bbox, _ in boxes])
        tables = [ruled_table_part(page.page_number, bbox, cells, in_tables, settings) for bbox, cells in boxes]
    rows, letter_spaced = [], []
    for row in rows_from_glyphs(glyphs, settings):
        kept, runs = split_letter_spaced(Line(page.page_number, tuple(words_of_row(row, settings)), row.size), settings)
        letter_spaced += runs
        if kept is not None:
            rows.append(kept)
    rows = split_side_labels(rows, settings)
    rotated = sum(1 for char in page.chars if not char.get("upright", True) and not char["text"].isspace())
    return _Page(page.page_number, page.height, rows, rules, tables, bool(page.images), rotated, reread, letter_spaced)


def _line_passage(line: Line, kind: str) -> Passage:
    return Passage(line.text, kind, (Span(0, len(line.text), line.page, None, line.bbox),))


def _vocabulary(lines: list[Line], tables: list[TablePart]) -> Vocabulary:
    """Words of the document's lines and table cells."""
    vocabulary = vocabulary_of_lines([w.text for w in line.words] for line in lines)
    for part in tables:  # in a narrow cell any line may continue a broken word, or end in one
        for row in part.rows:
            for cell in row:
                for index, line in enumerate(cell):
                    words = [w.text for w in line.words]
                    last_broken = index < len(cell) - 1 or words[-1].endswith(HYPHEN)
                    for word in words[1 if index else 0 : -1 if last_broken else None]:
                        vocabulary.add(word)
    return vocabulary


# pdfminer writes a glyph its font does not map to Unicode as "(cid:27)"
_UNMAPPED_GLYPH = re.compile(r"\(cid:\d+\)")
_TABLE_CAPTION = re.compile(r"(supplementa\w*\s+)?table\b", re.IGNORECASE)


def _caption_for(part: TablePart, passages: list[Passage], settings: ReadSettings, body_size: float) -> str | None:
    """The caption passage ending just above the table on its page."""
    best, best_gap = None, None
    for passage in passages:
        if passage.kind != "caption" or not _TABLE_CAPTION.match(passage.text):
            continue
        for span in passage.spans:
            if span.page != part.page or span.bbox is None:
                continue
            gap = part.bbox[1] - span.bbox[3]
            if -1 <= gap <= settings.table_caption_gap_ratio * body_size and (best_gap is None or gap < best_gap):
                best, best_gap = passage.text, gap
    return best


def _tables(
    parts: list[TablePart], heights: dict[int, float], passages: list[Passage], vocabulary: Vocabulary,
    settings: ReadSettings, body_size: float,
) -> list[Table]:
    tables: list[Table] = []
    previous: TablePart | None = None
    for part in parts:
        caption = _caption_for(part, passages, settings, body_size)
        rows = table_rows(part, vocabulary, settings)
        last_on_page = previous is not None and not any(p.page == previous.page and p.bbox[1] > previous.bbox[1] for p in parts)
        first_on_page = not any(p.page == part.page and p.bbox[1] < part.bbox[1] for p in parts)
        if (
            tables
            and previous is not None
            and last_on_page
            and first_on_page
            and continues(previous, part, heights[part.page], caption is not None, settings)
        ):
            earlier = tables[-1]
            if rows and earlier.rows and rows[0] == earlier.rows[0]:
                rows = rows[1:]  # the header row repeated on the new page
            tables[-1] = Table(earlier.page, earlier.bbox, earlier.caption, earlier.rows + tuple(rows))
        elif rows:
            tables.append(Table(part.page, part.bbox, caption, tuple(rows)))
        previous = part
    return tables


class _NoTextLayer(Exception):
    """No page of the PDF has text: a scan, for OCR to read."""


def read_pdf(path: str, data: bytes, settings: ReadSettings) -> PdfContent:
    """The PDF's passages and tables; a PDF without a text layer is read by
    OCR (`settings.ocr` "auto") or refused as image_only ("off")."""
    try:
        return _read_text_layer(path, data, settings)
    except _NoTextLayer:
        if settings.ocr == "off":
            raise DocumentError(
                "image_only", path,
                "the PDF has no text layer (scanned pages or pictures of text) and OCR is off (ocr: off); "
                "OCR is needed: set ocr: auto, or run ocrmypdf on it before reading",
            ) from None
    ocr_data, engine = ocr_pdf(path, data, settings)
    try:
        content = _read_text_layer(path, ocr_data, settings, ocr=True)
    except _NoTextLayer:
        raise DocumentError(
            "no_text", path,
            f"the PDF has no text layer and OCR ({engine}) found no text on its pages (blank pages, or pictures "
            "without words); check that the scan holds the paper",
        ) from None
    passages = tuple(replace(p, text=repair_signs(p.text)) for p in content.passages)
    tables = tuple(replace(t, rows=tuple(tuple(repair_signs(c) for c in row) for row in t.rows)) for t in content.tables)
    return replace(
        content, passages=passages, tables=tables, ocr=engine,
        warnings=(f"no text layer: read by OCR ({engine})",) + content.warnings,
    )


def _read_text_layer(path: str, data: bytes, settings: ReadSettings, ocr: bool = False) -> PdfContent:
    """The PDF's content from its text layer; `ocr`: the layer is OCR's, over page pictures."""
    warnings: list[str] = []
    scan = pypdfium2.PdfDocument(data) if ocr else None  # rules are looked for in the pictures
    pdf = _open(data, path)
    # before `with`: closing a pdfplumber PDF first builds every page (seconds for thousands)
    _check_page_count(_declared_pages(pdf), path, settings)
    with pdf:
        try:
            n_pages = len(pdf.pages)
        except Exception as err:  # a broken page tree surfaces here
            kind = "truncated" if _truncated(data) else "unreadable"
            raise DocumentError(kind, path, f"the PDF's page list cannot be read ({err!r})") from err
        _check_page_count(n_pages, path, settings)
        glyph_map = load_glyph_map(settings.glyph_map or DEFAULT_GLYPH_MAP)
        pages: list[_Page] = []
        for page in pdf.pages:
            _check_content_size(page, path, settings)
            try:
                scanned = scan_rules(scan, page.page_number - 1) if scan is not None else None
                pages.append(_read_page(page, settings, glyph_map, scanned))
            except Exception as err:  # pdfminer raises many kinds on damaged content
                if _out_of_memory(err):
                    raise MemoryError(f"page {page.page_number}") from err  # the whole paper fails, not one page
                warnings.append(f"page {page.page_number} could not be read ({type(err).__name__}); it is left out")
    if not pages:
        kind = "truncated" if _truncated(data) else "unreadable"
        raise DocumentError(kind, path, "no page of the PDF could be read; download or export it again")
    if not any(page.rows or page.tables for page in pages):
        if any(page.rotated_chars for page in pages):
            raise DocumentError(
                "unreadable", path, "all its text is set sideways (rotated), which this reader leaves out; "
                "rotate the pages upright and save a copy",
            )
        raise _NoTextLayer()
    for page in pages:
        if not page.rows and not page.tables:
            what = "only pictures (OCR is needed for its content)" if page.had_images else "no text"
            warnings.append(f"page {page.number} has {what}")
        if page.rotated_chars:
            warnings.append(f"page {page.number}: {page.rotated_chars} characters of rotated text left out")
        for source, count in sorted(Counter(source for _, _, source in page.reread).items()):
            warnings.append(f"page {page.number}: {count} symbol-font glyphs re-read by the {source} entry")
        unmapped = sum(len(_UNMAPPED_GLYPH.findall(line.text)) for line in page.rows)
        if unmapped:
            warnings.append(
                f"page {page.number}: {unmapped} glyphs have no Unicode mapping in the PDF and read as (cid:N)"
            )
    return _assemble(pages, n_pages, warnings, settings)


def _assemble(pages: list[_Page], n_pages: int, warnings: list[str], settings: ReadSettings) -> PdfContent:
    running = running_rows([(p.height, p.rows, p.rules) for p in pages], settings)
    for place, kind in watermark_rows([(p.height, p.rows) for p in pages], settings).items():
        running.setdefault(place, kind)
    removed = [_line_passage(line, "letter_spaced") for page in pages for line in page.letter_spaced]
    stream: list[Line] = []
    parts: list[TablePart] = []
    for page_index, page in enumerate(pages):
        kept = []
        for line_index, line in enumerate(page.rows):
            kind = running.get((page_index, line_index))
            if kind:
                removed.append(_line_passage(line, kind))
            else:
                kept.append(line)
        obstacles = tuple(Obstacle(part.bbox, len(part.rows)) for part in page.tables)
        ordered = mark_footnotes(order_lines(kept, settings, obstacles), page.rules, page.height, settings)
        ordered, aligned = aligned_blocks(ordered, settings)
        stream.extend(ordered)
        parts.extend(sorted(page.tables + aligned, key=lambda part: part.bbox[1]))
    vocabulary = _vocabulary(stream, parts)
    areas = [TableArea(part.page, part.bbox) for part in parts]
    passages, references = build_passages(stream, areas, vocabulary, settings)
    body_size = text_style(stream, settings).body_size
    tables = _tables(parts, {p.number: p.height for p in pages}, passages, vocabulary, settings, body_size)
    reread = tuple(place for page in pages for place in page.reread)
    return PdfContent(n_pages, tuple(passages), tuple(tables), tuple(removed + references), tuple(warnings), reread=reread)

