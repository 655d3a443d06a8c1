"""A reviewer's own extraction sheet (config ``endpoints_table``) in place of the extractor.

The sheet has the columns of endpoints.csv. Each row is checked (types, ranges,
endpoint names, a landmark on time-to-event values only) and an error names the
file, the row, its line and the column. The rows then go through harmonise like
extracted values: curation, cohort rules, checks and the duplicate rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pandas as pd

from trialmeta.harmonise.table import ENDPOINT_COLUMNS, ENDPOINTS, PROPORTIONS, ROW_CONTEXT_FLAGS, TIME_TO_EVENT

INTEGER_COLUMNS = ("events", "total", "page")
NUMBER_COLUMNS = ("landmark_months", "estimate", "ci_low", "ci_high", "se")
SOURCES = ("extracted", "verified", "curated", "table")

_NUMBER_OR_EMPTY = {"type": ["number", "null"]}
ROW_SCHEMA = {
    "type": "object",
    "properties": {
        "study": {"type": "string", "minLength": 1},
        "paper": {"type": "string", "minLength": 1, "pattern": r"^[^/\\]+$"},
        "trial_ids": {"type": "string"},
        "endpoint": {"enum": list(ENDPOINTS)},
        "landmark_months": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "events": {"type": ["integer", "null"], "minimum": 0},
        "total": {"type": ["integer", "null"], "minimum": 1},
        "estimate": {"type": ["number", "null"], "minimum": 0},
        "ci_low": _NUMBER_OR_EMPTY,
        "ci_high": _NUMBER_OR_EMPTY,
        "se": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "source": {"enum": [*SOURCES, ""]},
        "page": {"type": ["integer", "null"], "minimum": 1},
        "quote": {"type": "string"},
        "flags": {"type": "string"},
    },
    "allOf": [
        {
            "if": {"properties": {"endpoint": {"enum": list(PROPORTIONS)}}},
            "then": {"properties": {
                "estimate": {"maximum": 1, "description": "a proportion (0-1), not a percentage"},
                "landmark_months": {"type": "null"},
            }},
        },
        {
            "if": {"properties": {"endpoint": {"enum": list(TIME_TO_EVENT)}}},
            "then": {"properties": {"landmark_months": {"type": "number"}, "estimate": {"maximum": 1}}},
        },
        {
            "if": {"properties": {"endpoint": {"const": "n_treated"}}},
            "then": {"properties": {"total": {"type": "integer"}}},
        },
        {
            "if": {"properties": {"endpoint": {"const": "followup_median_months"}}},
            "then": {"properties": {"estimate": {"type": "number"}}},
        },
    ],
}
_INTEGER = re.compile(r"^[+-]?\d+$")


class EndpointsTableError(ValueError):
    """The sheet cannot be used; the message names the file, the row, the line and the column."""


def _where(path: Path, index: int, column: str) -> str:
    return f"{path}: row {index + 1} (line {index + 2}), column {column}"


def _typed(path: Path, index: int, raw: dict) -> dict:
    row = {}
    for column in ENDPOINT_COLUMNS:
        text = raw[column].strip()
        if column in INTEGER_COLUMNS + NUMBER_COLUMNS and text == "":
            row[column] = None
        elif column in INTEGER_COLUMNS:
            if not _INTEGER.match(text):
                raise EndpointsTableError(f"{_where(path, index, column)}: {text!r} is not a whole number")
            row[column] = int(text)
        elif column in NUMBER_COLUMNS:
            try:
                row[column] = float(text)
            except ValueError:
                raise EndpointsTableError(f"{_where(path, index, column)}: {text!r} is not a number") from None
        else:
            row[column] = text
    return row


def load_endpoints_table(path: str | Path) -> list[dict]:
    """Read and check the sheet; rows as typed values (None for empty cells), in file order."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise EndpointsTableError(f"{path}: cannot read: {err}") from err
    missing = [c for c in ENDPOINT_COLUMNS if c not in raw.columns]
    extra = [c for c in raw.columns if c not in ENDPOINT_COLUMNS]
    if missing or extra:
        raise EndpointsTableError(
            f"{path}: columns must be those of endpoints.csv ({', '.join(ENDPOINT_COLUMNS)}); "
            + "; ".join(filter(None, [missing and f"missing: {', '.join(missing)}",
                                      extra and f"unexpected: {', '.join(extra)}"]))
        )
    validator = jsonschema.Draft202012Validator(ROW_SCHEMA)
    rows, first_of_paper, seen = [], {}, {}
    for index, values in enumerate(raw.to_dict("records")):
        row = _typed(path, index, values)
        error = jsonschema.exceptions.best_match(validator.iter_errors(row))
        if error is not None:
            column = str(error.absolute_path[0]) if error.absolute_path else "(row)"
            message = error.message.replace("None is not of type", "an empty cell is not of type")
            raise EndpointsTableError(f"{_where(path, index, column)}: {message} (endpoint {row['endpoint']!r})")
        if row["events"] is not None and row["total"] is not None and row["events"] > row["total"]:
            raise EndpointsTableError(
                f"{_where(path, index, 'events')}: {row['events']} events is more than the total of {row['total']} "
                f"(endpoint {row['endpoint']!r})"
            )
        first = first_of_paper.setdefault(row["paper"], (index, row))
        for column in ("study", "trial_ids"):
            if row[column] != first[1][column]:
                raise EndpointsTableError(
                    f"{_where(path, index, column)}: {row[column]!r} differs from {first[1][column]!r} "
                    f"in row {first[0] + 1} of the same paper {row['paper']!r}"
                )
        key = (row["paper"], row["endpoint"], row["landmark_months"])
        if key in seen:
            when = "" if row["landmark_months"] is None else f" at {row['landmark_months']:g} months"
            raise EndpointsTableError(
                f"{_where(path, index, 'endpoint')}: paper {row['paper']!r} already has "
                f"{row['endpoint']}{when} in row {seen[key] + 1}"
            )
        seen[key] = index
        rows.append(row)
    return rows


def records_from_table(rows: list[dict]) -> list[dict]:
    """One harmonise record per paper of the sheet, every row chosen as it stands."""
    papers: dict[str, list[dict]] = {}
    for row in rows:
        papers.setdefault(row["paper"], []).append(row)
    records = []
    for paper, group in sorted(papers.items()):
        candidates = []
        for order, row in enumerate(group):
            flags = [f for f in (row["flags"] or "").split(";") if f in ROW_CONTEXT_FLAGS]
            candidates.append({
                **{name: row[name] for name in ("endpoint", "landmark_months", "events", "total", "estimate",
                                                "ci_low", "ci_high", "se", "page", "quote")},
                "percent_printed": None, "context": flags, "source": row["source"] or "table", "order": order,
            })
        first = group[0]
        records.append({
            "paper": paper, "status": "ok", "error": None, "study": first["study"],
            "metadata": {"trial_ids": [t for t in first["trial_ids"].split(";") if t]},
            "candidates": candidates,
            "chosen": [{"candidate": i, "reason": "endpoints_table"} for i in range(len(candidates))],
        })
    return records
