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
- k = 1 is not pooled: the study is shown with its exact interval, with no
  tau2, I2 or prediction interval, as meta does. When every study is at 0% or
  every one at 100%, no random-effects model is estimable without a
  continuity correction that moves the estimate off the data: the pooled row
  is the exact (Clopper-Pearson) interval of the summed counts, flagged.
- Egger's test and trim-and-fill run from ``pooling.bias_tests_min_k``
  studies, the test between subgroups from ``pooling.subgroup_test_min_k``
  (both 10 by default, meta's k.min for metabias; Sterne et al. 2011,
  doi:10.1136/bmj.d4002); below, results.json says why in "<key>_note".

Every pooled row (pooled.csv, and each entry of results.json's "analyses",
"leave_one_out", "cumulative", subgroup "groups" and "trim_and_fill") carries:
- ``model``: the model that produced its numbers, in words, e.g.
  "GLMM (logit, t-based CI)", "REML logit, ad hoc Knapp-Hartung (fallback:
  GLMM not fitted: ...)", "exact Clopper-Pearson of summed counts",
  "single study, not pooled (exact Clopper-Pearson)";
- ``flags``: a list of what a reader must know about that number (why the
  model was chosen, a Freeman-Tukey estimate outside the data, a test switched
  for small k); in pooled.csv joined by "; ".
tau2 on the boundary (below `FitControl.tau2_boundary`) is stored as 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from trialmeta.pool.control import FitControl
from trialmeta.pool.km_pool import pooled_km
from trialmeta.pool.effects import EffectSizes, back_transform, proportion_effects
from trialmeta.pool.itt import ITT_SUBGROUP, enrolled_denominators, itt_entry
from trialmeta.harmonise.duplicates import single_reports
from trialmeta.harmonise.table import poolable
from trialmeta.pool.glmm import GLMMFitError, fit_glmm
from trialmeta.pool.models import MetaResult, fit_meta, model_name
from trialmeta.pool.survival import RELAPSE_LABELS, pool_landmarks, relapse_proportions
from trialmeta.pool.sensitivity import (
    cumulative, egger_test, influence_diagnostics, leave_one_out, meta_regression, subgroup_analysis, trim_and_fill,
)

POOLED_COLUMNS = [
    "endpoint", "landmark_months", "subgroup", "measure", "method", "ci_method", "k", "n_total",
    "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "tau2_ci_low", "tau2_ci_high",
    "i2", "h2", "q", "q_p", "model", "flags",
]
ESTIMATE_COLUMNS = POOLED_COLUMNS[8:-2]
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
# Defaults of the pooling keys for small k (workflow/schemas/config.schema.yaml
# holds the same): Egger's test, trim-and-fill and the test between subgroups
# need 10 studies, meta's k.min; the GLMM uses a t-based CI below 10 studies.
SMALL_K_DEFAULTS = {"bias_tests_min_k": 10, "subgroup_test_min_k": 10, "glmm_t_below_k": 10}
EXACT_MODEL = "exact Clopper-Pearson of summed counts"
SINGLE_STUDY_MODEL = "single study, not pooled (exact Clopper-Pearson)"
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
        return self.method not in ("GLMM", "exact")


@dataclass(frozen=True)
class Fitted:
    """An analysis fitted to one set of studies, with the effect sizes it was fitted from.

    `flags` say what changed in the fit for this data (e.g. the GLMM's t-based CI for small k);
    `fallback_for` is the reason the primary model could not be fitted, when this fit replaces it.
    """

    analysis: Analysis
    effects: EffectSizes
    fit: MetaResult
    flags: tuple[str, ...] = ()
    fallback_for: str | None = None

    @property
    def model(self) -> str:
        name = model_name(self.fit.method, self.fit.measure, self.fit.ci_method)
        if self.fallback_for is not None:
            return f"{name} (fallback: GLMM not fitted: {self.fallback_for.split(':')[0]})"
        return name


# the primary row of a pool no model can estimate (k = 1, every study at 0% or at 100%)
EXACT = Analysis("PR", "exact", "CP")


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


