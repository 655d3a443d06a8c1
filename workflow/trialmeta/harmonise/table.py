"""From the papers' extraction records (and curation files) to the harmonised tables.

Contracts (column order is part of them; other tools read these files):
endpoints.csv, studies.csv, checks.csv, failures.csv and audit.csv, with the
columns of `trialmeta.harmonise.rows`. Every problem found is a named flag on the row and a line in
checks.csv, a row whose numbers are impossible never reaches pooling
unflagged, and every change a curator or a configured rule makes to a value is
a line in audit.csv.

Order of work for one paper: the extractor's choices -> curation decisions ->
cohort sizes -> denominator rule -> derived values and checks (modules
`decisions` and `checks`). Across papers, a trial reported twice keeps
one report (see `trialmeta.harmonise.duplicates`).
"""

from __future__ import annotations

import string
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from trialmeta.harmonise.checks import (
    apply_denominator_rule, check_other_values, evaluate, longest_followup, mark_superseded, replaced_values,
)
from trialmeta.harmonise.curation import Curation, CurationError, load_curation, snap_landmark
from trialmeta.harmonise.decisions import DecisionError, apply_decision, apply_metadata, audit_decision, audit_line
from trialmeta.harmonise.duplicates import DUPLICATE_FLAG, StudySummary, find_duplicates
from trialmeta.harmonise.rows import (
    AUDIT_COLUMNS, BLOCKING_FLAGS, CHECK_COLUMNS, DEFAULT_SETTINGS, ENDPOINT_COLUMNS, ENDPOINTS,
    EXCLUDED_FLAG, FAILURE_COLUMNS, PARTIAL_CONTEXT, PROPORTIONS, ROW_CONTEXT_FLAGS, STUDY_COLUMNS, TIME_TO_EVENT,
    UNVERIFIED_FLAG, UNVERIFIED_REASON, VERIFIED_SOURCES, Cohort, Row, missing, rounding_tolerance, row_from_candidate,
)

__all__ = [
    "AUDIT_COLUMNS", "BLOCKING_FLAGS", "CHECK_COLUMNS", "ENDPOINT_COLUMNS", "ENDPOINTS", "FAILURE_COLUMNS",
    "PROPORTIONS", "ROW_CONTEXT_FLAGS", "STUDY_COLUMNS", "TIME_TO_EVENT", "UNVERIFIED_FLAG", "UNVERIFIED_REASON",
    "CurationError", "harmonise", "load_curation", "poolable", "rounding_tolerance",
]


@dataclass
class PaperResult:
    rows: list
    study: dict
    summary: StudySummary
    audit: list
    checks: list  # lines not about one row: decisions that no longer fit the extraction


def _curation_for(record: dict, curation_dir: str | None, failures: list) -> Curation | None:
    """The paper's curation file, unless it is invalid or was written for another file of the same name."""
    paper = record["paper"]
    if not curation_dir:
        return None
    path = Path(curation_dir) / f"{paper}.yaml"
    if not path.exists():
        return None
    try:
        curation = load_curation(path)
    except CurationError as err:
        failures.append({"paper": paper, "stage": "curate", "error_kind": "invalid_curation", "message": str(err)})
        return None
    sha256 = record.get("sha256")
    if curation.paper_sha256 and sha256 and sha256 not in curation.paper_sha256:
        failures.append({
            "paper": paper, "stage": "curate", "error_kind": "curation_for_another_file",
            "message": f"{path}: written for a file with SHA-256 {curation.paper_sha256[0][:12]}..., but "
                       f"{record['file']} has {sha256[:12]}...; not applied. If it is the same paper, record this "
                       f"file's hash with: python tools/stamp_curation.py {path} <paper file>",
        })
        return None
    return curation


def _ambiguous_checks(record: dict, rows: dict, base: dict) -> list[dict]:
    """An endpoint the extractor left unchosen because equally credible values disagree, and no
    curation decided it: a check naming the values, so the reviewer sees the endpoint is open."""
    out = []
    for entry in record.get("ambiguous", []):
        key = (entry["endpoint"], entry["landmark_months"])
        if entry["endpoint"] not in ENDPOINTS or key in rows:
            continue
        values = sorted({
            f"{c['events']}/{c['total']}" if c["events"] is not None and c["total"] is not None
            else f"{100 * c['estimate']:.4g}%" if c["estimate"] is not None and entry["endpoint"] != "followup_median_months"
            else f"{c['estimate']}"
            for c in (record["candidates"][i] for i in entry["candidates"])
            if c.get("why_not_chosen", "").startswith("as credible")
        })
        out.append({
            **base, "endpoint": entry["endpoint"], "landmark_months": entry["landmark_months"],
            "check": "ambiguous_value",
            "detail": "equally credible values disagree (" + ", ".join(values) + "); none was chosen: "
                      "accept one in a curation file",
        })
    return out


