"""Labels of structured-abstract boxes set beside the text, not in it.

Some journals print an abstract's section labels (BACKGROUND, METHODS,
RESULTS) in a narrow strip left of the text, level with a line of it. A row
then holds the label and that line, and the label would be read into the
sentence around it. A label is found by its geometry: up to three bold or
capitalised words without digits at the start of a row, a gap of at least
`side_label_gap_ratio` font sizes after them, and the rest of the row starting
where at least `min_column_rows` rows of the page start, and no row of
plain text starting where the label does (so a heading of a left column,
level with a line of the right one, is not a label).
The label becomes a line of its own, read as a heading (a section label).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .pdf_layout import Line
from .settings import ReadSettings

_MAX_LABEL_WORDS = 3


def _label_word(text: str, bold: bool) -> bool:
    letters = text.rstrip(":.")
    return bool(letters) and letters.replace("-", "").isalpha() and (bold or letters.isupper())


def _text_edges(rows: list[Line]) -> Counter:
    return Counter(round(row.x0) for row in rows)


def _near(edges: Counter, x: float) -> int:
    """How many rows start within a point of `x`."""
    return sum(n for edge, n in edges.items() if abs(edge - x) <= 1)


def split_side_labels(rows: list[Line], settings: ReadSettings) -> list[Line]:
    """`rows` with each side label cut off into a line of its own (marked `label`)."""
    if len(rows) < settings.min_column_rows:
        return rows
    edges = _text_edges(rows)
    # where rows of plain text start: a label stands left of the text, where no such row starts
    plain = _text_edges([row for row in rows if not _label_word(row.words[0].text, row.words[0].bold)])
    out: list[Line] = []
    for row in rows:
        cut = _label_end(row, edges, settings) if not _near(plain, row.x0) else None
        if cut is None:
            out.append(row)
            continue
        out.append(replace(row, words=row.words[:cut], label=True))
        out.append(replace(row, words=row.words[cut:]))
    return out


def _label_end(row: Line, edges: Counter, settings: ReadSettings) -> int | None:
    words = row.words
    for cut in range(1, min(_MAX_LABEL_WORDS, len(words) - settings.column_min_words) + 1):
        if not _label_word(words[cut - 1].text, words[cut - 1].bold):
            return None
        gap = words[cut].x0 - words[cut - 1].x1
        if gap < settings.side_label_gap_ratio * row.size:
            continue
        start = round(words[cut].x0)
        # the rest starts where other rows start (the text's left edge), within a point
        return cut if _near(edges, start) >= settings.min_column_rows else None
    return None
