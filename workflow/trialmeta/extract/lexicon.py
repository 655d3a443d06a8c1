"""The endpoint lexicon: phrases, grade cues, context cues and metadata cues as data.

Loaded from YAML (``resources/lexicon.yaml`` by default), validated, and
compiled once; the extractor never hard-codes wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from trialmeta.core.io import load_yaml_checked

ENDPOINT_KINDS = ("count", "proportion", "survival", "duration")

_PHRASES = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
LEXICON_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["endpoints", "grades", "negation", "context", "metadata", "table_columns"],
    "properties": {
        "endpoints": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "phrases"],
                "properties": {
                    "kind": {"enum": list(ENDPOINT_KINDS)},
                    "phrases": _PHRASES,
                    "grade_split": {"type": "string"},
                    "at_landmark": {"type": "string"},
                },
            },
        },
        "grades": {
            "type": "object",
            "additionalProperties": False,
            "required": ["severe", "mild"],
            "properties": {"severe": _PHRASES, "mild": _PHRASES},
        },
        "context": {"type": "object", "additionalProperties": _PHRASES},
        "cohort": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                name: _PHRASES
                for name in ("treated", "treated_adjectives", "treated_object", "enrolled", "enrolled_adjectives",
                             "enrolled_object", "evaluable_adjectives", "not_therapy", "subset_before",
                             "subset_after", "treated_nouns", "enrolled_size", "responders")
            },
        },
        "metadata": {
            "type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": _PHRASES},
        },
        "negation": {
            "type": "object",
            "additionalProperties": False,
            "required": ["before", "above_grade"],
            "properties": {"before": _PHRASES, "above_grade": _PHRASES, "scope_breakers": _PHRASES},
        },
        "parts": {
            "type": "object",
            "additionalProperties": {"type": "array", "minItems": 2, "items": _PHRASES},
        },
        "table_columns": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["header"],
                "properties": {"header": _PHRASES, "positive": _PHRASES, "grade": {"type": "boolean"}},
            },
        },
    },
}


class LexiconError(ValueError):
    """The lexicon file is not usable; the message names the file and the key."""


def alternation(phrases: list[str]) -> str:
    """The phrases as one regular-expression group, for use inside a larger pattern.

    Phrases in capitals only (acronyms) are case-sensitive, the others not, so
    "OS" never matches inside ordinary words while "Overall survival" matches
    at a sentence start.
    """
    parts = []
    for phrase in phrases:
        acronym = re.fullmatch(r"[A-Z0-9/\-\\?]+", phrase) is not None
        parts.append(phrase if acronym else f"(?i:{phrase})")
    return "(?:" + "|".join(parts) + ")"


def compile_phrases(phrases: list[str]) -> re.Pattern:
    """One pattern for a list of phrases, matched as whole words (see `alternation`)."""
    return re.compile(r"(?<![A-Za-z0-9])" + alternation(phrases) + r"(?![A-Za-z0-9])")


@dataclass(frozen=True)
class EndpointTerms:
    name: str
    kind: str
    pattern: re.Pattern
    grade_split: str | None
    phrases: tuple[str, ...] = ()
    at_landmark: str | None = None  # the endpoint a value of this one becomes when a landmark is given


@dataclass(frozen=True)
class TableColumn:
    endpoint: str
    header: tuple[re.Pattern, ...]  # in priority order: the first phrase that finds a usable column wins
    positive: re.Pattern | None
    grade: bool


@dataclass(frozen=True)
class Lexicon:
    source: str
    endpoints: tuple[EndpointTerms, ...]
    severe: re.Pattern
    mild: re.Pattern
    negation_before: re.Pattern
    negation_above_grade: re.Pattern
    negation_scope_breakers: re.Pattern | None
    context: dict[str, re.Pattern]
    metadata: dict[str, dict[str, re.Pattern]]
    table_columns: tuple[TableColumn, ...]
    # endpoint -> one pattern per part ("CR", "CRi"): the parts add up to the endpoint
    parts: dict[str, tuple[re.Pattern, ...]] = field(default_factory=dict)
    # cohort cue -> regular-expression group, built into the cohort patterns of extract.cohort
    cohort: dict[str, str] = field(default_factory=dict)

    def endpoint(self, name: str) -> EndpointTerms:
        return next(terms for terms in self.endpoints if terms.name == name)

    def with_phrases(self, extra: dict[str, list[str]]) -> Lexicon:
        """This lexicon with more phrases for some endpoints (a paper's own abbreviations)."""
        if not extra:
            return self
        endpoints = tuple(
            replace(terms, phrases=phrases, pattern=compile_phrases(list(phrases)))
            if (phrases := terms.phrases + tuple(p for p in extra.get(terms.name, ()) if p not in terms.phrases))
            != terms.phrases else terms
            for terms in self.endpoints
        )
        return replace(self, endpoints=endpoints)


def load_lexicon(path: str | Path) -> Lexicon:
    raw = load_yaml_checked(path, LEXICON_SCHEMA, LexiconError)
    try:
        endpoints = tuple(
            EndpointTerms(
                name, spec["kind"], compile_phrases(spec["phrases"]), spec.get("grade_split"), tuple(spec["phrases"]),
                spec.get("at_landmark"),
            )
            for name, spec in raw["endpoints"].items()
        )
        table_columns = tuple(
            TableColumn(
                endpoint,
                tuple(compile_phrases([phrase]) for phrase in spec["header"]),
                compile_phrases(spec["positive"]) if "positive" in spec else None,
                bool(spec.get("grade", False)),
            )
            for endpoint, spec in raw["table_columns"].items()
        )
        return Lexicon(
            source=str(path),
            endpoints=endpoints,
            severe=compile_phrases(raw["grades"]["severe"]),
            mild=compile_phrases(raw["grades"]["mild"]),
            negation_before=compile_phrases(raw["negation"]["before"]),
            negation_above_grade=compile_phrases(raw["negation"]["above_grade"]),
            negation_scope_breakers=(
                compile_phrases(raw["negation"]["scope_breakers"]) if "scope_breakers" in raw["negation"] else None
            ),
            context={name: compile_phrases(p) for name, p in raw["context"].items()},
            metadata={
                field: {label: compile_phrases(p) for label, p in labels.items()}
                for field, labels in raw["metadata"].items()
            },
            table_columns=table_columns,
            parts={
                endpoint: tuple(compile_phrases(phrases) for phrases in part_list)
                for endpoint, part_list in raw.get("parts", {}).items()
            },
            cohort={name: alternation(phrases) for name, phrases in raw.get("cohort", {}).items()},
        )
    except re.error as err:
        raise LexiconError(f"{path}: a phrase is not a valid regular expression: {err}") from err
