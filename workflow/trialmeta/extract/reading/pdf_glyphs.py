"""PDF characters -> glyphs -> rows (with super/subscripts attached) -> words.

A *row* is the text on one baseline across the whole page (both columns); a
*word* is a run of glyphs without a space or a wide gap. Superscripts and
subscripts are set smaller on a shifted baseline, so text extraction sees
them as separate lines; here each such run is attached to the row it is
adjacent to and marked, so that ``10`` + raised ``6`` reads ``10^6``.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field

from .pdf_fonts import GlyphFix
from .settings import ReadSettings
from .text_rules import drop_soft_hyphens, normalise_chars, superscript_notation

# Share of the font size below the baseline that a glyph box reaches
# (the descent of common text fonts); used to compare baselines of glyphs of
# different sizes from their box bottoms.
DESCENT_RATIO = 0.21

_BOLD_MARKERS = ("bold", "black", "heavy", "semibold", "demibold")

# Glyph boxes of neighbouring characters may overlap by kerning this much.
_OVERLAP_TOLERANCE = 0.5


@dataclass(slots=True)
class Glyph:
    text: str  # normalised (ligatures expanded); " " for a space glyph
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    role: str = "base"  # "base" | "sup" | "sub"
    mapped: str | None = None  # the glyph map entry that gave `text` (see pdf_fonts)


@dataclass(slots=True)
class Row:
    glyphs: list[Glyph]  # sorted by x0 once finished
    size: float  # font size of the row's base text
    bottom: float = 0.0  # median bottom of the base glyphs (see `settle`)

    def settle(self) -> "Row":
        base = [g.bottom for g in self.glyphs if g.role == "base"] or [g.bottom for g in self.glyphs]
        self.bottom = _median(base)
        return self

    @property
    def baseline(self) -> float:
        return self.bottom - DESCENT_RATIO * self.size


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    raised: bool = False  # holds a superscript (some PDF writers add leading for it)


@dataclass(slots=True)
class _Run:
    """Adjacent glyphs of one raw row, candidates for attachment to a larger row."""

    glyphs: list[Glyph] = field(default_factory=list)

    @property
    def x0(self) -> float:
        return self.glyphs[0].x0

    @property
    def x1(self) -> float:
        return max(g.x1 for g in self.glyphs)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


@functools.lru_cache(maxsize=256)
def is_bold(fontname: str) -> bool:
    name = fontname.lower()
    return any(marker in name for marker in _BOLD_MARKERS)


def glyphs_from_chars(chars: list[dict], fixes: dict[str, dict[str, GlyphFix]] | None = None) -> list[Glyph]:
    """Upright characters as glyphs; rotated text (margin notes, watermarks) is
    left out, and characters drawn twice at the same place (fake bold) once.
    `fixes` (from `pdf_fonts.page_fixes`) replaces what symbol fonts without a
    right Unicode map read as, before anything else sees the text."""
    glyphs = []
    seen = set()
    fixes = fixes or {}
    for char in chars:
        if not char.get("upright", True):
            continue
        fix = fixes.get(char.get("fontname", ""), {}).get(char["text"]) if fixes else None
        raw = fix.text if fix else char["text"]
        text = raw if raw.isascii() else normalise_chars(raw)
        if not text:
            continue
        if text.isspace():
            text = " "
        size = char["size"] or char["bottom"] - char["top"]  # some Type 3 fonts report size 0
        key = (text, round(char["x0"] * 2), round(char["bottom"] * 2))
        if size <= 0 or key in seen:
            continue
        seen.add(key)
        glyphs.append(
            Glyph(
                text=text,
                x0=char["x0"],
                x1=char["x1"],
                top=char["top"],
                bottom=char["bottom"],
                size=round(size, 2),
                bold=is_bold(char.get("fontname", "")),
                mapped=fix.source if fix else None,
            )
        )
    return glyphs


def _raw_rows(glyphs: list[Glyph], settings: ReadSettings) -> list[Row]:
    """Glyphs of one font size whose bottoms chain within the row tolerance."""
    by_size: dict[float, list[Glyph]] = {}
    for glyph in glyphs:
        by_size.setdefault(round(glyph.size, 1), []).append(glyph)
    rows = []
    for size in sorted(by_size):
        tolerance = settings.row_tolerance_ratio * size
        current: list[Glyph] = []
        for glyph in sorted(by_size[size], key=lambda g: (g.bottom, g.x0)):
            if current and glyph.bottom - current[-1].bottom > tolerance:
                rows.append(Row(current, size).settle())
                current = []
            current.append(glyph)
        if current:
            rows.append(Row(current, size).settle())
    return rows


def _runs(row: Row) -> list[_Run]:
    """Split a row at gaps wider than its font size (the pieces are words or
    groups of words that can belong to different neighbours)."""
    runs: list[_Run] = []
    for glyph in sorted(row.glyphs, key=lambda g: g.x0):
        if glyph.text == " ":
            if runs and runs[-1].glyphs:
                runs.append(_Run())
            continue
        if not runs or (runs[-1].glyphs and glyph.x0 - runs[-1].x1 > row.size):
            runs.append(_Run())
        runs[-1].glyphs.append(glyph)
    return [run for run in runs if run.glyphs]


def _adjacent(host: Row, run: _Run, reach: float) -> bool:
    """Whether `run` sits in a gap of `host` next to one of its glyphs: a
    script touches its base but never overlaps the host's glyphs (a row
    above or below, seen from the run, has glyphs right over it)."""
    touches = False
    for glyph in host.glyphs:
        if glyph.text == " ":
            continue
        if glyph.x0 < run.x1 - _OVERLAP_TOLERANCE and glyph.x1 > run.x0 + _OVERLAP_TOLERANCE:
            return False
        if run.x0 - reach <= glyph.x1 <= run.x0 + reach or run.x1 - reach <= glyph.x0 <= run.x1 + reach:
            touches = True
    return touches


def _attach_small_runs(rows: list[Row], settings: ReadSettings) -> list[Row]:
    """Move runs of smaller glyphs into the larger row they sit next to.

    Sizes are handled largest first, so a host is always a finished row.
    Raised runs become superscripts, lowered ones subscripts; runs on the same
    baseline become ordinary text of that row. Runs with no neighbour stay rows.
    """
    finished: list[Row] = []
    for size in sorted({r.size for r in rows}, reverse=True):
        hosts = sorted(finished, key=lambda r: r.bottom)
        bottoms = [r.bottom for r in hosts]
        for row in (r for r in rows if r.size == size):
            leftover: list[Glyph] = []
            for run in _runs(row):
                host = _host_for(run, row, hosts, bottoms, settings.script_reach_ratio * row.size)
                role = None if host is None else _role_next_to(host, run, row.size, settings)
                if role is None:
                    leftover.extend(run.glyphs)
                    continue
                for glyph in run.glyphs:
                    glyph.role = role
                host.glyphs.extend(run.glyphs)
            if leftover:
                finished.append(Row(leftover, row.size).settle())
    return finished


def _role_next_to(host: Row, run: _Run, run_size: float, settings: ReadSettings) -> str | None:
    """"sup", "sub" or "base" for a run beside a larger row; None when the run
    is of similar size on another baseline (then it is a row of its own)."""
    shift = host.baseline - (_median([g.bottom for g in run.glyphs]) - DESCENT_RATIO * run_size)
    limit = settings.script_shift_ratio * host.size
    role = "sup" if shift > limit else "sub" if shift < -limit else "base"
    if role != "base" and run_size >= settings.script_size_ratio * host.size:
        return None
    return role


def _host_for(run: _Run, row: Row, hosts: list[Row], bottoms: list[float], reach: float) -> Row | None:
    """The largest row within `reach` of `run` whose band holds the run's middle."""
    middle = (min(g.top for g in run.glyphs) + max(g.bottom for g in run.glyphs)) / 2
    tallest = max((h.size for h in hosts), default=0.0)
    best = None
    for candidate in hosts[bisect.bisect_left(bottoms, middle - reach):]:
        if candidate.bottom - tallest - reach > middle:
            break  # sorted by bottom: no later row reaches up to the run
        if candidate.size <= row.size or not (candidate.bottom - candidate.size - reach <= middle <= candidate.bottom + reach):
            continue
        if _adjacent(candidate, run, reach) and (best is None or candidate.size > best.size):
            best = candidate
    return best


