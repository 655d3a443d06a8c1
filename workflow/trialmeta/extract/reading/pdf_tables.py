"""Tables of a PDF: ruled tables found by pdfplumber, tables ruled only
across (booktabs), lists of aligned rows, and tables continued on the next page.

Cell text is rebuilt from the page's glyphs with the same rules as passages
(superscripts, ligatures, line-end hyphens), plus two rules for narrow cells:
a line holding only a small number under a line ending in a base is a
wrapped exponent, and a word broken inside a full line continues without a
space when what follows is not a word of the document.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .model import BBox
from .pdf_glyphs import Glyph, Row, rows_from_glyphs, words_of_row
from .pdf_layout import Line, Rule
from .settings import ReadSettings
from .text_rules import (
    HYPHEN,
    Vocabulary,
    collapse_spaces,
    line_joint,
    superscript_notation,
)


@dataclass(frozen=True)
class TablePart:
    """A table, or the part of one on one page, before captions are matched."""

    page: int
    bbox: BBox
    column_edges: tuple[float, ...]  # left edges of the columns, for continuation
    rows: tuple[tuple[tuple[Line, ...], ...], ...]  # rows of cells, each cell its lines
    cell_boxes: tuple[tuple[BBox | None, ...], ...]


# --- ruled tables -------------------------------------------------------------


def has_ruling(page, settings: ReadSettings) -> bool:
    """Whether a page draws enough lines to hold a ruled table (finding tables
    is skipped on the others: it is the costly step)."""
    return len(page.lines) + len(page.rects) >= settings.ruling_min_edges


def ruled_table_boxes(page, settings: ReadSettings) -> list[tuple[BBox, tuple[tuple[BBox | None, ...], ...]]]:
    """(table box, cell boxes by row) of each ruled table on the page. A
    table at the top of a page may have fewer rows: it can continue one."""
    found = []
    for table in page.find_tables():
        cells = tuple(tuple(tuple(c) if c is not None else None for c in row.cells) for row in table.rows)
        n_columns = max((len(row) for row in cells), default=0)
        at_top = table.bbox[1] < settings.continued_table_top_ratio * page.height
        if (len(cells) >= settings.table_min_rows or at_top and cells) and n_columns >= settings.table_min_columns:
            found.append((tuple(table.bbox), cells))
    return found


def _inside(glyph: Glyph, box: BBox) -> bool:
    x = (glyph.x0 + glyph.x1) / 2
    y = (glyph.top + glyph.bottom) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def split_glyphs(glyphs: list[Glyph], boxes: list[BBox]) -> tuple[list[Glyph], list[Glyph]]:
    """(glyphs outside every table, glyphs inside one)."""
    outside, inside = [], []
    for glyph in glyphs:
        (inside if any(_inside(glyph, box) for box in boxes) else outside).append(glyph)
    return outside, inside


def _lines_of(glyphs: list[Glyph], page: int, settings: ReadSettings) -> tuple[Line, ...]:
    rows = rows_from_glyphs(glyphs, settings)
    return tuple(Line(page, tuple(words_of_row(row, settings)), row.size) for row in rows)


def ruled_table_part(
    page: int, bbox: BBox, cell_boxes: tuple[tuple[BBox | None, ...], ...], glyphs: list[Glyph], settings: ReadSettings
) -> TablePart:
    rows = []
    for row in cell_boxes:
        boxes = [box for box in row if box is not None]
        top, bottom = min(box[1] for box in boxes), max(box[3] for box in boxes)
        in_row = [g for g in glyphs if top <= (g.top + g.bottom) / 2 <= bottom]  # few cells to test per glyph
        rows.append(
            tuple(() if box is None else _lines_of([g for g in in_row if _inside(g, box)], page, settings) for box in row)
        )
    first_full_row = max(cell_boxes, key=lambda row: sum(box is not None for box in row))
    edges = tuple(round(box[0], 1) for box in first_full_row if box is not None)
    return TablePart(page, tuple(round(v, 2) for v in bbox), edges, tuple(rows), cell_boxes)


# --- tables ruled only across (booktabs) -------------------------------------------


def _same_extent(a: Rule, b: Rule, tolerance: float) -> bool:
    return abs(a.x0 - b.x0) <= tolerance and abs(a.x1 - b.x1) <= tolerance


def _pieces(row: Row, min_gap: float) -> list[tuple[float, float]]:
    """(x0, x1) of the runs of a row's glyphs split at gaps of at least `min_gap`."""
    pieces: list[list[float]] = []
    for glyph in row.glyphs:
        if glyph.text == " ":
            continue
        if pieces and glyph.x0 - pieces[-1][1] < min_gap:
            pieces[-1][1] = max(pieces[-1][1], glyph.x1)
        else:
            pieces.append([glyph.x0, glyph.x1])
    return [(x0, x1) for x0, x1 in pieces]


