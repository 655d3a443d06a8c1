"""Read a .txt or .md file: decode it strictly, then blank-line separated
paragraphs become passages, Markdown headings become headings, and pipe
tables or blocks of tab-separated rows become tables (page None)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import DocumentError, Passage, Span, Table
from .settings import ReadSettings
from .text_rules import (
    Vocabulary,
    collapse_spaces,
    drop_soft_hyphens,
    line_joint,
    normalise_chars,
    restore_unicode_superscripts,
    vocabulary_of_lines,
)

_ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_PIPE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s{0,3}([-*+]|\d{1,3}[.)])\s+")
_CAPTION = re.compile(r"^(supplementary\s+|supplemental\s+)?(table|fig\.?|figure)\s*S?\d+", re.IGNORECASE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]*)[^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1|(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_MD_CODE = re.compile(r"`([^`]*)`")
# C0 control characters other than tab, newline, carriage return and form feed
_CONTROL = re.compile(rb"[\x01-\x08\x0b\x0e-\x1f]")


def decode(data: bytes, path: str, settings: ReadSettings) -> str:
    """UTF-8 text (a byte-order mark is dropped), or a DocumentError."""
    if b"\x00" in data:
        offset = data.index(b"\x00")
        raise DocumentError("binary", path, f"holds binary data (a NUL byte at offset {offset}), not text")
    if len(_CONTROL.findall(data[:65536])) > settings.binary_control_bytes:
        raise DocumentError("binary", path, "holds binary data (control bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DocumentError(
            "not_utf8", path,
            f"is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); re-save it as UTF-8",
        ) from err
    return text.lstrip("\ufeff")


@dataclass(frozen=True)
class _Block:
    kind: str  # "paragraph" | "heading" | "table"
    lines: tuple[tuple[int, str], ...]  # (1-based line number, text)


def _clean_markdown(text: str) -> str:
    text = _MD_LINK.sub(lambda m: m.group(1) or m.group(2), text)
    text = _MD_CODE.sub(r"\1", text)
    return _MD_EMPHASIS.sub(lambda m: m.group(2) or m.group(3), text)


def _blocks(lines: list[str], markdown: bool) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[tuple[int, str]] = []

    def close() -> None:
        if current:
            blocks.extend(_split_tables(tuple(current), markdown))
            current.clear()

    fenced = False  # inside a ``` block: text as it is, no Markdown structure
    for number, line in enumerate(lines, start=1):
        if markdown and line.lstrip().startswith(("```", "~~~")):
            close()
            fenced = not fenced
            continue
        if not line.strip():
            close()
            continue
        if markdown and not fenced:
            heading = _ATX_HEADING.match(line)
            if heading:
                close()
                blocks.append(_Block("heading", ((number, heading.group(2)),)))
                continue
            if _SETEXT_UNDERLINE.match(line) and len(current) == 1 and "|" not in current[0][1]:
                blocks.append(_Block("heading", tuple(current)))
                current.clear()
                continue
            if _LIST_ITEM.match(line) and current:
                close()  # each list item is its own passage
        current.append((number, line))
    close()
    return blocks


def _split_tables(block: tuple[tuple[int, str], ...], markdown: bool) -> list[_Block]:
    """Runs of two or more tab-separated rows (or a Markdown pipe table) are
    tables; the rest of the block stays a paragraph."""

    def is_row(text: str) -> bool:
        return "\t" in text.strip("\n") or (markdown and text.strip().startswith("|") and text.count("|") >= 2)

    pieces: list[_Block] = []
    run: list[tuple[int, str]] = []
    kind_of_run = None
    for number, text in block:
        kind = "table" if is_row(text) else "paragraph"
        if run and kind != kind_of_run:
            pieces.append(_Block(kind_of_run, tuple(run)))
            run = []
        run.append((number, text))
        kind_of_run = kind
    if run:
        pieces.append(_Block(kind_of_run, tuple(run)))
    merged: list[_Block] = []
    for piece in pieces:  # a single tabbed line is text, not a table
        if piece.kind == "table" and len(piece.lines) < 2:
            piece = _Block("paragraph", piece.lines)
        if merged and merged[-1].kind == piece.kind == "paragraph":
            piece = _Block("paragraph", merged.pop().lines + piece.lines)
        merged.append(piece)
    return merged


def _clean(text: str, markdown: bool) -> str:
    text = restore_unicode_superscripts(normalise_chars(drop_soft_hyphens(text.rstrip())))
    return _clean_markdown(text) if markdown else text


def _row_cells(text: str, markdown: bool) -> tuple[str, ...]:
    if markdown and text.strip().startswith("|"):
        inner = text.strip().strip("|")
        cells = re.split(r"(?<!\\)\|", inner)
    else:
        cells = text.rstrip("\n").split("\t")
    return tuple(collapse_spaces(_clean(cell, markdown)) for cell in cells)


def _table(block: _Block, caption: str | None, markdown: bool) -> Table:
    rows = [_row_cells(text, markdown) for _, text in block.lines if not _PIPE_SEPARATOR.match(text)]
    return Table(page=None, bbox=None, caption=caption, rows=tuple(rows))


def _passage(block: _Block, kind: str, markdown: bool, vocabulary: Vocabulary) -> Passage:
    text = ""
    spans = []
    for number, raw in block.lines:
        piece = collapse_spaces(_clean(raw, markdown))
        if not piece:
            continue
        if text:
            drop, separator = line_joint(text, piece, vocabulary)
            if drop:
                text = text[:-drop]
                last = spans[-1]
                spans[-1] = Span(last.start, min(last.end, len(text)), None, last.line, None)
            text += separator
        start = len(text)
        text += piece
        spans.append(Span(start, len(text), None, number, None))
    return Passage(text, kind, tuple(spans))


def _paragraph_kind(passage: Passage, settings: ReadSettings) -> str:
    """Plain text has no fonts: a paragraph is a caption when it starts with a
    table or figure label, a heading when it is one short line without final
    punctuation, else body text."""
    if _CAPTION.match(passage.text):
        return "caption"
    text = passage.text
    short = len(text) <= settings.text_heading_max_chars and len(text.split()) <= settings.text_heading_max_words
    if len(passage.spans) == 1 and short and text[-1:] not in ".,;:!?)" and text[:1].isupper():
        return "heading"
    return "body"


def read_plain(text: str, markdown: bool, settings: ReadSettings) -> tuple[tuple[Passage, ...], tuple[Table, ...]]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks = _blocks(lines, markdown)
    vocabulary = vocabulary_of_lines(text.split() for block in blocks for _, text in block.lines)
    passages: list[Passage] = []
    tables: list[Table] = []
    for block in blocks:
        if block.kind == "table":
            previous = passages[-1] if passages else None
            caption = previous.text if previous is not None and previous.kind == "caption" else None
            table = _table(block, caption, markdown)
            if table.rows:
                tables.append(table)
            continue
        passage = _passage(block, "heading", markdown, vocabulary)
        if not passage.text:
            continue
        if block.kind == "paragraph":
            passage = Passage(passage.text, _paragraph_kind(passage, settings), passage.spans)
        passages.append(passage)
    return tuple(passages), tuple(tables)
