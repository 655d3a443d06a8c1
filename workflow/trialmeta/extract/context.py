"""Context of a value: background, subgroup, threshold, section; flags that rank or block a candidate."""

from __future__ import annotations

import re

from trialmeta.extract.lexicon import Lexicon
from trialmeta.extract.mentions import BLANKS
from trialmeta.extract.numbers import Quantity
from trialmeta.extract.reading import Passage


def context_flags(sentence: str, value_start: int, section: str | None, lexicon: Lexicon,
                  cohort_spans: tuple[tuple[int, int], ...] = ()) -> tuple[str, ...]:
    """Context flags of a value; a subgroup cue counts only before the value, where it sets the scope,
    and not inside a statement that sizes the cohort (`cohort_spans`: "47 patients with CLL were
    treated" describes the cohort, it names no part of it).

    A sentence that says it reports this study ("in our study") is never
    background, whatever its citations or section.
    """
    flags = []
    own = "own_study" in lexicon.context and lexicon.context["own_study"].search(sentence)
    if not own and "background" in lexicon.context and lexicon.context["background"].search(sentence):
        flags.append("background")
    if "subgroup" in lexicon.context and any(
        not any(a <= cue.start() < b for a, b in cohort_spans)
        for cue in lexicon.context["subgroup"].finditer(sentence[:value_start])
    ):
        flags.append("subgroup")
    if "comparison" in lexicon.context and lexicon.context["comparison"].search(sentence):
        flags.append("comparison")
    if not own and section and "section_background" in lexicon.context and lexicon.context["section_background"].search(section):
        results = lexicon.context.get("section_results")
        if results is None or not results.search(section):
            flags.append("section_background")
    return tuple(flags)


_COMPARISON_GAP = re.compile(r"[\s<>≤≥=~]*$")


def is_threshold(sentence: str, quantity: Quantity, lexicon: Lexicon) -> bool:
    """Whether a percentage defines a category rather than reports one: a threshold cue right
    before it ("defined as < 0.01%"), or a level of disease right after it ("0.01% leukemic cells")."""
    before = lexicon.context.get("threshold_before")
    if before is not None:
        window = sentence[max(0, quantity.start - 40) : quantity.start]
        gap = _COMPARISON_GAP.search(window)
        if any(m.end() == gap.start() for m in before.finditer(window)):
            return True
    after = lexicon.context.get("level_after")
    return after is not None and after.match(sentence, BLANKS.match(sentence, quantity.end).end()) is not None


NEGATED_BEFORE = re.compile(r"\b(?:not|never|no longer)\s+(?:\w+\s+)?$", re.I)


_INLINE_LABEL = re.compile(r"^\s*([A-Z][A-Za-z ]{2,30})[:.]\s")


def section_of(passage: Passage, current: str | None) -> str | None:
    """The section a passage belongs to: its heading, or an inline label such as "Results:"."""
    if passage.kind in ("heading", "title"):
        return passage.text.strip()
    label = _INLINE_LABEL.match(passage.text)
    return label.group(1) if label else current