def unpoolable_reason(events: np.ndarray, total: np.ndarray) -> str | None:
    """Why these studies are shown but not pooled by a model, or None when a model can be fitted.

    One study: nothing to pool (meta shows the study and no pooled estimate).
    Every study at 0%, or every one at 100%: the binomial likelihood has no
    finite maximum, and the inverse-variance models only exist after a
    continuity correction that moves the estimate off the data and makes the
    studies look alike (the logit CI of 0/10, 0/12, 0/15 with 0.5 added and
    Knapp-Hartung was 3.8% [2.4%, 6.0%], above every study).
    """
    if len(events) == 1:
        return "k = 1: the study is shown, not pooled"
    if np.all(events == 0):
        return "random-effects model not estimable: all studies at 0%"
    if np.all(events == total):
        return "random-effects model not estimable: all studies at 100%"
    return None


def exact_summary(events: np.ndarray, total: np.ndarray, level: float) -> dict:
    """The summed counts sum(x)/sum(n) with their exact Clopper-Pearson interval (`exact_ci`).

    R: ``binom.test(sum(x), sum(n))$conf.int``. The row of a pool that
    `unpoolable_reason` refuses: for k = 1 the study's own interval. No tau2,
    I2, Q or prediction interval (None).
    """
    x, n = int(np.sum(events)), int(np.sum(total))
    low, high = exact_ci(x, n, level)
    reason = unpoolable_reason(events, total)
    return {
        "k": len(events), "estimate": x / n, "ci_low": low, "ci_high": high, "pi_low": None, "pi_high": None,
        **dict.fromkeys(("tau2", "tau2_ci_low", "tau2_ci_high", "i2", "h2", "q", "q_p")),
        "model": SINGLE_STUDY_MODEL if len(events) == 1 else EXACT_MODEL, "flags": [reason] if reason else [],
    }


def freeman_tukey_flags(estimate: float, ci_low: float, ci_high: float, events: np.ndarray, total: np.ndarray,
                        tol: float = FitControl.proportion_tol) -> list[str]:
    """Flags on a back-transformed Freeman-Tukey (PFT) estimate that contradicts the data.

    The back-transformation needs one n; with the harmonic mean of unequal
    study sizes it can put the pooled value outside the study proportions or
    its CI away from the crude pooled proportion sum(x)/sum(n) (Schwarzer G,
    Chemaitelly H, Abu-Raddad LJ, Ruecker G (2019). Seriously misleading
    results using inverse of Freeman-Tukey double arcsine transformation in
    meta-analysis of single proportions. Res Synth Methods 10:476-483,
    doi:10.1002/jrsm.1348). Equal within `tol` (`FitControl.proportion_tol`).
    """
    props, crude = events / total, float(np.sum(events) / np.sum(total))
    flags = []
    if estimate < props.min() - tol or estimate > props.max() + tol:
        flags.append(f"Freeman-Tukey back-transformation: estimate {100 * estimate:.2f}% outside the study "
                     f"proportions [{100 * props.min():.2f}%, {100 * props.max():.2f}%]")
    if not ci_low - tol <= crude <= ci_high + tol:
        flags.append(f"Freeman-Tukey back-transformation: CI [{100 * ci_low:.2f}%, {100 * ci_high:.2f}%] excludes the "
                     f"crude pooled proportion {100 * crude:.2f}% (Schwarzer 2019, doi:10.1002/jrsm.1348)")
    return flags


def _setting(pooling: dict, key: str) -> int:
    value = pooling.get(key)
    return SMALL_K_DEFAULTS[key] if value is None else int(value)


