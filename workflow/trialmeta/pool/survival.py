"""Landmark survival (RFS, LFS, EFS, OS, cumulative incidence of relapse) pooled on the cloglog scale.

A Kaplan-Meier estimate S at a landmark (e.g. 12 months) is pooled on the
complementary log-log scale

    y = log(-log S),        S = exp(-exp(y)),

on which its sampling distribution is closer to normal than on the plain
scale and whose back-transformation stays inside (0, 1) (Kalbfleisch JD,
Prentice RL (2002), The Statistical Analysis of Failure Time Data, 2nd ed.,
Wiley, doi:10.1002/9781118032985, sec. 1.3; the "log-log" interval of R's
``survfit(conf.type = "log-log")``). The map is decreasing: the upper limit on
the y scale is the lower limit of S. A cumulative incidence F (endpoint
``relapse_cuminc``) is handled as 1 - F, so y = log(-log(1 - F)) = cloglog(F)
and F = 1 - exp(-exp(y)), increasing.

The standard error of y comes, in this order, from

1. the reported confidence interval (assumed 95%): whether it is symmetric on
   the plain scale (S +- z se(S), SPSS and R ``conf.type = "plain"``), the log
   scale (R's default ``"log"``) or the log-log scale is detected from the
   printed numbers and recorded (`se_source`);
2. a reported "S +- SE" (plain-scale standard error, as SPSS prints it);
3. the number of patients still at risk at the landmark, n_risk (a column
   ``n_at_risk`` of the table, when the paper prints it under its curve):
   Peto's SE(S) = S sqrt((1 - S) / n_risk) (Peto R, Pike MC, Armitage P, et al.
   (1977), Br J Cancer 35:1-39, doi:10.1038/bjc.1977.1), which widens as
   patients are censored;
4. only with ``survival.without_precision: binomial``: the number of patients n
   (events/total or the treated cohort), Greenwood's variance with no
   censoring before the landmark, Var(log S) = (1 - S)/(n S), i.e. the
   binomial Var(S) = S(1 - S)/n. It ignores censoring, so it is a lower bound
   (flagged), and every pool that uses it is repeated without those studies.

Delta method: Var(y) = Var(S) / (S log S)^2 = Var(log S) / (log S)^2.
An estimate without any of these (by default: a bare percentage) is excluded
with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats

from trialmeta.pool.control import FitControl
from trialmeta.harmonise.table import BLOCKING_FLAGS, UNVERIFIED_FLAG, UNVERIFIED_REASON, rounding_tolerance
from trialmeta.pool.models import MetaResult, model_name, pool

MEASURE = "cloglog"
SURVIVAL_ENDPOINTS = ("rfs", "lfs", "efs", "os")
INCIDENCE_ENDPOINTS = ("relapse_cuminc",)
LANDMARK_LABELS = {
    "rfs": "Relapse-free survival",
    "lfs": "Leukaemia-free survival",
    "efs": "Event-free survival",
    "os": "Overall survival",
    "relapse_cuminc": "Cumulative incidence of relapse",
}
RELAPSE_LABELS = {
    "relapse_responders": "Relapse among responders (CR/CRi)",
    "relapse_treated": "Relapse among treated patients",
}
CI_SCALES = ("plain", "log-log", "log")
# What to do with a landmark estimate printed without CI, SE or number at risk
# (config survival.without_precision): "exclude" lists it as excluded with the
# reason; "binomial" imputes the binomial SE from the number of patients.
WITHOUT_PRECISION = ("exclude", "binomial")
# se_source of an SE that was imputed, not derived from what the paper printed.
IMPUTED_SE_SOURCES = ("greenwood_no_censoring",)

# A printed percentage such as 77 stands for 76.5-77.5; values that come with
# more digits (R output through a CSV written with 10 significant digits) still
# need a floor, or rounding in the tenth digit would break every symmetry.
_MIN_ROUNDING = 5e-9


class NoPrecision(ValueError):
    """A landmark estimate that cannot be given a standard error; the message is the reason."""


@dataclass(frozen=True)
class LandmarkEffect:
    """One study's landmark estimate on the cloglog scale.

    `survival` is the S the effect size was computed from (1 - F for a
    cumulative incidence; truncated if the paper printed 0 or 1); `yi` =
    log(-log survival) and `vi` its sampling variance. `se_source` says where
    the SE came from: "ci_plain", "ci_log", "ci_log-log", "ci_plain_one_sided"
    (a CI cut at 0 or 1), "reported_se" or "greenwood_no_censoring". `flags`
    name every assumption.
    """

    survival: float
    yi: float
    vi: float
    se_source: str
    flags: tuple[str, ...] = field(default=())


def cloglog(survival: float | np.ndarray) -> float | np.ndarray:
    """y = log(-log S)."""
    return np.log(-np.log(survival))


def inverse_cloglog(y: float | np.ndarray) -> float | np.ndarray:
    """S = exp(-exp(y)), decreasing in y."""
    return np.exp(-np.exp(y))


def _rounding(value: float) -> float:
    return max(rounding_tolerance(100 * value) / 100, _MIN_ROUNDING)


def _asymmetry(transform, derivative, s: float, low: float, high: float) -> float:
    """|(t(S) - t(lo)) - (t(hi) - t(S))| over what rounding of the three printed numbers allows."""
    gap = abs(2 * transform(s) - transform(low) - transform(high))
    allowed = 2 * abs(derivative(s)) * _rounding(s) + abs(derivative(low)) * _rounding(low) + abs(
        derivative(high)
    ) * _rounding(high)
    return gap / allowed


_SCALES = {
    "plain": (lambda s: s, lambda s: 1.0),
    "log-log": (cloglog, lambda s: 1 / (s * np.log(s))),
    "log": (np.log, lambda s: 1 / s),
}


def ci_scale(survival: float, ci_low: float, ci_high: float) -> tuple[str, tuple[str, ...]]:
    """The scale on which a CI of S is symmetric, and the flags of that decision.

    Each scale's asymmetry |2 t(S) - t(lo) - t(hi)| is divided by what the
    rounding of the printed numbers allows (half a unit of the last printed
    digit of each, propagated through t); the scale with the smallest ratio
    wins, ties in the order plain, log-log, log. A ratio above 1 on every scale
    is flagged ``ci_scale_uncertain``; several scales within rounding (narrow
    CIs near S = 1/2) are flagged ``ci_scale_ambiguous``. The log and log-log
    scales need both limits inside (0, 1).
    """
    inside = 0 < ci_low and ci_high < 1
    ratios = {
        name: _asymmetry(t, dt, survival, ci_low, ci_high)
        for name, (t, dt) in _SCALES.items()
        if name == "plain" or inside
    }
    best = min(ratios, key=lambda name: (ratios[name], CI_SCALES.index(name)))
    flags = []
    consistent = [name for name, ratio in ratios.items() if ratio <= 1]
    if not consistent:
        flags.append("ci_scale_uncertain")
    elif len(consistent) > 1:
        flags.append("ci_scale_ambiguous")
    return best, tuple(flags)


def _bounded(survival: float, n: float | None) -> tuple[float, tuple[str, ...]]:
    if 0 < survival < 1:
        return survival, ()
    if not n or n <= 0:
        raise NoPrecision(f"estimate {survival:g} is at the bound and no number of patients bounds it")
    # Half a patient, as the 1/2 continuity correction of escalc for proportions.
    bounded = 1 - 0.5 / n if survival >= 1 else 0.5 / n
    return bounded, ("estimate_truncated",)


def landmark_effect(
    survival: float,
    ci_low: float | None = None,
    ci_high: float | None = None,
    se: float | None = None,
    n: float | None = None,
    ci_level: float = 0.95,
    n_at_risk: float | None = None,
    without_precision: str = "exclude",
) -> LandmarkEffect:
    """yi = log(-log S) and its variance from a landmark survival S and what the paper gives.

    Order of the sources (the first usable one wins):

    - CI (lo, hi) of level `ci_level`, z = qnorm((1 + level)/2), on the scale
      found by `ci_scale`:
      plain: Var(y) = ((hi - lo) / 2z)^2 / (S log S)^2;
      log: Var(y) = ((log hi - log lo) / 2z)^2 / (log S)^2;
      log-log: Var(y) = ((log(-log lo) - log(-log hi)) / 2z)^2.
      These invert R's ``survfit(conf.type = "plain" | "log" | "log-log")``
      limits, whose SEs are Greenwood's (Greenwood M (1926), Reports on Public
      Health and Medical Subjects 33, HMSO). A CI reaching beyond (0, 1) (as
      "86% (68-104)") is a plain one and its full width is used. A CI with
      one limit at exactly 0 or 1 was cut there (R clips its plain and log
      limits): the SE is the plain half-width of the other side, (S - lo)/z or
      (hi - S)/z (``ci_plain_one_sided``, flag ``ci_cut_at_bound``; exact for
      a clipped plain CI, an approximation for a clipped log one).
    - `se`: Var(y) = se^2 / (S log S)^2 (``reported_se``).
    - `n_at_risk` patients at risk at the landmark: Peto's
      SE(S) = S sqrt((1 - S) / n_risk), so Var(y) = (1 - S) / (n_risk (log S)^2)
      (``peto_at_risk``; Peto et al. 1977, doi:10.1038/bjc.1977.1). Without
      censoring n_risk = n S and it equals the binomial variance below.
      No metafor equivalent (metafor takes yi/vi as given).
    - `n` patients, only with `without_precision` "binomial":
      Var(y) = (1 - S) / (n S (log S)^2), Greenwood's variance when nobody is
      censored before the landmark, i.e. the binomial Var(S) = S(1 - S)/n
      (``greenwood_no_censoring``; smaller than the true one if patients were).
      With "exclude" (the default) such an estimate raises NoPrecision.

    S = 0 or 1 has no finite y: it is moved half a patient inside,
    S = 1 - 1/(2n) or 1/(2n) (``estimate_truncated``; n the patients, else
    those at risk), and without n the estimate is refused. Raises NoPrecision
    (the reason) when nothing gives an SE, S is outside [0, 1], or the CI does
    not contain S.
    """
    if without_precision not in WITHOUT_PRECISION:
        raise ValueError(f"without_precision must be one of {WITHOUT_PRECISION}, got {without_precision!r}")
    if survival is None or not np.isfinite(survival) or not 0 <= survival <= 1:
        raise NoPrecision(f"estimate {survival} is not a proportion in [0, 1]")
    z = stats.norm.isf((1 - ci_level) / 2)
    has_ci = ci_low is not None and ci_high is not None and np.isfinite(ci_low) and np.isfinite(ci_high)
    has_se = se is not None and np.isfinite(se) and se > 0
    has_n = n is not None and np.isfinite(n) and n > 0
    has_risk = n_at_risk is not None and np.isfinite(n_at_risk) and n_at_risk > 0
    if not (has_ci or has_se or has_risk):
        if not has_n:
            raise NoPrecision("no CI, no standard error and no number of patients: no usable precision")
        if without_precision == "exclude":
            raise NoPrecision("a percentage without CI, standard error or number at risk: no usable precision "
                              "(survival.without_precision: exclude; the binomial SE would ignore censoring)")
    s, flags = _bounded(survival, n if has_n else n_at_risk if has_risk else None)
    log_s = np.log(s)

    if has_ci:
        if not ci_low <= survival <= ci_high or ci_low == ci_high:
            raise NoPrecision(f"CI {ci_low:g}-{ci_high:g} does not contain the estimate {survival:g}")
        if flags:
            # The CI of a printed 0% or 100% is about the untruncated S; the
            # truncated S only keeps y finite.
            flags += ("ci_of_bound_estimate",)
        if (ci_low == 0) != (ci_high == 1):
            # Cut at the bound (R clips plain and log limits there): only the
            # other side is the interval's own, and one side cannot show its scale.
            se_s = (s - ci_low) / z if ci_high == 1 else (ci_high - s) / z
            return LandmarkEffect(s, float(cloglog(s)), float((se_s / (s * log_s)) ** 2), "ci_plain_one_sided",
                                  flags + ("ci_cut_at_bound",))
        scale, scale_flags = ci_scale(s, ci_low, ci_high)
        flags += scale_flags
        if scale == "plain":
            se_s = (ci_high - ci_low) / (2 * z)
            vi = (se_s / (s * log_s)) ** 2
            if ci_low < 0 or ci_high > 1:
                flags += ("ci_beyond_0_1_width_used",)
        elif scale == "log":
            vi = ((np.log(ci_high) - np.log(ci_low)) / (2 * z) / log_s) ** 2
        else:
            vi = ((cloglog(ci_low) - cloglog(ci_high)) / (2 * z)) ** 2
        return LandmarkEffect(s, float(cloglog(s)), float(vi), f"ci_{scale}", flags)
    if has_se:
        return LandmarkEffect(s, float(cloglog(s)), float((se / (s * log_s)) ** 2), "reported_se", flags)
    if has_risk:
        vi = (1 - s) / (n_at_risk * log_s**2)
        return LandmarkEffect(s, float(cloglog(s)), float(vi), "peto_at_risk", flags)
    vi = (1 - s) / (n * s * log_s**2)
    return LandmarkEffect(s, float(cloglog(s)), float(vi), "greenwood_no_censoring",
                          flags + ("greenwood_assumes_no_censoring",))


# ------------------------------------------------------------------ pooling ---


def _components(name: str) -> tuple[str, ...]:
    parts = tuple(name.split("+"))
    for part in parts:
        if part not in SURVIVAL_ENDPOINTS + INCIDENCE_ENDPOINTS:
            raise ValueError(
                f"unknown landmark endpoint {part!r} in {name!r}; expected {SURVIVAL_ENDPOINTS + INCIDENCE_ENDPOINTS}"
            )
    if len({p in INCIDENCE_ENDPOINTS for p in parts}) > 1:
        raise ValueError(f"{name!r} mixes a survival and a cumulative incidence")
    return parts


def landmark_label(name: str) -> str:
    return " / ".join(LANDMARK_LABELS[p] for p in _components(name))


def _analyses(pooling: dict) -> tuple[list[dict], list[str]]:
    """The analyses that can run on yi/vi, primary first, one per (method, ci_method)."""
    specs = [dict(spec) for spec in pooling["analyses"]]
    notes = []
    if specs[0]["method"] == "GLMM":
        fallback = pooling.get("glmm_fallback")
        if fallback:
            specs.insert(0, dict(fallback))
            notes.append(
                f"primary analysis GLMM needs counts; glmm_fallback {fallback['method']} "
                f"({fallback.get('ci_method', 'z')}) is primary"
            )
    chosen, seen = [], set()
    for spec in specs:
        key = (spec["method"], spec.get("ci_method", "z"))
        if spec["method"] == "GLMM":
            notes.append("GLMM skipped: the binomial-normal model needs events/total, landmarks have yi/vi")
        elif key not in seen:
            seen.add(key)
            chosen.append({"measure": MEASURE, "method": key[0], "ci_method": key[1]})
    if not chosen:
        notes.append("no analysis other than GLMM configured: landmarks not pooled")
    return chosen, notes


def _flags(row: pd.Series) -> list[str]:
    return [f for f in str(row["flags"] if isinstance(row["flags"], str) else "").split(";") if f]


def _value(row: pd.Series, name: str) -> float | None:
    value = row[name]
    return None if pd.isna(value) else float(value)


def _back(fit: MetaResult, incidence: bool) -> dict:
    values = {name: getattr(fit, name) for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}
    survival = {name: float(inverse_cloglog(v)) for name, v in values.items()}
    if incidence:
        return {name: 1 - s for name, s in survival.items()}
    # decreasing: the upper limit of y is the lower limit of S
    return {
        "estimate": survival["estimate"],
        "ci_low": survival["ci_high"], "ci_high": survival["ci_low"],
        "pi_low": survival["pi_high"], "pi_high": survival["pi_low"],
    }


# the model of a landmark "pool" of one study: the study itself, on the log(-log S) scale it was read on
SINGLE_STUDY_LANDMARK = "single study, not pooled (its own interval)"


def _fits(usable: list, analyses: list[dict], level: float, incidence: bool, what: dict, n_total_of) -> tuple[list, list, list]:
    """pooled.csv rows, results.json analyses and the primary weights of `analyses` over `usable`."""
    yi = np.array([e.yi for _, e in usable])
    vi = np.array([e.vi for _, e in usable])
    totals = [n_total_of(r) for r, _ in usable]
    known = [int(t) for t in totals if t is not None]
    n_total = sum(known) if known else None
    rows, entries, weights = [], [], None
    for index, spec in enumerate(analyses):
        fit = pool(yi, vi, MEASURE, spec["method"], spec["ci_method"], level, FitControl())
        back = _back(fit, incidence)
        if fit.k == 1:
            # the study's own Wald interval on the log(-log S) scale, whatever the analysis: with one
            # study a t- or Knapp-Hartung interval has no degrees of freedom
            half = stats.norm.isf((1 - level) / 2) * float(np.sqrt(vi[0]))
            own = SimpleNamespace(estimate=yi[0], ci_low=yi[0] - half, ci_high=yi[0] + half, pi_low=np.nan, pi_high=np.nan)
            back = {**_back(own, incidence), "pi_low": None, "pi_high": None}
        row = {
            **what, "measure": MEASURE, "method": spec["method"], "ci_method": spec["ci_method"],
            "k": fit.k, "n_total": n_total, **back,
            "tau2": fit.tau2, "tau2_ci_low": fit.tau2_ci_low, "tau2_ci_high": fit.tau2_ci_high,
            "i2": fit.i2, "h2": fit.h2, "q": fit.q, "q_p": fit.q_p,
            # the model in words and its flags, as every pooled row (trialmeta.pool.pooling)
            "model": model_name(spec["method"], MEASURE, fit.ci_method), "flags": "",
        }
        if fit.k == 1:
            # one study is shown, not pooled (as meta does): its own estimate and interval, no
            # heterogeneity or prediction interval, and a model name that says so
            row.update({key: None for key in ("pi_low", "pi_high", "tau2", "tau2_ci_low", "tau2_ci_high",
                                              "i2", "h2", "q", "q_p")},
                       model=SINGLE_STUDY_LANDMARK, flags=SINGLE_STUDY_LANDMARK)
        rows.append(row)
        analysis_notes = list(fit.notes)
        if len(known) < len(totals):
            analysis_notes.append(f"n_total counts {len(known)} of {len(totals)} studies (the others give no n)")
        entries.append({
            **{k: v for k, v in row.items() if k not in back},
            **{f"{k}_prop": v for k, v in back.items()},
            "estimate_yi": fit.estimate, "se_yi": fit.se,
            "primary": index == 0, "notes": analysis_notes, "flags": [row["flags"]] if row["flags"] else [],
        })
        if index == 0:
            weights = fit.weights
    return rows, entries, weights


# pooled.csv `subgroup` of the repeat of a landmark pool without the studies whose SE was imputed
WITHOUT_IMPUTED = "sensitivity:without_imputed_se"


def pool_landmark(
    endpoints: pd.DataFrame, studies: pd.DataFrame, pooling: dict, endpoint: str, months: int,
    without_precision: str = "exclude",
) -> tuple[list[dict], dict]:
    """pooled.csv rows and the ENTRY (results contract, kind "landmark") of one endpoint at one landmark.

    `endpoint` is an endpoints.csv time-to-event endpoint or several joined by
    "+" (e.g. "rfs+lfs+efs": one estimate per study, the first listed that the
    study reports). Only rows at exactly `months` enter; a study that reports
    the endpoint at other landmarks only is listed in "excluded" with them.
    Each analysis of ``pooling["analyses"]`` (GLMM excepted) is `trialmeta.pool.models.pool`
    on yi/vi, i.e. metafor ``rma(yi, vi, method, test)``; estimates are
    back-transformed to S = exp(-exp(y)) (1 - S for a cumulative incidence).

    `without_precision` (config ``survival.without_precision``): "exclude" lists
    a bare percentage (no CI, SE or ``n_at_risk``) as excluded; "binomial"
    imputes its SE (`landmark_effect`) and then repeats every analysis without
    the imputed-SE studies: pooled.csv rows with subgroup
    "sensitivity:without_imputed_se" and the entry's "without_imputed_se".
    A study whose S was moved off 0 or 1 is named in the entry's notes.
    """
    components = _components(endpoint)
    incidence = components[0] in INCIDENCE_ENDPOINTS
    level = pooling["level"]
    z = stats.norm.isf((1 - level) / 2)
    years = dict(zip(studies["study"], studies["year"]))
    treated = dict(zip(studies["study"], studies["n_treated"]))
    analyses, notes = _analyses(pooling)
    entry = {
        "endpoint": endpoint, "label": landmark_label(endpoint), "kind": "landmark",
        "landmark_months": int(months), "measure": MEASURE,
        "quantity": "cumulative incidence" if incidence else "survival",
        "studies": [], "excluded": [], "analyses": [], "notes": notes,
    }
    rows = endpoints[endpoints["endpoint"].isin(components)]
    at_landmark = rows[np.isclose(rows["landmark_months"].astype(float), months)]
    usable: list[tuple[pd.Series, LandmarkEffect]] = []
    for study in sorted(set(rows["study"])):
        candidates = at_landmark[at_landmark["study"] == study]
        if candidates.empty:
            other = rows[rows["study"] == study]
            reported = sorted({f"{e} at {m:g} months" for e, m in zip(other["endpoint"], other["landmark_months"]) if pd.notna(m)})
            entry["excluded"].append({
                "study": study, "paper": other["paper"].iloc[0],
                "reason": f"no {months}-month value (reports {', '.join(reported) or 'no landmark'}); "
                          f"not pooled at {months} months",
            })
            continue
        order = candidates["endpoint"].map(components.index)
        candidates = candidates.assign(_order=order).sort_values("_order", kind="mergesort")
        row = candidates.iloc[0]
        flags = _flags(row)
        if len(candidates) > 1:
            others = ", ".join(candidates["endpoint"].iloc[1:])
            flags.append(f"also_reported:{others}")
        blocking = sorted(set(flags).intersection(BLOCKING_FLAGS))
        if blocking:
            entry["excluded"].append({"study": study, "paper": row["paper"], "reason": "impossible value: " + ", ".join(blocking)})
            continue
        if UNVERIFIED_FLAG in flags:
            entry["excluded"].append({"study": study, "paper": row["paper"], "reason": UNVERIFIED_REASON})
            continue
        estimate, low, high = _value(row, "estimate"), _value(row, "ci_low"), _value(row, "ci_high")
        se = _value(row, "se")
        n = _value(row, "total")
        n_from_treated = n is None and pd.notna(treated.get(study))
        if n_from_treated:
            n = float(treated[study])
        if incidence and estimate is not None:
            estimate = 1 - estimate
            low, high = (None, None) if low is None or high is None else (1 - high, 1 - low)
        at_risk = _value(row, "n_at_risk") if "n_at_risk" in row.index else None
        try:
            effect = landmark_effect(estimate, low, high, se, n, n_at_risk=at_risk, without_precision=without_precision)
        except NoPrecision as err:
            entry["excluded"].append({"study": study, "paper": row["paper"], "reason": f"{row['endpoint']}: {err}"})
            continue
        if n_from_treated and (effect.se_source == "greenwood_no_censoring" or "estimate_truncated" in effect.flags):
            flags.append("n_from_treated")
        usable.append((row, LandmarkEffect(effect.survival, effect.yi, effect.vi, effect.se_source,
                                           tuple(flags) + effect.flags)))
    if not usable:
        return [], entry

    def n_total_of(row: pd.Series) -> float | None:
        value = row["total"] if pd.notna(row["total"]) else treated.get(row["study"])
        return None if value is None or pd.isna(value) else float(value)

    what = {"endpoint": endpoint, "landmark_months": int(months), "subgroup": "all"}
    out_rows, entry["analyses"], weights = _fits(usable, analyses, level, incidence, what, n_total_of)
    imputed = [r["study"] for r, e in usable if e.se_source in IMPUTED_SE_SOURCES]
    if imputed:
        kept = [(r, e) for r, e in usable if e.se_source not in IMPUTED_SE_SOURCES]
        sensitivity = {"subgroup": WITHOUT_IMPUTED, "omitted": imputed, "studies": [r["study"] for r, _ in kept], "analyses": []}
        if kept:
            rows, sensitivity["analyses"], _ = _fits(kept, analyses, level, incidence,
                                                     {**what, "subgroup": WITHOUT_IMPUTED}, n_total_of)
            out_rows.extend(rows)
        else:
            sensitivity["note"] = "every study's SE was imputed: nothing left to pool"
        entry["without_imputed_se"] = sensitivity
    for row, effect in usable:
        if "estimate_truncated" in effect.flags:
            printed = 100 * _value(row, "estimate")
            entry["notes"].append(
                f"{row['study']}: the printed {printed:g}% has no finite log(-log S); pooled as "
                f"{100 * (1 - effect.survival if incidence else effect.survival):.3g}% (half a patient inside the "
                "bound, flag estimate_truncated); the forest shows the printed value")
    for (row, effect), weight in zip(usable, weights or [None] * len(usable)):
        reported = _value(row, "estimate")
        low, high = _value(row, "ci_low"), _value(row, "ci_high")
        ci_source = "reported"
        if low is None or high is None:
            # the study's interval on the pooling scale, for the forest plot
            half = z * np.sqrt(effect.vi)
            s_low, s_high = float(inverse_cloglog(effect.yi + half)), float(inverse_cloglog(effect.yi - half))
            low, high = (1 - s_high, 1 - s_low) if incidence else (s_low, s_high)
            ci_source = f"derived from {effect.se_source} on the log-log scale"
            if reported is not None and not low <= reported <= high:
                # a printed 0% or 100% was pooled half a patient inside: its interval reaches the printed value
                low, high = min(low, reported), max(high, reported)
                ci_source += ", extended to the printed estimate at the bound"
        year = years.get(row["study"])
        entry["studies"].append({
            "study": row["study"], "paper": row["paper"], "year": None if pd.isna(year) else int(year),
            "endpoint": row["endpoint"],
            "events": None if pd.isna(row["events"]) else int(row["events"]),
            # patients of the study: the row's own total, else the treated cohort
            "total": None if n_total_of(row) is None else int(n_total_of(row)),
            "estimate": reported, "ci_low": low, "ci_high": high, "ci_source": ci_source,
            "yi": effect.yi, "vi": effect.vi, "se_source": effect.se_source,
            "weight": weight, "flags": ";".join(effect.flags),
        })
    return out_rows, entry


def pool_landmarks(
    endpoints: pd.DataFrame,
    studies: pd.DataFrame,
    pooling: dict,
    landmark_endpoints: list[str],
    landmark_months: list[int],
    without_precision: str = "exclude",
) -> tuple[list[dict], dict]:
    """pooled.csv rows and results.json "landmarks" entries keyed "<endpoint>_<months>m".

    Every endpoint x landmark gets an entry, also when no study reports it
    (then "studies" and "analyses" are empty and "excluded" says why).
    """
    rows, entries = [], {}
    for endpoint in landmark_endpoints:
        for months in landmark_months:
            endpoint_rows, entry = pool_landmark(endpoints, studies, pooling, endpoint, months, without_precision)
            rows.extend(endpoint_rows)
            entries[f"{endpoint}_{int(months)}m"] = entry
    return rows, entries


# ------------------------------------------------------------------ relapse ---


def relapse_proportions(endpoints: pd.DataFrame, denominator: str) -> tuple[pd.DataFrame, list[dict]]:
    """Relapses as a proportion with an explicit denominator, as endpoints.csv rows.

    `denominator` "responders": relapse events / CR-CRi events (relapse
    among patients who could relapse); "treated": relapse events / patients
    treated (the n_treated row). The rows get endpoint "relapse_responders" or
    "relapse_treated" and the flag "denominator_responders" /
    "denominator_treated", keep the relapse row's provenance, and pool with
    `trialmeta.pool.pooling.pool_endpoint(frame, studies, "relapse_<denominator>", pooling)`.
    Studies without relapse events or denominator, or with more relapses than
    the denominator, are returned in the excluded list with the reason.
    """
    if denominator not in ("responders", "treated"):
        raise ValueError(f"denominator must be 'responders' or 'treated', got {denominator!r}")
    name = f"relapse_{denominator}"
    out, excluded = [], []
    for study in sorted(set(endpoints["study"])):
        rows = endpoints[endpoints["study"] == study]
        relapse = rows[rows["endpoint"] == "relapse"]
        paper = rows["paper"].iloc[0]
        if relapse.empty or pd.isna(relapse["events"].iloc[0]):
            if not relapse.empty:
                excluded.append({"study": study, "paper": paper, "reason": "relapse reported without a count of patients"})
            continue
        relapse = relapse.iloc[0]
        if denominator == "responders":
            source = rows[rows["endpoint"] == "cr_cri"]
            total = None if source.empty else source["events"].iloc[0]
            what = "CR/CRi responders"
        else:
            source = rows[rows["endpoint"] == "n_treated"]
            total = None if source.empty else source["total"].iloc[0]
            what = "treated patients"
        if total is None or pd.isna(total) or total == 0:
            excluded.append({"study": study, "paper": paper, "reason": f"no number of {what}"})
            continue
        events = int(relapse["events"])
        if events > int(total):
            excluded.append({"study": study, "paper": paper, "reason": f"{events} relapses > {int(total)} {what}"})
            continue
        # the old denominator's flags no longer apply: the count is re-checked above
        flags = [f for f in _flags(relapse) if f not in ("assumed_denominator", "events_exceed_total")]
        flags.append(f"denominator_{denominator}")
        out.append({
            **relapse.to_dict(), "endpoint": name, "events": events, "total": int(total),
            "estimate": events / int(total), "ci_low": None, "ci_high": None, "se": None,
            "flags": ";".join(flags),
        })
    frame = pd.DataFrame(out, columns=endpoints.columns)
    for column in ("events", "total"):
        frame[column] = frame[column].astype("Int64")
    return frame, excluded