def _column_bounds(rows: list[Row], left: float, right: float, settings: ReadSettings) -> list[tuple[float, float]]:
    """(left, right) of each column, split at the vertical gutters that no line
    of two cells or more crosses. A line of one piece (a label spanning the
    columns, a wrapped cell) may cross them."""
    covered: list[tuple[float, float]] = []
    min_gap = 0.0
    for row in rows:
        gap = settings.rule_table_column_gap_ratio * row.size
        pieces = _pieces(row, gap)
        if len(pieces) > 1:
            covered.extend(pieces)
            min_gap = max(min_gap, gap)
    if not covered:
        return []
    merged: list[list[float]] = []
    for x0, x1 in sorted(covered):
        if merged and x0 - merged[-1][1] < min_gap:
            merged[-1][1] = max(merged[-1][1], x1)
        else:
            merged.append([x0, x1])
    # A cell ends where the next one's text starts, less the padding the first
    # column keeps from the table's edge, so that a line reaching its cell's
    # end can be told (a word broken there continues on the next line).
    padding = max(0.0, merged[0][0] - left)
    edges = [left] + [max(a[1], b[0] - padding) for a, b in zip(merged, merged[1:])] + [right]
    return list(zip(edges, edges[1:]))


def _copies(glyphs: list[Glyph]) -> list[Glyph]:
    # rows_from_glyphs marks scripts on the glyphs it is given; the cells are read again later
    return [replace(glyph) for glyph in glyphs]


def rule_table_boxes(
    rules: list[Rule], glyphs: list[Glyph], taken: list[BBox], settings: ReadSettings
) -> list[tuple[BBox, tuple[tuple[BBox | None, ...], ...]]]:
    """(table box, cell boxes by row) of each table drawn with horizontal rules
    only: a top rule, a rule under the header and a bottom rule of the same
    width (booktabs style), which pdfplumber's ruled-table finder cannot cut
    into cells. Rules inside `taken` (ruled tables) are left out.

    Columns are the strips between gutters no line of cells crosses (see
    `_column_bounds`); the header is one row, and in the body a line with
    text in the first column starts a row, other lines continue the row above
    (a cell wrapped onto a second line).
    """
    tolerance = settings.rule_extent_tolerance
    free = [
        rule for rule in sorted(rules, key=lambda r: (r.top, r.x0))
        if not any(box[0] - 1 <= (rule.x0 + rule.x1) / 2 <= box[2] + 1 and box[1] - 1 <= rule.top <= box[3] + 1 for box in taken)
    ]
    groups: list[list[Rule]] = []
    for rule in free:
        group = next((g for g in groups if _same_extent(g[0], rule, tolerance)), None)
        if group is None:
            groups.append([rule])
        elif rule.top - group[-1].top > tolerance:  # a rule drawn twice counts once
            group.append(rule)
    found = []
    for group in groups:
        index = 0
        while index + 2 < len(group):
            table = _rule_table(group[index : index + 3], glyphs, settings)
            if table is None:
                index += 1
                continue
            found.append(table)
            index += 3
    return found


