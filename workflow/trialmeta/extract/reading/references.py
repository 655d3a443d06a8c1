"""The reference list: found in passages (from any reader) and moved out of
the searched text, because its years, volumes and pages are not results."""

from __future__ import annotations

import re

from .model import Passage

_REFERENCES_HEADING = re.compile(
    r"^\s*(\d+\.?\s*)?(references?|bibliography|literature cited|works cited|reference list)\s*:?\s*$", re.IGNORECASE
)
ENTRY_NUMBER = re.compile(r"^\s*(\[\d{1,3}\]|\d{1,3}\.(?!\d))")
_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def _looks_like_reference(passage: Passage) -> bool:
    return passage.kind == "body" and bool(ENTRY_NUMBER.match(passage.text) or _YEAR.search(passage.text))


def split_references(passages: list[Passage]) -> tuple[list[Passage], list[Passage]]:
    """Move the reference list out: from a "References" heading over the
    entries that follow it (numbered, or citing a year), or else a trailing
    run of numbered entries 1, 2, 3, ..."""
    start = next((i for i, p in enumerate(passages) if p.kind == "heading" and _REFERENCES_HEADING.match(p.text)), None)
    if start is not None:
        end = start + 1
        while end < len(passages) and (_looks_like_reference(passages[end]) or passages[end].kind == "caption"):
            end += 1
        span = [i for i in range(start, end) if passages[i].kind != "caption"]
    else:
        span = _numbered_run(passages)
    removed = [Passage(passages[i].text, "references", passages[i].spans) for i in span]
    taken = set(span)
    return [p for i, p in enumerate(passages) if i not in taken], removed


def _numbered_run(passages: list[Passage]) -> list[int]:
    """The longest run of body passages numbered 1, 2, 3, ... citing years."""
    best: list[int] = []
    run: list[int] = []
    for index, passage in enumerate(passages):
        match = ENTRY_NUMBER.match(passage.text)
        number = int(re.sub(r"\D", "", match.group(1))) if match else None
        if number is not None and _YEAR.search(passage.text) and number == len(run) + 1:
            run.append(index)
        else:
            run = [index] if number == 1 and _YEAR.search(passage.text) else []
        if len(run) > len(best):
            best = list(run)
    return best if len(best) >= 3 else []