def fit_analysis(analysis: Analysis, events: np.ndarray, total: np.ndarray, pooling: dict, control: FitControl) -> Fitted:
    """Fit one analysis; GLMMFitError when a GLMM cannot be fitted (the message says why).

    A GLMM configured with a z-based CI uses the t-based one (t on k - 1 df,
    metafor ``rma.glmm(test = "t")``) below ``pooling.glmm_t_below_k`` studies:
    with few studies z ignores the uncertainty in tau2 (MRD-negative remission,
    k = 4: z [83.3%, 99.2%], t [65.2%, 99.7%]).
    """
    level = pooling["level"]
    if analysis.method == "GLMM":
        # the GLMM uses the exact binomial likelihood: no continuity correction
        effects = proportion_effects(events, total, "PLO", add=0.0, to="none")
        ci_method, flags, below = analysis.ci_method, (), _setting(pooling, "glmm_t_below_k")
        if ci_method == "z" and len(events) < below:
            ci_method = "t"
            flags = (f"t-based CI on {len(events) - 1} df: k = {len(events)} < {below} (pooling.glmm_t_below_k)",)
        fit = fit_glmm(events, total, level=level, control=control, ci_method=ci_method)
        return Fitted(analysis, effects, fit, flags)
    correction = pooling["continuity_correction"]
    # as escalc: PFT and PAS are finite at 0% and 100% and get no correction
    add = correction["add"] if analysis.measure in ("PLO", "PR") else None
    effects = proportion_effects(events, total, analysis.measure, add=add, to=correction["to"])
    return Fitted(analysis, effects, fit_meta(effects, analysis.method, analysis.ci_method, level=level, control=control))


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


# notes of a fit that change how its number reads, carried into the row's flags
_FLAGGED_NOTES = ("continuity correction", "Knapp-Hartung: all yi fit exactly")


def _summary(fit: MetaResult, effects: EffectSizes, level: float, model: str, flags: tuple[str, ...] = ()) -> dict:
    """Back-transformed estimate with its intervals, the heterogeneity, `model` and `flags` of one fit.

    Studies `unpoolable_reason` refuses get `exact_summary` instead, whatever the fit.
    """
    if unpoolable_reason(effects.events, effects.total) is not None:
        return exact_summary(effects.events, effects.total, level)
    pooled = fit.back_transformed(effects)
    row_flags = [*flags, *(note for note in fit.notes if note.startswith(_FLAGGED_NOTES))]
    if fit.measure == "PFT":
        row_flags += freeman_tukey_flags(pooled.estimate, pooled.ci_low, pooled.ci_high, effects.events, effects.total)
    return {
        "k": fit.k, "estimate": pooled.estimate, "ci_low": pooled.ci_low, "ci_high": pooled.ci_high,
        "pi_low": _finite(pooled.pi_low), "pi_high": _finite(pooled.pi_high),
        "tau2": fit.tau2, "tau2_ci_low": _finite(fit.tau2_ci_low), "tau2_ci_high": _finite(fit.tau2_ci_high),
        "i2": fit.i2, "h2": fit.h2, "q": fit.q, "q_p": fit.q_p, "model": model, "flags": row_flags,
    }


def _fitted_summary(fitted: Fitted, level: float) -> dict:
    return _summary(fitted.fit, fitted.effects, level, fitted.model, fitted.flags)


def _pooled_row(endpoint: str, subgroup: str, analysis: Analysis, summary: dict | None, k: int, n_total: int,
                flags: list[str] | None = None) -> dict:
    """A pooled.csv row; `summary` None: not fitted, the numbers empty (`flags` and results.json say why)."""
    row = {
        "endpoint": endpoint, "landmark_months": None, "subgroup": subgroup,
        "measure": analysis.measure, "method": analysis.method, "ci_method": analysis.ci_method,
        "k": k, "n_total": n_total,
    }
    if summary is None:
        return row | dict.fromkeys(ESTIMATE_COLUMNS) | {
            "model": model_name(analysis.method, analysis.measure, analysis.ci_method), "flags": "; ".join(flags or [])}
    return row | {column: summary[column] for column in ESTIMATE_COLUMNS} | {
        "model": summary["model"], "flags": "; ".join(summary["flags"])}


def _sensitivity_model(primary: Analysis | None, analyses: list[Analysis], fallback: Analysis | None) -> Analysis | None:
    candidates = [primary, *analyses, fallback]
    return next((a for a in candidates if a is not None and a.inverse_variance), None)


def subgroup_test_name(groups: int) -> str:
    return f"Q-test for subgroup differences (random-effects, {groups} subgroups with >= 2 studies)"


