"""Pooling the harmonised table: every configured endpoint x analysis -> pooled.csv rows.

This module only selects data and lays results out; the estimators live in
`trialmeta.effects` and `trialmeta.models` (validated against metafor).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy import stats

from trialmeta.control import FitControl
from trialmeta.effects import proportion_effects
from trialmeta.harmonise import poolable
from trialmeta.models import fit_meta

POOLED_COLUMNS = [
    "endpoint", "landmark_months", "subgroup", "measure", "method", "ci_method", "k", "n_total",
    "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "tau2_ci_low", "tau2_ci_high",
    "i2", "h2", "q", "q_p",
]
ENDPOINT_LABELS = {
    "cr_cri": "Complete remission (CR/CRi)",
    "mrd_neg": "MRD-negative remission",
    "relapse": "Relapse",
    "crs_any": "Cytokine release syndrome, any grade",
    "crs_grade3plus": "Cytokine release syndrome, grade ≥3",
    "icans_any": "Neurotoxicity (ICANS), any grade",
    "icans_grade3plus": "Neurotoxicity (ICANS), grade ≥3",
}


@dataclass(frozen=True)
class Analysis:
    measure: str
    method: str
    ci_method: str


def exact_ci(events: int, total: int, level: float) -> tuple[float, float]:
    """Clopper-Pearson interval of one study, as meta's forest.meta shows for metaprop.

    Clopper & Pearson (1934), doi:10.1093/biomet/26.4.404; scipy's binomtest
    ``method="exact"``. It stays inside [0, 1] and exists at 0% and 100%.
    """
    ci = stats.binomtest(int(events), int(total)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def _pooled_row(endpoint: str, analysis: Analysis, fit, effects, n_total: int) -> dict:
    pooled = fit.back_transformed(effects)
    return {
        "endpoint": endpoint, "landmark_months": None, "subgroup": "all",
        "measure": analysis.measure, "method": analysis.method, "ci_method": analysis.ci_method,
        "k": fit.k, "n_total": n_total,
        "estimate": pooled.estimate, "ci_low": pooled.ci_low, "ci_high": pooled.ci_high,
        "pi_low": pooled.pi_low, "pi_high": pooled.pi_high,
        "tau2": fit.tau2, "tau2_ci_low": fit.tau2_ci_low, "tau2_ci_high": fit.tau2_ci_high,
        "i2": fit.i2, "h2": fit.h2, "q": fit.q, "q_p": fit.q_p,
    }


def pool_endpoint(endpoints: pd.DataFrame, studies: pd.DataFrame, endpoint: str, pooling: dict) -> tuple[list[dict], dict]:
    """pooled.csv rows for one endpoint, and the per-study detail the figures and report draw."""
    level = pooling["level"]
    correction = pooling["continuity_correction"]
    control = FitControl()
    data, excluded = poolable(endpoints, endpoint)
    data = data.sort_values("study", kind="mergesort")
    years = dict(zip(studies["study"], studies["year"]))
    detail = {"endpoint": endpoint, "label": ENDPOINT_LABELS.get(endpoint, endpoint), "studies": [], "excluded": excluded, "analyses": []}
    rows = []
    if data.empty:
        return rows, detail
    events = data["events"].astype(int).to_numpy()
    total = data["total"].astype(int).to_numpy()
    for index, spec in enumerate(pooling["analyses"]):
        analysis = Analysis(spec["measure"], spec["method"], spec.get("ci_method", "z"))
        effects = proportion_effects(events, total, analysis.measure, add=correction["add"], to=correction["to"])
        fit = fit_meta(effects, analysis.method, analysis.ci_method, level=level, control=control)
        row = _pooled_row(endpoint, analysis, fit, effects, int(total.sum()))
        rows.append(row)
        detail["analyses"].append({
            **{k: v for k, v in row.items() if k not in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")},
            "estimate_prop": row["estimate"], "ci_low_prop": row["ci_low"], "ci_high_prop": row["ci_high"],
            "pi_low_prop": row["pi_low"], "pi_high_prop": row["pi_high"],
            "primary": index == 0, "notes": list(fit.notes),
        })
        if index == 0:
            weights = list(fit.weights)
    for (_, row), weight in zip(data.iterrows(), weights):
        low, high = exact_ci(row["events"], row["total"], level)
        year = years.get(row["study"])
        detail["studies"].append({
            "study": row["study"], "paper": row["paper"], "year": None if pd.isna(year) else int(year),
            "events": int(row["events"]), "total": int(row["total"]),
            "estimate": row["events"] / row["total"], "ci_low": low, "ci_high": high,
            "weight": float(weight), "flags": row["flags"] if isinstance(row["flags"], str) else "",
        })
    return rows, detail


def pool_all(endpoints: pd.DataFrame, studies: pd.DataFrame, endpoint_names: list[str], pooling: dict) -> tuple[pd.DataFrame, dict]:
    rows, details = [], {}
    for endpoint in endpoint_names:
        endpoint_rows, detail = pool_endpoint(endpoints, studies, endpoint, pooling)
        rows.extend(endpoint_rows)
        details[endpoint] = detail
    return pd.DataFrame(rows, columns=POOLED_COLUMNS), {"endpoints": details, "pooling": pooling}