def rows_from_glyphs(glyphs: list[Glyph], settings: ReadSettings) -> list[Row]:
    """Rows sorted top to bottom, each with its glyphs sorted left to right."""
    if not glyphs:
        return []
    rows = _attach_small_runs(_raw_rows(glyphs, settings), settings)
    for row in rows:
        row.glyphs.sort(key=lambda g: g.x0)
        row.settle()
    rows = [row for row in rows if any(g.text != " " for g in row.glyphs)]
    rows.sort(key=lambda r: (r.bottom, r.glyphs[0].x0))
    return rows


def _render(glyphs: list[Glyph]) -> str:
    """Text of one word, superscripts written as `superscript_notation` says."""
    text = ""
    index = 0
    while index < len(glyphs):
        glyph = glyphs[index]
        if glyph.role != "sup":
            text += glyph.text
            index += 1
            continue
        end = index
        while end < len(glyphs) and glyphs[end].role == "sup":
            end += 1
        script = "".join(g.text for g in glyphs[index:end])
        text += superscript_notation(text, script)
        index = end
    return drop_soft_hyphens(text.rstrip())


def words_of_row(row: Row, settings: ReadSettings) -> list[Word]:
    """Words of a row, split at space glyphs and at gaps wider than a space."""
    gap_limit = settings.word_gap_ratio * row.size
    groups: list[list[Glyph]] = []
    right_edge = 0.0  # of the word being built (a superscript may end before its base)
    for glyph in row.glyphs:
        if glyph.text == " ":
            if groups and groups[-1]:
                groups.append([])
            continue
        if not groups or (groups[-1] and glyph.x0 - right_edge > gap_limit):
            groups.append([])
            right_edge = glyph.x1
        groups[-1].append(glyph)
        right_edge = max(right_edge, glyph.x1)
    words = []
    for group in groups:
        if not group:
            continue
        base = [g for g in group if g.role == "base"] or group
        words.append(
            Word(
                text=_render(group),
                x0=min(g.x0 for g in group),
                x1=max(g.x1 for g in group),
                top=min(g.top for g in base),
                bottom=max(g.bottom for g in base),
                size=row.size,
                bold=all(g.bold for g in base),
                raised=any(g.role == "sup" for g in group),
            )
        )
    return words
