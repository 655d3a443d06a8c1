"""The synthetic corpus generator (tools/make_synthetic_corpus.py) and the benchmark's quick mode.

The gold checks read the written files back independently of the generator: per-patient tables
are counted cell by cell, printed values are found in the text with regular expressions here,
and PDFs are read with bare pdfplumber.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pytest
import yaml

from trialmeta.extract.numbers import parse_int

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import make_synthetic_corpus as corpus  # noqa: E402

COUNT_ENDPOINTS = ("cr_cri", "mrd_neg", "relapse", "crs_any", "crs_grade3plus", "icans_any", "icans_grade3plus")
WORD = r"[a-z]+(?:-[a-z]+)?"


def files_of(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_same_seed_gives_byte_identical_corpus_and_a_larger_corpus_extends_it(tmp_path):
    corpus.write_corpus(tmp_path / "a", 6)
    corpus.write_corpus(tmp_path / "b", 6, workers=2)
    corpus.write_corpus(tmp_path / "c", 4)
    first, second, smaller = files_of(tmp_path / "a"), files_of(tmp_path / "b"), files_of(tmp_path / "c")
    assert first == second
    assert len(first) == 7  # six papers and the gold file
    assert {name: data for name, data in first.items() if name in smaller and name != "gold.yaml"} == {
        name: data for name, data in smaller.items() if name != "gold.yaml"
    }
    other_seed = corpus.write_corpus(tmp_path / "d", 6, seed=7)
    assert other_seed != yaml.safe_load((tmp_path / "a/gold.yaml").read_text())["papers"]


def pipe_tables(markdown: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            if not set(line) <= set("|-: "):
                current.append([cell.strip() for cell in line.strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


def table_counts(table: list[list[str]]) -> dict[str, int]:
    """Counts a reader takes from a per-patient table, column by column."""
    header, rows = table[0], table[1:]
    column = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    mrd = next(cells for name, cells in column.items() if name.startswith("MRD"))
    crs = [int(cell) for cell in column["CRS grade"]]
    counts = {
        "n_treated": len(rows),
        "mrd_neg": sum(cell == "Negative" for cell in mrd),
        "relapse": sum(cell.startswith("Relapse") for cell in column["Outcome"]),
        "crs_any": sum(grade >= 1 for grade in crs),
        "crs_grade3plus": sum(grade >= 3 for grade in crs),
    }
    neuro = next((cells for name, cells in column.items() if name in ("ICANS grade", "Neurotoxicity grade")), None)
    if neuro is not None:
        counts["icans_any"] = sum(int(cell) >= 1 for cell in neuro)
        counts["icans_grade3plus"] = sum(int(cell) >= 3 for cell in neuro)
    return counts


def stated_counts(text: str) -> set[tuple[int, int]]:
    """(events, total) pairs printed as 14/20, 14 of 20, fourteen of the twenty, or All 20."""
    pairs = {(int(a), int(b)) for a, b in re.findall(r"\b(\d+)(?:/| of )(\d+)\b", text)}
    for a, b in re.findall(rf"\b({WORD}) of the ({WORD}) patients", text, re.I):
        try:
            pairs.add((parse_int(a), parse_int(b)))
        except ValueError:
            continue
    pairs |= {(int(n), int(n)) for n in re.findall(r"\bAll (\d+) (?:treated )?patients", text)}
    return pairs


@pytest.fixture(scope="module")
def markdown_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic_md")
    gold = corpus.write_corpus(out, 40, fmt="md")
    return out / "papers", gold, yaml.safe_load((out / "gold.yaml").read_text())["papers"]


def test_gold_file_holds_what_write_corpus_returned(markdown_corpus):
    _, gold, from_file = markdown_corpus
    assert from_file == gold


def test_gold_counts_are_the_counts_of_the_per_patient_tables(markdown_corpus):
    papers, gold, _ = markdown_corpus
    checked = 0
    for stem, facts in gold.items():
        tables = [t for t in pipe_tables((papers / f"{stem}.md").read_text()) if t[0][0] in ("Patient", "Pt", "No.")]
        if not tables:
            continue
        counts = table_counts(tables[0])
        by_endpoint = {entry["endpoint"]: entry for entry in facts["endpoints"]}
        for endpoint, count in counts.items():
            entry = by_endpoint[endpoint]
            assert entry["total"] == counts["n_treated"], (stem, endpoint)
            if endpoint != "n_treated":
                assert entry["events"] == count, (stem, endpoint)
        checked += 1
    assert checked >= 5  # about a third of the papers carry a per-patient table


def test_every_gold_value_is_printed_in_the_paper(markdown_corpus):
    papers, gold, _ = markdown_corpus
    for stem, facts in gold.items():
        text = (papers / f"{stem}.md").read_text()
        has_table = any(t[0][0] in ("Patient", "Pt", "No.") for t in pipe_tables(text))
        pairs = stated_counts(text)
        for entry in facts["endpoints"]:
            endpoint = entry["endpoint"]
            if endpoint == "n_treated":
                assert f"treated {entry['total']} patients" in text, stem
            elif endpoint in COUNT_ENDPOINTS:
                events, total = entry["events"], entry["total"]
                # zero counts are negations ("No patient had ..."); counts without a pair are
                # "12 patients (60.0%)"; the rest must be printed as a pair or be in the table
                printed = (events, total) in pairs or (events == 0 and re.search(r"\b(No patient|None of the patients|never exceeded)", text)) \
                    or re.search(rf"\b{events} patients \({100 * events / total:.1f}%\)", text)
                assert printed or has_table, (stem, entry)
            elif endpoint == "followup_median_months":
                median = re.search(r"median(?: follow-up was| of) ([\d.]+) (days|months)", text)
                value = float(median.group(1)) / (30.4375 if median.group(2) == "days" else 1)
                assert abs(value - entry["estimate"]) < 0.001, stem
            else:  # survival at a landmark: the percentage, and its CI or SE when the gold has one
                shown = f"{100 * entry['estimate']:.1f}%"
                if "ci_low" in entry:
                    shown += f" (95% CI, {100 * entry['ci_low']:.1f}–{100 * entry['ci_high']:.1f})"
                if "se" in entry:
                    shown += f" ± {100 * entry['se']:.1f}%"
                assert shown in text, (stem, entry)
        for registry_id in facts["trial_ids"]:
            assert registry_id in text


def test_pdfs_are_two_column_pages_that_pdfplumber_reads(tmp_path):
    gold = corpus.write_corpus(tmp_path, 4, fmt="pdf")
    for stem, facts in gold.items():
        with pdfplumber.open(tmp_path / "papers" / f"{stem}.pdf") as pdf:
            text = "\n".join(page.extract_text() for page in pdf.pages)
            first = pdf.pages[0]
            middle = first.width / 2
            # body text on both sides of the gutter below the title block
            lower = [c for c in first.chars if c["top"] > first.height * 0.6]
            assert any(c["x1"] < middle - 5 for c in lower) and any(c["x0"] > middle + 5 for c in lower)
        assert f"treated {facts['endpoints'][0]['total']} patients" in " ".join(text.split())
        for entry in facts["endpoints"]:
            if entry["endpoint"] in ("os", "efs", "rfs", "lfs", "relapse_cuminc"):
                assert f"{100 * entry['estimate']:.1f}%" in text


@pytest.mark.slow
def test_benchmark_quick_mode_prints_the_table(tmp_path):
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools/benchmark.py"), "--quick", "--json", str(figures),
         "--scratch", str(tmp_path / "scratch")],
        capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(figures.read_text())
    assert "Snakemake dry run, 20 papers" in done.stdout
    assert "dry run, 5 papers done + 1 added" in done.stdout
    # CPU seconds of the Snakemake child beside its wall time (the cores are shared)
    assert 0 < result["dry_run_cpu_seconds"] and 0 < result["dry_run_add_one_cpu_seconds"]
    assert "Extractor F1 on the synthetic corpus" in done.stdout
    assert 0 < result["add_one_share"] < 2
    assert 0 <= result["f1"]["all"] <= 1
    # the added papers were extracted, and only they among the papers: the 5 of the corpus, the
    # paper added to every endpoint and the one that reports a single endpoint
    logs = tmp_path / "scratch/results_full/logs/extract"
    assert len(list(logs.iterdir())) == 7
    assert result["full_run_job_seconds"]["extract"][0] == 5
    assert result["add_one_job_seconds"]["extract"][0] == 1  # the rerun extracted the new paper alone
