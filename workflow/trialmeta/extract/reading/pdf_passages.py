"""Lines in reading order -> passages (paragraphs, headings, captions).

Floats (figure and table captions, notes under a table) are taken out of the
text flow first, so a paragraph broken by a float on the next page stays one
passage; each float is put back after the paragraph that first mentions it
(or else the one it interrupted). Footnote lines are read after everything
else. The reference list is then moved out of the searched passages.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .model import BBox, Passage, Span
from .pdf_layout import Line
from .references import ENTRY_NUMBER, split_references
from .settings import ReadSettings
from .text_rules import SOFT_HYPHEN, Vocabulary, line_joint

# "Table 2", "Fig. 1", "Figure 3B", "Supplementary Table S1" at the start of a caption
_CAPTION_LABEL = re.compile(
    r"^(?P<supplement>supplementa\w*\s+)?(?P<what>table|fig\.?|figure)\s*(?P<number>S?\d+)[a-z]?\b", re.IGNORECASE
)
# mentions in running text: "Table 2", "(Fig. 1a)", "Figs. 2 and 3" (the first number)
_MENTION = re.compile(
    r"\b(?P<supplement>supplementa\w*\s+)?(?P<what>tables?|figs?|figures?)\.?\s*(?P<number>S?\d+)", re.IGNORECASE
)


@dataclass(frozen=True)
class TableArea:
    """Where a table is drawn, so that the notes set right under it float with it."""

    page: int
    bbox: BBox


@dataclass(frozen=True)
class _Style:
    body_size: float
    pitch: dict[float, float]  # usual baseline step per font size

    def step(self, size: float, settings: ReadSettings) -> float:
        return self.pitch.get(round(size, 1), settings.default_leading_ratio * size)


def text_style(lines: list[Line], settings: ReadSettings) -> _Style:
    """Body font size (most text is set in it) and usual line steps."""
    sizes: Counter[float] = Counter()
    steps: dict[float, list[float]] = {}
    for line in lines:
        sizes[round(line.size, 1)] += sum(len(w.text) for w in line.words)
    for a, b in zip(lines, lines[1:]):
        if a.page == b.page and a.column == b.column and _same_size(a, b, settings) and b.top > a.top:
            steps.setdefault(round(a.size, 1), []).append(b.bottom - a.bottom)
    pitch = {size: sorted(values)[len(values) // 2] for size, values in steps.items()}
    body = max(sizes.items(), key=lambda kv: (kv[1], kv[0]))[0] if sizes else 10.0
    return _Style(body, pitch)


def _heading_style(line: Line, style: _Style, settings: ReadSettings) -> bool:
    return line.bold or line.label or line.size >= settings.heading_size_ratio * style.body_size


def _is_caption_start(line: Line, style: _Style, settings: ReadSettings) -> bool:
    match = _CAPTION_LABEL.match(line.text)
    if not match:
        return False
    label_bold = all(w.bold for w in line.words[: len(match.group(0).split())])
    return label_bold or line.size < settings.caption_size_ratio * style.body_size


def _is_table_note_start(line: Line, tables: list[TableArea], style: _Style, settings: ReadSettings) -> bool:
    if line.size >= settings.caption_size_ratio * style.body_size:
        return False
    return any(
        area.page == line.page
        # a note may touch the bottom rule of the table (hence half a size above it)
        and -0.5 * line.size <= line.top - area.bbox[3] <= settings.table_note_gap_ratio * line.size
        and line.x0 < area.bbox[2]
        and line.x1 > area.bbox[0]
        for area in tables
    )


def _stacked(a: Line, b: Line) -> bool:
    """`b` is set below `a` on the same page, overlapping it horizontally."""
    return a.page == b.page and b.top > a.top and b.x0 < a.x1 and b.x1 > a.x0


def _same_size(a: Line, b: Line, settings: ReadSettings) -> bool:
    return abs(a.size - b.size) <= settings.size_tolerance_ratio * max(a.size, b.size)


def _gap_too_large(a: Line, b: Line, style: _Style, settings: ReadSettings) -> bool:
    """A larger baseline step than usual between two stacked lines: a
    paragraph break (a line holding a superscript may be set a little lower)."""
    allowance = settings.raised_line_allowance_ratio * b.size if b.raised else 0.0
    return b.bottom - a.bottom > settings.paragraph_gap_ratio * style.step(a.size, settings) + allowance


def _next_to(a: Line, b: Line, style: _Style, settings: ReadSettings) -> bool:
    """`b` is set right under `a` at the usual line step, in the same font size."""
    if not _same_size(a, b, settings) or not _stacked(a, b):
        return False
    return not _gap_too_large(a, b, style, settings)


def _split_floats(
    lines: list[Line], tables: list[TableArea], style: _Style, settings: ReadSettings
) -> tuple[list[tuple[int, Line]], list[tuple[int, list[Line]]], list[Line]]:
    """(flow lines with their stream index, floats with the index they stood
    at, footnote lines)."""
    flow: list[tuple[int, Line]] = []
    floats: list[tuple[int, list[Line]]] = []
    footnotes: list[Line] = []
    current: list[Line] | None = None
    for index, line in enumerate(lines):
        if line.footnote and not _is_table_note_start(line, tables, style, settings):
            footnotes.append(line)
            continue
        if _is_caption_start(line, style, settings):
            current = [line]
            floats.append((index, current))
            continue
        if (
            current is not None
            and _next_to(current[-1], line, style, settings)
            and _heading_style(line, style, settings) == _heading_style(current[-1], style, settings)
        ):
            current.append(line)
            continue
        if _is_table_note_start(line, tables, style, settings):
            current = [line]
            floats.append((index, current))
            continue
        current = None
        flow.append((index, line))
    return flow, floats, footnotes


def _has_room_for(a: Line, b: Line, settings: ReadSettings) -> bool:
    """Whether the first word of `b` would have fitted at the end of `a`:
    then `a` ended its paragraph (a full line would have taken the word)."""
    if a.text.endswith("-"):
        return False
    room = a.column[1] - a.x1
    first = b.words[0]
    return room > (first.x1 - first.x0) + settings.word_space_ratio * a.size


def _indented(line: Line, settings: ReadSettings) -> bool:
    return line.x0 - line.column[0] > settings.indent_ratio * line.size


def _starts_run_in_heading(line: Line) -> bool:
    """A line opening with bold words that end in ":" or "." or are all
    capitalised ("Results:", "Acknowledgements We thank ...")."""
    bold = []
    for word in line.words:
        if not word.bold:
            break
        bold.append(word.text)
    if not bold or len(bold) == len(line.words):
        return False
    return bold[-1][-1:] in ":." or all(word[:1].isupper() for word in bold)


def _continues(
    a: Line, b: Line, after_b: Line | None, a_opens: bool, style: _Style, settings: ReadSettings
) -> bool:
    """Whether `b` carries on the paragraph of `a` (the next flow line);
    `a_opens` tells that `a` is the first line of its paragraph."""
    if not _same_size(a, b, settings):
        return False
    heading_a, heading_b = _heading_style(a, style, settings), _heading_style(b, style, settings)
    if heading_a != heading_b:
        return False
    if _stacked(a, b):
        if _gap_too_large(a, b, style, settings):
            return False
    elif heading_a:
        return False  # a heading does not run on into another column or page
    if heading_a:
        return True
    if _has_room_for(a, b, settings) or (_starts_run_in_heading(b) and not a.words[-1].bold):
        return False
    if not a_opens and ENTRY_NUMBER.match(b.text) and b.x0 < a.x0 - settings.indent_ratio * b.size:
        return False  # the next entry of a list with hanging indents
    hanging = ENTRY_NUMBER.match(a.text) and not _indented(a, settings)
    if _indented(b, settings) and not _indented(a, settings) and not hanging:
        # a first-line indent, unless the next line is indented as well
        return after_b is not None and _indented(after_b, settings) and after_b.column == b.column
    return True


def _paragraphs(lines: list[Line], style: _Style, settings: ReadSettings) -> list[list[int]]:
    """Indices into `lines` grouped into paragraphs."""
    groups: list[list[int]] = []
    for index, line in enumerate(lines):
        after = lines[index + 1] if index + 1 < len(lines) else None
        if groups and _continues(lines[groups[-1][-1]], line, after, len(groups[-1]) == 1, style, settings):
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def compose(lines: list[Line], kind: str, vocabulary: Vocabulary) -> Passage:
    """One passage from its lines: joined text and a span per line."""
    text = ""
    spans: list[Span] = []
    for line in lines:
        piece = line.text
        if text:
            drop, separator = line_joint(text, piece, vocabulary)
            if drop:
                text = text[:-drop]
                last = spans[-1]
                spans[-1] = Span(last.start, min(last.end, len(text)), last.page, last.line, last.bbox)
            text += separator
        start = len(text)
        text += piece
        spans.append(Span(start, len(text), line.page, None, line.bbox))
    if text.endswith(SOFT_HYPHEN):  # a break offered at the passage's very end: nothing follows
        text = text[:-1]
        last = spans[-1]
        spans[-1] = Span(last.start, min(last.end, len(text)), last.page, last.line, last.bbox)
    return Passage(text, kind, tuple(spans))


def _kind(lines: list[Line], style: _Style, settings: ReadSettings) -> str:
    text_length = sum(len(line.text) + 1 for line in lines)
    if all(_heading_style(line, style, settings) for line in lines) and text_length <= settings.heading_max_chars:
        return "heading"
    return "body"


def _mark_title(passages: list[tuple[Passage, float]], style: _Style, settings: ReadSettings) -> list[Passage]:
    """The first large passage on page 1 is the title."""
    marked = []
    found = False
    for passage, size in passages:
        on_first_page = passage.spans[0].page == 1
        if not found and on_first_page and size >= settings.title_size_ratio * style.body_size:
            passage = Passage(passage.text, "title", passage.spans)
            found = True
        marked.append(passage)
    return marked


def _label(match: re.Match | None) -> tuple[str, str] | None:
    """("table" | "figure", number) of a caption label or mention of the
    paper's own tables and figures; None for supplementary ones."""
    if match is None or match.group("supplement"):
        return None
    return ("table" if match.group("what").lower().startswith("tab") else "figure", match.group("number").upper())


