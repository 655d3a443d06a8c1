"""A reviewer's own extraction sheet (config ``endpoints_table``) in place of the extractor.

The sheet needs only the columns a reviewer has: `study`, `endpoint`, and the
value (`events` and `total`, or `estimate` with `ci_low`/`ci_high` or `se`);
any other column of endpoints.csv is optional (`paper` defaults to the study
label made file-safe), and the study columns `target`, `construct`,
`population`, `age_group`, `year` and `report` fill studies.csv (checked as in
a curation file). Each row is checked (types, ranges,
endpoint names, a landmark on time-to-event values only) and an error names the
file, the row, its line and the column. The rows then go through harmonise like
extracted values: curation, cohort rules, checks and the duplicate rule.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import jsonschema
import pandas as pd
import yaml

from trialmeta.harmonise.curation import SCHEMA_PATH as CURATION_SCHEMA
from trialmeta.harmonise.rows import ENDPOINT_COLUMNS, ENDPOINTS, PROPORTIONS, ROW_CONTEXT_FLAGS, TIME_TO_EVENT

INTEGER_COLUMNS = ("events", "total", "page")
NUMBER_COLUMNS = ("landmark_months", "estimate", "ci_low", "ci_high", "se")
SOURCES = ("extracted", "verified", "curated", "table")
REQUIRED_COLUMNS = ("study", "endpoint")
# study columns of studies.csv a sheet may carry, one value per paper (as a curation file's metadata)
METADATA_COLUMNS = ("target", "construct", "population", "age_group", "year", "report", "first_author", "journal", "doi")

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


def _metadata_schema() -> dict:
    properties = yaml.safe_load(CURATION_SCHEMA.read_text(encoding="utf-8"))["properties"]
    return {column: properties[column] for column in METADATA_COLUMNS}


def _metadata(path: Path, index: int, values: dict, schema: dict) -> dict:
    """The row's study columns, typed and checked as in a curation file (empty cells left out)."""
    out = {}
    for column in METADATA_COLUMNS:
        text = values[column].strip()
        if not text:
            continue
        value = int(text) if column == "year" and _INTEGER.match(text) else text
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema[column]).iter_errors(value))
        if error is not None:
            raise EndpointsTableError(f"{_where(path, index, column)}: {error.message}")
        out[column] = value
    return out


def load_endpoints_table(path: str | Path) -> list[dict]:
    """Read and check the sheet; rows as typed values (None for empty cells), in file order."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise EndpointsTableError(f"{path}: cannot read: {err}") from err
    known = (*ENDPOINT_COLUMNS, *METADATA_COLUMNS)
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    extra = [c for c in raw.columns if c not in known]
    if missing or extra:
        unexpected = [c + "".join(f" (did you mean {m!r}?)" for m in difflib.get_close_matches(c, known, n=1))
                      for c in extra]
        raise EndpointsTableError(
            f"{path}: needs columns {', '.join(REQUIRED_COLUMNS)} and a value (events and total, or estimate with "
            f"ci_low/ci_high or se); optional: the other columns of endpoints.csv and {', '.join(METADATA_COLUMNS)}; "
            + "; ".join(filter(None, [missing and f"missing: {', '.join(missing)}",
                                      extra and f"unexpected: {', '.join(unexpected)}"]))
        )
    for column in known:
        if column not in raw.columns:
            raw[column] = ""
    # a sheet without paper names: each study is its own paper, named file-safe
    raw["paper"] = [paper.strip() or re.sub(r"[^A-Za-z0-9_.-]+", "_", study.strip()).strip("_.") or "study"
                    for paper, study in zip(raw["paper"], raw["study"])]
    metadata_schema = _metadata_schema()
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
        if row["estimate"] is None and row["total"] is None:
            raise EndpointsTableError(
                f"{_where(path, index, 'events')}: no value: give events and total, or estimate (with ci_low and "
                f"ci_high, or se) (endpoint {row['endpoint']!r})")
        row["metadata"] = _metadata(path, index, values, metadata_schema)
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
        metadata = {k: v for row in reversed(group) for k, v in row.get("metadata", {}).items()}  # first row wins
        records.append({
            "paper": paper, "status": "ok", "error": None, "study": first["study"],
            "metadata": {**metadata, "trial_ids": [t for t in first["trial_ids"].split(";") if t]},
            "candidates": candidates,
            "chosen": [{"candidate": i, "reason": "endpoints_table"} for i in range(len(candidates))],
        })
    return records