def _harmonise_paper(record: dict, curation: Curation | None, settings: dict) -> PaperResult:
    paper = record["paper"]
    audit, paper_checks = [], []
    # a study is known by its first author and year ("Lu 2021") when the paper prints both
    author, year = record["metadata"].get("first_author"), record["metadata"].get("year")
    default_label = record.get("study") or (f"{author} {year}" if author and year else paper)
    study = (curation.metadata.get("study") if curation else None) or default_label
    base = {"study": study, "paper": paper}
    metadata = {k: v for k, v in record["metadata"].items() if k != "evidence"}
    if curation:
        if study != default_label:
            audit.append(audit_line({**base, "endpoint": ""}, "study", default_label, study, "metadata",
                                curation.reason, curation.file))
        metadata = apply_metadata(metadata, curation, base, audit)
    trial_ids = ";".join(metadata.get("trial_ids") or [])
    base["trial_ids"] = trial_ids
    candidates = record["candidates"]
    rows: dict[tuple, Row] = {}
    n_enrolled = None
    for choice in record["chosen"]:
        candidate = candidates[choice["candidate"]]
        if candidate["endpoint"] == "n_enrolled" and not set(candidate["context"]) & set(PARTIAL_CONTEXT):
            n_enrolled = candidate["total"]
        if candidate["endpoint"] in ENDPOINTS:
            row = row_from_candidate(candidate, base)
            rows.setdefault(row.key, row)
    if curation:
        paper_checks.extend({
            **base, "endpoint": "", "landmark_months": None, "check": "curation_not_applied",
            "detail": f"{curation.file}: {problem}; the file's other decisions apply",
        } for _key, problem in curation.refused)
        for decision in curation.decisions:
            try:
                apply_decision(decision, rows, candidates, base, curation, audit)
            except DecisionError as err:
                paper_checks.append({
                    **base, "endpoint": decision.endpoint, "landmark_months": decision.landmark_months,
                    "check": "curation_not_applied", "detail": f"{curation.file}: {decision.key}: {err}",
                })
    paper_checks.extend(_ambiguous_checks(record, rows, base))
    treated_row, followup_row = rows.get(("n_treated", None)), rows.get(("followup_median_months", None))
    sizes = {
        "treated": None if treated_row is None else treated_row.values["total"],
        "enrolled": (curation.cohort.get("enrolled") if curation else None) or n_enrolled,
        "evaluable": (curation.cohort.get("evaluable") if curation else None) or (record.get("cohort") or {}).get("evaluable"),
    }
    followup = None if followup_row is None else followup_row.values["estimate"]
    cohort = Cohort(
        sizes={k: int(v) for k, v in sizes.items() if not missing(v)},
        preference=list(settings["denominator"]),
        followup_median=None if missing(followup) else followup,
        followup_max=(curation.followup_max_months if curation else None) or longest_followup(followup_row),
    )
    ordered = [rows[key] for key in sorted(rows, key=lambda k: (k[0], -1 if k[1] is None else k[1]))]
    for row in ordered:
        apply_denominator_rule(row, candidates, cohort, base, audit)
        evaluate(row, cohort)
        before = None if row.replaced is None else replaced_values(row, cohort)
        if before is not None:
            mark_superseded(row, before)
        if row.decided is not None:
            audit_decision(row, before, audit)
        check_other_values(row, candidates, base)
        if settings["pool_only_verified"] and row.values["source"] not in VERIFIED_SOURCES:
            row.note(UNVERIFIED_FLAG)
    if curation and curation.exclude:
        reason = curation.exclude.replace(";", ",")  # ';' separates flags
        for row in ordered:
            row.flag(f"{EXCLUDED_FLAG}{reason}", f"{curation.file}: study excluded: {curation.exclude}", "excluded_by_curation")
        audit.append(audit_line({**base, "endpoint": ""}, "pooled", "yes", "no: excluded", "exclude", curation.exclude,
                                curation.file))
    relapses, responders = rows.get(("relapse", None)), rows.get(("cr_cri", None))
    if relapses and responders and not missing(relapses.values["events"]) and not missing(responders.values["events"]):
        if relapses.values["events"] > responders.values["events"]:
            relapses.flag("more_relapses_than_responders",
                          f"{relapses.values['events']} relapses > {responders.values['events']} responders")
    counts = {
        r.values["endpoint"]: (int(r.values["events"]), int(r.values["total"])) for r in ordered
        if r.values["endpoint"] in PROPORTIONS and not missing(r.values["events"]) and not missing(r.values["total"])
        and not set(r.flags) & set(ROW_CONTEXT_FLAGS)
    }
    n_treated = cohort.sizes.get("treated")
    summary = StudySummary(
        paper=paper, study=study, trial_ids=tuple(metadata.get("trial_ids") or ()), n_treated=n_treated,
        year=metadata.get("year"), report=metadata.get("report"), centre=metadata.get("centre"), counts=counts,
    )
    study_row = {
        "study": study, "paper": paper, "trial_ids": trial_ids,
        "target": metadata.get("target"), "construct": metadata.get("construct"),
        "population": metadata.get("population"), "age_group": metadata.get("age_group"),
        "n_treated": n_treated, "followup_median_months": cohort.followup_median, "year": metadata.get("year"),
        **{key: metadata.get(key) for key in ("first_author", "journal", "doi")},
        # the intention-to-treat denominator (pool.itt), from the paper or the curation file's cohort
        "n_enrolled": cohort.sizes.get("enrolled"),
    }
    return PaperResult(ordered, study_row, summary, audit, paper_checks)


