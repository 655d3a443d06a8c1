"""Text clean-up shared by the PDF and the plain-text readers.

Character normalisation, how two lines of one paragraph are joined (line-end
hyphens in particular) and superscript notation. The hyphen rule uses no word
list: it decides from the shape of the two fragments and from how the same
words are written elsewhere in the same document (its `Vocabulary`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# Ligature glyphs expanded to their letters; spaces and hyphens that only
# typesetting distinguishes made plain; invisible characters dropped.
_CHAR_MAP = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
        "\u00a0": " ",  # no-break space
        "\u2009": " ",  # thin space
        "\u202f": " ",  # narrow no-break space
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u200b": None,  # zero-width space
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
    }
)

SOFT_HYPHEN = "\u00ad"
HYPHEN = "-"
# A soft hyphen marks where a word may break; only one at a line end has
# broken it (line_joint joins the halves), elsewhere it is invisible.
_INNER_SOFT_HYPHEN = re.compile(SOFT_HYPHEN + r"+(?!$)")


def drop_soft_hyphens(text: str) -> str:
    """Soft hyphens removed except one ending the text (a line's last word)."""
    return _INNER_SOFT_HYPHEN.sub("", text) if SOFT_HYPHEN in text else text


# Inline TeX that text exported from publishers' XML keeps ("$61.2\% \pm 14.0\%$"):
# the few commands that carry a number's meaning, written as the characters a
# PDF would show, and the math delimiters around them dropped.
_TEX_COMMANDS = {"\\%": "%", "\\pm": "±", "\\geq": "≥", "\\leq": "≤", "\\ge": "≥", "\\le": "≤", "\\times": "×"}
_TEX_COMMAND = re.compile(r"\\(?:%|pm|geq|leq|ge|le|times)(?![A-Za-z])")
_TEX_MATH = re.compile(r"\$([^$\n]{1,80})\$")


def normalise_chars(text: str) -> str:
    """Expand ligatures, make special spaces/hyphens plain, drop invisible marks, read inline TeX signs."""
    text = text.translate(_CHAR_MAP)
    if "\\" in text:
        text = _TEX_MATH.sub(lambda m: m.group(1) if _TEX_COMMAND.search(m.group(1)) else m.group(0), text)
        text = _TEX_COMMAND.sub(lambda m: _TEX_COMMANDS[m.group(0)], text)
    return text


_SPACES = re.compile(r"\s+")


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


# --- vocabulary -------------------------------------------------------------

_EDGE_PUNCT = "()[]{}<>.,;:!?\"'“”‘’*"


def _strip_edges(token: str) -> str:
    return token.strip(_EDGE_PUNCT)


class Vocabulary:
    """How often each word is written in a document, lower-cased.

    `words` counts whitespace tokens without edge punctuation, split at slashes
    ("Ph-positive/negative" counts "ph-positive" and "negative"); `parts`
    also counts the pieces of hyphenated words; `forms` counts the pieces
    as written (an initial "S" is not the fragment "s"). Fragments of words
    broken at a line end must not be fed in (the caller leaves them out).
    """

    def __init__(self, tokens: Iterable[str] = ()):
        self.words: Counter[str] = Counter()
        self.parts: Counter[str] = Counter()
        self.forms: Counter[str] = Counter()
        for token in tokens:
            self.add(token)

    def add(self, token: str) -> None:
        for piece in _strip_edges(token).split("/"):
            piece = _strip_edges(piece)
            if not piece:
                continue
            self.words[piece.lower()] += 1
            for part in piece.split(HYPHEN):
                if part:
                    self.parts[part.lower()] += 1
                    self.forms[part] += 1


def vocabulary_of_lines(lines: Iterable[list[str]]) -> Vocabulary:
    """The vocabulary of a sequence of lines (each a list of words), leaving
    out both halves of every word broken by a hyphen at a line end: they are
    what the vocabulary is asked about."""
    vocabulary = Vocabulary()
    broken_before = False
    for words in lines:
        if broken_before:
            words = words[1:]
        broken_before = bool(words) and words[-1].endswith(HYPHEN)
        for word in words[:-1] if broken_before else words:
            vocabulary.add(word)
    return vocabulary


# --- joining the lines of a paragraph ----------------------------------------

_LETTER_OR_DIGIT_END = re.compile(r"[^\W_]$")


def _last_token(text: str) -> str:
    return text.rsplit(None, 1)[-1] if text.strip() else ""


def _first_token(text: str) -> str:
    return text.split(None, 1)[0] if text.strip() else ""


def _looks_like_abbreviation(fragment: str) -> bool:
    """"MRD", "CD19", "C", "IgG": pieces of names that keep their hyphen."""
    if not fragment:
        return False
    if any(ch.isdigit() for ch in fragment):
        return True
    if len(fragment) == 1:
        return fragment.isupper()
    return any(ch.isupper() for ch in fragment[1:])


_TENS_WORDS = frozenset("twenty thirty forty fifty sixty seventy eighty ninety".split())
_UNIT_WORDS = frozenset("one two three four five six seven eight nine".split())


def keep_line_end_hyphen(left: str, right: str, vocabulary: Vocabulary) -> bool:
    """Whether "left-" at a line end and "right" on the next line keep the hyphen.

    1. The document decides when it writes the pair one way more often than
       the other elsewhere ("follow-up" vs "followup").
    2. Otherwise shape: a capital or digit after the break ("allo-" "HSCT"),
       an abbreviation before it ("MRD-" "positive", "CD19-" "CAR"), or a
       number written in words ("twenty-" "one") keeps it.
    3. Otherwise both fragments being words of the document on their own
       ("dose-" "escalation") keeps it, while syllables ("transplanta-" "tion")
       are joined; so does a long word of the document after the break
       ("delayed-" "neurotoxicity"), which is no word's last syllable.
    """
    left_word = _strip_edges(left.rsplit("/", 1)[-1]).lower()
    right_word = _strip_edges(right).lower()
    joined = vocabulary.words[left_word + right_word]
    hyphenated = vocabulary.words[f"{left_word}-{right_word}"]
    if joined != hyphenated:
        return hyphenated > joined
    left_piece = _strip_edges(left.rsplit("/", 1)[-1]).rsplit(HYPHEN, 1)[-1]
    stripped_right = _strip_edges(right)
    if stripped_right[:1].isupper() or stripped_right[:1].isdigit():
        return True
    if _looks_like_abbreviation(left_piece):
        return True
    right_piece = right_word.split(HYPHEN, 1)[0]
    if left_piece.lower() in _TENS_WORDS and right_piece in _UNIT_WORDS:
        return True
    if vocabulary.parts[right_piece] == 0:
        return False
    return vocabulary.parts[left_piece.lower()] > 0 or (len(right_piece) >= 8 and len(left_piece) >= 3)


def line_joint(previous: str, following: str, vocabulary: Vocabulary) -> tuple[int, str]:
    """How to join two lines of one paragraph: (characters to drop from the
    end of `previous`, separator to put between them)."""
    if not previous or not following:
        return 0, ""
    if previous.endswith(SOFT_HYPHEN):
        return 1, ""
    if previous.endswith(HYPHEN) and len(previous) >= 2 and _LETTER_OR_DIGIT_END.search(previous[:-1]):
        left = _last_token(previous)[:-1]
        right = _first_token(following)
        if not right[:1].isalnum():  # "pre-" "and post-": a suspended hyphen, not a break
            return 0, " "
        return (0, "") if keep_line_end_hyphen(left, right, vocabulary) else (1, "")
    if previous.endswith(("/", "\u2013", "\u2014")) and not previous[-2:-1].isspace():
        return 0, ""  # typesetters break after a slash or a dash without a space
    if following[:1] in ",.;:)]":
        return 0, ""
    return 0, " "


# --- superscripts -----------------------------------------------------------

_SIGNS_ONLY = re.compile(r"^[^\w]+$")


def superscript_notation(base: str, script: str) -> str:
    """How a superscript run is written after `base` (the text before it on
    the same word; empty at the start of a word).

    Signs stay plain (``CD3+``); anything else gets a caret (``10^6``,
    ``m^2``, ``year.^5,6``). At the start of a word (an affiliation or
    footnote mark) the mark is written plain and followed by a space.
    """
    if _SIGNS_ONLY.match(script):
        return script
    if not base:
        return script + " "
    return "^" + script


_UNICODE_SUPERSCRIPTS = {
    "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9",
    "⁺": "+", "⁻": "-", "⁼": "=", "⁽": "(", "⁾": ")", "ⁿ": "n", "ⁱ": "i",
}
_UNICODE_SUPERSCRIPT_RUN = re.compile("(\\S?)( ?)([" + "".join(_UNICODE_SUPERSCRIPTS) + "]+)")


def restore_unicode_superscripts(text: str) -> str:
    """``10⁶`` and ``10 ⁶`` -> ``10^6``, ``m²`` -> ``m^2``, ``¹ Department`` -> ``1 Department``."""

    def write(match: re.Match) -> str:
        before, space, run = match.group(1), match.group(2), match.group(3)
        script = "".join(_UNICODE_SUPERSCRIPTS[ch] for ch in run)
        if before and not space:
            return before + superscript_notation(before, script)
        if before.isdigit() and space:  # "10 ⁶": the space only separated the glyphs
            return before + superscript_notation(before, script)
        # at a word start: a footnote or affiliation mark
        return before + space + superscript_notation("", script).rstrip()

    return _UNICODE_SUPERSCRIPT_RUN.sub(write, text)
