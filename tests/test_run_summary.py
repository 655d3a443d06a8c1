"""The newcomer's silent mistakes (issue 18, ../shared/notes/newcomer-review.md F2, F9) now speak up.

Each mistake of the review is made again here; the terminal summary printed at the end of the run
(and the report's top block) must name the file and the fix, and `strict: true` must fail the run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from trialmeta.harmonise.curation import load_curation
from trialmeta.harmonise.table import harmonise, poolable
from trialmeta.report import summary as run
from test_harmonise import candidate, record

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "papers"
HTML_AS_PDF = "<!DOCTYPE html>\n<html><head><title>Journal - article</title></head><body>Sign in</body></html>\n"


def _tables(**frames) -> dict:
    empty = {
        "endpoints": pd.DataFrame(columns=["study", "paper", "source"]),
        "studies": pd.DataFrame(columns=["study", "paper"]),
        "checks": pd.DataFrame(columns=["paper", "study", "endpoint", "landmark_months", "check", "detail"]),
        "failures": pd.DataFrame(columns=["paper", "stage", "error_kind", "message"]),
    }
    return {**empty, **frames}


def test_empty_papers_folder_is_named_in_the_summary(tmp_path):
    (tmp_path / "papers").mkdir()
    config = {"papers_dir": str(tmp_path / "papers"), "curation_dir": "{papers_dir}/curation", "endpoints_table": ""}
    found = run.summarise(_tables(), None, config, papers=set())
    text = "\n".join(run.lines(found))
    assert "EMPTY CORPUS: no paper in" in text and "check papers_dir" in text
    assert found.problems == 1


def test_unsupported_files_and_subfolders_are_named_but_the_curation_folder_is_not(tmp_path):
    papers = tmp_path / "papers"
    (papers / "more").mkdir(parents=True)
    (papers / "curation").mkdir()
    for name in ("trial.docx", "trial2.html", "a.pdf", ".hidden.pdf"):
        (papers / name).write_text("x")
    assert run.skipped_files(papers, papers / "curation") == [
        ("more/", "a subfolder: only files directly in papers_dir are read; move its papers up a level or point "
                  "papers_dir at it"),
        ("trial.docx", ".docx is not read (only .pdf, .txt, .md); save it as PDF or plain text"),
        ("trial2.html", ".html is not read (only .pdf, .txt, .md); save it as PDF or plain text"),
    ]


def test_curation_file_matching_no_paper_names_the_closest_paper(tmp_path):
    (tmp_path / "novak2024.yaml").write_text("")
    (tmp_path / "sequential_peds.yml").write_text("")
    (tmp_path / "sequential_peds.yaml").write_text("")
    found = run.unmatched_curation(tmp_path, {"novak2024_cd22", "sequential_peds"})
    assert found == [("novak2024.yaml", "did you mean novak2024_cd22.yaml?"),
                     ("sequential_peds.yml", "rename it to end in .yaml")]


def test_every_failure_check_and_exclusion_is_in_the_summary():
    tables = _tables(
        studies=pd.DataFrame({"study": ["A", "B"], "paper": ["a", "b"]}),
        endpoints=pd.DataFrame({"study": ["A", "A", "B"], "paper": ["a", "a", "b"],
                                "source": ["extracted", "curated", "extracted"]}),
        checks=pd.DataFrame([
            {"paper": "a", "study": "A", "endpoint": "crs_grade3plus", "landmark_months": "", "check": "no_count",
             "detail": "27.2% of 23 is not a whole number of patients"},
            {"paper": "b", "study": "B", "endpoint": "", "landmark_months": "", "check": "curation_not_applied",
             "detail": "b.yaml: decisions/0: Additional properties are not allowed ('value' was unexpected)"},
        ]),
        failures=pd.DataFrame([{"paper": "html", "stage": "extract", "error_kind": "not_pdf",
                                "message": "html.pdf is an HTML page, not a PDF; fetch the PDF itself"}]),
    )
    details = {"endpoints": {"crs_grade3plus": {"excluded": [
        {"study": "A", "reason": "27.2% of 23 is no whole number of patients; give events and total in a curation file"}]}}}
    found = run.summarise(tables, details, {"endpoints_table": "sheet.csv"})
    text = "\n".join(run.lines(found, "out", strict=True))
    assert "papers: 2 read, 1 failed" in text
    assert "FAILED html (not_pdf): html.pdf is an HTML page, not a PDF; fetch the PDF itself" in text
    assert "CURATION REFUSED for b: b.yaml: decisions/0: Additional properties" in text
    assert "values: 2 extracted, 1 curated, 0 verified" in text
    assert "checks: 1 raised (1 no_count)" in text
    assert "crs_grade3plus: A (27.2% of 23 is no whole number of patients; give events and total" in text
    assert "2 problem(s) above: strict is set, so this run fails" in text
    html = run.summary_html(found)
    assert "html.pdf is an HTML page" in html and "Reported but not pooled, crs_grade3plus" in html


def test_papers_read_by_ocr_are_named_in_the_summary_and_their_rows_keep_the_flag():
    # A value read from a scanned page carries "ocr" in its candidate context (extract.reading.provenance);
    # harmonise keeps it on the row, and the summary names the paper so a person checks its digits.
    scanned = record("scan", [candidate("n_treated", total=20, context=("ocr",)),
                              candidate("cr_cri", 18, 20, 0.9, context=("ocr",))])
    typed = record("typed", [candidate("cr_cri", 9, 10, 0.9)])
    tables = harmonise([scanned, typed], None)
    flags = tables["endpoints"].set_index(["paper", "endpoint"])["flags"]
    assert "ocr" in flags[("scan", "cr_cri")].split(";") and "ocr" not in flags[("typed", "cr_cri")].split(";")
    found = run.summarise(tables, None, {"endpoints_table": "sheet.csv"})
    assert found.read_by_ocr == ["scan"] and dict(found.flow)["of which read by OCR (no text layer)"] == 1
    assert "READ BY OCR: scan: no text layer, read by OCR" in "\n".join(run.lines(found))
    assert "Read by OCR: scan" in run.summary_html(found)
    assert int(poolable(tables["endpoints"], "cr_cri")[0].shape[0]) == 2  # provenance, not a reason to drop


# ------------------------------------------------------------------ the newcomer's run, end to end


def snakemake(workdir: Path, *config: str, target: str = "results/tables/pooled.csv") -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "snakemake", target, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", "--configfile", str(ROOT / "config.yaml"), "--config", "results_dir=results",
        f"lexicon={ROOT / 'resources/lexicon.yaml'}", *config,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_the_newcomers_mistakes_are_answered_in_the_terminal_and_strict_fails(tmp_path):
    papers = tmp_path / "papers"
    (papers / "curation").mkdir(parents=True)
    for name in ("tandem_cd19cd22_rr_all", "cd19_mrd_positive_b_all"):
        shutil.copy(DEMO / f"{name}.pdf", papers)
    (papers / "fakehtml_trial.pdf").write_text(HTML_AS_PDF)  # a download that returned a web page
    (papers / "notes.docx").write_bytes(b"PK\x03\x04")
    (papers / "older").mkdir()
    (papers / "older" / "x.pdf").write_bytes(b"%PDF-1.4")
    curation = papers / "curation"
    (curation / "tandem_cd19cd22.yaml").write_text("study: Tandem\nreason: label\n")  # misnamed
    # a typo in one decision (`value:`), a valid one beside it, and metadata
    (curation / "cd19_mrd_positive_b_all.yaml").write_text(
        "study: CD19 MRD+ (mine)\nyear: 2021\nreason: my labels\ndecisions:\n"
        "  - {endpoint: crs_any, decision: override, value: {events: 3}, reason: typo}\n"
        "  - {endpoint: icans_any, decision: reject, reason: not in this cohort}\n")
    done = snakemake(tmp_path, f"papers_dir={papers}", target="results/tables/checks.csv")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = done.stderr[done.stderr.index("trialmeta run summary"):]
    assert "FAILED fakehtml_trial (not_pdf):" in summary and "fetch the PDF itself" in summary
    assert "NOT READ notes.docx: .docx is not read" in summary
    assert "NOT READ older/: a subfolder" in summary
    assert "CURATION tandem_cd19cd22.yaml matches no paper, so it is not applied: did you mean tandem_cd19cd22_rr_all.yaml?" in summary
    assert ("CURATION REFUSED for cd19_mrd_positive_b_all: cd19_mrd_positive_b_all.yaml: decisions/0: Additional "
            "properties are not allowed ('value' was unexpected)") in summary
    assert "set strict: true to make them fail the run" in summary
    assert len(summary.splitlines()) < 20, summary  # a few lines, not a dump
    studies = pd.read_csv(tmp_path / "results/tables/studies.csv")
    assert "CD19 MRD+ (mine)" in set(studies["study"])  # the file's metadata applied despite the bad decision
    audit = pd.read_csv(tmp_path / "results/tables/audit.csv")
    assert "reject" in set(audit["decision"])  # and so did its valid decision
    strict = snakemake(tmp_path, f"papers_dir={papers}", "strict=true")
    assert strict.returncode == 1
    assert "strict is set, so this run fails" in strict.stderr


def test_the_readmes_curation_example_is_a_valid_file(tmp_path):
    readme = (ROOT / "README.md").read_text()
    block = readme.split("# my/papers/curation/novak2024_cd22.yaml\n", 1)[1].split("```", 1)[0]
    paper = tmp_path / "novak2024_cd22.txt"
    paper.write_text("a paper")
    # the example's hash is abbreviated; the helper command writes the real one
    path = tmp_path / "novak2024_cd22.yaml"
    path.write_text("\n".join(line for line in block.splitlines() if not line.startswith("paper_sha256")) + "\n")
    subprocess.run([sys.executable, str(ROOT / "tools/stamp_curation.py"), str(path), str(paper)], check=True,
                   capture_output=True)
    curation = load_curation(path)
    assert curation.refused == () and len(curation.decisions) == 4
    assert curation.metadata["target"] == "CD22" and len(curation.paper_sha256[0]) == 64
    # and stamping again replaces the hash rather than adding a second one
    subprocess.run([sys.executable, str(ROOT / "tools/stamp_curation.py"), str(path), str(paper)], check=True)
    assert path.read_text().count("paper_sha256") == 1


def test_a_curation_for_another_file_of_the_same_name_is_refused_with_the_fix(tmp_path):
    # F9: the project's curation of a shared paper reached a user's file that had the same name
    (tmp_path / "p.yaml").write_text(f"paper_sha256: {'a' * 64}\nstudy: Someone else's label\nreason: theirs\n")
    rec = record("p", [candidate("n_treated", total=15)])
    rec["sha256"], rec["file"] = "b" * 64, "p.pdf"
    tables = harmonise([rec], str(tmp_path))
    failure = tables["failures"].iloc[0]
    assert failure["error_kind"] == "curation_for_another_file"
    assert "not applied" in failure["message"] and "tools/stamp_curation.py" in failure["message"]
    assert tables["studies"].iloc[0]["study"] == "p"  # the other curator's label did not apply
    rec["sha256"] = "a" * 64
    assert harmonise([rec], str(tmp_path))["studies"].iloc[0]["study"] == "Someone else's label"


def test_study_level_exclude_keeps_the_rows_and_names_the_reason_where_it_is_not_pooled(tmp_path):
    (tmp_path / "p.yaml").write_text("exclude: not a CAR-T trial (screening)\n")
    tables = harmonise([record("p", [candidate("n_treated", total=15), candidate("crs_any", 5, 15, 5 / 15)])],
                       str(tmp_path))
    kept, excluded = poolable(tables["endpoints"], "crs_any")
    assert kept.empty
    assert excluded == [{"study": "p", "reason": "excluded by curation: not a CAR-T trial (screening)"}]
    assert "exclude" in set(tables["audit"]["decision"])


def test_flow_counts_files_unreadable_duplicates_exclusions_and_pooled_per_endpoint(tmp_path):
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "notes.docx").write_text("x")
    tables = _tables(
        studies=pd.DataFrame({"study": ["A", "B", "C"], "paper": ["a", "b", "c"]}),
        endpoints=pd.DataFrame({"study": ["A", "B", "C"], "paper": ["a", "b", "c"], "source": ["extracted"] * 3,
                                "flags": ["", "duplicate_of:A", "excluded:not CAR-T"]}),
        failures=pd.DataFrame([{"paper": "h", "stage": "extract", "error_kind": "not_pdf", "message": "HTML"}]),
    )
    details = {"endpoints": {"cr_cri": {"studies": [{"study": "A"}], "excluded": [
        {"study": "B", "reason": "same trial as A"}, {"study": "C", "reason": "excluded by curation: not CAR-T"}]}}}
    config = {"papers_dir": str(papers), "curation_dir": "", "endpoints_table": ""}
    found = run.summarise(tables, details, config, papers={"a", "b", "c", "h"})
    assert dict(found.flow) == {
        "records (files) in the papers folder": 5, "not read (other file types, subfolders)": 1, "unreadable": 1,
        "read": 3, "of which read by OCR (no text layer)": 0, "duplicate reports of a trial": 1, "excluded by curation": 1, "studies included": 1,
        "cr_cri: reported / pooled": "3 / 1",
    }
    assert "flow: 5 files, 1 unreadable, 1 duplicates, 1 excluded, 1 studies included" in "\n".join(run.lines(found))
    assert list(run.flow_table(found).columns) == ["step", "count"]
