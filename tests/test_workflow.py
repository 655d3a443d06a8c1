"""End-to-end: the Snakemake workflow on the demo corpus, in temporary folders.

One full run is shared by the tests of this module (it takes tens of seconds);
each test then asks Snakemake something about it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from trialmeta.harmonise.table import ENDPOINT_COLUMNS, STUDY_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [
        *SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", "--configfile", str(ROOT / "config.yaml"), *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done


def config_for(papers: Path, results: Path) -> list[str]:
    return [
        "--config", f"papers_dir={papers}", f"results_dir={results}",
        f"lexicon={ROOT / 'resources/lexicon.yaml'}", f"curation_dir={ROOT / 'resources/papers/curation'}",
    ]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run")
    papers = workdir / "papers"
    shutil.copytree(ROOT / "resources/papers", papers)
    results = workdir / "results"
    snakemake(workdir, *config_for(papers, results))
    return workdir, papers, results


def test_outputs_follow_the_contracts(demo_run):
    _, papers, results = demo_run
    endpoints = pd.read_csv(results / "tables/endpoints.csv")
    studies = pd.read_csv(results / "tables/studies.csv")
    pooled = pd.read_csv(results / "tables/pooled.csv")
    assert list(endpoints.columns) == ENDPOINT_COLUMNS
    assert list(studies.columns) == STUDY_COLUMNS
    contract = [
        "endpoint", "landmark_months", "subgroup", "measure", "method", "ci_method", "k", "n_total",
        "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_p",
    ]
    # the contract's columns, in its order; later issues may add columns between them
    assert [c for c in pooled.columns if c in contract] == contract
    assert sorted(studies["paper"]) == sorted(p.stem for p in papers.iterdir() if p.is_file())
    # every value comes from a paper: a quote and a source on each row
    assert endpoints["quote"].notna().all()
    assert set(endpoints["source"]) <= {"extracted", "curated"}
    proportions = endpoints[endpoints["endpoint"] != "followup_median_months"]
    assert proportions["estimate"].dropna().between(0, 1).all()
    for endpoint in ("mrd_neg", "relapse"):
        assert (results / f"figures/forest_{endpoint}.png").stat().st_size > 10_000
        assert (results / f"figures/forest_{endpoint}.svg").exists()
    html = (results / "report.html").read_text()
    assert "data:image/svg+xml;base64," in html and "<details" in html


def test_mrd_negative_remission_is_pooled_from_all_four_demo_studies(demo_run):
    _, _, results = demo_run
    pooled = pd.read_csv(results / "tables/pooled.csv")
    primary = pooled[(pooled["endpoint"] == "mrd_neg")].iloc[0]
    assert primary["k"] == 4
    assert 0 < primary["ci_low"] < primary["estimate"] < primary["ci_high"] <= 1


def test_nothing_left_to_do_after_a_full_run(demo_run):
    workdir, papers, results = demo_run
    done = snakemake(workdir, "-n", *config_for(papers, results))
    assert "Nothing to be done" in done.stdout + done.stderr


def job_counts(dry_run_output: str) -> Counter:
    """Job counts from the table a dry run prints ('job  count' rows)."""
    counts = Counter()
    table = re.search(r"Job stats:\n(.*?)\n\n", dry_run_output, re.S)
    assert table, dry_run_output
    for line in table.group(1).splitlines()[2:]:
        name, count = line.split()
        if name != "total":
            counts[name] = int(count)
    return counts


def ran_jobs(output: str) -> Counter:
    """Jobs a real run started, by rule (its "localrule x:" / "localcheckpoint x:" lines)."""
    return Counter(re.findall(r"^local(?:rule|checkpoint) (\w+):", output, re.MULTILINE))


def test_adding_a_one_endpoint_paper_redraws_only_that_endpoints_figures(demo_run):
    workdir, papers, results = demo_run
    added = papers / "zz_added_report.txt"
    added.write_text(
        "A small phase I study: CD19 CAR-T cells given to adults whose B-ALL relapsed.\n\n"
        "Ten adults were infused. MRD-negative remission was reached by 7 of 10 patients (70%).\n"
    )
    figures = sorted((results / "figures").glob("*.svg"))
    before = {path.name: path.stat().st_mtime_ns for path in figures}
    try:
        done = snakemake(workdir, *config_for(papers, results))
        # the pool checkpoint rewrites only the result files whose content changed: mrd_neg's
        assert ran_jobs(done.stdout + done.stderr) == Counter({
            "extract": 1, "harmonise": 1, "pool": 1, "endpoint_figures": 1, "report_html": 1, "r_export": 1, "review_page": 1, "review_index": 1, "all": 1,
        })
        redrawn = sorted(name for name, mtime in before.items() if (results / "figures" / name).stat().st_mtime_ns != mtime)
        assert redrawn and all("mrd_neg" in name for name in redrawn), redrawn
    finally:
        # back to the demo corpus for the tests below (its extraction is no output of the demo)
        added.unlink()
        (results / "extracted" / f"{added.stem}.json").unlink(missing_ok=True)
        # and without the history of this detour, which the report job records
        shutil.rmtree(results / "history", ignore_errors=True)
        snakemake(workdir, *config_for(papers, results))


def test_two_runs_give_byte_identical_tables_json_and_svg(demo_run, tmp_path):
    _, papers, results = demo_run
    second = tmp_path / "results"
    snakemake(tmp_path, *config_for(papers, second))
    compared = 0
    for path in sorted(results.rglob("*")):
        if path.suffix in (".csv", ".json", ".svg"):
            twin = second / path.relative_to(results)
            assert path.read_bytes() == twin.read_bytes(), path.relative_to(results)
            compared += 1
    assert compared >= 10


def test_lint_reports_no_errors(demo_run):
    workdir, papers, results = demo_run
    done = snakemake(workdir, "--lint", *config_for(papers, results), check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_unknown_config_key_stops_the_run_with_its_name(tmp_path):
    done = snakemake(tmp_path, "-n", "--config", "papers_dri=somewhere", check=False)
    assert done.returncode != 0
    assert "papers_dri" in done.stdout + done.stderr


def test_bad_config_value_stops_the_run_with_its_name(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pooling:\n  analyses:\n    - {measure: LOGIT, method: REML}\n")
    done = snakemake(tmp_path, "-n", "--configfile", str(bad), check=False)
    assert done.returncode != 0
    assert "LOGIT" in done.stdout + done.stderr


def test_empty_curation_dir_on_the_command_line_turns_curation_off(tmp_path):
    # the README's and issue's `--config curation_dir=''`: Snakemake passes the empty value as None
    papers = tmp_path / "papers"
    shutil.copytree(ROOT / "resources/papers", papers)
    done = snakemake(tmp_path, "-n", "--config", f"papers_dir={papers}", f"lexicon={ROOT / 'resources/lexicon.yaml'}",
                     "curation_dir=", "endpoints_table=")
    assert "harmonise" in done.stdout
