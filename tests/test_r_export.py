"""results/r/ (issue 18, newcomer review "Export to R"): escalc-ready CSVs and reproduce.R refit with metafor.

The end-to-end test runs the generated script with R where R and metafor are installed
(`apt-get install r-base-core r-cran-metafor`) and compares every row with pooled.csv; elsewhere it
skips, saying so.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from trialmeta.report.r_export import escalc_table, r_script

ROOT = Path(__file__).resolve().parents[1]


def test_escalc_table_holds_the_pooled_studies_with_metafors_names():
    entry = {"studies": [{"study": "A, 2020", "paper": "a", "year": 2020, "events": 3, "total": 10},
                         {"study": "B", "paper": "b", "year": None, "events": 0, "total": 7}]}
    assert escalc_table(entry) == 'study,paper,year,xi,ni\n"A, 2020",a,2020,3,10\nB,b,,0,7\n'


def test_script_uses_the_runs_level_correction_and_tests():
    pooling = {"level": 0.9, "continuity_correction": {"add": 0.25, "to": "all"},
               "analyses": [{"measure": "PLO", "method": "GLMM", "ci_method": "z"},
                            {"measure": "PFT", "method": "REML", "ci_method": "hk_adhoc"},
                            {"measure": "PLO", "method": "DL", "ci_method": "hk"}]}
    script = r_script(["cr_cri"], pooling)
    assert "LEVEL <- 90" in script
    assert 'rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d, method = "ML", level = LEVEL,\n' in script
    assert 'test = if (nrow(d) < GLMM_T_BELOW_K) "t" else "z")' in script and "GLMM_T_BELOW_K <- 10" in script
    assert 'escalc(measure = "PFT", xi = xi, ni = ni, data = d, add = 0, to = "none")' in script
    assert 'test = "adhoc"' in script and "transf.ipft.hm, targs = list(ni = d$ni)" in script
    assert 'escalc(measure = "PLO", xi = xi, ni = ni, data = d, add = 0.25, to = "all")' in script
    assert 'method = "DL", test = "knha"' in script


def _has_metafor() -> str | None:
    if shutil.which("Rscript") is None:
        return "Rscript is not installed (apt-get install r-base-core r-cran-metafor)"
    done = subprocess.run(["Rscript", "-e", "library(metafor)"], capture_output=True, text=True)
    return None if done.returncode == 0 else "R's metafor package is not installed (apt-get install r-cran-metafor)"


@pytest.mark.slow
def test_reproduce_r_matches_pooled_csv(tmp_path):
    reason = _has_metafor()
    if reason:
        pytest.skip(reason)
    results = tmp_path / "results"
    command = [sys.executable, "-m", "snakemake", str(results / "r/reproduce.R"), str(results / "tables/pooled.csv"),
               "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--cores", "2",
               "--configfile", str(ROOT / "config.yaml"), "--config", f"results_dir={results}",
               f"papers_dir={ROOT / 'resources/papers'}", f"lexicon={ROOT / 'resources/lexicon.yaml'}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    subprocess.run(["Rscript", str(results / "r/reproduce.R")], check=True, capture_output=True, timeout=600)
    r = pd.read_csv(results / "r/r_pooled.csv")
    pooled = pd.read_csv(results / "tables/pooled.csv")
    pooled = pooled[(pooled["subgroup"] == "all") & pooled["landmark_months"].isna()]
    key = ["endpoint", "measure", "method", "ci_method"]
    both = pooled.merge(r, on=key, suffixes=("", "_r"), validate="one_to_one")
    assert len(both) == len(r) == len(pooled) > 0
    compared = 0
    for row in both.itertuples():
        # closed-form and Fisher-scoring fits agree to 1e-6; lme4's optimiser against ours to 1e-4
        tolerance = 1e-4 if row.method == "GLMM" else 1e-6
        for name in ("estimate", "ci_low", "ci_high", "tau2"):
            ours, theirs = getattr(row, name), getattr(row, f"{name}_r")
            if math.isnan(ours):
                assert math.isnan(theirs), (row.endpoint, row.method, name, theirs)  # not fitted in either
                continue
            assert theirs == pytest.approx(ours, abs=tolerance), (row.endpoint, row.measure, row.method, name)
            compared += 1
    assert compared > 50