def _subgroups(
    fitted: Fitted, labels: dict[str, list], studies: list[str], pooling: dict, control: FitControl
) -> tuple[dict, dict, list[tuple[str, str, dict]]]:
    """Per column of studies.csv: each subgroup's pooled estimate and the test between subgroups.

    A subgroup of one study, or whose studies are all at 0% or all at 100%,
    is shown (`exact_summary`) but left out of the test; the test runs when
    at least 2 subgroups remain and their studies number at least
    ``pooling.subgroup_test_min_k``, and is named in "test" (otherwise
    "test_note" says why). Also returns every subgroup's summary as
    (column, group, summary), for the pooled.csv rows.
    """
    results, notes, group_rows = {}, {}, []
    analysis, effects = fitted.analysis, fitted.effects
    level, min_k = pooling["level"], _setting(pooling, "subgroup_test_min_k")
    model = model_name(analysis.method, analysis.measure, analysis.ci_method)
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
        members = {name: effects.subset(known & (groups == name)) for name in names}
        reasons = {name: unpoolable_reason(m.events, m.total) for name, m in members.items()}
        eligible = [name for name in names if reasons[name] is None]
        entry = {
            "column": column, "model": model, "test": None, "test_note": None,
            "q_between": None, "q_between_df": None, "q_between_p": None,
            "qm_mixed_effects": None, "qm_mixed_effects_p": None,
            "left_out_of_test": [f"{name} ({reasons[name]})" for name in names if reasons[name] is not None],
            "unknown": [s for s, k in zip(studies, known) if not k],
        }
        in_test = known & np.isin(groups, eligible)
        summaries: dict[str, dict] = {}
        try:
            if len(eligible) >= 2 and in_test.sum() >= min_k:
                test = subgroup_analysis(effects.subset(in_test), groups[in_test], analysis.method, analysis.ci_method,
                                         level, control)
                entry |= {
                    "test": subgroup_test_name(len(eligible)),
                    "q_between": test.q_between, "q_between_df": test.q_between_df, "q_between_p": test.q_between_p,
                    "qm_mixed_effects": test.mixed_effects.qm, "qm_mixed_effects_p": test.mixed_effects.qm_p,
                }
                fits = dict(zip(test.groups, test.fits))
            else:
                entry["test_note"] = (
                    f"test for subgroup differences not run: {len(eligible)} subgroup{'' if len(eligible) == 1 else 's'} with >= 2 studies"
                    if len(eligible) < 2 else
                    f"test for subgroup differences not run: k = {int(in_test.sum())} < {min_k} studies in the "
                    "subgroups compared (pooling.subgroup_test_min_k)")
                fits = {name: fit_meta(members[name], analysis.method, analysis.ci_method, level, control)
                        for name in eligible}
        except (ValueError, np.linalg.LinAlgError) as err:
            notes[column] = f"subgroup analysis not estimable: {err}"
            continue
        for name in names:
            summaries[name] = (_summary(fits[name], members[name], level, model) if name in fits
                               else exact_summary(members[name].events, members[name].total, level))
        entry["groups"] = [
            {"group": name, "studies": [s for s, g, k in zip(studies, groups, known) if k and g == name], **summaries[name]}
            for name in names
        ]
        results[column] = entry
        group_rows.extend((column, name, summaries[name] | {"n_total": int(members[name].total.sum())}) for name in names)
    return results, notes, group_rows


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
            "moderator": name, "model": model_name(analysis.method, analysis.measure, fit.ci_method), "label": analysis.label, "measure": analysis.measure, "k": fit.k,
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
    # reached only when pooling.bias_tests_min_k is set below meta's 10
    if k < SMALL_K_DEFAULTS["bias_tests_min_k"]:
        return (f"k = {k} < {SMALL_K_DEFAULTS['bias_tests_min_k']}: the test has little power and false positives "
                "(e.g. from a continuity correction); do not read its result either way")
    return None