def _rule_table(rules: list[Rule], glyphs: list[Glyph], settings: ReadSettings):
    top, middle, bottom = rules
    left, right = top.x0, top.x1

    def rows_between(upper: float, lower: float) -> list[Row]:
        inside = [g for g in glyphs if left <= (g.x0 + g.x1) / 2 <= right and upper < (g.top + g.bottom) / 2 < lower]
        return rows_from_glyphs(_copies(inside), settings)

    header, body = rows_between(top.top, middle.top), rows_between(middle.top, bottom.top)
    if not header or len(header) > settings.rule_table_max_header_lines or 1 + len(body) < settings.table_min_rows:
        return None
    columns = _column_bounds(header + body, left, right, settings)
    if len(columns) < settings.table_min_columns:
        return None
    first_left, first_right = columns[0]
    starts = [
        index for index, row in enumerate(body)
        if index == 0 or any(first_left <= (g.x0 + g.x1) / 2 < first_right for g in row.glyphs if g.text != " ")
    ]
    row_tops = [middle.top] + [min(g.top for g in body[index].glyphs) - 0.5 for index in starts[1:]] + [bottom.top]
    bands = [(top.top, middle.top)] + list(zip(row_tops, row_tops[1:]))
    cells = tuple(tuple((x0, upper, x1, lower) for x0, x1 in columns) for upper, lower in bands)
    return (left, top.top, right, bottom.top), cells


# --- lists of aligned rows (unruled) ---------------------------------------------


def _cells_of_line(line: Line, settings: ReadSettings) -> list[Line]:
    gap = settings.aligned_cell_gap_ratio * line.size
    cells = [[line.words[0]]]
    for before, after in zip(line.words, line.words[1:]):
        if after.x0 - before.x1 >= gap:
            cells.append([])
        cells[-1].append(after)
    return [Line(line.page, tuple(words), line.size, line.column) for words in cells]


def _aligned_starts(block: list[list[Line]], tolerance: float) -> list[float]:
    starts: list[float] = []
    for x in sorted(cell.x0 for cells in block for cell in cells):
        if not starts or x - starts[-1] > tolerance:
            starts.append(x)
    return starts


