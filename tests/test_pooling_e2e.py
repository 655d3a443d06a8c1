"""Issue 5's acceptance run: Snakemake, an endpoints_table sheet of the reference datasets and
`pooling.analyses` listing every combination; every pooled.csv row against metafor.

tests/test_pooling_metafor.py checks `pool_all` in-process; this runs the
pipeline as a user would (config -> sheet -> harmonise -> pool -> pooled.csv),
so the config handling, the sheet reader, harmonise and the CSV writer are in
the path too. Each reference dataset is one endpoint of the sheet (there are
more datasets than proportion endpoints, so two runs). Every expected number
comes from tests/reference/metafor_reference.json (metafor_reference.R).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from metafor_reference import (
    CI_METHOD, CLOSED_FORM_TOL, ITERATIVE_METHODS, ITERATIVE_TOL, UNPOOLABLE, assert_close, assert_exact_rows,
    assert_pooled_row, dataset, expected_pi, reference, reported_fit,
)
from trialmeta.pool.effects import back_transform
from trialmeta.harmonise.table import ENDPOINT_COLUMNS, PROPORTIONS

ROOT = Path(__file__).resolve().parents[1]
DATASETS = sorted(reference()["datasets"])
# the datasets in groups of at most one per proportion endpoint
RUNS = [DATASETS[i:i + len(PROPORTIONS)] for i in range(0, len(DATASETS), len(PROPORTIONS))]
GLMM = {"measure": "PLO", "method": "GLMM", "ci_method": "z"}


def analyses() -> list[dict]:
    """Every measure x method x CI method of the reference (108), in its order, then the GLMM."""
    first = DATASETS[0]
    fits = [f for f in reference()["fits"] if f["dataset"] == first]
    return [{"measure": f["measure"], "method": f["method"], "ci_method": CI_METHOD[f["test"]]} for f in fits] + [GLMM]


def sheet_rows(names: list[str]) -> list[dict]:
    rows = []
    for endpoint, name in zip(PROPORTIONS, names):
        events, total = dataset(name)
        for i, (x, n) in enumerate(zip(events.astype(int), total.astype(int))):
            # the same study name across endpoints is the same paper, as in a real sheet
            rows.append({"study": f"s{i:02d}", "paper": f"s{i:02d}", "endpoint": endpoint, "events": x, "total": n,
                         "source": "table", "quote": f"{x} of {n}"})
    return rows


@pytest.fixture(scope="module", params=range(len(RUNS)), ids=lambda i: "+".join(RUNS[i]))
def run(request, tmp_path_factory):
    names = RUNS[request.param]
    workdir = tmp_path_factory.mktemp("pool e2e")
    sheet = pd.DataFrame(sheet_rows(names)).reindex(columns=ENDPOINT_COLUMNS)
    sheet.to_csv(workdir / "sheet.csv", index=False)
    overlay = {
        "endpoints_table": str(workdir / "sheet.csv"), "curation_dir": "", "results_dir": "results",
        "endpoints": list(PROPORTIONS[: len(names)]),
        # glmm_t_below_k 0: the GLMM keeps metafor's z-based CI at every k, as in the reference
        "pooling": {"analyses": analyses(), "glmm_fallback": None, "subgroups": [], "moderators": [], "glmm_t_below_k": 0},
        "survival": {"endpoints": [], "landmark_months": [12]},
    }
    (workdir / "overlay.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    command = [
        sys.executable, "-m", "snakemake", "results/tables/pooled.csv", "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir), "--cores", "2",
        "--configfile", str(ROOT / "config.yaml"), str(workdir / "overlay.yaml"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=workdir)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    pooled = pd.read_csv(workdir / "results/tables/pooled.csv")
    return names, pooled




def test_every_combination_in_pooled_csv_matches_metafor(run):
    names, pooled = run
    overall = pooled[pooled["subgroup"] == "all"]
    for endpoint, name in zip(PROPORTIONS, names):
        rows = overall[overall["endpoint"] == endpoint]
        fits = [f for f in reference()["fits"] if f["dataset"] == name]
        if name in UNPOOLABLE:
            # one study, or all at 0% or at 100%: every analysis empty, then the exact interval (issue 17)
            assert len(rows) == len(fits) + 2 == 110, (endpoint, len(rows))
            assert_exact_rows(rows, name)
            continue
        assert len(rows) == len(fits) + 1 == 109, (endpoint, len(rows))
        for (_, row), fit in zip(rows.iterrows(), fits):
            fit = reported_fit(fit)
            what = f"{name} {fit['measure']}-{fit['method']}-{fit['test']}"
            assert row["k"] == len(dataset(name)[0])
            # back-transformed values as in the in-process tests; heterogeneity of a closed-form estimator at 1e-10
            assert_pooled_row(row, fit, what, ITERATIVE_TOL if fit["method"] in ITERATIVE_METHODS else CLOSED_FORM_TOL,
                              dataset(name)[1])
            for column in ("tau2_ci_low", "tau2_ci_high"):
                if fit["tau2_ci_refused"] or fit["method"] == "FE" or isinstance(fit[column], str):
                    continue  # metafor gives no Q-profile CI here (FE, k = 1); its absence is tested in-process
                assert_close(row[column], fit[column], ITERATIVE_TOL, f"{what} {column}")


def test_the_glmm_row_matches_metafor_or_is_empty_where_metafor_refuses(run):
    names, pooled = run
    for endpoint, name in zip(PROPORTIONS, names):
        row = pooled[(pooled["endpoint"] == endpoint) & (pooled["method"] == "GLMM")].iloc[0]
        glmm = next(g for g in reference()["glmm"] if g["dataset"] == name)
        if glmm["refused"]:
            assert pd.isna(row["estimate"]), name
            continue
        pi = back_transform(list(expected_pi({**glmm, "test": "z"}, len(dataset(name)[0]))), "PLO")
        expected = dict(glmm["back"], pi_low=pi[0], pi_high=pi[1])
        for column in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            if expected[column] is None:  # no PI below 3 studies
                assert pd.isna(row[column]), (name, column)
                continue
            assert_close(row[column], expected[column], ITERATIVE_TOL, f"GLMM {name} {column}")
        assert_close(row["tau2"], glmm["tau2"], ITERATIVE_TOL, f"GLMM {name} tau2")