def _mentions(text: str) -> set[tuple[str, str]]:
    return {label for label in map(_label, _MENTION.finditer(text)) if label is not None}


def _float_anchors(
    floats: list[tuple[int, list[Line]]], flow: list[tuple[int, Line]], groups: list[list[int]], paragraph_texts: list[str]
) -> list[int]:
    """The paragraph each float goes after (-1: before the first).

    A caption goes after the first paragraph that mentions its table or
    figure (where the typesetter took it from); an unmentioned one after the
    paragraph it interrupts; notes under a table go with the caption before.
    """
    paragraph_of = {}
    for number, group in enumerate(groups):
        for position in group:
            paragraph_of[flow[position][0]] = number
    first_mention: dict[tuple[str, str], int] = {}
    for number, text in enumerate(paragraph_texts):
        for label in _mentions(text):
            first_mention.setdefault(label, number)
    anchors: list[int] = []
    for stream_index, float_lines in floats:
        caption = _CAPTION_LABEL.match(float_lines[0].text)
        if caption is None and anchors:
            anchors.append(anchors[-1])  # a note under a table
            continue
        label = _label(caption)
        if label in first_mention:
            anchors.append(first_mention[label])
            continue
        before = [i for i in paragraph_of if i < stream_index]
        anchors.append(paragraph_of[max(before)] if before else -1)
    return anchors