def _first_column_narrow(rows: list[list[Line]], settings: ReadSettings) -> bool:
    """Terms, labels or row names are short: a wide first column is rather a
    column of text (two columns side by side)."""
    left = min(cells[0].x0 for cells in rows)
    right = max(cells[-1].x1 for cells in rows)
    widths = sorted(cells[0].x1 - cells[0].x0 for cells in rows if len(cells) > 1)
    return widths[len(widths) // 2] <= settings.aligned_first_column_max_ratio * (right - left)


def aligned_blocks(lines: list[Line], settings: ReadSettings) -> tuple[list[Line], list[TablePart]]:
    """Take runs of rows split into cells at the same places (a list of terms
    and definitions, an unruled table) out of the lines of one page.

    A row must have two cells or more, the second starting where the previous
    row's second starts; a single-cell line starting there continues the
    previous row. Runs shorter than `aligned_min_rows` stay text.
    """
    kept: list[Line] = []
    parts: list[TablePart] = []
    block: list[tuple[Line, list[Line]]] = []

    def close() -> None:
        rows = [cells for _, cells in block]
        if sum(len(cells) > 1 for cells in rows) >= settings.aligned_min_rows and _first_column_narrow(rows, settings):
            parts.append(_aligned_part(rows, settings.aligned_start_tolerance))
        else:
            kept.extend(line for line, _ in block)
        block.clear()

    for line in lines:
        cells = _cells_of_line(line, settings)
        if block:
            previous = block[-1][0]
            second_start = next(c[1].x0 for _, c in reversed(block) if len(c) > 1)
            same_place = line.page == previous.page and line.column == previous.column
            lines_apart = line.top - previous.bottom
            tolerance = settings.aligned_start_tolerance
            if same_place and 0 <= lines_apart < line.size and (
                (len(cells) > 1 and abs(cells[1].x0 - second_start) <= tolerance)
                or (len(cells) == 1 and abs(cells[0].x0 - second_start) <= tolerance)
            ):
                block.append((line, cells))
                continue
            close()
        if len(cells) > 1:
            block.append((line, cells))
        else:
            kept.append(line)
    if block:
        close()
    return kept, parts


def _aligned_part(block: list[list[Line]], tolerance: float) -> TablePart:
    starts = _aligned_starts(block, tolerance)
    rows: list[list[list[Line]]] = []
    for cells in block:
        columns = [min(range(len(starts)), key=lambda i: abs(starts[i] - cell.x0)) for cell in cells]
        if len(cells) == 1 and rows:  # a wrapped cell continues the row above
            rows[-1][columns[0]].append(cells[0])
            continue
        row: list[list[Line]] = [[] for _ in starts]
        for column, cell in zip(columns, cells):
            row[column].append(cell)
        rows.append(row)
    lines = [cell for cells in block for cell in cells]
    bbox = (
        round(min(c.x0 for c in lines), 2),
        round(min(c.top for c in lines), 2),
        round(max(c.x1 for c in lines), 2),
        round(max(c.bottom for c in lines), 2),
    )
    frozen = tuple(tuple(tuple(cell) for cell in row) for row in rows)
    return TablePart(lines[0].page, bbox, tuple(round(s, 1) for s in starts), frozen, ())


# --- continuation and cell text ---------------------------------------------------


def continues(previous: TablePart, part: TablePart, page_height: float, has_caption: bool, settings: ReadSettings) -> bool:
    """Whether `part` (first on its page, near the top, without a caption)
    continues `previous` (last on the page before): same columns."""
    if has_caption or part.page != previous.page + 1 or part.bbox[1] > settings.continued_table_top_ratio * page_height:
        return False
    if len(part.column_edges) != len(previous.column_edges):
        return False
    tolerance = settings.table_continuation_tolerance
    return all(abs(a - b) <= tolerance for a, b in zip(part.column_edges, previous.column_edges))


def _fills(line: Line, following: Line, box: BBox | None, padding: float, settings: ReadSettings) -> bool:
    """Whether a cell line reaches the cell's right edge: the first letter of
    the line below (of average width) would not have fitted after it, so its
    last word may have been broken for lack of room."""
    if box is None:
        return False
    first = following.words[0]
    letter = (first.x1 - first.x0) / max(1, len(first.text))
    return line.x1 + letter >= box[2] - padding - settings.cell_fill_tolerance_ratio * line.size


def cell_text(lines: tuple[Line, ...], box: BBox | None, vocabulary: Vocabulary, settings: ReadSettings) -> str:
    if not lines:
        return ""
    padding = min(line.x0 for line in lines) - box[0] if box is not None else 0.0
    text = lines[0].text
    for previous, line in zip(lines, lines[1:]):
        piece = line.text
        small = line.size < settings.script_size_ratio * previous.size
        if small and len(piece) <= settings.wrapped_exponent_max_chars and piece.isalnum():
            text += superscript_notation(text, piece)  # an exponent wrapped onto its own line
            continue
        if (
            len(previous.words) == 1  # a word too long for the cell starts a line of its own
            and _fills(previous, line, box, padding, settings)
            and text[-1:].isalpha()
            and piece[:1].isalpha()
            and _broken_word(text, piece, vocabulary)
        ):
            text += piece
            continue
        drop, separator = line_joint(text, piece, vocabulary)
        text = text[: len(text) - drop] + separator + piece
    return collapse_spaces(text)


def _broken_word(text: str, piece: str, vocabulary: Vocabulary) -> bool:
    """A word broken without a hyphen: the joined form is a word of the
    document, or neither part is one on its own ("CRS" + "grade" are two
    words even when the document never writes "grade" elsewhere)."""
    left = text.split()[-1].split("/")[-1]
    right = piece.split()[0].rstrip(".,;:")
    if vocabulary.words[(left + right).lower()]:
        return True
    if vocabulary.words[left.lower()]:
        return False
    known = vocabulary.forms[right] or (HYPHEN in right and vocabulary.words[right.lower()])
    return not known


def table_rows(part: TablePart, vocabulary: Vocabulary, settings: ReadSettings) -> list[tuple[str, ...]]:
    rows = []
    for index, row in enumerate(part.rows):
        boxes = part.cell_boxes[index] if part.cell_boxes else (None,) * len(row)
        rows.append(tuple(cell_text(cell, box, vocabulary, settings) for cell, box in zip(row, boxes)))
    return [row for row in rows if any(row)]
