"""See what the reader sees: a paper's text in reading order, block by block.

    python -m trialmeta.extract.reading FILE            # text with page and block boundaries
    python -m trialmeta.extract.reading FILE --json     # blocks, boxes, tables, removed text, fonts

A block is one passage (paragraph, heading, caption): the unit the extractor
splits into sentences, so a value is only ever read together with the text of
its own block. Text the reader left out (running heads, page numbers,
watermarks, letter-spaced runs, the reference list) is listed at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict

from . import DocumentError, read_document
from .model import Document
from .settings import OCR_MODES, ReadSettings


def _page_range(spans) -> str:
    pages = sorted({s.page for s in spans if s.page is not None})
    lines = sorted({s.line for s in spans if s.line is not None})
    if pages:
        return f"page {pages[0]}" + (f"-{pages[-1]}" if len(pages) > 1 else "")
    return f"line {lines[0]}" + (f"-{lines[-1]}" if len(lines) > 1 else "") if lines else ""


def render_text(document: Document) -> str:
    out = [f"# {document.path}: {document.kind}" + (f", {document.n_pages} pages" if document.n_pages else "")]
    if document.ocr:
        out.append(f"# no text layer: read by OCR ({document.ocr}); values from it are flagged ocr")
    out += [f"# warning: {w}" for w in document.warnings]
    page = None
    for number, passage in enumerate(document.passages, start=1):
        first = passage.spans[0].page if passage.spans else None
        if first is not None and first != page:
            page = first
            out.append(f"\n======== page {page} ========")
        out.append(f"--- block {number}: {passage.kind}, {_page_range(passage.spans)} ---")
        start = 0
        for span in passage.spans:  # a paragraph running on to the next page shows where it turns
            if span.page is not None and span.page != page:
                out.append(passage.text[start:span.start].rstrip())
                out.append(f"======== page {span.page} (block {number} goes on) ========")
                page, start = span.page, span.start
        out.append(passage.text[start:])
    for number, table in enumerate(document.tables, start=1):
        where = f", page {table.page}" if table.page else ""
        out.append(f"\n======== table {number}{where}: {table.caption or 'no caption'} ========")
        out += [" | ".join(row) for row in table.rows]
    if document.removed:
        out.append("\n======== left out (not searched) ========")
        out += [f"[{p.kind}, {_page_range(p.spans)}] {p.text}" for p in document.removed]
    return "\n".join(out) + "\n"


def _fonts(path: str) -> list[dict]:
    """Per page and font: characters drawn, whether the PDF maps the font to
    Unicode, the glyph map entry that applies, and the signs it read (where
    a symbol font's wrong characters show)."""
    import pdfplumber

    from .pdf_fonts import fonts_of, base_font_name, load_glyph_map

    glyph_map = load_glyph_map()
    rows = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            counts: dict[str, Counter] = defaultdict(Counter)
            for char in page.chars:
                counts[char["fontname"]][char["text"]] += 1
            mapped = {}
            for objid, spec in fonts_of(page.page_obj.resources, set()):
                try:
                    font = pdf.rsrcmgr.get_font(objid, spec)
                except Exception:  # a damaged font dict: listed without its mapping
                    continue
                mapped[font.fontname] = font.unicode_map is not None
            for name, seen in sorted(counts.items()):
                entry = glyph_map.get(base_font_name(name))
                rows.append({
                    "page": page.page_number, "font": name, "tounicode": mapped.get(name), "chars": sum(seen.values()),
                    "glyph_map": entry.font if entry else None,
                    "signs": "".join(sorted(ch for ch in seen if len(ch) == 1 and not ch.isalnum() and not ch.isspace())),
                })
    return rows


def render_json(document: Document) -> str:
    def spans(passage):
        return [{"start": s.start, "end": s.end, "page": s.page, "line": s.line, "bbox": s.bbox} for s in passage.spans]

    data = {
        "file": document.path, "kind": document.kind, "n_pages": document.n_pages, "sha256": document.sha256,
        "ocr": document.ocr, "warnings": list(document.warnings),
        "blocks": [{"block": i, "kind": p.kind, "text": p.text, "spans": spans(p)} for i, p in enumerate(document.passages, 1)],
        "tables": [{"page": t.page, "bbox": t.bbox, "caption": t.caption, "rows": [list(r) for r in t.rows]} for t in document.tables],
        "removed": [{"kind": p.kind, "text": p.text, "spans": spans(p)} for p in document.removed],
        "glyph_map_rereads": [{"page": page, "bbox": box, "entry": source} for page, box, source in document.reread],
        "fonts": _fonts(document.path) if document.kind == "pdf" and not document.ocr else [],
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trialmeta.extract.reading", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="a paper: .pdf, .txt or .md")
    parser.add_argument("--json", action="store_true", help="blocks with bounding boxes, tables, removed text and fonts as JSON")
    parser.add_argument("--ocr", choices=OCR_MODES, default="auto", help="a PDF without a text layer: read by OCR (auto) or refuse (off)")
    parser.add_argument("--ocr-language", default="eng", help="Tesseract language code(s), e.g. eng or eng+deu")
    args = parser.parse_args(argv)
    try:
        document = read_document(args.file, ReadSettings(ocr=args.ocr, ocr_language=args.ocr_language))
    except DocumentError as err:
        print(f"cannot read ({err.kind}): {err}", file=sys.stderr)
        return 1
    sys.stdout.write(render_json(document) if args.json else render_text(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
