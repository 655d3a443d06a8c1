"""Curation files: a reviewer's facts about a paper and decisions on its values.

A file ``{paper}.yaml`` (schema: workflow/schemas/curation.schema.yaml) sets
study metadata and lists decisions (accept a candidate, override, add, reject),
each with a reason. Values are stored as printed (``percent: 86``,
``ci_percent: [68, 104]``, ``se_percent: 14``) and turned into proportions here,
so the file reads like the paper and the table reads like every other row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from trialmeta.core.io import load_yaml_checked
from trialmeta.extract.numbers import MONTHS_PER_UNIT

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "curation.schema.yaml"
METADATA_KEYS = (
    "study", "trial_ids", "target", "construct", "population", "age_group", "year", "report", "centre",
    "first_author", "journal", "doi",
)
# A landmark in days or weeks is the month it names when it lies this close:
# 365 days is 11.99 months (12 months), 180 days is 5.91 months (6 months).
LANDMARK_SNAP_MONTHS = 0.25
_LANDMARK = re.compile(r"^(?P<n>[0-9]+(?:\.[0-9]+)?) *(?P<unit>day|week|month|year)s?$")


def curation_folder(config: dict) -> str:
    """The run's curation folder: config ``curation_dir`` with ``{papers_dir}`` filled in; '' when curation is off.

    The default, ``{papers_dir}/curation``, keeps a reviewer's curation beside their papers (and
    the project's demo curation beside the demo papers), so no one's decisions reach another's files.
    """
    value = config.get("curation_dir") or ""
    return value.replace("{papers_dir}", str(config.get("papers_dir") or "").rstrip("/")) if value else ""


class CurationError(ValueError):
    """A curation file is not valid; the message names the file, the key and the problem."""


def snap_landmark(months: float) -> float:
    """A landmark in months, snapped to the whole month it names (1 year = 12 months = 365 days).

    Only a change of unit: a value is never moved to another time point.
    """
    whole = round(months)
    return float(whole) if abs(months - whole) <= LANDMARK_SNAP_MONTHS else round(months, 2)


def landmark_months(text: str) -> float:
    """ "12 months", "1 year", "365 days" -> 12.0."""
    match = _LANDMARK.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a time such as '12 months', '1 year' or '365 days'")
    return snap_landmark(float(match["n"]) * MONTHS_PER_UNIT[match["unit"]])


@dataclass(frozen=True)
class Decision:
    """One decision on one endpoint value; `values` are on the table's scale (proportions)."""

    key: str  # where it sits in the file, e.g. "decisions/2", for error messages
    endpoint: str
    landmark_months: float | None
    decision: str
    values: dict
    denominator: str | None
    reason: str


@dataclass(frozen=True)
class Curation:
    path: str
    metadata: dict = field(default_factory=dict)
    reason: str = ""
    cohort: dict = field(default_factory=dict)
    followup_max_months: float | None = None
    decisions: tuple[Decision, ...] = ()
    # event times of single patients of the per-patient table, as the text gives them
    patient_times: dict = field(default_factory=dict)
    patient_time_unit: str = "days"
    # (key, problem) of decisions refused alone; the other decisions apply
    refused: tuple[tuple[str, str], ...] = ()
    # why the whole study is left out of every pooled analysis ('' = it is not)
    exclude: str = ""
    # SHA-256 of the paper file(s) the curation was written for (a PDF and its text version may differ)
    paper_sha256: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return Path(self.path).name


def _table_values(values: dict) -> dict:
    """Printed percentages to proportions; keys as in endpoints.csv, plus percent_printed."""
    out = {name: values[name] for name in ("events", "total", "estimate", "se", "page") if name in values}
    if "percent" in values:
        out["estimate"] = values["percent"] / 100
        out["percent_printed"] = values["percent"]
    if "se_percent" in values:
        out["se"] = values["se_percent"] / 100
    interval = values.get("ci") or [bound / 100 for bound in values.get("ci_percent", [])] or None
    if interval:
        out["ci_low"], out["ci_high"] = interval
    return out


def _schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _first_error(data, schema: dict, prefix: str) -> str | None:
    """The first schema error as 'key: message' (keys under `prefix`), or None."""
    error = next(iter(sorted(jsonschema.Draft202012Validator(schema).iter_errors(data),
                             key=lambda e: list(map(str, e.absolute_path)))), None)
    if error is None:
        return None
    key = "/".join([prefix, *map(str, error.absolute_path)]) if prefix else "/".join(map(str, error.absolute_path))
    return f"{key or '(top level)'}: {error.message}"


def _decision(item, key: str, schema: dict) -> Decision:
    """One decision, or ValueError('key: problem') when it cannot be applied as written."""
    problem = _first_error(item, schema, key)
    if problem:
        raise ValueError(problem)
    landmark = landmark_months(item["landmark"]) if "landmark" in item else None
    values = _table_values(item.get("values", {}))
    low, high = values.get("ci_low"), values.get("ci_high")
    if low is not None and low > high:
        raise ValueError(f"{key}/values: CI low {low:g} is above CI high {high:g}")
    events, total = values.get("events"), values.get("total")
    if events is not None and total is not None and events > total:
        raise ValueError(f"{key}/values: {events} events is more than the total of {total}")
    return Decision(key=key, endpoint=item["endpoint"], landmark_months=landmark, decision=item["decision"],
                    values=values, denominator=item.get("denominator"), reason=item["reason"])


def load_curation(path: str | Path) -> Curation:
    """Read and check one curation file.

    A decision that is not valid is refused alone (`Curation.refused` names its
    key and problem) and the file's other decisions and metadata still apply;
    CurationError (naming the file, the key and the problem) is left for a file
    that cannot be read or whose metadata are not valid.
    """
    schema = _schema()
    decision_schema = schema["properties"]["decisions"]["items"]
    # the file without its decisions' contents: each decision is checked on its own below
    file_schema = {**schema, "properties": {**schema["properties"], "decisions": {"type": "array"}}}
    data = load_yaml_checked(path, {"anyOf": [{"type": "null"}, file_schema]}, CurationError) or {}
    decisions, refused, seen = [], [], {}
    for index, item in enumerate(data.get("decisions", [])):
        key = f"decisions/{index}"
        try:
            decision = _decision(item, key, decision_schema)
        except ValueError as err:
            refused.append((key, str(err)))
            continue
        target = (decision.endpoint, decision.landmark_months)
        if target in seen:
            where = "" if decision.landmark_months is None else f" at {decision.landmark_months:g} months"
            refused.append((key, f"{key}: second decision on {decision.endpoint}{where} (first is {seen[target]}); "
                                 "merge them"))
            continue
        seen[target] = key
        decisions.append(decision)
    return Curation(
        path=str(path),
        metadata={k: data[k] for k in METADATA_KEYS if k in data},
        reason=data.get("reason", ""),
        cohort=dict(data.get("cohort", {})),
        followup_max_months=data.get("followup_max_months"),
        decisions=tuple(decisions),
        refused=tuple(refused),
        exclude=data.get("exclude", ""),
        patient_times={str(k): dict(v) for k, v in data.get("patient_times", {}).items()},
        patient_time_unit=data.get("patient_time_unit", "days"),
        paper_sha256=tuple([data["paper_sha256"]] if isinstance(data.get("paper_sha256"), str)
                           else data.get("paper_sha256", ())),
    )
