"""Pooled Kaplan-Meier of the patients reconstructed from digitised curves, one per endpoint.

As published meta-analyses of CAR-T trials show it: every reconstructed
patient of every study in one Kaplan-Meier curve with its log(-log) CI
(lifelines, `trialmeta.harmonise.patients.pooled_curve`), each study's own
curve as a stratum beside it, and the log-rank test of equal survival across
the studies (lifelines ``multivariate_logrank_test`` with the study as group;
R ``survdiff(Surv(time, status) ~ study)``). The pooled curve treats the
patients of different trials as one cohort: the log-rank test says how far
that is from true, and the curve's assumptions say it.
"""

from __future__ import annotations

import pandas as pd

from trialmeta.harmonise.patients import SurvivalData, compare_groups, pooled_curve
from trialmeta.harmonise.reconstructed import SOURCE

KM_POOLED_COLUMNS = ["endpoint", "time_months", "survival", "ci_low", "ci_high", "studies", "patients", "events"]


def _data(group: pd.DataFrame, study: str, endpoint: str) -> SurvivalData:
    return SurvivalData(study, endpoint, tuple(group["patient"].astype(str)), tuple(group["time_months"].astype(float)),
                        tuple(group["event"].astype(bool)), ())


def pooled_km(patients: pd.DataFrame, level: float = 0.95) -> dict[str, dict]:
    """results.json "km_pooled": by endpoint, the pooled curve of the reconstructed patients and the log-rank test."""
    reconstructed = patients[patients["source"] == SOURCE]
    out = {}
    for endpoint, by_endpoint in reconstructed.groupby("endpoint", sort=True):
        datasets = [_data(group, study, endpoint) for study, group in by_endpoint.groupby("study", sort=True)]
        curve = pooled_curve(datasets, level)
        entry = {"endpoint": endpoint, "studies": [d.study for d in datasets], "n": curve.n, "events": curve.events,
                 **curve.as_dict(), "logrank": None, "logrank_note": None}
        if len(datasets) >= 2:
            test = compare_groups(datasets, {d.study: d.study for d in datasets})
            entry["logrank"] = {"statistic": test.statistic, "df": test.df, "p": test.p}
        else:
            entry["logrank_note"] = "one study: no test across studies"
        out[endpoint] = entry
    return out


def km_pooled_table(km_pooled: dict[str, dict]) -> pd.DataFrame:
    """tables/km_pooled.csv: every step of each pooled curve with its CI."""
    rows = [{"endpoint": endpoint, "time_months": t, "survival": s, "ci_low": low, "ci_high": high,
             "studies": len(entry["studies"]), "patients": entry["n"], "events": entry["events"]}
            for endpoint, entry in km_pooled.items()
            for t, s, low, high in zip(entry["timeline"], entry["survival"], entry["ci_low"], entry["ci_high"])]
    return pd.DataFrame(rows, columns=KM_POOLED_COLUMNS)
