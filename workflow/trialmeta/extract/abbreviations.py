"""Abbreviations a paper defines for itself extend its lexicon for that paper.

"MRD-negative complete remission (MRD-CR)" teaches that "MRD-CR" (and "MRD -CR", "MRD CR") means
mrd_neg in the rest of the paper. Definitions are found as Schwartz & Hearst find them (A simple
algorithm for identifying abbreviation definitions in biomedical text, Pac Symp Biocomput
2003:451-462): a short form in parentheses right after its long form, whose characters appear in
order in the long form, the first at the start of a word. The long form must end in a phrase of
the lexicon, which gives the endpoint.
"""

from __future__ import annotations

import re

from trialmeta.extract.lexicon import Lexicon

# "(MRD-CR)", "(sCR)", "(ORR)": 2-12 characters, at least one capital, no spaces but one
_SHORT = re.compile(r"\(\s*(?P<short>[A-Za-z][A-Za-z0-9+/-]{0,10}[A-Za-z0-9+]|\w+ \w+)\s*[;,)]")


def _schwartz_hearst(short: str, long: str) -> bool:
    """Whether `short` abbreviates `long`: its letters and digits in order from the end, the
    first letter at the start of a word of the long form (Schwartz & Hearst 2003, fig. 2)."""
    s, l_ = len(short) - 1, len(long) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while l_ >= 0 and (long[l_].lower() != c or (s == 0 and l_ > 0 and long[l_ - 1].isalnum())):
            l_ -= 1
        if l_ < 0:
            return False
        s -= 1
        l_ -= 1
    return True


def variants(short: str) -> str:
    """A phrase matching the short form with spacing or hyphen variants ("MRD-CR", "MRD -CR", "MRD CR")."""
    parts = re.split(r"\s*[-–]\s*|\s+", short)
    # case-sensitive, as acronyms in the lexicon are
    return "(?-i:" + r"\s*[-–]?\s*".join(re.escape(p) for p in parts if p) + ")"


def defined_abbreviations(texts: list[str], lexicon: Lexicon) -> dict[str, list[str]]:
    """endpoint -> the phrases a paper's own definitions add (only short forms the lexicon
    does not already give to that endpoint, and never a short form defined for two endpoints)."""
    found: dict[str, set[str]] = {}
    for text in texts:
        for m in _SHORT.finditer(text):
            short = m.group("short")
            if not any(ch.isupper() for ch in short):
                continue
            before = text[max(0, m.start() - 120) : m.start()].rstrip()
            # the endpoint phrase that ends right before the parenthesis; the longest one wins,
            # as in mention finding ("MRD-negative complete remission" is mrd_neg, not cr_cri)
            endings = [
                (e.start(), terms) for terms in lexicon.endpoints
                for e in terms.pattern.finditer(before) if e.end() == len(before)
            ]
            if not endings:
                continue
            start, terms = min(endings, key=lambda item: item[0])
            if terms.pattern.fullmatch(short):
                continue  # the lexicon knows it already
            # the long form is the endpoint phrase itself: "neurologic adverse events (AEs)" defines
            # adverse events, not neurotoxicity, and "severe CRS (sCRS)" a grade, not CRS
            if short[0].lower() == before[start].lower() and _schwartz_hearst(short, before[start:]):
                found.setdefault(short, set()).add(terms.name)
    out: dict[str, list[str]] = {}
    for short, endpoints in sorted(found.items()):
        if len(endpoints) == 1:
            out.setdefault(endpoints.pop(), []).append(variants(short))
    return out