def _sensitivity(
    fitted: Fitted, studies: list[str], years: list, labels: dict, moderators: dict, pooling: dict, control: FitControl
) -> tuple[dict, list[tuple[str, str, dict]]]:
    """Subgroups, meta-regression, leave-one-out, cumulative, funnel, Egger and trim-and-fill of one endpoint."""
    analysis, effects, fit = fitted.analysis, fitted.effects, fitted.fit
    args = (analysis.method, analysis.ci_method, pooling["level"], control)
    level = pooling["level"]
    model = model_name(analysis.method, analysis.measure, analysis.ci_method)
    k = effects.k
    out: dict = {"sensitivity_model": analysis.label, "sensitivity_model_name": model}
    out["subgroups"], out["subgroups_note"], group_rows = _subgroups(fitted, labels, studies, pooling, control)
    out["meta_regression"], out["meta_regression_note"] = _meta_regressions(fitted, moderators, studies, pooling, control)
    if k >= 2:
        loo = leave_one_out(effects, *args)
        out["leave_one_out"] = [
            {"omitted": studies[i], **_summary(f, effects.subset(np.arange(k) != i), level, model)}
            for i, f in zip(loo.omitted, loo.fits)
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
        {"added": studies[i], "year": years[i], **_summary(f, effects.subset(np.array(cumul.order[: n + 1])), level, model)}
        for n, (i, f) in enumerate(zip(cumul.order, cumul.fits))
    ]
    out["funnel"] = {
        "measure": analysis.measure, "model": analysis.label, "pooled_yi": fit.estimate,
        "points": [{"study": s, "yi": float(y), "sei": float(math.sqrt(v))} for s, y, v in zip(studies, effects.yi, effects.vi)],
    }
    # degenerate data (e.g. standard errors that do not vary) make the regressions singular
    not_estimable = (ValueError, np.linalg.LinAlgError)
    min_k = _setting(pooling, "bias_tests_min_k")
    if k < max(3, min_k):
        note = (f"not run: k = {k} < {min_k} studies (pooling.bias_tests_min_k): with fewer studies Egger's test "
                "and trim-and-fill have little power and give false positives (Sterne et al. 2011, "
                "doi:10.1136/bmj.d4002)") if k < min_k else "needs at least 3 studies (a regression on the standard error)"
        out["egger"], out["egger_note"] = None, note
        out["trim_and_fill"], out["trim_and_fill_note"] = None, note
        return out, group_rows
    try:
        egger = egger_test(effects, *args)
    except not_estimable as err:
        out["egger"], out["egger_note"] = None, f"not estimable: {err}"
        out["trim_and_fill"], out["trim_and_fill_note"] = None, f"not estimable: {err}"
        return out, group_rows
    out["egger"] = {
        "model": model, "stat": egger.stat, "pval": egger.pval, "df": _finite(egger.df), "slope": egger.slope,
        "slope_se": egger.slope_se, "limit_estimate": egger.limit_estimate, "limit_ci_low": egger.limit_ci_low,
        "limit_ci_high": egger.limit_ci_high, "warning": _bias_warning(k),
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
            "model": model_name(filled.fit.method, filled.fit.measure, filled.fit.ci_method),
            "flags": [note for note in filled.fit.notes if note.startswith(_FLAGGED_NOTES)],
            "k0": filled.k0, "side": filled.side, "estimate": float(values[0]), "ci_low": float(values[1]),
            "ci_high": float(values[2]), "warning": _bias_warning(k),
            "filled": [{"yi": float(y), "sei": float(math.sqrt(v))} for y, v in zip(filled.filled_yi, filled.filled_vi)],
        }
    return out, group_rows


