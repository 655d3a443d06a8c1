"""What a run did, in a few lines: printed at the end of every run and at the top of the report.

A newcomer reads the terminal, not `failures.csv`: papers read and failed (with
the reason and fix the failure record gives), files of the papers folder that
were not read, curation files that match no paper or whose decisions were
refused, how many values were extracted, curated and verified, the checks
raised, and per endpoint the studies that reported it but were not pooled.
Everything listed under "problems" makes a `strict: true` run fail.
"""

from __future__ import annotations

import difflib
import html
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trialmeta.core.io import read_json
from trialmeta.extract.corpus import PAPER_SUFFIXES
from trialmeta.harmonise.curation import curation_folder

TABLES = ("endpoints", "studies", "checks", "failures", "audit")
# checks that say a reviewer's decision was not applied: a problem, not a finding about the paper
REFUSED_CURATION_CHECKS = ("curation_not_applied",)
SOURCES = ("extracted", "curated", "verified")
# What each source means, said where the counts are printed: the review pages count a value as
# reviewed when a person curated or verified it, and the two places must read alike.
SOURCE_NOTE = "curated: changed or added by a reviewer; verified: accepted as extracted; both count as reviewed"
# A scanned page read by Tesseract can turn "≥3" into "23" or 8 into 3: its values need a person.
OCR_NOTE = ("no text layer, read by OCR (values flagged 'ocr' in tables/endpoints.csv); check each value "
            "against the page image on its review page")
OTHER_LANDMARK = re.compile(r"no [0-9.]+-month value")


@dataclass
class RunSummary:
    papers_read: int = 0
    failed: list = field(default_factory=list)  # (paper, error_kind, message)
    skipped: list = field(default_factory=list)  # (file, why)
    unmatched_curation: list = field(default_factory=list)  # (file, closest paper or "")
    refused_curation: list = field(default_factory=list)  # (paper, detail)
    values: Counter = field(default_factory=Counter)  # source -> rows
    checks: Counter = field(default_factory=Counter)  # check -> lines
    excluded: dict = field(default_factory=dict)  # endpoint (or endpoint_12m) -> [(study, reason)]
    flow: list = field(default_factory=list)  # PRISMA-style (step, count) of the run
    read_by_ocr: list = field(default_factory=list)  # papers whose values came from OCR text
    empty_corpus: str = ""  # why nothing was read, when nothing was
    stopped: bool = False  # a job failed: the tables may be stale or missing

    @property
    def problems(self) -> int:
        return (len(self.failed) + len(self.skipped) + len(self.unmatched_curation) + len(self.refused_curation)
                + bool(self.empty_corpus) + self.stopped)


def _frame(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path, keep_default_na=False, dtype=str)
    except (OSError, pd.errors.EmptyDataError):
        return None


def read_tables(results_dir: str | Path) -> tuple[dict, dict | None]:
    """The run's tables (None where a table was not written) and pooled/results.json (None if absent)."""
    root = Path(results_dir)
    tables = {name: _frame(root / "tables" / f"{name}.csv") for name in TABLES}
    details_path = root / "pooled" / "results.json"
    details = read_json(details_path) if details_path.exists() else None
    return tables, details


def skipped_files(papers_dir: str | Path, curation_dir: str | Path | None = None) -> list[tuple[str, str]]:
    """Files and folders of the papers folder that are not read as papers, with why (hidden files aside)."""
    folder = Path(papers_dir)
    if not folder.is_dir():
        return []
    own_curation = Path(curation_dir).resolve() if curation_dir else None
    skipped = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            if path.resolve() != own_curation and path.name != "curation":
                skipped.append((f"{path.name}/", "a subfolder: only files directly in papers_dir are read; move its "
                                                 "papers up a level or point papers_dir at it"))
        elif path.suffix.lower() not in PAPER_SUFFIXES:
            kind = path.suffix.lower() or "no extension"
            skipped.append((path.name, f"{kind} is not read (only {', '.join(PAPER_SUFFIXES)}); save it as PDF or "
                                       "plain text"))
    return skipped


