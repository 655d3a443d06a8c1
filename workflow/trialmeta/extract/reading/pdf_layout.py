"""Rows of a page -> lines in reading order.

Stages, each a pure function:
- `running_rows`: rows that are running headers, footers or page numbers
  (compared across pages, so it sees the whole document);
- `find_gutter`: the empty vertical strip between two columns, if any;
- `order_lines`: full-width lines (and tables drawn across the gutter) cut the
  page into bands, read top to bottom; within a band the left column, then
  the right one (recursively, for 3 columns);
- `mark_footnotes`: lines read after the main text (below a short rule at the
  foot of a column, or small print set apart at the foot of the page).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, replace

from .pdf_glyphs import Word
from .settings import ReadSettings


@dataclass(frozen=True)
class Rule:
    """A horizontal line drawn on the page."""

    x0: float
    top: float
    x1: float


@dataclass(frozen=True)
class Obstacle:
    """A table drawn on the page: its text is not in the lines, but it takes
    room in a column (or across the columns) all the same."""

    bbox: tuple[float, float, float, float]
    rows: int


@dataclass(frozen=True)
class Line:
    page: int
    words: tuple[Word, ...]
    size: float  # font size of the base text
    column: tuple[float, float] = (0.0, 0.0)  # left and right edge of the column the line is set in
    footnote: bool = False
    label: bool = False  # a structured abstract's section label set beside the text (pdf_labels)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (round(self.x0, 2), round(self.top, 2), round(self.x1, 2), round(self.bottom, 2))

    @property
    def bold(self) -> bool:
        return all(w.bold for w in self.words)

    @property
    def raised(self) -> bool:
        return any(w.raised for w in self.words)

# --- running headers, footers and page numbers ------------------------------

_PAGE_NUMBER = re.compile(r"^(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")


def _running_key(line: Line) -> str:
    return _DIGITS.sub("#", " ".join(line.text.lower().split()))


def running_rows(
    pages: list[tuple[float, list[Line], list[Rule]]], settings: ReadSettings
) -> dict[tuple[int, int], str]:
    """{(page index, line index): kind} for lines to remove.

    `pages` holds (page height, full-width rows as lines, rules) per page.
    Kinds: "page_number", "running_header", "running_footer".
    """
    band_rows: list[tuple[int, int, str]] = []  # (page index, line index, "header"|"footer")
    pages_with_key: dict[tuple[str, str], set[int]] = defaultdict(set)
    for page_index, (height, lines, _rules) in enumerate(pages):
        for line_index, line in enumerate(lines):
            if line.bottom <= settings.header_band * height:
                where = "header"
            elif line.top >= (1 - settings.footer_band) * height:
                where = "footer"
            else:
                continue
            band_rows.append((page_index, line_index, where))
            pages_with_key[(where, _running_key(line))].add(page_index)
    found = {}
    for page_index, line_index, where in band_rows:
        height, lines, rules = pages[page_index]
        line = lines[line_index]
        if _PAGE_NUMBER.match(line.text.strip()):
            found[(page_index, line_index)] = "page_number"
        elif len(pages_with_key[(where, _running_key(line))]) >= settings.running_min_pages:
            found[(page_index, line_index)] = f"running_{where}"
        elif where == "header" and _rule_below(line, rules, settings):
            found[(page_index, line_index)] = "running_header"
    found.update(_numbered_page_ends(pages, settings))
    return found


def _numbered_page_ends(pages: list[tuple[float, list[Line], list[Rule]]], settings: ReadSettings) -> dict:
    """Page numbers printed outside the bands: the first or last line of a
    page holding only a number that counts up with the pages (a number such
    as 12, 13, 14 on consecutive pages)."""
    by_offset: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for page_index, (_height, lines, _rules) in enumerate(pages):
        if not lines:
            continue
        for line_index in {0, len(lines) - 1}:
            text = lines[line_index].text.strip()
            if _PAGE_NUMBER.match(text):
                by_offset[int(_DIGITS.findall(text)[0]) - page_index].append((page_index, line_index))
    return {
        place: "page_number"
        for places in by_offset.values()
        if len({page for page, _ in places}) >= settings.running_min_pages
        for place in places
    }


def _rule_below(line: Line, rules: list[Rule], settings: ReadSettings) -> bool:
    """A rule right under the line and about as wide: a header's separator."""
    reach = settings.header_rule_gap_ratio * line.size
    for rule in rules:
        wide_enough = rule.x1 - rule.x0 >= settings.header_rule_min_ratio * (line.x1 - line.x0)
        if line.bottom - 1 <= rule.top <= line.bottom + reach and wide_enough:
            return True
    return False