# ---------------------------------------------------------------- all papers


def _relabel(result: PaperResult, label: str) -> None:
    old = result.study["study"]
    result.study["study"] = label
    result.summary = replace(result.summary, study=label)
    for row in result.rows:
        row.values["study"] = label
        if row.replaced is not None:
            row.replaced.values["study"] = label
    for line in result.checks + result.audit:
        if line.get("study") == old:
            line["study"] = label


def _distinct_labels(results: list[PaperResult]) -> None:
    """Give papers that share a study label distinct ones ("Wang 2021a", "Wang 2021b"), as reviews do.

    Two reports by one first author in one year are common, and every later stage keys a study by its
    label: a shared one would merge two cohorts in a forest or stop the pool. Each renamed paper gets a
    check saying how to name it in its curation file, and an audit line.
    """
    by_label = defaultdict(list)
    for result in results:
        by_label[result.study["study"]].append(result)
    taken = set(by_label)
    for label, sharing in sorted(by_label.items()):
        if len(sharing) < 2:
            continue
        papers = ", ".join(r.summary.paper for r in sharing)
        letters = iter(string.ascii_lowercase)
        for result in sorted(sharing, key=lambda r: r.summary.paper):
            new = label
            while new in taken:
                suffix = next(letters, None) or result.summary.paper
                new = f"{label}{suffix}" if label[-1:].isdigit() else f"{label} ({suffix})"
            taken.add(new)
            _relabel(result, new)
            base = {"study": new, "paper": result.summary.paper}
            result.checks.append({
                **base, "endpoint": "", "landmark_months": None, "check": "study_label_shared",
                "detail": f"{len(sharing)} papers ({papers}) are labelled {label!r}; this one is shown as {new!r}. "
                          f"Name it with 'study:' in its curation file {result.summary.paper}.yaml",
            })
            result.audit.append(audit_line({**base, "endpoint": ""}, "study", label, new, "distinct_label",
                                           f"label shared by {papers}", "harmonise"))