def unmatched_curation(curation_dir: str | Path | None, papers: set[str]) -> list[tuple[str, str]]:
    """Curation files whose name is no paper of the run (so they are never applied), with the closest name."""
    if not curation_dir or not Path(curation_dir).is_dir():
        return []
    out = []
    for path in sorted(Path(curation_dir).iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix in (".yml", ".YAML", ".yaml") and path.suffix != ".yaml":
            out.append((path.name, "rename it to end in .yaml"))
        elif path.suffix == ".yaml" and path.stem not in papers:
            close = difflib.get_close_matches(path.stem, sorted(papers), n=1, cutoff=0.5)
            out.append((path.name, f"did you mean {close[0]}.yaml?" if close else "no paper has this name"))
    return out


def _rows(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None:
        return []
    return frame.astype(object).where(frame.notna(), "").to_dict("records")


def summarise(tables: dict, details: dict | None, config: dict, papers: set[str] | None = None,
              stopped: bool = False) -> RunSummary:
    """The summary of one run from its tables, results.json and configuration.

    `papers` are the paper names of the run (the corpus Snakemake saw); by
    default those the tables name.
    """
    summary = RunSummary(stopped=stopped)
    failures = _rows(tables.get("failures"))
    studies = _rows(tables.get("studies"))
    named = {r.get("paper", r.get("study")) for r in studies} | {r["paper"] for r in failures}
    papers = set(papers) if papers is not None else named
    summary.failed = [(r["paper"], r["error_kind"], r["message"]) for r in failures]
    summary.papers_read = len({r.get("paper", r.get("study")) for r in studies})  # papers that failed extraction have no study row
    table = config.get("endpoints_table") or ""
    if not table:
        curation = curation_folder(config)
        summary.skipped = skipped_files(config.get("papers_dir") or "", curation) if config.get("papers_dir") else []
        summary.unmatched_curation = unmatched_curation(curation, papers)
        if not papers and tables.get("studies") is not None:
            summary.empty_corpus = (f"no paper in {config.get('papers_dir')} (papers are {', '.join(PAPER_SUFFIXES)} files "
                                    "directly in that folder); check papers_dir")
    for row in _rows(tables.get("checks")):
        if row["check"] in REFUSED_CURATION_CHECKS:
            summary.refused_curation.append((row["paper"], row.get("detail", "")))
        else:
            summary.checks[row["check"]] += 1
    summary.flow = flow_counts(tables, details, summary, papers)
    summary.values = Counter(r.get("source") or "extracted" for r in _rows(tables.get("endpoints")))
    summary.read_by_ocr = sorted(_flagged(_rows(tables.get("endpoints")), "ocr"))
    if details:
        named_entries = [*details.get("endpoints", {}).items(), *(details.get("landmarks") or {}).items()]
        for name, entry in named_entries:
            if entry.get("excluded"):
                summary.excluded[name] = [(e["study"], e["reason"]) for e in entry["excluded"]]
    return summary


def _flagged(endpoints: list[dict], prefix: str) -> set[str]:
    return {r["paper"] for r in endpoints if any(f.startswith(prefix) for f in str(r.get("flags", "")).split(";"))}


def flow_counts(tables: dict, details: dict | None, summary: RunSummary, papers: set[str]) -> list[tuple[str, int]]:
    """PRISMA-style counts: files in the papers folder, not read, unreadable, duplicates, excluded, included,
    and per pooled endpoint the studies that reported it and those pooled."""
    endpoints = _rows(tables.get("endpoints"))
    studies = {r.get("paper", r.get("study")) for r in _rows(tables.get("studies"))}
    unreadable = {p for p, _kind, _m in summary.failed} - studies
    duplicates = _flagged(endpoints, "duplicate_of:")
    ocr = _flagged(endpoints, "ocr")
    excluded = _flagged(endpoints, "excluded:") - duplicates
    flow = [
        ("records (files) in the papers folder", len(papers) + len(summary.skipped)),
        ("not read (other file types, subfolders)", len(summary.skipped)),
        ("unreadable", len(unreadable)),
        ("read", len(studies)),
        ("of which read by OCR (no text layer)", len(ocr & studies)),
        ("duplicate reports of a trial", len(duplicates)),
        ("excluded by curation", len(excluded)),
        ("studies included", len(studies - duplicates - excluded)),
    ]
    for name, entry in (details or {}).get("endpoints", {}).items():
        pooled = len(entry.get("studies", []))
        flow.append((f"{name}: reported / pooled", f"{pooled + len(entry.get('excluded', []))} / {pooled}"))
    return flow


def flow_table(summary: RunSummary) -> pd.DataFrame:
    """tables/flow.csv: one row per step of the flow."""
    return pd.DataFrame([{"step": step, "count": count} for step, count in summary.flow], columns=["step", "count"])


def lines(summary: RunSummary, results_dir: str = "", strict: bool = False) -> list[str]:
    """The summary as short terminal lines (each problem names its file and what to do)."""
    out = ["", "trialmeta run summary" + (f" ({results_dir})" if results_dir else "")]
    if summary.stopped:
        out.append("  STOPPED: a job failed (its error and log are above); the tables below may be from an earlier run")
    if summary.empty_corpus:
        out.append(f"  EMPTY CORPUS: {summary.empty_corpus}")
    out.append(f"  papers: {summary.papers_read} read, {len(summary.failed)} failed, {len(summary.skipped)} files not read")
    for paper, kind, message in summary.failed:
        out.append(f"  FAILED {paper} ({kind}): {message}")
    for name, why in summary.skipped:
        out.append(f"  NOT READ {name}: {why}")
    for name, hint in summary.unmatched_curation:
        out.append(f"  CURATION {name} matches no paper, so it is not applied: {hint}")
    for paper, detail in summary.refused_curation:
        out.append(f"  CURATION REFUSED for {paper}: {detail}")
    if summary.flow:
        steps = dict(summary.flow)
        out.append(f"  flow: {steps['records (files) in the papers folder']} files, {steps['unreadable']} unreadable, "
                   f"{steps['duplicate reports of a trial']} duplicates, {steps['excluded by curation']} excluded, "
                   f"{steps['studies included']} studies included (tables/flow.csv)")
    values = ", ".join(f"{summary.values.get(s, 0)} {s}" for s in SOURCES)
    others = ", ".join(f"{n} {s}" for s, n in sorted(summary.values.items()) if s not in SOURCES)
    out.append(f"  values: {values}" + (f", {others}" if others else "") + f" ({SOURCE_NOTE})")
    if summary.read_by_ocr:
        out.append(f"  READ BY OCR: {', '.join(summary.read_by_ocr)}: {OCR_NOTE}")
    if summary.checks:
        top = ", ".join(f"{n} {name}" for name, n in sorted(summary.checks.items(), key=lambda i: (-i[1], i[0])))
        out.append(f"  checks: {sum(summary.checks.values())} raised ({top}); see tables/checks.csv")
    else:
        out.append("  checks: none raised")
    if summary.excluded:
        out.append("  reported but not pooled:")
        for name, studies in summary.excluded.items():
            # a survival value at another landmark is expected, and its forest plot names it
            elsewhere = [s for s, reason in studies if OTHER_LANDMARK.match(reason)]
            named = [f"{study} ({reason})" for study, reason in studies if not OTHER_LANDMARK.match(reason)]
            if elsewhere:
                named.append(f"{len(elsewhere)} stud{'y reports' if len(elsewhere) == 1 else 'ies report'} other "
                             "landmarks only")
            out.append(f"    {name}: " + "; ".join(named))
    if summary.problems:
        out.append(f"  {summary.problems} problem(s) above" + (": strict is set, so this run fails" if strict else
                                                              "; set strict: true to make them fail the run"))
    else:
        out.append("  no problems")
    if results_dir and not summary.stopped:
        out.append(f"  report: {Path(results_dir) / 'report.html'}")
    return out


def summary_html(summary: RunSummary) -> str:
    """The same summary as the top block of the report."""
    e = html.escape
    items = []
    if summary.empty_corpus:
        items.append(f"<li class='flag'>Empty corpus: {e(summary.empty_corpus)}</li>")
    items.append(f"<li>Papers: {summary.papers_read} read, {len(summary.failed)} failed, "
                 f"{len(summary.skipped)} files not read.</li>")
    items += [f"<li class='flag'>Failed: {e(p)} ({e(k)}): {e(m)}</li>" for p, k, m in summary.failed]
    items += [f"<li class='flag'>Not read: {e(n)}: {e(w)}</li>" for n, w in summary.skipped]
    items += [f"<li class='flag'>Curation file {e(n)} matches no paper and is not applied: {e(h)}</li>"
              for n, h in summary.unmatched_curation]
    items += [f"<li class='flag'>Curation refused for {e(p)}: {e(d)}</li>" for p, d in summary.refused_curation]
    items.append("<li>Values: " + ", ".join(f"{summary.values.get(s, 0)} {s}" for s in SOURCES) + f" ({SOURCE_NOTE}).</li>")
    if summary.read_by_ocr:
        items.append(f"<li class='flag'>Read by OCR: {e(', '.join(summary.read_by_ocr))}: {e(OCR_NOTE)}</li>")
    checks = ", ".join(f"{n} {e(name)}" for name, n in sorted(summary.checks.items(), key=lambda i: (-i[1], i[0])))
    items.append(f"<li>Checks: {sum(summary.checks.values())} raised" + (f" ({checks})" if checks else "") + ".</li>")
    for name, studies in summary.excluded.items():
        items.append(f"<li>Reported but not pooled, {e(name)}: "
                     + "; ".join(f"{e(s)} ({e(r)})" for s, r in studies) + "</li>")
    flow = "".join(f"<tr><td>{e(str(step))}</td><td class='num'>{e(str(count))}</td></tr>" for step, count in summary.flow)
    return ("<h2 id='run'>This run</h2><ul>" + "".join(items) + "</ul>"
            + (f"<h3>Flow of reports (PRISMA-style)</h3><table><tr><th>Step</th><th>Count</th></tr>{flow}</table>"
               if flow else ""))


def papers_in(studies: pd.DataFrame, failures: pd.DataFrame) -> int:
    """Papers of the run: each study's paper and each paper that failed, once (a curation failure is no extra paper)."""
    if "paper" not in studies:
        return len(studies) + len(set(failures.get("paper", [])))
    return len(set(studies["paper"]) | set(failures.get("paper", [])))


def report_block(endpoints: pd.DataFrame, studies: pd.DataFrame, checks: pd.DataFrame, failures: pd.DataFrame,
                 details: dict | None, config: dict) -> str:
    """The top block of the report, from the tables the report already reads."""
    tables = {"endpoints": endpoints, "studies": studies, "checks": checks, "failures": failures}
    return summary_html(summarise(tables, details, config))
