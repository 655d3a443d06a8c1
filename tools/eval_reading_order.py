#!/usr/bin/env python3
"""How well `read_document` reads the typeset PDFs, against their expected text.

For each PDF in the given folders whose expected text exists in
`--expected` (``<stem>.expected.txt``; ``002_x.single.pdf`` -> ``002_x``), the
reader's output is laid out as expected/ does it: passages in reading order,
each table as tab-separated rows after its caption. The reference list is
kept in place for this (`drop_references=False`): its removal is a separate,
tested feature and expected/ includes it.

Per paper it reports
- found: the share of expected lines the reader produced exactly
  (whitespace collapsed; carets of superscripts removed, as expected/ writes
  ``10^6`` as ``106``), and the same ignoring all whitespace ("found_nows");
- order: longest common subsequence of the two line sequences / expected
  lines; "text_order" the same without table rows and captions (whose
  place depends on float placement, see below); and difflib's ratio on the
  word sequences ("words");
- mixed: PDF text lines (spans) made of two pieces of expected text that
  are not adjacent there, i.e. lines that mix columns; must be 0. For
  comparison, the same count for plain `page.extract_text()` lines.

Floats (tables, figure captions) sit at the top of the page after their
mention in the PDFs but at their place in the source text in expected/,
which costs the order figures a little; manifest.json lists what the
typesetting added or dropped.

Usage: python tools/eval_reading_order.py [PDF_DIR ...] [--expected DIR]
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections import Counter
from pathlib import Path

import pdfplumber

from trialmeta.extract.reading import Document, ReadSettings, read_document

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT.parent / "shared" / "papers"


def normalise(text: str) -> str:
    return " ".join(text.replace("^", "").split())


def expected_lines(path: Path) -> list[str]:
    return [normalise(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _table_position(document: Document, table_index: int) -> int:
    """Index of the passage the table goes before: after its caption, else
    before the first passage below it on its page, else after its page."""
    table = document.tables[table_index]
    passages = document.passages
    if table.caption:
        for index, passage in enumerate(passages):
            if passage.text == table.caption:
                return index + 1
    after_page = len(passages)
    for index, passage in enumerate(passages):
        span = passage.spans[0]
        if span.page is None or table.page is None or table.bbox is None:
            continue
        if span.page == table.page and span.bbox[1] >= table.bbox[1] and span.bbox[0] < table.bbox[2] and span.bbox[2] > table.bbox[0]:
            return index
        if span.page > table.page:
            return min(after_page, index)
    return after_page


def float_lines(document: Document) -> set[str]:
    """Table rows and captions: where they stand depends on float placement."""
    lines = {normalise("\t".join(row)) for table in document.tables for row in table.rows}
    return lines | {normalise(p.text) for p in document.passages if p.kind == "caption"}


def reader_lines(document: Document) -> list[str]:
    inserts: dict[int, list[str]] = {}
    for index, table in enumerate(document.tables):
        rows = ["\t".join(row) for row in table.rows]
        inserts.setdefault(_table_position(document, index), []).extend(rows)
    lines = []
    for index, passage in enumerate(document.passages):
        lines.extend(inserts.get(index, []))
        lines.append(passage.text)
    lines.extend(inserts.get(len(document.passages), []))
    return [normalise(line) for line in lines]


def lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def found_share(expected: list[str], produced: list[str], key=lambda s: s) -> float:
    available = Counter(key(line) for line in produced)
    found = 0
    for line in expected:
        if available[key(line)] > 0:
            available[key(line)] -= 1
            found += 1
    return found / len(expected) if expected else 1.0


def _without_spaces(text: str) -> str:
    return re.sub(r"\s+", "", text)


def mixed_lines(pieces: list[str], expected_text: str) -> int:
    """Lines not found in the expected text that split into two pieces found
    there (each of two words or more) but not next to each other."""
    mixed = 0
    for piece in pieces:
        words = piece.split()
        if len(words) < 4 or piece in expected_text:
            continue
        for cut in range(2, len(words) - 1):
            left, right = " ".join(words[:cut]), " ".join(words[cut:])
            if left in expected_text and right in expected_text:
                mixed += 1
                break
    return mixed


def span_texts(document: Document) -> list[str]:
    pieces = []
    for passage in document.passages:
        for span in passage.spans:
            pieces.append(normalise(passage.text[span.start : span.end]).rstrip("-"))
    return pieces


def plain_extraction_lines(pdf_path: Path) -> list[str]:
    with pdfplumber.open(pdf_path) as pdf:
        return [normalise(line).rstrip("-") for page in pdf.pages for line in (page.extract_text() or "").splitlines()]


def evaluate(pdf_path: Path, expected_path: Path) -> dict:
    document = read_document(pdf_path, ReadSettings(drop_references=False))
    expected = expected_lines(expected_path)
    produced = reader_lines(document)
    expected_text = " ".join(expected)
    words_expected = expected_text.split()
    words_produced = " ".join(produced).split()
    baseline = plain_extraction_lines(pdf_path)
    floats = float_lines(document)
    text_expected = [line for line in expected if line not in floats]
    text_produced = [line for line in produced if line not in floats]
    return {
        "paper": pdf_path.name,
        "expected_lines": len(expected),
        "found": found_share(expected, produced),
        "found_nows": found_share(expected, produced, key=_without_spaces),
        "order": lcs_length(expected, produced) / len(expected),
        "text_order": lcs_length(text_expected, text_produced) / len(text_expected),
        "words": difflib.SequenceMatcher(None, words_expected, words_produced, autojunk=False).ratio(),
        "mixed": mixed_lines(span_texts(document), expected_text),
        "lines": len(span_texts(document)),
        "baseline_mixed": mixed_lines(baseline, expected_text),
        "baseline_lines": len(baseline),
        "missing": [line for line in expected if line not in set(produced)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdf_dirs", nargs="*", type=Path, default=[PAPERS / "pdf", PAPERS / "pdf-alt"])
    parser.add_argument("--expected", type=Path, default=PAPERS / "expected")
    parser.add_argument("--show-missing", action="store_true", help="list the expected lines not produced")
    args = parser.parse_args(argv)
    results = []
    for folder in args.pdf_dirs:
        for pdf_path in sorted(folder.glob("*.pdf")):
            expected_path = args.expected / f"{pdf_path.name.split('.')[0]}.expected.txt"
            if expected_path.exists():
                results.append(evaluate(pdf_path, expected_path))
    if not results:
        print(f"no PDF with expected text found in {', '.join(map(str, args.pdf_dirs))}", file=sys.stderr)
        return 1
    header = (
        f"{'paper':<36} {'lines':>5} {'found':>6} {'found_nows':>10} {'order':>6} {'text_order':>10} {'words':>6} "
        f"{'mixed':>9} {'plain mixed':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['paper']:<36} {r['expected_lines']:>5} {r['found']:>6.3f} {r['found_nows']:>10.3f} {r['order']:>6.3f} "
            f"{r['text_order']:>10.3f} {r['words']:>6.3f} {r['mixed']:>4}/{r['lines']:<4} "
            f"{r['baseline_mixed']:>6}/{r['baseline_lines']:<5}"
        )
        if args.show_missing:
            for line in r["missing"]:
                print(f"    missing: {line[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
