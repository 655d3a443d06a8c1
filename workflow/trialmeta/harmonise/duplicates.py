"""The same trial reported twice: found by registry id or by an identical cohort, kept once.

An abstract and the full paper of one trial, or one file under two names,
must never put the same patients into a pooled estimate twice. Every study of
a group but one is marked (flag ``duplicate_of:<kept study>`` on all its
endpoints.csv rows), and `single_reports` is the one place where the pool stage
drops the marked reports, before any pool (proportion, relapse, landmark
survival, patient-level) sees the tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

DUPLICATE_RULES = ("latest_full_report", "latest", "largest_cohort")
DUPLICATE_FLAG = "duplicate_of:"


@dataclass(frozen=True)
class StudySummary:
    """What identifies a cohort: its ids, size, centre and counts per endpoint."""

    paper: str
    study: str
    trial_ids: tuple[str, ...]
    n_treated: int | None
    year: int | None
    report: str | None
    centre: str | None
    counts: dict  # endpoint -> (events, total), whole-cohort proportions only


@dataclass(frozen=True)
class Duplicate:
    paper: str
    kept_paper: str
    kept_study: str
    evidence: str


def _registry_key(trial_id: str) -> str:
    # "ChiCTR-OIB-17013670" and "ChiCTROIB17013670" name the same registration
    return re.sub(r"[^0-9A-Z]", "", trial_id.upper())


def _same_cohort(a: StudySummary, b: StudySummary, min_matches: int) -> str | None:
    if a.n_treated is None or a.n_treated != b.n_treated:
        return None
    if a.centre and b.centre and a.centre.strip().lower() != b.centre.strip().lower():
        return None
    shared = sorted(set(a.counts) & set(b.counts))
    same = [e for e in shared if a.counts[e] == b.counts[e]]
    # a later report of a trial may update some counts, so a few differences are
    # allowed; identical counts must still be the majority of those compared
    if len(same) >= min_matches and len(same) > len(shared) - len(same):
        return f"same cohort: {a.n_treated} treated and the same counts for {', '.join(same)}"
    return None


def _evidence(a: StudySummary, b: StudySummary, min_matches: int) -> str | None:
    shared_ids = sorted({_registry_key(t) for t in a.trial_ids} & {_registry_key(t) for t in b.trial_ids})
    if shared_ids:
        printed = [t for t in a.trial_ids if _registry_key(t) in shared_ids]
        return f"same registry id {', '.join(printed)}"
    return _same_cohort(a, b, min_matches)


def _preference(rule: str, study: StudySummary) -> tuple:
    """Sort key: the first study of a group under `rule` is kept; paper name breaks ties."""
    year = study.year if study.year is not None else -1
    size = study.n_treated or 0
    if rule == "latest_full_report":
        return (study.report == "abstract", -year, -size, study.paper)
    if rule == "latest":
        return (-year, -size, study.paper)
    if rule == "largest_cohort":
        return (-size, -year, study.paper)
    raise ValueError(f"harmonise.duplicate_rule: unknown rule {rule!r}; one of {', '.join(DUPLICATE_RULES)}")


def find_duplicates(studies: list[StudySummary], rule: str, min_matches: int) -> list[Duplicate]:
    """Studies that repeat a trial of another study, each with the kept study and the evidence."""
    parent = {s.paper: s.paper for s in studies}

    def root(paper: str) -> str:
        while parent[paper] != paper:
            paper = parent[paper]
        return paper

    evidence: dict[str, str] = {}
    ordered = sorted(studies, key=lambda s: s.paper)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            found = _evidence(a, b, min_matches)
            if found:
                evidence.setdefault(b.paper, found)
                evidence.setdefault(a.paper, found)
                parent[root(b.paper)] = root(a.paper)
    groups: dict[str, list[StudySummary]] = {}
    for study in ordered:
        groups.setdefault(root(study.paper), []).append(study)
    duplicates = []
    for members in groups.values():
        if len(members) < 2:
            continue
        kept, *others = sorted(members, key=lambda s: _preference(rule, s))
        for other in others:
            found = _evidence(kept, other, min_matches) or evidence[other.paper]
            duplicates.append(Duplicate(other.paper, kept.paper, kept.study, found))
    return sorted(duplicates, key=lambda d: d.paper)


@dataclass(frozen=True)
class SingleReports:
    """The tables with one report per trial, and the reports left out (paper -> kept study)."""

    endpoints: pd.DataFrame
    dropped: dict[str, str]
    dropped_rows: pd.DataFrame

    def without_dropped(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (any table with a "paper" column: patients, curves) without the dropped reports."""
        return frame[~frame["paper"].isin(self.dropped)].reset_index(drop=True)

    def excluded(self, endpoints: tuple[str, ...] | list[str]) -> list[dict]:
        """The "excluded" entries of a pool of `endpoints`: each dropped report that gives one of them."""
        rows = self.dropped_rows[self.dropped_rows["endpoint"].isin(list(endpoints))]
        return [{"study": study, "paper": paper, "reason": f"same trial as {self.dropped[paper]}"}
                for study, paper in sorted(set(zip(rows["study"], rows["paper"])))]


def single_reports(endpoints: pd.DataFrame) -> SingleReports:
    """endpoints.csv without the rows of a second report of a trial (flag ``duplicate_of:``)."""
    flags = endpoints["flags"].fillna("").astype(str).str.split(";")
    kept_of = flags.map(lambda fs: next((f[len(DUPLICATE_FLAG):] for f in fs if f.startswith(DUPLICATE_FLAG)), None))
    marked = kept_of.notna()
    dropped = dict(sorted(zip(endpoints.loc[marked, "paper"], kept_of[marked])))
    # every row of a dropped report, also one added after the flags were set (a reconstructed landmark)
    gone = endpoints["paper"].isin(dropped)
    return SingleReports(endpoints[~gone].reset_index(drop=True), dropped, endpoints[gone].reset_index(drop=True))