def build_passages(
    lines: list[Line], tables: list[TableArea], vocabulary: Vocabulary, settings: ReadSettings
) -> tuple[list[Passage], list[Passage]]:
    """(searched passages in reading order, removed reference list)."""
    style = text_style(lines, settings)
    flow, floats, footnotes = _split_floats(lines, tables, style, settings)
    flow_lines = [line for _, line in flow]
    groups = _paragraphs(flow_lines, style, settings)
    paragraphs = []
    for group in groups:
        group_lines = [flow_lines[i] for i in group]
        paragraphs.append((compose(group_lines, _kind(group_lines, style, settings), vocabulary), group_lines[0].size))
    anchors = _float_anchors(floats, flow, groups, [p.text for p, _ in paragraphs])
    placed: dict[int, list[list[Line]]] = {}
    for anchor, (_, float_lines) in zip(anchors, floats):
        placed.setdefault(anchor, []).append(float_lines)
    ordered: list[tuple[Passage, float]] = []
    for number in range(-1, len(paragraphs)):
        if number >= 0:
            ordered.append(paragraphs[number])
        for float_lines in placed.get(number, []):
            ordered.append((compose(float_lines, "caption", vocabulary), float_lines[0].size))
    for group in _paragraphs(footnotes, style, settings):
        group_lines = [footnotes[i] for i in group]
        ordered.append((compose(group_lines, "body", vocabulary), group_lines[0].size))
    passages = _mark_title(ordered, style, settings)
    if not settings.drop_references:
        return passages, []
    return split_references(passages)
