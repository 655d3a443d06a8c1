"""Text on a page that is not the paper's text, found by its geometry.

- Letter-spaced runs: four or more single letters in a row, each set apart as
  a word ("T h e  n e w  e n g l a n d", "A R T I C L E  I N F O"), as
  running heads and box titles are; also the letters of a figure's axis set
  one per bar. They hold no number and would split sentences or read as
  words; they go to `Document.removed` as "letter_spaced".
- Watermarks: a line printed at the same place on most pages outside the
  header and footer bands ("Downloaded from ... on <date>", a preprint
  banner), digits ignored, among text that differs from page to page;
  removed as "watermark".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from .pdf_layout import Line
from .settings import ReadSettings


def _single_letter(text: str) -> bool:
    return len(text) == 1 and text.isalpha()


def split_letter_spaced(line: Line, settings: ReadSettings) -> tuple[Line | None, list[Line]]:
    """(the line without its letter-spaced runs or None when nothing is left, the runs as lines)."""
    words = line.words
    runs: list[tuple[int, int]] = []
    start = None
    for index, word in enumerate(words + (None,)):
        if word is not None and _single_letter(word.text):
            start = index if start is None else start
            continue
        if start is not None and index - start >= settings.letter_spaced_min_letters:
            runs.append((start, index))
        start = None
    if not runs:
        return line, []
    dropped = {i for a, b in runs for i in range(a, b)}
    kept = tuple(w for i, w in enumerate(words) if i not in dropped)
    pieces = [replace(line, words=words[a:b]) for a, b in runs]
    return (replace(line, words=kept) if kept else None), pieces


def _place_key(line: Line) -> tuple[str, int, int]:
    text = "".join("#" if ch.isdigit() else ch for ch in " ".join(line.text.lower().split()))
    return text, round(line.x0 / 2), round(line.top / 2)  # the same place to within about 2 points


def watermark_rows(pages: list[tuple[float, list[Line]]], settings: ReadSettings) -> dict[tuple[int, int], str]:
    """{(page index, line index): "watermark"} for lines repeated at one place
    on at least `watermark_page_share` of the pages (and `running_min_pages`),
    outside the header and footer bands (running_rows looks there)."""
    needed = max(settings.running_min_pages, settings.watermark_page_share * len(pages))
    places: dict[tuple[str, int, int], list[tuple[int, int]]] = defaultdict(list)
    for page_index, (height, lines) in enumerate(pages):
        for line_index, line in enumerate(lines):
            in_bands = line.bottom <= settings.header_band * height or line.top >= (1 - settings.footer_band) * height
            if not in_bands:
                places[_place_key(line)].append((page_index, line_index))
    repeated = [place for found in places.values() if len({page for page, _ in found}) >= needed for place in found]
    # a watermark is a line or two among a page's own text; pages that repeat
    # most of their lines are copies (a form, a test page), not watermarked
    per_page = defaultdict(int)
    for page_index, _ in repeated:
        per_page[page_index] += 1
    return {
        (page_index, line_index): "watermark"
        for page_index, line_index in repeated
        if per_page[page_index] < 0.5 * len(pages[page_index][1])
    }