def _analysis_entry(row: dict, analysis: Analysis, summary: dict | None, primary: bool, notes: list[str],
                    flags: list[str]) -> dict:
    """One results.json "analyses" entry: the pooled.csv row with the estimates as "*_prop" and `flags` a list."""
    return {
        **{k: v for k, v in row.items() if k not in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")},
        "label": analysis.label, "flags": list(summary["flags"]) if summary else flags,
        "estimate_prop": row["estimate"], "ci_low_prop": row["ci_low"], "ci_high_prop": row["ci_high"],
        "pi_low_prop": row["pi_low"], "pi_high_prop": row["pi_high"],
        "primary": primary, "fitted": summary is not None, "notes": notes,
    }


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
    level = pooling["level"]
    analyses = [Analysis.from_config(spec) for spec in pooling["analyses"]]
    fallback = Analysis.from_config(pooling["glmm_fallback"]) if pooling.get("glmm_fallback") else None
    unpoolable = unpoolable_reason(events, total)

    fits: dict[Analysis, Fitted] = {}
    failed: dict[str, str] = {}
    for analysis in analyses + ([fallback] if fallback else []):
        if analysis in fits or analysis.label in failed:
            continue
        if unpoolable is not None:
            failed[analysis.label] = unpoolable
            continue
        try:
            fits[analysis] = fit_analysis(analysis, events, total, pooling, control)
        except GLMMFitError as err:
            failed[analysis.label] = str(err)

    primary = analyses[0] if analyses[0] in fits else None
    if unpoolable is not None:
        detail["primary_note"] = (f"{unpoolable}; the study's exact interval is shown" if len(events) == 1 else
                                  f"{unpoolable}; the pooled row is the exact Clopper-Pearson interval of the summed "
                                  f"counts ({int(events.sum())}/{int(total.sum())})")
    elif primary is None:
        reason = failed.get(analyses[0].label, "not fitted")
        if fallback is not None and fallback in fits:
            primary = fallback
            fits[fallback] = replace(fits[fallback], fallback_for=reason)
            detail["primary_note"] = f"{analyses[0].label} could not be fitted ({reason}); primary results use the configured fallback {fallback.label}"
        else:
            detail["primary_note"] = f"{analyses[0].label} could not be fitted ({reason}); no fallback configured (pooling.glmm_fallback)"
    shown = analyses + ([fallback] if fallback is not None and primary == fallback and fallback not in analyses else [])
    for analysis in shown:
        fitted = fits.get(analysis)
        summary = _fitted_summary(fitted, level) if fitted else None
        reason = f"not fitted: {failed.get(analysis.label, '')}"
        row = _pooled_row(endpoint, "all", analysis, summary, len(events), int(total.sum()), [reason])
        rows.append(row)
        detail["analyses"].append(_analysis_entry(
            row, analysis, summary, analysis == primary, list(fitted.fit.notes) if fitted else [reason], [reason]))
    if unpoolable is not None:
        summary = exact_summary(events, total, level)
        row = _pooled_row(endpoint, "all", EXACT, summary, len(events), int(total.sum()))
        rows.append(row)
        detail["analyses"].append(_analysis_entry(row, EXACT, summary, True, [detail["primary_note"]], []))
    weights = list(fits[primary].fit.weights) if primary is not None else []
    years = []
    for index, (_, row) in enumerate(data.iterrows()):
        low, high = exact_ci(row["events"], row["total"], level)
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

    if unpoolable is not None:
        detail["sensitivity_note"] = f"{unpoolable}: no subgroups, sensitivity analyses or small-study tests"
        return rows, detail
    if endpoint in pooling.get("intention_to_treat", ()) and primary is not None:
        itt_data, changes = enrolled_denominators(data, studies)
        itt_events, itt_total = itt_data["events"].astype(int).to_numpy(), itt_data["total"].astype(int).to_numpy()
        itt_fit, why = None, None
        try:
            itt_fit = fit_analysis(primary, itt_events, itt_total, pooling, control)
        except GLMMFitError as err:
            why = f"{primary.label} could not be fitted: {err}"
        itt_summary = None if itt_fit is None else _fitted_summary(itt_fit, pooling["level"])
        rows.append(_pooled_row(endpoint, ITT_SUBGROUP, primary, itt_summary, len(itt_total), int(itt_total.sum()),
                                [why] if why else None))
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
    sensitivity, group_rows = _sensitivity(fitted, names, years, labels, moderators, pooling, control)
    detail.update(sensitivity)
    for group_column, group, summary in group_rows:
        rows.append(_pooled_row(endpoint, f"{group_column}={group}", model, summary, summary["k"], summary["n_total"]))
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
