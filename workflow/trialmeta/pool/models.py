"""Common- and random-effects pooling of proportions, validated against metafor.

`fit_meta` is metafor's ``rma(yi, vi, method=..., test=...)`` for an
intercept-only model, with ``predict()`` (prediction interval),
``confint()`` (Q-profile CI of tau2) and ``weights()``; `fit_location` is the
same for a general design matrix X, which the meta-regression of
`trialmeta.pool.sensitivity` uses. The tau2 estimators and their algebra are in
`trialmeta.pool.tau2`; the binomial-normal model (``rma.glmm``) in
`trialmeta.pool.glmm`.

The estimators are written in this package rather than taken from statsmodels:
statsmodels' ``combine_effects`` does not truncate the DerSimonian-Laird tau2
at zero, and it has no REML, ML, HS, SJ, EB or HE estimator, no Q-profile
interval and no binomial-normal model. scipy supplies the distributions, the
root finder (brentq) and the optimiser (Nelder-Mead).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
from scipy import stats

from trialmeta.pool.control import FitControl
from trialmeta.pool.effects import EffectSizes, back_transform
from trialmeta.pool.tau2 import TAU2_ESTIMATORS, Tau2, project, q_profile_ci

METHODS = ("FE", "DL", "REML", "ML", "PM", "HS", "SJ", "EB", "HE")
CI_METHODS = ("z", "hk", "hk_adhoc")



# how a pooled row names its model (the `model` field of pooled.csv and results.json)
MEASURE_NAMES = {"PLO": "logit", "PFT": "Freeman-Tukey", "PAS": "arcsine", "PR": "untransformed",
                 "cloglog": "complementary log-log"}
TEST_NAMES = {"z": "z-based CI", "t": "t-based CI", "hk": "Knapp-Hartung", "hk_adhoc": "ad hoc Knapp-Hartung"}


def model_name(method: str, measure: str, ci_method: str) -> str:
    """The model behind a number, in words: "GLMM (logit, t-based CI)", "REML logit, ad hoc Knapp-Hartung".

    `ci_method` is the test actually used (`ModelFit.ci_method`), not the one configured.
    """
    scale, test = MEASURE_NAMES.get(measure, measure), TEST_NAMES.get(ci_method, ci_method)
    if method == "GLMM":
        return f"GLMM ({scale}, {test})"
    if method == "FE":
        return f"common effect {scale}, {test}"
    return f"{method} {scale}, {test}"


@dataclass(frozen=True)
class PooledProportion:
    """A pooled estimate with its confidence and prediction intervals, as proportions."""

    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float


@dataclass(frozen=True)
class ModelFit:
    """What every fitted model reports besides its coefficients.

    `method` is the tau2 estimator (or "GLMM"), `ci_method` the test actually
    used ("z", "hk", "hk_adhoc", or "t" for the GLMM; k = 1 falls back to "z" as
    metafor does, and "hk" with s2 = 0 to "hk_adhoc"), and
    `df` the t degrees of freedom of the Knapp-Hartung test, k - p (nan for z).
    `i2` and `h2` are tau2-based, as metafor's: I2 = 100 tau2 / (tau2 + s2),
    H2 = (tau2 + s2) / s2 with the "typical" sampling variance
    s2 = (k - p) / tr(P) of Higgins & Thompson (2002, doi:10.1002/sim.1186);
    for the common-effect model they are the Q-based I2 = max(0, (Q - df)/Q)
    and H2 = Q/df. `q`, `q_df`, `q_p` are Cochran's heterogeneity test with the
    common-effect weights 1/vi (for the GLMM the likelihood-ratio test of the
    saturated against the common-effect logistic model, metafor's QE.LRT).
    `weights` are percent, as metafor's weights() (empty for the GLMM, which
    has none). `tau2_se` and the tau2 CI are nan where metafor gives none.
    """

    method: str
    ci_method: str
    level: float
    k: int
    df: float
    tau2: float
    tau2_se: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    weights: tuple[float, ...]
    converged: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class MetaResult(ModelFit):
    """A pooled analysis on the model (transformed) scale of `measure`.

    Adds to `ModelFit` the pooled `estimate` with its `se`, CI and
    prediction interval, and its test: `stat` is z, or t on `df` = k - 1.
    """

    measure: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    stat: float
    pval: float

    def back_transformed(self, effects: EffectSizes | None = None) -> PooledProportion:
        """Estimate, CI and PI back on the proportion scale (`trialmeta.pool.effects.back_transform`).

        The PFT back-transformation needs the study sizes: pass the
        `EffectSizes` the result was fitted from (their measure must match).
        """
        if effects is not None and effects.measure != self.measure:
            raise ValueError(f"effects are {effects.measure}, the result is {self.measure}")
        if self.measure == "PFT" and effects is None:
            raise ValueError("the PFT back-transformation needs the EffectSizes (their totals)")
        total = None if effects is None else effects.total
        values = back_transform(
            [self.estimate, self.ci_low, self.ci_high, self.pi_low, self.pi_high], self.measure, total
        )
        return PooledProportion(*(float(v) for v in values))


# ---------------------------------------------------------- location model ---


@dataclass(frozen=True, eq=False)
class LocationFit(ModelFit):
    """A fitted (meta-regression) model: `ModelFit` and its coefficients.

    `beta` and `vb` are the coefficients and their covariance (Knapp-Hartung
    scaled where asked); `crit` the two-sided critical value of their CIs and
    of the prediction interval.
    """

    beta: np.ndarray
    vb: np.ndarray
    crit: float

    def p_value(self, statistic: np.ndarray | float) -> np.ndarray | float:
        """Two-sided p of a z or t(df) statistic."""
        if np.isnan(self.df):
            return 2 * stats.norm.sf(np.abs(statistic))
        return 2 * stats.t.sf(np.abs(statistic), self.df)


def _check_inputs(yi: np.ndarray, vi: np.ndarray, method: str, ci_method: str, level: float) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    if ci_method not in CI_METHODS:
        raise ValueError(f"unknown ci_method {ci_method!r}; expected one of {CI_METHODS}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    # metafor drops such studies with a warning; a pipeline must not lose a
    # study silently, so they are refused here.
    bad = np.flatnonzero(~np.isfinite(yi) | ~np.isfinite(vi) | (vi <= 0))
    if bad.size:
        raise ValueError(
            f"studies {bad.tolist()} have no finite effect size or a sampling variance <= 0; "
            "use a continuity correction (proportion_effects to='only0')"
        )


def fit_location(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    X: npt.ArrayLike,
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
    tau2_ci: bool = True,
) -> LocationFit:
    """Fit metafor's ``rma(yi, vi, mods=X, method, test)`` (X includes the intercept column).

    The engine behind `fit_meta` (X = a column of ones) and the
    meta-regression of `trialmeta.pool.sensitivity`. With ``tau2_ci=False`` the
    Q-profile CI of tau2 is left out (nan), as metafor's leave1out and cumul
    report none; it is most of the cost of a refit.

    Given tau2, w = 1/(v + tau2), beta = (X'WX)^-1 X'Wy, Var(beta) = (X'WX)^-1.
    Knapp-Hartung ("hk", metafor test="knha") multiplies Var(beta) by
    s2 = sum w (y - X beta)^2 / (k - p) and uses t(k - p) quantiles
    (Hartung J, Knapp G (2001), Stat Med 20:1771-1782, doi:10.1002/sim.791;
    Knapp G, Hartung J (2003), Stat Med 22:2693-2710, doi:10.1002/sim.1482);
    "hk_adhoc" (metafor test="adhoc") uses max(1, s2), so the KH interval is
    never narrower than the standard one (Roever C, Knapp G, Friede T (2015),
    BMC Med Res Methodol 15:99, doi:10.1186/s12874-015-0091-1).
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    X = np.asarray(X, dtype=float)
    _check_inputs(yi, vi, method, ci_method, level)
    k, p = X.shape
    notes: list[str] = []

    if k == 1:
        # metafor: no heterogeneity can be estimated from one study; tau2 = 0,
        # Q = 0 (p = 1), I2 = 0, H2 = 1, and the test falls back to z.
        tau2_fit = Tau2(0.0, np.nan)
        notes.append("k = 1: heterogeneity not estimable (tau2 = 0, Q = 0, I2 = 0, H2 = 1)")
        if ci_method != "z":
            notes.append(f"k = 1: {ci_method} needs k >= 2, z used")
            ci_method = "z"
    elif method == "FE":
        tau2_fit = Tau2(0.0, np.nan)
    else:
        if k - p < 1:
            raise ValueError(f"{method} needs more studies ({k}) than coefficients ({p})")
        tau2_fit = TAU2_ESTIMATORS[method](yi, vi, X, control)
    tau2 = tau2_fit.value
    notes.extend(tau2_fit.notes)
    if 0 < tau2 < control.tau2_boundary:
        notes.append(f"tau2 {tau2:.3g} on the boundary: set to 0")
        tau2 = 0.0

    fit = project(yi, vi, X, tau2)
    vb = fit.A
    df = np.nan
    crit = stats.norm.isf((1 - level) / 2)
    if ci_method != "z":
        if method == "FE":
            notes.append("Knapp-Hartung is not meant for a common-effect model (as metafor warns)")
        scale = fit.rss / (k - p) if fit.rss > np.finfo(float).eps else 0.0
        if scale == 0 and ci_method == "hk":
            # metafor's knha gives a CI of zero width here; no such interval is reported
            notes.append("Knapp-Hartung: all yi fit exactly (s2 = 0): ad hoc correction max(1, s2) used instead "
                         "of a zero-width interval")
            ci_method = "hk_adhoc"
        if ci_method == "hk_adhoc":
            scale = max(scale, 1.0)
        vb = scale * vb
        df = float(k - p)
        crit = stats.t.isf((1 - level) / 2, df)

    fe = project(yi, vi, X, 0.0)
    if k > p:
        q = np.float64(max(0.0, fe.rss))
        q_p = float(stats.chi2.sf(q, k - p))
        typical_vi = (k - p) / fe.trace_p()
        with np.errstate(divide="ignore", invalid="ignore"):
            if method == "FE":
                i2 = max(0.0, 100 * (q - (k - p)) / q)
                h2 = q / (k - p)
            else:
                i2 = 100 * tau2 / (typical_vi + tau2)
                h2 = tau2 / typical_vi + 1
    else:
        q, q_p, i2, h2 = 0.0, 1.0, 0.0, 1.0

    tau2_ci_low = tau2_ci_high = np.nan
    if tau2_ci and method != "FE" and k > 1:
        tau2_ci_low, tau2_ci_high, ci_notes = q_profile_ci(yi, vi, X, tau2, level, control)
        notes.extend(ci_notes)

    return LocationFit(
        method=method,
        ci_method=ci_method,
        level=level,
        k=k,
        beta=fit.beta,
        vb=vb,
        crit=float(crit),
        df=df,
        tau2=tau2,
        tau2_se=float(tau2_fit.se),
        tau2_ci_low=float(tau2_ci_low),
        tau2_ci_high=float(tau2_ci_high),
        i2=float(i2),
        h2=float(h2),
        q=float(q),
        q_df=k - p,
        q_p=q_p,
        weights=tuple(float(w) for w in 100 * fit.w / np.sum(fit.w)),
        converged=tau2_fit.converged,
        notes=tuple(notes),
    )


def _data_notes(effects: EffectSizes) -> list[str]:
    notes = []
    if np.all(effects.events == effects.total):
        notes.append("all studies at 100%")
    elif np.all(effects.events == 0):
        notes.append("all studies at 0%")
    if effects.corrected.any():
        notes.append(
            f"continuity correction {effects.add:g} added to {int(effects.corrected.sum())} "
            f"of {effects.k} studies"
        )
    return notes


def fit_meta(
    effects: EffectSizes,
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
    tau2_ci: bool = True,
) -> MetaResult:
    """Pool effect sizes with a common-effect (FE) or random-effects model.

    metafor: ``rma(yi, vi, method=method, test={"z","knha","adhoc"})`` with
    ``predict()``, ``confint()`` and ``weights()``; FE is metafor's "FE"/"EE"
    inverse-variance common-effect model. The random-effects tau2 estimators
    (DL, REML, ML, PM, HS, SJ, EB, HE) are documented on their private
    functions in this module; tau2 is truncated at 0 as metafor does.

    The prediction interval is `prediction_interval`: t on k - 1 df for
    every test, only for k >= 3; a common-effect model has none.
    """
    return pool(
        effects.yi, effects.vi, effects.measure, method, ci_method, level, control, tuple(_data_notes(effects)), tau2_ci
    )


def pool(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    measure: str,
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
    notes: tuple[str, ...] = (),
    tau2_ci: bool = True,
) -> MetaResult:
    """`fit_meta` for effect sizes given as yi and vi on the scale of `measure`.

    For analyses whose studies have no counts, such as the filled studies of
    trim-and-fill; `notes` are put before the model's own.
    """
    yi = np.asarray(yi, dtype=float)
    result = fit_location(yi, vi, np.ones((yi.size, 1)), method, ci_method, level, control, tau2_ci)
    estimate = float(result.beta[0])
    se = float(np.sqrt(result.vb[0, 0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        # se = 0 when Knapp-Hartung meets identical yi: z = +-inf, as in metafor
        stat = np.divide(estimate, se)
    pi_low, pi_high = prediction_interval(estimate, se, result.tau2, result.k, level, method)
    shared = {field.name: getattr(result, field.name) for field in fields(ModelFit)}
    shared["notes"] = notes + result.notes
    return MetaResult(
        **shared,
        measure=measure,
        estimate=estimate,
        se=se,
        ci_low=estimate - result.crit * se,
        ci_high=estimate + result.crit * se,
        pi_low=float(pi_low),
        pi_high=float(pi_high),
        stat=float(stat),
        pval=float(result.p_value(stat)),
    )


def prediction_interval(estimate: float, se: float, tau2: float, k: int, level: float, method: str) -> tuple[float, float]:
    """Prediction interval for the effect in a new study: estimate +- t_{k-1} sqrt(se^2 + tau2).

    Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of
    random-effects meta-analysis. JRSS A 172:137-159,
    doi:10.1111/j.1467-985X.2008.00552.x, proposed t on k - 2 df; this uses
    k - 1 df, the default of the R package meta (version 8, method.predict =
    "V") and what metafor's predict() gives under test = "t"/"knha"/"adhoc"
    (se is then the Knapp-Hartung-scaled one; with z, the model's own se).
    Only for k >= 3: with two studies tau2 rests on one degree of freedom and
    the interval says nothing (nan, nan), as meta shows none. A common-effect
    model (FE) has none either.
    """
    if method == "FE" or k < 3:
        return np.nan, np.nan
    half = stats.t.isf((1 - level) / 2, k - 1) * np.sqrt(se**2 + tau2)
    return float(estimate - half), float(estimate + half)
