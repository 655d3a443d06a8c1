"""End to end: the four shared trial reports with their curation files, a copied paper, the user's sheet."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_PDF = ROOT.parent / "shared" / "papers" / "pdf"
pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", "--configfile", str(ROOT / "config.yaml"),
        "--config", f"lexicon={ROOT / 'resources/lexicon.yaml'}", f"curation_dir={ROOT / 'resources/curation'}", *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
    if not SHARED_PDF.is_dir():
        pytest.skip("../shared/papers/pdf is not on this machine")
    workdir = tmp_path_factory.mktemp("shared")
    papers = workdir / "papers"
    shutil.copytree(SHARED_PDF, papers)
    # the same report under a second name: one trial, to be pooled once
    shutil.copy(papers / "002_f2f2049e00947f63.pdf", papers / "zz_copy_of_002.pdf")
    results = workdir / "results"
    snakemake(workdir, f"papers_dir={papers}", f"results_dir={results}", "--", str(results / "tables/pooled.csv"),
              str(results / "tables/audit.csv"))
    return results


def test_misprinted_percentage_and_ci_above_one_are_flagged(shared_run):
    checks = pd.read_csv(shared_run / "tables/checks.csv")
    paper = checks[checks["paper"] == "000_aa57f9a1a12fb1cb"]
    mismatch = paper[(paper["endpoint"] == "mrd_neg") & (paper["check"] == "percent_count_mismatch")]
    assert mismatch["detail"].str.contains("printed 93.9% but 14/15 = 93.33%", regex=False).any()
    wide = paper[(paper["endpoint"] == "os") & (paper["landmark_months"] == 12) & (paper["check"] == "ci_outside_0_1")]
    assert wide["detail"].str.contains("0.68-1.04", regex=False).any()
    endpoints = pd.read_csv(shared_run / "tables/endpoints.csv")
    os12 = endpoints[(endpoints["paper"] == "000_aa57f9a1a12fb1cb") & (endpoints["endpoint"] == "os")
                     & (endpoints["landmark_months"] == 12)].iloc[0]
    assert os12["ci_high"] == pytest.approx(1.04) and "ci_outside_0_1" in os12["flags"]


def test_copy_of_a_paper_is_the_same_trial_and_pooled_once(shared_run):
    endpoints = pd.read_csv(shared_run / "tables/endpoints.csv")
    copy_rows = endpoints[endpoints["paper"] == "zz_copy_of_002"]
    assert len(copy_rows) > 0
    assert copy_rows["flags"].str.contains("duplicate_of:CD19 in MRD+ B-ALL (ChiCTR1800015164)", regex=False).all()
    assert not endpoints[endpoints["paper"] != "zz_copy_of_002"]["flags"].str.contains("duplicate_of", na=False).any()
    pooled = pd.read_csv(shared_run / "tables/pooled.csv")
    # mrd_neg is counted in all four trials; the copy would make it five
    overall = pooled[(pooled["endpoint"] == "mrd_neg") & (pooled["subgroup"] == "all")]
    assert set(overall["k"]) == {4}
    results = json.loads((shared_run / "pooled/results.json").read_text())
    assert "zz_copy_of_002" not in {s["paper"] for s in results["endpoints"]["mrd_neg"]["studies"]}
    # its per-patient table is the original's: one Kaplan-Meier curve per endpoint, not two
    assert {c["paper"] for c in results["km"].values()} == {"002_f2f2049e00947f63"}


def test_audit_lists_every_curated_decision_and_metadata_change(shared_run):
    audit = pd.read_csv(shared_run / "tables/audit.csv", keep_default_na=False)
    for path in sorted((ROOT / "resources/curation").glob("0*.yaml")):
        curation = yaml.safe_load(path.read_text())
        lines = audit[audit["file"] == path.name]
        for decision in curation.get("decisions", []):
            landmark = decision.get("landmark", "").split(" ")[0]
            hits = lines[(lines["endpoint"] == decision["endpoint"]) & (lines["decision"] == decision["decision"])
                         & (lines["landmark_months"].astype(str).str.replace(".0", "", regex=False) == landmark)]
            assert len(hits) >= 1, (path.name, decision)
            assert set(hits["reason"]) == {decision["reason"]}
        extracted = json.loads((shared_run / "extracted" / f"{path.stem}.json").read_text())["metadata"]
        extracted["study"] = path.stem  # a paper's default label is its name
        changed = {key for key in ("study", "year", "report", "centre") if key in curation
                   and curation[key] != extracted.get(key)}
        assert changed <= set(lines["field"]), (path.name, changed)
        unchanged = {key for key in ("year", "report", "centre") if key in curation} - changed
        assert not unchanged & set(lines["field"]), (path.name, unchanged)  # only changes are audited
    # the duplicate rule's choice is in the trail too
    assert "duplicate" in set(audit[audit["paper"] == "zz_copy_of_002"]["decision"])


def test_endpoints_table_bypasses_extraction_and_a_bad_row_stops_the_run(tmp_path):
    papers = tmp_path / "papers"
    shutil.copytree(ROOT / "resources/papers", papers)
    header = "study,paper,trial_ids,endpoint,landmark_months,events,total,estimate,ci_low,ci_high,se,source,page,quote,flags"
    good = tmp_path / "sheet.csv"
    good.write_text(f"{header}\nTrial A,a,,n_treated,,,15,,,,,,,,\nTrial A,a,,mrd_neg,,14,15,,,,,,,,\n")
    done = snakemake(tmp_path, f"papers_dir={papers}", f"results_dir={tmp_path / 'out'}", f"endpoints_table={good}", "-n")
    assert "extract" not in done.stdout.split("Job stats:")[1].split("\n\n")[0]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\nTrial A,a,,n_treated,,,15,,,,,,,,\nTrial A,a,,mrd_neg,,fourteen,15,,,,,,,,\n")
    done = snakemake(tmp_path, f"papers_dir={papers}", f"results_dir={tmp_path / 'out'}", f"endpoints_table={bad}",
                     "-n", check=False)
    assert done.returncode != 0
    assert "bad.csv: row 2 (line 3), column events: 'fourteen' is not a whole number" in done.stdout + done.stderr