# --- columns ------------------------------------------------------------------


def _segments(line: Line, min_gap: float) -> list[tuple[float, float, float]]:
    """(x0, x1, vertical middle) of the runs of words of a line split at gaps of at least `min_gap`."""
    middle = (line.top + line.bottom) / 2
    segments = []
    start = line.words[0]
    for before, after in zip(line.words, line.words[1:]):
        if after.x0 - before.x1 >= min_gap:
            segments.append((start.x0, before.x1, middle))
            start = after
    segments.append((start.x0, line.words[-1].x1, middle))
    return segments


def _upper_quartile(values: list[float] | list[int]) -> float:
    ordered = sorted(values)
    return ordered[(3 * len(ordered)) // 4]


def _low_coverage_strips(
    segments: list[tuple[float, float, float]], left_edge: float, width: float, share: float
) -> list[tuple[float, float]]:
    """(start, end) x-ranges inside the text that at most `share` of the
    segments cover at the most covered place on the poorer side of the strip
    (a strip open at the right edge is margin). The poorer side, not the page:
    a short column (references on a last page) stands beside a full one."""
    size = int(width) + 2
    changes = [0] * (size + 1)
    for x0, x1, _ in segments:
        changes[int(x0 - left_edge)] += 1
        changes[int(x1 - left_edge) + 1] -= 1
    coverage, covered = [], 0
    for change in changes[:size]:
        covered += change
        coverage.append(covered)
    peak_left = list(itertools.accumulate(coverage, max))
    peak_right = list(itertools.accumulate(reversed(coverage), max))[::-1]
    strips, start = [], None
    for x, covered in enumerate(coverage):
        allowance = max(2, share * min(peak_left[x], peak_right[x]))
        if covered <= allowance and start is None:
            start = x
        elif covered > allowance and start is not None:
            strips.append((left_edge + start, left_edge + x))
            start = None
    return strips


def _refine(lines: list[Line], middle: float, min_width: float) -> tuple[float, float] | None:
    """The gutter around x = `middle`: from the rightmost text end left of it
    to the leftmost text start right of it. Lines with a word over `middle`
    cross it, and so do lines whose own gap there is narrower than
    `min_width` (a full-width line with a word space there): they do not count."""
    left_ends, right_starts = [], []
    for line in lines:
        if any(w.x0 < middle < w.x1 for w in line.words):
            continue
        left = [w.x1 for w in line.words if w.x1 <= middle]
        right = [w.x0 for w in line.words if w.x0 >= middle]
        if left and right and right[0] - left[-1] < min_width:
            continue
        if left:
            left_ends.append(left[-1])
        if right:
            right_starts.append(right[0])
    if not left_ends or not right_starts:
        return None
    return max(left_ends), min(right_starts)


def find_gutter(lines: list[Line], settings: ReadSettings, obstacles: tuple[Obstacle, ...] = ()) -> tuple[float, float] | None:
    """(left, right) of the empty strip between two columns, or None.

    Lines are cut into segments at gaps of at least `min_gutter_width`;
    segments wider than `full_width_ratio` of the text are full-width lines and
    are left out. Candidates are strips of the middle of the page that few of
    the remaining segments cover (titles, author lines and centred lines may
    cross a gutter); each is narrowed to the edges of the text beside it and
    kept when `_column_support` finds columns on both sides. Of several, the
    widest wins: gutters are wider than the gap of a hanging indent.
    """
    left_edge = min(line.x0 for line in lines)
    right_edge = max(line.x1 for line in lines)
    text_width = right_edge - left_edge
    segments = [
        segment
        for line in lines
        for segment in _segments(line, settings.min_gutter_width)
        if segment[1] - segment[0] <= settings.full_width_ratio * text_width
    ]
    if len(segments) < 2 * settings.min_column_rows:
        return None
    best, best_key = None, None
    for start, end in _low_coverage_strips(segments, left_edge, text_width, settings.gutter_crossing_share):
        middle = (start + end) / 2
        inside = left_edge + settings.gutter_margin_ratio * text_width <= middle <= right_edge - settings.gutter_margin_ratio * text_width
        gutter = _refine(lines, middle, settings.min_gutter_width) if inside else None
        if gutter is None or gutter[1] - gutter[0] < settings.min_gutter_width:
            continue
        support = _column_support(lines, gutter, settings, obstacles)
        key = (gutter[1] - gutter[0], support)
        if support >= settings.min_column_rows and (best_key is None or key > best_key):
            best, best_key = gutter, key
    return best


def _column_support(
    lines: list[Line], gutter: tuple[float, float], settings: ReadSettings, obstacles: tuple[Obstacle, ...] = ()
) -> int:
    """How many lines on the poorer side of `gutter` stand beside text on the
    other side; 0 when either side is not running text (too few words to a
    line, or not filling its column), or when as many lines cross the strip
    where the two sides stand together (then it is a run of wide word spaces)."""
    left_parts, right_parts = [], []  # (width, vertical middle)
    left_words, right_words = [], []
    crossing = []  # vertical middles
    for line in lines:
        left, right, crosses = _split_at_gutter(line, gutter)
        if crosses:
            crossing.append((line.top + line.bottom) / 2)
            continue
        for part, parts, words in ((left, left_parts, left_words), (right, right_parts, right_words)):
            if part is not None:
                parts.append((part.x1 - part.x0, (part.top + part.bottom) / 2))
                words.append(len(part.words))
    for obstacle in obstacles:  # a table in a column stands for its rows
        x0, top, x1, bottom = obstacle.bbox
        side = left_parts if x1 <= gutter[0] + 0.5 else right_parts if x0 >= gutter[1] - 0.5 else None
        if side is not None:
            step = (bottom - top) / obstacle.rows
            side.extend((x1 - x0, top + (index + 0.5) * step) for index in range(obstacle.rows))
    if not left_words or not right_words:
        return 0
    if min(_upper_quartile(left_words), _upper_quartile(right_words)) < settings.column_min_words:
        return 0  # cells of a table set within a column, not columns of text
    left_edge = min(line.x0 for line in lines)
    right_edge = max(line.x1 for line in lines)
    fill = settings.column_fill_ratio
    if _upper_quartile([w for w, _ in left_parts]) < fill * (gutter[0] - left_edge):
        return 0
    if _upper_quartile([w for w, _ in right_parts]) < fill * (right_edge - gutter[1]):
        return 0
    # the two halves of one row may differ in their middles by a hair (their words' boxes differ)
    slack = settings.row_tolerance_ratio * min(line.size for line in lines)
    together = (
        max(min(m for _, m in left_parts), min(m for _, m in right_parts)) - slack,
        min(max(m for _, m in left_parts), max(m for _, m in right_parts)) + slack,
    )
    beside_left = sum(1 for _, m in left_parts if together[0] <= m <= together[1])
    beside_right = sum(1 for _, m in right_parts if together[0] <= m <= together[1])
    support = min(beside_left, beside_right)
    if sum(1 for m in crossing if together[0] <= m <= together[1]) >= support:
        return 0
    return support


def _split_at_gutter(line: Line, gutter: tuple[float, float]) -> tuple[Line | None, Line | None, bool]:
    """(left part, right part, crosses): a line with a word in the gutter crosses it."""
    gutter_left, gutter_right = gutter
    middle = (gutter_left + gutter_right) / 2
    for word in line.words:
        if word.x0 < gutter_right - 1 and word.x1 > gutter_left + 1 or word.x0 < middle < word.x1:
            return None, None, True
    left = tuple(w for w in line.words if w.x1 <= middle)
    right = tuple(w for w in line.words if w.x0 >= middle)
    return (replace(line, words=left) if left else None, replace(line, words=right) if right else None, False)


def _in_column(lines: list[Line], column: tuple[float, float]) -> list[Line]:
    return [replace(line, column=column) for line in sorted(lines, key=lambda l: (l.top, l.x0))]


# Columns within columns are looked for this deep (three columns need two).
_MAX_COLUMN_SPLITS = 3


def order_lines(
    lines: list[Line], settings: ReadSettings, obstacles: tuple[Obstacle, ...] = (), depth: int = 0
) -> list[Line]:
    """Lines in reading order, each told the edges of the column it is set in.

    With a gutter, lines that cross it (and tables drawn across it) are full
    width and cut the page into bands; a band with text on both sides is read
    left column first.
    """
    if not lines:
        return []
    extent = (min(line.x0 for line in lines), max(line.x1 for line in lines))
    gutter = find_gutter(lines, settings, obstacles) if depth < _MAX_COLUMN_SPLITS else None
    if gutter is None:
        return _in_column(lines, extent)
    middle = (gutter[0] + gutter[1]) / 2
    items: list[tuple[float, str, Line | None, Line | None]] = []  # (top, side, part, whole line)
    for line in lines:
        left, right, crosses = _split_at_gutter(line, gutter)
        if crosses:
            items.append((line.top, "full", line, line))
            continue
        if left:
            items.append((left.top, "left", left, line))
        if right:
            items.append((right.top, "right", right, line))
    for obstacle in obstacles:
        if obstacle.bbox[0] < middle < obstacle.bbox[2]:
            items.append((obstacle.bbox[1], "full", None, None))
    items.sort(key=lambda item: (item[0], item[2].x0 if item[2] else 0.0))
    left_obstacles = tuple(o for o in obstacles if o.bbox[2] <= middle)
    right_obstacles = tuple(o for o in obstacles if o.bbox[0] >= middle)
    ordered: list[Line] = []
    band: list[tuple[str, Line, Line]] = []

    def flush() -> None:
        left = [part for side, part, _ in band if side == "left"]
        right = [part for side, part, _ in band if side == "right"]
        if len(left) >= 2 and len(right) >= 2:
            ordered.extend(order_lines(left, settings, left_obstacles, depth + 1))
            ordered.extend(order_lines(right, settings, right_obstacles, depth + 1))
        else:  # not two columns (one side, or a single row with a wide gap): whole lines
            wholes = list({id(whole): whole for _, _, whole in band}.values())
            ordered.extend(_in_column(wholes, extent))
        band.clear()

    for _top, side, part, whole in items:
        if side == "full":
            flush()
            if whole is not None:
                ordered.append(replace(whole, column=extent))
        else:
            band.append((side, part, whole))
    flush()
    return ordered


# --- footnotes ------------------------------------------------------------------


def _below_short_rule(line: Line, rules: list[Rule], page_height: float, settings: ReadSettings) -> bool:
    left, right = line.column
    return any(
        rule.top > page_height / 2
        and abs(rule.x0 - left) <= settings.rule_alignment_tolerance
        and rule.x1 - rule.x0 < settings.footnote_rule_max_ratio * (right - left)
        and line.top > rule.top
        for rule in rules
    )


def _page_body_size(lines: list[Line]) -> float:
    weights: dict[float, int] = {}
    for line in lines:
        weights[line.size] = weights.get(line.size, 0) + len(line.text)
    return max(weights.items(), key=lambda kv: (kv[1], kv[0]))[0]


def mark_footnotes(lines: list[Line], rules: list[Rule], page_height: float, settings: ReadSettings) -> list[Line]:
    """Flag the lines read after the main text: those below a short rule at
    the foot of their column (affiliations, correspondence), and small print
    set apart in the footer band (a licence or history line on page 1), which
    would otherwise cut a paragraph running on to the next page."""
    if not lines:
        return lines
    body_size = _page_body_size(lines)
    marked = []
    for index, line in enumerate(lines):
        above = [other.bottom for other in lines[:index] if other.page == line.page and other.x0 < line.x1 and other.x1 > line.x0]
        small_print = (
            line.top >= (1 - settings.footer_band) * page_height
            and line.size < settings.caption_size_ratio * body_size
            and (not above or line.top - max(above) > settings.footer_gap_ratio * body_size)
        )
        footnote = small_print or _below_short_rule(line, rules, page_height, settings)
        marked.append(replace(line, footnote=True) if footnote else line)
    return marked
