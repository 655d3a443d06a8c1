"""End to end: digitised Kaplan-Meier curves through the workflow (issue 21).

Three studies given by a user's sheet (endpoints_table) and one digitised OS
curve each, simulated from a KNOWN survival function: the points are S(t)
itself, as a large trial's curve approaches it, with reading error, and the
numbers at risk are the expected N S(t) G(t) under uniform censoring from 6
to 36 months. The truth at each landmark is therefore S(t), independent of
the code under test. Reconstruction (one job per file), the Kaplan-Meier of
the reconstructed patients, the landmark it gives where the sheet reports
none, its check against the landmark the sheet reports, and the pooled
Kaplan-Meier must all reach the outputs; a bad curve file becomes a
failures.csv row while the others finish.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pandas as pd
import pytest

from test_curation_e2e import snakemake
from trialmeta.harmonise.guyot import CURVE_COLUMNS
from trialmeta.harmonise.table import ENDPOINT_COLUMNS

pytestmark = pytest.mark.slow
N = 400
# the known survival functions, months -> S
TRUTH = {
    "alpha": lambda t: math.exp(-math.log(2) * t / 15),          # exponential, median 15 months
    "beta": lambda t: math.exp(-((t / 20) ** 1.3)),              # Weibull, shape 1.3, scale 20 months
    "gamma": lambda t: 0.5 + 0.5 * math.exp(-t / 8),             # half cured, the others exponential
}
LANDMARKS = (6, 12, 24)
REPORTED_ALPHA_12 = 0.60  # the sheet's own 12-month OS for alpha (the truth is 0.574)


def censoring_survival(t: float) -> float:
    return 1.0 if t <= 6 else max(0.0, (36 - t) / 30)


def curve_rows(paper: str, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    base = {"study": paper.capitalize(), "paper": paper, "endpoint": "os", "group": "all"}
    times = np.arange(0, 30.01, 0.25)
    values = np.clip([TRUTH[paper](t) + rng.normal(0, 0.002) for t in times], 0, 1)
    rows = [{**base, "series": "survival", "time_months": f"{t:.2f}", "value": f"{s:.4f}"} for t, s in zip(times, values)]
    rows += [{**base, "series": "at_risk", "time_months": str(t), "value": str(round(N * TRUTH[paper](t) * censoring_survival(t)))}
             for t in range(0, 31, 6)]
    return rows


def write_csv(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("curves")
    curves = workdir / "curves"
    curves.mkdir()
    for seed, paper in enumerate(TRUTH):
        write_csv(curves / f"{paper}.csv", CURVE_COLUMNS, curve_rows(paper, seed))
    (curves / "unreadable.csv").write_text("not,a,curve\n", encoding="utf-8")
    sheet = []
    for paper in TRUTH:
        row = dict.fromkeys(ENDPOINT_COLUMNS, "")
        sheet.append({**row, "study": paper.capitalize(), "paper": paper, "endpoint": "n_treated", "total": N})
        sheet.append({**row, "study": paper.capitalize(), "paper": paper, "endpoint": "cr_cri", "events": N - 40, "total": N})
    sheet.append({**dict.fromkeys(ENDPOINT_COLUMNS, ""), "study": "Alpha", "paper": "alpha", "endpoint": "os",
                  "landmark_months": 12, "estimate": REPORTED_ALPHA_12, "total": N})
    write_csv(workdir / "sheet.csv", ENDPOINT_COLUMNS, sheet)
    results = workdir / "results"
    snakemake(workdir, f"endpoints_table={workdir / 'sheet.csv'}", f"curves_dir={curves}", "curation_dir=",
              f"results_dir={results}", "--", str(results / "tables/km_pooled.csv"),
              str(results / "figures/km_pooled.svg"), str(results / "figures/km_curves.svg"))
    return results


def test_reconstructed_landmarks_are_within_three_points_of_the_true_survival(run):
    endpoints = pd.read_csv(run / "tables/endpoints.csv")
    rebuilt = endpoints[endpoints["source"] == "reconstructed"]
    assert (rebuilt["flags"] == "from_reconstructed_curve").all()
    found = {(r.paper, int(r.landmark_months)): r for r in rebuilt.itertuples()}
    # alpha reports its own 12-month OS: that one is kept, not replaced
    expected = {(p, m) for p in TRUTH for m in LANDMARKS} - {("alpha", 12)}
    assert set(found) == expected
    errors = {key: abs(found[key].estimate - TRUTH[key[0]](key[1])) for key in expected}
    print("reconstructed landmark error vs truth:", {f"{p} {m}m": round(e, 4) for (p, m), e in sorted(errors.items())})
    assert max(errors.values()) <= 0.03, errors
    for key in expected:
        # Greenwood's SE of a KM from ~N patients: near sqrt(S(1-S)/n at risk) in size
        assert 0.005 < found[key].se < 0.05
    reported = endpoints[(endpoints["paper"] == "alpha") & (endpoints["landmark_months"] == 12)]
    assert list(reported["estimate"]) == [REPORTED_ALPHA_12]


def test_reported_landmark_is_checked_against_the_reconstruction(run):
    checks = pd.read_csv(run / "tables/checks.csv")
    row = checks[(checks["paper"] == "alpha") & checks["check"].str.startswith("km_landmark_")]
    assert len(row) == 1
    assert "reconstructed from the digitised curve alpha.csv" in row["detail"].iloc[0]
    assert "vs reported 60.0%" in row["detail"].iloc[0] and "Greenwood SE" in row["detail"].iloc[0]


def test_patients_landmark_pools_and_pooled_km_use_the_reconstruction(run):
    patients = pd.read_csv(run / "tables/patients.csv")
    assert set(patients["source"]) == {"reconstructed"}
    assert patients.groupby("paper").size().to_dict() == {p: N for p in TRUTH}
    details = json.loads((run / "pooled/results.json").read_text())
    os24 = details["landmarks"]["os_24m"]
    assert sorted(s["paper"] for s in os24["studies"]) == sorted(TRUTH)
    assert all("from_reconstructed_curve" in s["flags"] for s in os24["studies"])
    pooled = details["km_pooled"]["os"]
    assert pooled["studies"] == ["Alpha", "Beta", "Gamma"] and pooled["n"] == 3 * N
    assert pooled["logrank"]["df"] == 2 and pooled["logrank"]["p"] < 0.05  # three different true curves
    table = pd.read_csv(run / "tables/km_pooled.csv")
    assert set(table["endpoint"]) == {"os"} and (table["patients"] == 3 * N).all()
    # the pooled curve against the average of the three true curves (equal sizes): within 3 points
    for months in LANDMARKS:
        value = table[table["time_months"] <= months]["survival"].iloc[-1]
        assert abs(value - np.mean([f(months) for f in TRUTH.values()])) <= 0.03
    assert set(details["km"]) == {f"{p.capitalize()} (os, reconstructed)" for p in TRUTH}


def test_a_bad_curve_file_is_a_failure_row_and_the_others_finish(run):
    failures = pd.read_csv(run / "tables/failures.csv")
    bad = failures[failures["stage"] == "reconstruct"]
    assert list(bad["paper"]) == ["unreadable"]
    assert "unreadable.csv: header must be" in bad["message"].iloc[0]
    assert (run / "figures/km_pooled.svg").stat().st_size > 0