def harmonise(records: list[dict], curation_dir: str | None, settings: dict | None = None) -> dict[str, pd.DataFrame]:
    """endpoints, studies, checks, failures and audit tables from extraction records.

    `settings` is the config's ``harmonise`` block: ``denominator`` (preference
    order of treated / evaluable / enrolled), ``duplicate_rule`` and
    ``duplicate_min_matches``; missing keys take DEFAULT_SETTINGS.
    """
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    results: list[PaperResult] = []
    failures = []
    for record in sorted(records, key=lambda r: r["paper"]):
        paper = record["paper"]
        if record["status"] != "ok":
            failures.append({
                "paper": paper, "stage": "extract", "error_kind": record["error"]["kind"],
                "message": record["error"]["message"],
            })
            continue
        curation = _curation_for(record, curation_dir, failures)
        result = _harmonise_paper(record, curation, settings)
        if not result.rows:
            failures.append({
                "paper": paper, "stage": "harmonise", "error_kind": "no_values",
                "message": f"{record['file']}: the text was read but no endpoint value was found in it; check that "
                           f"it reports trial results, or add its values in a curation file {paper}.yaml",
            })
        results.append(result)
    _distinct_labels(results)
    duplicates = find_duplicates([r.summary for r in results], settings["duplicate_rule"], settings["duplicate_min_matches"])
    dropped = {d.paper: d for d in duplicates}
    for result in results:
        duplicate = dropped.get(result.summary.paper)
        if duplicate is None:
            continue
        kept = duplicate.kept_study.replace(";", ",")  # ';' separates flags
        reason = f"{duplicate.evidence}; harmonise.duplicate_rule = {settings['duplicate_rule']} keeps {duplicate.kept_paper}"
        for row in result.rows:
            row.flag(f"{DUPLICATE_FLAG}{kept}", reason, "duplicate_of")
        result.audit.append(audit_line({**result.study, "endpoint": ""}, "pooled", "yes", f"no: same trial as {kept}",
                                   "duplicate", reason, "config.yaml"))
    endpoint_rows, checks, audit = [], [], []
    for result in results:
        for row in result.rows:
            endpoint_rows.append({**row.values, "flags": ";".join(row.flags)})
            checks.extend({
                "paper": row.values["paper"], "study": row.values["study"], "endpoint": row.values["endpoint"],
                "landmark_months": row.values["landmark_months"], "check": name, "detail": detail,
            } for name, detail in row.findings)
        checks.extend(result.checks)
        audit.extend(result.audit)
    tables = {
        "endpoints": pd.DataFrame(endpoint_rows, columns=ENDPOINT_COLUMNS),
        "studies": pd.DataFrame([r.study for r in results], columns=STUDY_COLUMNS),
        "checks": pd.DataFrame(checks, columns=CHECK_COLUMNS),
        "failures": pd.DataFrame(failures, columns=FAILURE_COLUMNS),
        "audit": pd.DataFrame(audit, columns=AUDIT_COLUMNS),
    }
    for name in ("events", "total", "page"):
        tables["endpoints"][name] = tables["endpoints"][name].astype("Int64")
    for name in ("n_treated", "year", "n_enrolled"):
        tables["studies"][name] = tables["studies"][name].astype("Int64")
    tables["endpoints"] = tables["endpoints"].sort_values(
        ["study", "endpoint", "landmark_months"], na_position="first", kind="mergesort"
    ).reset_index(drop=True)
    return tables


def _flags(row) -> set[str]:
    return set(filter(None, (row["flags"] if isinstance(row["flags"], str) else "").split(";")))


def _no_count_reason(row) -> str:
    """Why a row has no count, in words that say what to do."""
    if not pd.isna(row["estimate"]) and not pd.isna(row["total"]) and row["total"]:
        return (f"{100 * row['estimate']:.3g}% of {int(row['total'])} is no whole number of patients; "
                "give events and total in a curation file")
    return "no events/total reported or derivable"


def poolable(endpoints: pd.DataFrame, endpoint: str, landmark_months: float | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Rows of `endpoint` that can be pooled as events/total, and the excluded ones with reasons.

    Only rows at exactly `landmark_months` (None: rows without a landmark), so a
    24-month value is never pooled as a 12-month one. A second report of a
    trial is dropped before, by `trialmeta.harmonise.duplicates.single_reports`.
    """
    rows = endpoints[endpoints["endpoint"] == endpoint]
    if landmark_months is None:
        rows = rows[rows["landmark_months"].isna()]
    else:
        rows = rows[rows["landmark_months"] == snap_landmark(float(landmark_months))]
    keep, excluded = [], []
    for _, row in rows.iterrows():
        flags = _flags(row)
        blocking = flags.intersection(BLOCKING_FLAGS)
        excluded_by_curation = sorted(f for f in flags if f.startswith(EXCLUDED_FLAG))
        if excluded_by_curation:
            excluded.append({"study": row["study"], "reason": "excluded by curation: "
                             + excluded_by_curation[0][len(EXCLUDED_FLAG):]})
        elif blocking:
            excluded.append({"study": row["study"], "reason": "impossible value: " + ", ".join(sorted(blocking))})
        elif UNVERIFIED_FLAG in flags:
            excluded.append({"study": row["study"], "reason": UNVERIFIED_REASON})
        elif pd.isna(row["events"]) or pd.isna(row["total"]) or row["total"] == 0:
            excluded.append({"study": row["study"], "reason": _no_count_reason(row)})
        else:
            keep.append(row)
    frame = pd.DataFrame(keep, columns=endpoints.columns)
    return frame, excluded