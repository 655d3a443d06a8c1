"""Pooling the harmonised table: every configured endpoint x analysis -> pooled.csv rows.

This module only selects data, dispatches to the estimators and lays results
out; the estimators live in `trialmeta.pool.effects`, `trialmeta.pool.models` and
`trialmeta.pool.sensitivity` (each validated against metafor).

Which model does what:
- every analysis in ``pooling.analyses`` gives one pooled.csv row per
  endpoint; the first is the primary analysis. A GLMM that cannot be fitted
  keeps its row with empty estimates (the reason goes to results.json) and,
  only when ``pooling.glmm_fallback`` is set, the fallback model becomes the
  primary one for the figures and the report.
- subgroups, meta-regression, leave-one-out, cumulative analysis, funnel,
  Egger's test and trim-and-fill need inverse-variance weights, which the
  GLMM does not have (metafor's leave1out, cumul, regtest and trimfill do not
  accept rma.glmm either). They use the primary analysis when it is an
  inverse-variance model, otherwise the first inverse-variance analysis of
  the list, otherwise the fallback; results.json names the model used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from trialmeta.pool.control import FitControl
from trialmeta.pool.km_pool import pooled_km
from trialmeta.pool.effects import EffectSizes, back_transform, proportion_effects
from trialmeta.pool.itt import ITT_SUBGROUP, enrolled_denominators, itt_entry
from trialmeta.harmonise.duplicates import single_reports
from trialmeta.harmonise.table import poolable
from trialmeta.pool.models import GLMMFitError, MetaResult, fit_glmm, fit_meta
from trialmeta.pool.survival import RELAPSE_LABELS, pool_landmarks, relapse_proportions
from trialmeta.pool.sensitivity import (
    cumulative, egger_test, influence_diagnostics, leave_one_out, meta_regression, subgroup_analysis, trim_and_fill,
)

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
    **RELAPSE_LABELS,
}
# Publication-bias tests have little power below 10 studies (Sterne et al.
# 2011, BMJ 343:d4002, doi:10.1136/bmj.d4002); results are still shown, flagged.
FEW_STUDIES_FOR_BIAS_TESTS = 10
INFLUENCE_FIELDS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat", "weight", "dfbetas", "influential")


@dataclass(frozen=True)
class Analysis:
    """One pooled analysis as configured: effect-size scale, tau2 estimator (or FE/GLMM), CI method."""

    measure: str
    method: str
    ci_method: str

    @classmethod
    def from_config(cls, spec: dict) -> Analysis:
        return cls(spec["measure"], spec["method"], spec.get("ci_method", "z"))

    @property
    def label(self) -> str:
        return f"{self.measure}-{self.method}-{self.ci_method}"

    @property
    def inverse_variance(self) -> bool:
        return self.method != "GLMM"


@dataclass(frozen=True)
class Fitted:
    """An analysis fitted to one set of studies, with the effect sizes it was fitted from."""

    analysis: Analysis
    effects: EffectSizes
    fit: MetaResult


def exact_ci(events: int, total: int, level: float) -> tuple[float, float]:
    """Clopper-Pearson interval of one study, as meta's forest.meta shows for metaprop.

    Clopper & Pearson (1934), doi:10.1093/biomet/26.4.404: the limits are the
    beta quantiles B(a/2; x, n - x + 1) and B(1 - a/2; x + 1, n - x), 0 at
    x = 0 and 1 at x = n (R's binom.test; scipy's binomtest ``method="exact"``
    finds the same limits by root search, about 50 times slower).
    It stays inside [0, 1] and exists at 0% and 100%.
    """
    x, n, alpha = int(events), int(total), 1 - level
    low = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    high = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return low, high


def fit_analysis(analysis: Analysis, events: np.ndarray, total: np.ndarray, pooling: dict, control: FitControl) -> Fitted:
    """Fit one analysis; GLMMFitError when a GLMM cannot be fitted (the message says why)."""
    level = pooling["level"]
    if analysis.method == "GLMM":
        # the GLMM uses the exact binomial likelihood: no continuity correction
        effects = proportion_effects(events, total, "PLO", add=0.0, to="none")
        return Fitted(analysis, effects, fit_glmm(events, total, level=level, control=control))
    correction = pooling["continuity_correction"]
    # as escalc: PFT and PAS are finite at 0% and 100% and get no correction
    add = correction["add"] if analysis.measure in ("PLO", "PR") else None
    effects = proportion_effects(events, total, analysis.measure, add=add, to=correction["to"])
    return Fitted(analysis, effects, fit_meta(effects, analysis.method, analysis.ci_method, level=level, control=control))


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _summary(fit: MetaResult, effects: EffectSizes) -> dict:
    """Back-transformed estimate with its intervals, and the heterogeneity of one fit."""
    pooled = fit.back_transformed(effects)
    return {
        "k": fit.k, "estimate": pooled.estimate, "ci_low": pooled.ci_low, "ci_high": pooled.ci_high,
        "pi_low": pooled.pi_low, "pi_high": pooled.pi_high, "tau2": fit.tau2, "i2": fit.i2, "q": fit.q, "q_p": fit.q_p,
    }


def _pooled_row(endpoint: str, subgroup: str, analysis: Analysis, fitted: Fitted | None, k: int, n_total: int) -> dict:
    row = {
        "endpoint": endpoint, "landmark_months": None, "subgroup": subgroup,
        "measure": analysis.measure, "method": analysis.method, "ci_method": analysis.ci_method,
        "k": k, "n_total": n_total,
    }
    if fitted is None:  # not fitted: the row stays, its numbers empty; results.json says why
        return row | dict.fromkeys(POOLED_COLUMNS[8:], None)
    fit = fitted.fit
    pooled = fit.back_transformed(fitted.effects)
    return row | {
        "estimate": pooled.estimate, "ci_low": pooled.ci_low, "ci_high": pooled.ci_high,
        "pi_low": pooled.pi_low, "pi_high": pooled.pi_high,
        "tau2": fit.tau2, "tau2_ci_low": fit.tau2_ci_low, "tau2_ci_high": fit.tau2_ci_high,
        "i2": fit.i2, "h2": fit.h2, "q": fit.q, "q_p": fit.q_p,
    }


def _sensitivity_model(primary: Analysis | None, analyses: list[Analysis], fallback: Analysis | None) -> Analysis | None:
    candidates = [primary, *analyses, fallback]
    return next((a for a in candidates if a is not None and a.inverse_variance), None)


def _subgroups(
    fitted: Fitted, labels: dict[str, list], studies: list[str], pooling: dict, control: FitControl
) -> tuple[dict, dict, list[tuple[str, str, Fitted]]]:
    """Per column of studies.csv: each subgroup's pooled estimate and the between-subgroup test.

    Also returns every subgroup's fit as (column, group, Fitted), for the pooled.csv rows.
    """
    results, notes, group_fits = {}, {}, []
    analysis, effects = fitted.analysis, fitted.effects
    for column, values in labels.items():
        known = np.array([v is not None for v in values])
        groups = np.array(["" if v is None else str(v) for v in values])
        names = sorted(set(groups[known].tolist()))
        if len(names) < 2:
            notes[column] = f"needs at least 2 subgroups with a known {column}; found {len(names)}"
            continue
        if known.sum() <= len(names):
            notes[column] = f"every {column} subgroup has a single study: nothing to pool within subgroups"
            continue
        subset = effects.subset(known)
        members = {name: subset.subset(groups[known] == name) for name in names}
        try:
            test = subgroup_analysis(subset, groups[known], analysis.method, analysis.ci_method, pooling["level"], control)
        except (ValueError, np.linalg.LinAlgError) as err:
            # e.g. a Knapp-Hartung subgroup whose studies agree exactly has SE 0: no test between subgroups
            notes[column] = f"subgroup analysis not estimable: {err}"
            continue
        results[column] = {
            "column": column, "model": analysis.label,
            "q_between": test.q_between, "q_between_df": test.q_between_df, "q_between_p": test.q_between_p,
            "qm_mixed_effects": test.mixed_effects.qm, "qm_mixed_effects_p": test.mixed_effects.qm_p,
            "unknown": [s for s, k in zip(studies, known) if not k],
            "groups": [
                {"group": name, "studies": [s for s, g, k in zip(studies, groups, known) if k and g == name],
                 **_summary(fit, members[name])}
                for name, fit in zip(test.groups, test.fits)
            ],
        }
        group_fits.extend((column, name, Fitted(analysis, members[name], fit)) for name, fit in zip(test.groups, test.fits))
    return results, notes, group_fits


def _meta_regressions(fitted: Fitted, moderators: dict[str, list], studies: list[str], pooling: dict, control: FitControl) -> tuple[dict, dict]:
    results, notes = {}, {}
    analysis, effects = fitted.analysis, fitted.effects
    for name, values in moderators.items():
        x = np.array([np.nan if v is None else float(v) for v in values])
        known = np.isfinite(x)
        if known.sum() < 3 or np.unique(x[known]).size < 2:
            notes[name] = f"needs at least 3 studies with a known {name} and 2 distinct values"
            continue
        subset = effects.subset(known)
        try:
            fit = meta_regression(subset, {name: x[known]}, analysis.method, analysis.ci_method, pooling["level"], control)
        except (ValueError, np.linalg.LinAlgError) as err:
            notes[name] = f"not estimable: {err}"
            continue
        weights = 1.0 / (subset.vi + fit.tau2)
        results[name] = {
            "moderator": name, "model": analysis.label, "measure": analysis.measure, "k": fit.k,
            "intercept": fit.coefficients[0], "slope": fit.coefficients[1], "slope_se": fit.se[1],
            "slope_p": fit.pval[1], "slope_ci_low": fit.ci_low[1], "slope_ci_high": fit.ci_high[1],
            "qm": fit.qm, "qm_df": fit.qm_df, "qm_p": fit.qm_p, "tau2": fit.tau2,
            "points": [
                {"study": s, "x": float(xv), "yi": float(y), "vi": float(v), "weight": float(100 * w / weights.sum())}
                for s, xv, y, v, w in zip(np.array(studies)[known], x[known], subset.yi, subset.vi, weights)
            ],
        }
    return results, notes


def _bias_warning(k: int) -> str | None:
    if k < FEW_STUDIES_FOR_BIAS_TESTS:
        return f"k = {k} < {FEW_STUDIES_FOR_BIAS_TESTS}: the test has little power; do not read a non-significant result as absence of bias"
    return None


def _sensitivity(
    fitted: Fitted, studies: list[str], years: list, labels: dict, moderators: dict, pooling: dict, control: FitControl
) -> tuple[dict, list[tuple[str, str, Fitted]]]:
    """Subgroups, meta-regression, leave-one-out, cumulative, funnel, Egger and trim-and-fill of one endpoint."""
    analysis, effects, fit = fitted.analysis, fitted.effects, fitted.fit
    args = (analysis.method, analysis.ci_method, pooling["level"], control)
    k = effects.k
    out: dict = {"sensitivity_model": analysis.label}
    out["subgroups"], out["subgroups_note"], group_fits = _subgroups(fitted, labels, studies, pooling, control)
    out["meta_regression"], out["meta_regression_note"] = _meta_regressions(fitted, moderators, studies, pooling, control)
    if k >= 2:
        loo = leave_one_out(effects, *args)
        out["leave_one_out"] = [
            {"omitted": studies[i], **_summary(f, effects.subset(np.arange(k) != i))} for i, f in zip(loo.omitted, loo.fits)
        ]
        influence = influence_diagnostics(effects, *args, left_out=loo)
        out["influence"] = [
            {"study": study, **{field: getattr(influence, field)[i] for field in INFLUENCE_FIELDS}}
            for i, study in enumerate(studies)
        ]
    else:
        out["leave_one_out"], out["leave_one_out_note"] = None, "needs at least 2 studies"
        out["influence"], out["influence_note"] = None, "needs at least 2 studies"
    # by year; studies are sorted by name, which breaks ties; unknown years last
    cumul = cumulative(effects, *args, order=np.array([np.inf if y is None else y for y in years]))
    out["cumulative"] = [
        {"added": studies[i], "year": years[i], **_summary(f, effects.subset(np.array(cumul.order[: n + 1])))}
        for n, (i, f) in enumerate(zip(cumul.order, cumul.fits))
    ]
    out["funnel"] = {
        "measure": analysis.measure, "model": analysis.label, "pooled_yi": fit.estimate,
        "points": [{"study": s, "yi": float(y), "sei": float(math.sqrt(v))} for s, y, v in zip(studies, effects.yi, effects.vi)],
    }
    # degenerate data (e.g. standard errors that do not vary) make the regressions singular
    not_estimable = (ValueError, np.linalg.LinAlgError)
    if k >= 3:
        try:
            egger = egger_test(effects, *args)
        except not_estimable as err:
            out["egger"], out["egger_note"] = None, f"not estimable: {err}"
            out["trim_and_fill"], out["trim_and_fill_note"] = None, f"not estimable: {err}"
            return out, group_fits
        out["egger"] = {
            "stat": egger.stat, "pval": egger.pval, "df": _finite(egger.df), "slope": egger.slope, "slope_se": egger.slope_se,
            "limit_estimate": egger.limit_estimate, "limit_ci_low": egger.limit_ci_low, "limit_ci_high": egger.limit_ci_high,
            "warning": _bias_warning(k),
        }
        try:
            filled = trim_and_fill(effects, *args)
        except not_estimable as err:
            out["trim_and_fill"], out["trim_and_fill_note"] = None, str(err)
        else:
            # the filled studies have no sample sizes: the PFT back-transformation uses those of the observed ones
            values = back_transform(
                [filled.fit.estimate, filled.fit.ci_low, filled.fit.ci_high], analysis.measure,
                effects.total if analysis.measure == "PFT" else None,
            )
            out["trim_and_fill"] = {
                "k0": filled.k0, "side": filled.side, "estimate": float(values[0]), "ci_low": float(values[1]),
                "ci_high": float(values[2]), "warning": _bias_warning(k),
                "filled": [{"yi": float(y), "sei": float(math.sqrt(v))} for y, v in zip(filled.filled_yi, filled.filled_vi)],
            }
    else:
        note = "needs at least 3 studies (a regression on the standard error)"
        out["egger"], out["egger_note"] = None, note
        out["trim_and_fill"], out["trim_and_fill_note"] = None, note
    return out, group_fits


def pool_endpoint(endpoints: pd.DataFrame, studies: pd.DataFrame, endpoint: str, pooling: dict) -> tuple[list[dict], dict]:
    """pooled.csv rows for one endpoint, and the detail the figures and report draw (results.json)."""
    control = FitControl()
    rebuilt: list[dict] = []
    if endpoint in RELAPSE_LABELS:
        # relapse over an explicit denominator (responders or treated), built from the relapse,
        # cr_cri and n_treated rows; the paper's own relapse denominator stays in endpoint "relapse"
        endpoints, rebuilt = relapse_proportions(endpoints, endpoint.removeprefix("relapse_"))
    data, excluded = poolable(endpoints, endpoint)
    excluded = rebuilt + excluded
    data = data.sort_values("study", kind="mergesort")
    study_table = studies.set_index("study")
    detail = {
        "endpoint": endpoint, "label": ENDPOINT_LABELS.get(endpoint, endpoint), "kind": "proportion",
        "landmark_months": None, "studies": [], "excluded": excluded, "analyses": [], "primary_note": None,
    }
    rows: list[dict] = []
    if data.empty:
        detail["primary_note"] = "no study reports this endpoint as events/total"
        return rows, detail
    events = data["events"].astype(int).to_numpy()
    total = data["total"].astype(int).to_numpy()
    names = data["study"].tolist()
    analyses = [Analysis.from_config(spec) for spec in pooling["analyses"]]
    fallback = Analysis.from_config(pooling["glmm_fallback"]) if pooling.get("glmm_fallback") else None

    fits: dict[Analysis, Fitted] = {}
    failed: dict[str, str] = {}
    for analysis in analyses + ([fallback] if fallback else []):
        if analysis in fits or analysis.label in failed:
            continue
        try:
            fits[analysis] = fit_analysis(analysis, events, total, pooling, control)
        except GLMMFitError as err:
            failed[analysis.label] = str(err)

    primary = analyses[0] if analyses[0] in fits else None
    if primary is None:
        reason = failed.get(analyses[0].label, "not fitted")
        if fallback is not None and fallback in fits:
            primary = fallback
            detail["primary_note"] = f"{analyses[0].label} could not be fitted ({reason}); primary results use the configured fallback {fallback.label}"
        else:
            detail["primary_note"] = f"{analyses[0].label} could not be fitted ({reason}); no fallback configured (pooling.glmm_fallback)"
    shown = analyses + ([fallback] if fallback is not None and primary == fallback and fallback not in analyses else [])
    for analysis in shown:
        fitted = fits.get(analysis)
        row = _pooled_row(endpoint, "all", analysis, fitted, len(events), int(total.sum()))
        rows.append(row)
        detail["analyses"].append({
            **{k: v for k, v in row.items() if k not in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")},
            "label": analysis.label,
            "estimate_prop": row["estimate"], "ci_low_prop": row["ci_low"], "ci_high_prop": row["ci_high"],
            "pi_low_prop": row["pi_low"], "pi_high_prop": row["pi_high"],
            "primary": analysis == primary, "fitted": fitted is not None,
            "notes": list(fitted.fit.notes) if fitted else [f"not fitted: {failed.get(analysis.label, '')}"],
        })
    weights = list(fits[primary].fit.weights) if primary is not None else []
    years = []
    for index, (_, row) in enumerate(data.iterrows()):
        low, high = exact_ci(row["events"], row["total"], pooling["level"])
        year = study_table["year"].get(row["study"]) if "year" in study_table else None
        years.append(None if year is None or pd.isna(year) else int(year))
        detail["studies"].append({
            "study": row["study"], "paper": row["paper"], "year": years[-1],
            "events": int(row["events"]), "total": int(row["total"]),
            "estimate": row["events"] / row["total"], "ci_low": low, "ci_high": high,
            # the GLMM has no inverse-variance weights (metafor's weights() has none either)
            "weight": float(weights[index]) if weights else None,
            "flags": row["flags"] if isinstance(row["flags"], str) else "",
        })

    if endpoint in pooling.get("intention_to_treat", ()) and primary is not None:
        itt_data, changes = enrolled_denominators(data, studies)
        itt_events, itt_total = itt_data["events"].astype(int).to_numpy(), itt_data["total"].astype(int).to_numpy()
        itt_fit, why = None, None
        try:
            itt_fit = fit_analysis(primary, itt_events, itt_total, pooling, control)
        except GLMMFitError as err:
            why = f"{primary.label} could not be fitted: {err}"
        rows.append(_pooled_row(endpoint, ITT_SUBGROUP, primary, itt_fit, len(itt_total), int(itt_total.sum())))
        detail["intention_to_treat"] = itt_entry(changes, rows[-1], primary.label, why)

    model = _sensitivity_model(primary, analyses, fallback)
    if model is None:
        detail["sensitivity_note"] = "needs an inverse-variance analysis (not GLMM) in pooling.analyses or pooling.glmm_fallback"
        return rows, detail
    fitted = fits.get(model) or fit_analysis(model, events, total, pooling, control)

    def column(name: str) -> list:
        if name not in study_table:
            return [None] * len(names)
        return [None if pd.isna(study_table[name].get(s)) else study_table[name].get(s) for s in names]

    labels = {name: column(name) for name in pooling.get("subgroups", ())}
    moderators = {name: column(name) for name in pooling.get("moderators", ())}
    sensitivity, group_fits = _sensitivity(fitted, names, years, labels, moderators, pooling, control)
    detail.update(sensitivity)
    for group_column, group, sub in group_fits:
        rows.append(_pooled_row(endpoint, f"{group_column}={group}", model, sub, sub.effects.k, int(sub.effects.total.sum())))
    return rows, detail


def pool_all(
    endpoints: pd.DataFrame, studies: pd.DataFrame, endpoint_names: list[str], pooling: dict, survival: dict | None = None,
    km_curves: dict | None = None, patients: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Every proportion endpoint, and (when `survival` is given) every landmark survival endpoint.

    `survival` is the config block: "endpoints" (names, "+" joins endpoints
    pooled together, e.g. "rfs+lfs+efs") and "landmark_months";
    `trialmeta.pool.survival.pool_landmarks` pools them on the log(-log S) scale.
    A second report of a trial (``duplicate_of``) is dropped here, before any
    pool, and listed among each pool's exclusions; results["dropped_reports"]
    maps its paper to the study kept. The same holds for the patient-level
    results: `km_curves` (harmonise's Kaplan-Meier fits, km_curves.json) become
    results["km"], and the reconstructed `patients` (patients.csv) the pooled
    Kaplan-Meier results["km_pooled"] (`trialmeta.pool.km_pool.pooled_km`).
    """
    reports = single_reports(endpoints)
    endpoints = reports.endpoints
    rows, details = [], {}
    for endpoint in endpoint_names:
        endpoint_rows, detail = pool_endpoint(endpoints, studies, endpoint, pooling)
        detail["excluded"] += reports.excluded(["relapse"] if endpoint in RELAPSE_LABELS else [endpoint])
        rows.extend(endpoint_rows)
        details[endpoint] = detail
    landmarks: dict = {}
    if survival:
        landmark_rows, landmarks = pool_landmarks(endpoints, studies, pooling, survival["endpoints"], survival["landmark_months"],
                                                  survival.get("without_precision", "exclude"))
        for entry in landmarks.values():
            entry["excluded"] += reports.excluded(entry["endpoint"].split("+"))
        rows.extend(landmark_rows)
    results = {"endpoints": details, "landmarks": landmarks, "pooling": pooling, "dropped_reports": reports.dropped}
    if km_curves is not None:
        results["km"] = {name: curve for name, curve in km_curves.items() if curve["paper"] not in reports.dropped}
    if patients is not None:
        results["km_pooled"] = pooled_km(reports.without_dropped(patients), pooling["level"])
    return pd.DataFrame(rows, columns=POOLED_COLUMNS), results
