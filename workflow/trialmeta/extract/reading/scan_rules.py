"""Rules drawn in a scanned page's picture, for the table finder.

A typeset PDF draws its table rules as vector lines, which pdfplumber sees; in
a scan they are pixels, and OCR gives only the words. Without the rules a
ruled table reads as loose lines of text (a per-patient table loses rows).
Here the page (the scan under OCR's invisible text) is rendered small, and
long straight runs of dark pixels become horizontal and vertical lines in PDF
points: letters are far shorter than `min_length` in either direction.
"""

from __future__ import annotations

import numpy as np
import pypdfium2

# Rendering resolution for finding rules: a 0.5 pt rule is one dark pixel or two.
_DPI = 150
# Pixels darker than this (0 black, 255 white) are ink.
_INK = 200
# A run of ink at least this long (points) is a rule, not a letter's stroke.
_MIN_LENGTH = 20.0


def _runs(ink_line: np.ndarray, min_pixels: int) -> list[tuple[int, int]]:
    """(start, end) of runs of True at least `min_pixels` long."""
    padded = np.concatenate(([False], ink_line, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_pixels]


def _merge(found: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Runs on neighbouring pixel lines that overlap are one rule (a thick or anti-aliased line)."""
    merged: list[list[int]] = []
    for position, start, end in sorted(found):
        for rule in merged:
            if position - rule[0] <= 2 and start < rule[2] and end > rule[1]:
                rule[1], rule[2] = min(rule[1], start), max(rule[2], end)
                break
        else:
            merged.append([position, start, end])
    return [tuple(rule) for rule in merged]


def scan_rules(pdf_bytes_document: pypdfium2.PdfDocument, page_index: int) -> tuple[list[tuple[float, float, float]], list[tuple[float, float, float]]]:
    """(horizontal rules as (x0, y, x1), vertical rules as (x, top, bottom)) in PDF points, origin top-left."""
    bitmap = pdf_bytes_document[page_index].render(scale=_DPI / 72, grayscale=True)
    ink = np.asarray(bitmap.to_pil().convert("L")) < _INK
    step = 72 / _DPI
    min_pixels = int(_MIN_LENGTH / step)
    horizontal = _merge([(y, a, b) for y in range(ink.shape[0]) for a, b in _runs(ink[y], min_pixels)])
    vertical = _merge([(x, a, b) for x in range(ink.shape[1]) for a, b in _runs(ink[:, x], min_pixels)])
    return (
        [(round(a * step, 2), round((y + 0.5) * step, 2), round(b * step, 2)) for y, a, b in horizontal],
        [(round((x + 0.5) * step, 2), round(a * step, 2), round(b * step, 2)) for x, a, b in vertical],
    )
