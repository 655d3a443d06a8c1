"""What changed since the last run: snapshots of each run's results, kept by content.

A living review is rerun as papers arrive. Each run's pooled rows, study list
and per-study endpoint values are stored as one snapshot named by the SHA-256
of its content (never by the clock), under ``{results_dir}/history/``:

    snapshots/<id>.json   the snapshot
    runs.json             the ids in the order the runs recorded them

A rerun whose results did not change records nothing. The changes shown in a
report are those between the current snapshot and the last different one.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd

from trialmeta.core.io import atomic_write_text, read_json, write_json

VALUE_FIELDS = ["events", "total", "estimate", "ci_low", "ci_high", "source"]
POOLED_KEY = ["endpoint", "landmark_months", "subgroup", "measure", "method", "ci_method"]
POOLED_FIELDS = ["k", "n_total", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2"]


def _clean(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    # the same value read from CSV twice must hash the same
    return float(f"{value:.10g}") if isinstance(value, float) else value


def _value_key(endpoint: str, landmark) -> str:
    landmark = _clean(landmark)
    return endpoint if landmark is None else f"{endpoint} at {landmark:g} months"


def snapshot(pooled: pd.DataFrame, studies: pd.DataFrame, endpoints: pd.DataFrame) -> dict:
    """The comparable content of one run: studies, their endpoint values, the pooled rows."""
    values: dict[str, dict] = {}
    for _, row in endpoints.iterrows():
        key = _value_key(row["endpoint"], row.get("landmark_months"))
        values.setdefault(row["study"], {})[key] = {field: _clean(row.get(field)) for field in VALUE_FIELDS}
    pooled_rows = {
        "|".join("" if _clean(row.get(k)) is None else str(_clean(row.get(k))) for k in POOLED_KEY): {
            **{k: _clean(row.get(k)) for k in POOLED_KEY}, **{f: _clean(row.get(f)) for f in POOLED_FIELDS}}
        for _, row in pooled.iterrows()
    }
    # which paper each label stands for: a study renamed in its curation file is the same study
    papers = dict(zip(studies["study"].astype(str), studies["paper"].astype(str))) if "paper" in studies else {}
    return {
        "studies": sorted(studies["study"].astype(str)),
        "papers": dict(sorted(papers.items())),
        "values": {study: dict(sorted(v.items())) for study, v in sorted(values.items())},
        "pooled": dict(sorted(pooled_rows.items())),
    }


def snapshot_id(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _runs(history_dir: Path) -> list[str]:
    path = history_dir / "runs.json"
    return read_json(path) if path.exists() else []


def previous_snapshot(history_dir: str | Path, current_id: str) -> tuple[str, dict] | None:
    """The last recorded snapshot that differs from the current one, or None on a first run."""
    history_dir = Path(history_dir)
    for run_id in reversed(_runs(history_dir)):
        if run_id != current_id:
            return run_id, read_json(history_dir / "snapshots" / f"{run_id}.json")
    return None


def record(history_dir: str | Path, content: dict) -> str:
    """Store this run's snapshot unless it is the same as the last run's; returns its id."""
    history_dir = Path(history_dir)
    run_id = snapshot_id(content)
    runs = _runs(history_dir)
    if runs and runs[-1] == run_id:
        return run_id
    path = history_dir / "snapshots" / f"{run_id}.json"
    if not path.exists():
        write_json(path, content)
    atomic_write_text(history_dir / "runs.json", json.dumps([*runs, run_id], indent=1) + "\n")
    return run_id


def _renamed(before: dict, current: dict) -> list[dict]:
    """Labels that changed while the paper stayed: one study renamed, not one removed and one added.
    Snapshots written before papers were recorded have no "papers" and show no renames."""
    old_paper, new_paper = before.get("papers", {}), current.get("papers", {})
    by_paper = {paper: study for study, paper in old_paper.items() if study not in current["studies"]}
    return [{"paper": paper, "old": by_paper[paper], "new": study}
            for study, paper in sorted(new_paper.items())
            if study not in before["studies"] and paper in by_paper]


def changes(previous: tuple[str, dict] | None, current: dict) -> dict:
    """Studies added, removed, renamed and re-curated, and how each pooled row moved, since `previous`."""
    current_id = snapshot_id(current)
    if previous is None:
        return {"previous_id": None, "current_id": current_id, "studies_added": current["studies"],
                "studies_removed": [], "studies_renamed": [], "recurated": [], "pooled": []}
    previous_id, before = previous
    renamed = _renamed(before, current)
    old_label = {r["new"]: r["old"] for r in renamed}
    recurated = []
    for study in sorted((set(before["studies"]) & set(current["studies"])) | set(old_label)):
        old, new = before["values"].get(old_label.get(study, study), {}), current["values"].get(study, {})
        diffs = [
            {"value": key, "old": old.get(key), "new": new.get(key)}
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)
        ]
        if diffs:
            recurated.append({"study": study, "changes": diffs})
    moved = []
    for key in sorted(set(before["pooled"]) | set(current["pooled"])):
        old, new = before["pooled"].get(key), current["pooled"].get(key)
        if old == new:
            continue
        row = {k: (new or old)[k] for k in POOLED_KEY}
        row["old"] = None if old is None else {f: old[f] for f in POOLED_FIELDS}
        row["new"] = None if new is None else {f: new[f] for f in POOLED_FIELDS}
        both = old is not None and new is not None and None not in (old["estimate"], new["estimate"])
        row["estimate_shift"] = new["estimate"] - old["estimate"] if both else None
        moved.append(row)
    return {
        "previous_id": previous_id, "current_id": current_id,
        "studies_added": sorted(set(current["studies"]) - set(before["studies"]) - set(old_label)),
        "studies_removed": sorted(set(before["studies"]) - set(current["studies"]) - set(old_label.values())),
        "studies_renamed": renamed, "recurated": recurated, "pooled": moved,
    }
