"""Read a paper (PDF, plain text or Markdown) into passages with provenance.

`read_document(path)` returns a `Document`: passages in reading order (what
the extraction searches), tables, and what was removed (running headers and
footers, page numbers, the reference list), or raises `DocumentError` with a
message naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .model import Document, DocumentError, Passage, Span, Table
from .pdf_reader import read_pdf
from .plain import decode, read_plain
from .references import split_references
from .settings import ReadSettings

__all__ = ["Document", "DocumentError", "Passage", "ReadSettings", "Span", "Table", "read_document"]

_MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown"}


_TEXT_SUFFIXES = {".txt"} | _MARKDOWN_SUFFIXES


def _is_pdf(data: bytes, suffix: str) -> bool:
    """The file's kind follows its name and its first bytes: a .txt or .md
    file is text even when its first kilobyte quotes "%PDF-" (a paper about
    file formats, a pasted header), unless it starts as a PDF does; other
    names are PDFs when the header is in the first kilobyte (the format
    allows a little junk before it)."""
    if suffix in _TEXT_SUFFIXES:
        return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-")
    return b"%PDF-" in data[:1024]


def _not_pdf_message(data: bytes) -> str:
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "is an HTML page, not a PDF (a download that returned a web page?); fetch the PDF itself"
    return f"is not a PDF (it does not start with %PDF-; first bytes {data[:8]!r})"


def read_document(path: str | os.PathLike, settings: ReadSettings = ReadSettings()) -> Document:
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as err:
        raise DocumentError("unreadable", name, f"cannot be opened ({err.strerror or err})") from err
    if not data:
        raise DocumentError("empty", name, "is empty (0 bytes); download or export it again")
    sha256 = hashlib.sha256(data).hexdigest()
    suffix = Path(name).suffix.lower()
    if _is_pdf(data, suffix):
        content = read_pdf(name, data, settings)
        return Document(
            path=name, sha256=sha256, kind="pdf", n_pages=content.n_pages, passages=content.passages,
            tables=content.tables, removed=content.removed, warnings=content.warnings, ocr=content.ocr,
            reread=content.reread,
        )
    if suffix == ".pdf":
        raise DocumentError("not_pdf", name, _not_pdf_message(data))
    markdown = suffix in _MARKDOWN_SUFFIXES
    passages, tables = read_plain(decode(data, name, settings), markdown, settings)
    removed: list[Passage] = []
    if settings.drop_references:
        kept, removed = split_references(list(passages))
        passages = tuple(kept)
    return Document(
        path=name, sha256=sha256, kind="markdown" if markdown else "text", n_pages=None, passages=passages,
        tables=tables, removed=tuple(removed), warnings=(),
    )
