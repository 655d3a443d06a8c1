"""What a reviewer checks in one paper: its values grouped by endpoint (and landmark), the extractor's
choice first, every other candidate after it, and the decisions a curation file already holds.

Extraction records are read defensively: only ``candidates``, ``chosen`` and a candidate's
``endpoint``, ``quote``, ``page`` and ``bbox`` are relied on; any other field may be missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from trialmeta.core.io import load_yaml_checked
from trialmeta.extract.numbers import MONTHS_PER_UNIT

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "curation.schema.yaml"
# The curation schema, parsed once per process (page.py reads its enums too) and with libyaml's
# parser where PyYAML has it: the pure-Python parser took 40 ms of each review-page job per parse.
# The constructor is SafeLoader's either way, so the data are the same.
CURATION_SCHEMA = yaml.load(SCHEMA_PATH.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
# The endpoints a curation decision may name (the schema's list), in the order the page shows them.
REVIEWED_ENDPOINTS = tuple(CURATION_SCHEMA["properties"]["decisions"]["items"]["properties"]["endpoint"]["enum"])
TIME_TO_EVENT = ("relapse_cuminc", "rfs", "lfs", "efs", "os")
CANDIDATE_FIELDS = ("events", "total", "estimate", "percent_printed", "ci_low", "ci_high", "se", "page", "rule",
                    "confidence", "landmark_months", "bbox", "line")
_LANDMARK = re.compile(r"^(?P<n>[0-9]+(?:\.[0-9]+)?) *(?P<unit>day|week|month|year)s?$")


class ReviewInputError(ValueError):
    """An input of a review page cannot be used; the message names the file and the problem."""


def landmark_key(months) -> str:
    """The key of a time point on the page and in exported files: '12 months'.

    Snapped as harmonise reads landmarks (the whole month within a quarter of one, else two
    decimals), so 365 days and 12 months are one value here as in endpoints.csv.
    """
    if months is None:
        return ""
    months = float(months)
    snapped = round(months) if abs(months - round(months)) <= 0.25 else round(months, 2)
    return f"{snapped:g} months"


def curation_landmark_key(text: str) -> str:
    """'1 year', '365 days' -> '12 months': a curation file's landmark on the page's scale."""
    match = _LANDMARK.match(text.strip().lower())
    if match is None:
        return text
    return landmark_key(float(match["n"]) * MONTHS_PER_UNIT[match["unit"]])


@dataclass
class Item:
    """One value to verify: an endpoint (at a landmark), its chosen candidate and the others."""

    endpoint: str
    landmark: str  # "" or "12 months"
    chosen: int | None  # index into the paper's candidates
    others: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.endpoint}@{self.landmark}" if self.landmark else self.endpoint


def _candidate(raw: dict, index: int) -> dict:
    out = {"index": index, "endpoint": raw.get("endpoint"), "quote": str(raw.get("quote") or "")}
    out.update({name: raw.get(name) for name in CANDIDATE_FIELDS})
    if out["endpoint"] not in TIME_TO_EVENT:
        out["landmark_months"] = None
    return out


def review_items(record: dict) -> tuple[list[dict], list[Item]]:
    """The paper's candidates (trimmed to what the page shows) and its items in endpoint order."""
    candidates = [_candidate(c, i) for i, c in enumerate(record.get("candidates") or []) if isinstance(c, dict)]
    by_index = {c["index"]: c for c in candidates}
    items: dict[tuple[str, str], Item] = {}
    for choice in record.get("chosen") or []:
        candidate = by_index.get(choice.get("candidate") if isinstance(choice, dict) else None)
        if candidate is None or candidate["endpoint"] not in REVIEWED_ENDPOINTS:
            continue
        key = (candidate["endpoint"], landmark_key(candidate["landmark_months"]))
        items.setdefault(key, Item(*key, chosen=candidate["index"]))  # the first choice wins, as in harmonise
    for candidate in candidates:
        if candidate["endpoint"] not in REVIEWED_ENDPOINTS:
            continue
        key = (candidate["endpoint"], landmark_key(candidate["landmark_months"]))
        item = items.setdefault(key, Item(*key, chosen=None))
        if candidate["index"] != item.chosen:
            item.others.append(candidate["index"])
    order = {name: i for i, name in enumerate(REVIEWED_ENDPOINTS)}
    ordered = sorted(items.values(), key=lambda it: (order[it.endpoint], float(it.landmark.split()[0]) if it.landmark else -1))
    return candidates, ordered


def load_existing_curation(path: str | Path | None) -> tuple[dict, str | None]:
    """A paper's curation file as data (empty when there is none), or the error that refuses it.

    The page shows the file's decisions and an export keeps what the reviewer did not change, so a
    file that fails the schema is reported on the page (file and key) rather than merged blindly.
    """
    if not path or not Path(path).exists():
        return {}, None
    schema = {"anyOf": [{"type": "null"}, CURATION_SCHEMA]}
    try:
        data = load_yaml_checked(path, schema, ReviewInputError) or {}
    except ReviewInputError as err:
        return {}, str(err)
    for decision in data.get("decisions", []):
        landmark = curation_landmark_key(decision["landmark"]) if "landmark" in decision else ""
        decision["key"] = f"{decision['endpoint']}@{landmark}" if landmark else decision["endpoint"]
    return data, None
