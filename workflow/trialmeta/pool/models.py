"""Common- and random-effects pooling of proportions, validated against metafor.

`fit_meta` is metafor's ``rma(yi, vi, method=..., test=...)`` for an
intercept-only model, with ``predict()`` (prediction interval),
``confint()`` (Q-profile CI of tau2) and ``weights()``; `fit_glmm` is
``rma.glmm(measure="PLO")``, the binomial-normal model fitted by lme4.

The estimators are written here rather than taken from statsmodels:
statsmodels' ``combine_effects`` does not truncate the DerSimonian-Laird tau2
at zero, and it has no REML, ML, HS, SJ, EB or HE estimator, no Q-profile
interval and no binomial-normal model. scipy supplies the distributions, the
root finder (brentq) and the optimiser (Nelder-Mead).

The estimators are written for a general design matrix X (k x p) so that the
meta-regression in `trialmeta.pool.sensitivity` shares them; every quantity is
computed from p x p matrices, never a k x k one, so k = 10,000 costs
milliseconds. Notation, as metafor's: W = diag(w), P = W - W X (X'WX)^-1 X'W,
Q(tau2) = y'Py with w = 1/(v + tau2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats
from scipy.special import expit, gammaln, log_expit

from trialmeta.pool.control import FitControl
from trialmeta.pool.effects import EffectSizes, back_transform, proportion_effects, validate_counts

METHODS = ("FE", "DL", "REML", "ML", "PM", "HS", "SJ", "EB", "HE")
CI_METHODS = ("z", "hk", "hk_adhoc")

# metafor's `mad()`-based floor of the Paule-Mandel search bound uses R's
# normal-consistency constant, 1.4826, not scipy's exact 1/qnorm(3/4).
_R_MAD_CONSTANT = 1.4826


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


class GLMMFitError(RuntimeError):
    """The binomial-normal model has no (finite, interior) maximum likelihood fit."""


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


# --------------------------------------------------------------- algebra ---


class _Projection:
    """Weighted least squares of yi on X with weights w, and the pieces of P.

    P = W - W X A X'W with A = (X'WX)^-1 equals W^1/2 (I - H) W^1/2 with the
    hat matrix H = G A G', G = W^1/2 X, so P_ij = sqrt(w_i w_j) (d_ij - H_ij)
    and every trace the estimators need reduces to p x p products.
    """

    def __init__(self, yi: np.ndarray, X: np.ndarray, w: np.ndarray) -> None:
        self.w = w
        self._G = X * np.sqrt(w)[:, None]
        self.A = np.linalg.inv(self._G.T @ self._G)
        self.beta = self.A @ (X.T @ (w * yi))
        residual = yi - X @ self.beta
        self.p_y = w * residual  # P y
        self.rss = float(residual @ self.p_y)  # y'Py: Q(tau2)
        self._hat = np.einsum("ij,jk,ik->i", self._G, self.A, self._G)

    def trace_p(self, d: np.ndarray | float = 1.0) -> float:
        """tr(P D) for D = diag(d): sum_i d_i P_ii."""
        return float(np.sum(d * self.w * (1 - self._hat)))

    def sum_p_squared(self, a: np.ndarray | float = 1.0, b: np.ndarray | float = 1.0) -> float:
        """sum_ij a_i b_j P_ij^2.

        With a = b = 1 it is tr(PP) (metafor's sum(P*P)); with a = b = v it is
        tr(PVPV) (sum(PV*t(PV))); with a = 1, b = v it is sum(PV*P).
        """
        a_w = a * self.w * np.ones_like(self.w)
        b_w = b * self.w * np.ones_like(self.w)
        c_a = self._G.T @ (self._G * a_w[:, None])
        c_b = self._G.T @ (self._G * b_w[:, None])
        return float(np.sum(a_w * b_w * (1 - 2 * self._hat)) + np.trace(self.A @ c_a @ self.A @ c_b))


def _project(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float) -> _Projection:
    return _Projection(yi, X, 1 / (vi + tau2))


def _q_statistic(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Generalised Q(tau2) = sum w (y - X b)^2, w = 1/(v + tau2): `_project(...).rss` without the traces.

    The root searches (Paule-Mandel, Q-profile limits) evaluate only this, tens
    of times per fit and per leave-one-out or cumulative refit; with one
    coefficient it is a weighted mean and a sum, about ten times cheaper.
    """
    if X.shape[1] != 1:
        return _project(yi, vi, X, tau2).rss
    w = 1 / (vi + tau2)
    x = X[:, 0]
    beta = np.sum(w * x * yi) / np.sum(w * x * x)
    residual = yi - x * beta
    return float(np.sum(w * residual * residual))


# ---------------------------------------------------------- tau2 estimators ---


@dataclass(frozen=True)
class _Tau2:
    value: float
    se: float
    converged: bool = True
    notes: tuple[str, ...] = ()


def _truncated(method: str, raw: float, se_at: Callable[[float], float]) -> _Tau2:
    """A closed-form estimate truncated at 0 as metafor does, with its SE at the truncated value."""
    value = max(0.0, raw)
    notes = (f"{method} tau2 estimate {raw:.6g} truncated at 0",) if raw < 0 else ()
    return _Tau2(value, se_at(value), notes=notes)


def _tau2_dl(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> _Tau2:
    """DerSimonian-Laird method-of-moments estimator (metafor ``method="DL"``).

    tau2 = max(0, (Q - (k - p)) / tr(P)) with the common-effect weights w = 1/v;
    for p = 1, tr(P) = sum w - sum w^2 / sum w.
    SE: sqrt((2(k - p) + 4 tau2 tr(P) + 2 tau2^2 tr(PP)) / tr(P)^2).
    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials.
    Controlled Clinical Trials 7:177-188. doi:10.1016/0197-2456(86)90046-2
    """
    k, p = X.shape
    fe = _project(yi, vi, X, 0.0)
    tr_p, tr_pp = fe.trace_p(), fe.sum_p_squared()
    return _truncated(
        "DL",
        (fe.rss - (k - p)) / tr_p,
        lambda t: np.sqrt((2 * (k - p) + 4 * t * tr_p + 2 * t**2 * tr_pp) / tr_p**2),
    )


def _tau2_hs(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> _Tau2:
    """Hunter-Schmidt estimator (metafor ``method="HS"``).

    tau2 = max(0, (Q - k) / sum w) with w = 1/v (k, not k - p, as in metafor).
    SE: sqrt((2(k - p) + 4 tau2 tr(P) + 2 tau2^2 tr(PP)) / (sum w)^2).
    Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis: Correcting Error
    and Bias in Research Findings, 2nd ed. Sage. doi:10.4135/9781412985031
    """
    k, p = X.shape
    fe = _project(yi, vi, X, 0.0)
    sum_w, tr_p, tr_pp = float(np.sum(fe.w)), fe.trace_p(), fe.sum_p_squared()
    return _truncated(
        "HS",
        (fe.rss - k) / sum_w,
        lambda t: np.sqrt((2 * (k - p) + 4 * t * tr_p + 2 * t**2 * tr_pp) / sum_w**2),
    )


def _he_raw(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> tuple[float, _Projection]:
    k, p = X.shape
    ols = _Projection(yi, X, np.ones_like(vi))
    return (ols.rss - ols.trace_p(vi)) / (k - p), ols


def _tau2_he(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> _Tau2:
    """Hedges' unweighted method-of-moments estimator (metafor ``method="HE"``).

    tau2 = max(0, (RSS - tr(PV)) / (k - p)) with the unweighted P = I - X(X'X)^-1 X'
    and RSS = y'Py; for p = 1, tau2 = var(y) - mean(v) (var with divisor k - 1).
    SE: sqrt((2 tr(PVPV) + 4 tau2 tr(PV) + 2 tau2^2 (k - p)) / (k - p)^2).
    Hedges LV (1983). A random effects model for effect sizes. Psychological
    Bulletin 93:388-395. doi:10.1037/0033-2909.93.2.388; Hedges LV, Olkin I
    (1985). Statistical Methods for Meta-Analysis. Academic Press.
    doi:10.1016/C2009-0-03396-0
    """
    k, p = X.shape
    raw, ols = _he_raw(yi, vi, X)
    tr_pv, tr_pvpv = ols.trace_p(vi), ols.sum_p_squared(vi, vi)
    return _truncated(
        "HE", raw, lambda t: np.sqrt((2 * tr_pvpv + 4 * t * tr_pv + 2 * t**2 * (k - p)) / (k - p) ** 2)
    )


def _tau2_sj(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> _Tau2:
    """Sidik-Jonkman estimator (metafor ``method="SJ"``).

    With the starting value tau2_0 = sum (y - mean y)^2 / k and w = 1/(v + tau2_0),
    tau2 = tau2_0 Q(tau2_0) / (k - p): one step from tau2_0, closed form, never
    negative. SE: tau2_0 / (k - p) sqrt(2 tr(PVPV) + 4 tau2 sum(PV*P) + 2 tau2^2 tr(PP)).
    Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for
    meta-analysis. JRSS C 54:367-384. doi:10.1111/j.1467-9876.2005.00489.x
    """
    k, p = X.shape
    tau2_0 = float(np.mean((yi - yi.mean()) ** 2))
    start = _project(yi, vi, X, tau2_0)
    tau2 = tau2_0 * start.rss / (k - p)
    se = (
        tau2_0
        / (k - p)
        * np.sqrt(
            2 * start.sum_p_squared(vi, vi)
            + 4 * tau2 * start.sum_p_squared(1.0, vi)
            + 2 * tau2**2 * start.sum_p_squared()
        )
    )
    return _Tau2(tau2, float(se))


def _pm_search_max(yi: np.ndarray, control: FitControl) -> float:
    mad = _R_MAD_CONSTANT * np.median(np.abs(yi - np.median(yi)))
    return max(control.tau2_search_max, 10 * mad**2)


def _tau2_pm(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> _Tau2:
    """Paule-Mandel estimator (metafor ``method="PM"``).

    tau2 solves the generalised Q equation Q(tau2) = sum w (y - Xb)^2 = k - p with
    w = 1/(v + tau2); tau2 = 0 if Q(0) < k - p. Found by Brent's method on
    [0, max(100, 10 mad(y)^2)] to `control.root_tol`, as metafor's uniroot.
    SE (metafor's, for PM and EB): sqrt(2 k^2 / (k - p) / (sum w)^2).
    Paule RC, Mandel J (1982). Consensus values and weighting factors.
    J Res Natl Bur Stand 87:377-385. doi:10.6028/jres.087.022
    """
    k, p = X.shape
    target = k - p

    def excess_q(tau2: float) -> float:
        return _q_statistic(yi, vi, X, tau2) - target

    notes: tuple[str, ...] = ()
    converged = True
    if excess_q(0.0) < 0:
        tau2 = 0.0
        notes = ("PM: Q(0) < k - p, tau2 = 0",)
    else:
        upper = _pm_search_max(yi, control)
        if excess_q(upper) > 0:
            tau2, converged = upper, False
            notes = (f"PM: Q(tau2) > k - p up to the search bound tau2 = {upper:g}",)
        else:
            tau2 = optimize.brentq(excess_q, 0.0, upper, xtol=control.root_tol, maxiter=control.root_max_iter)
    return _Tau2(tau2, _se_pm_eb(vi, tau2, k, p), converged, notes)


def _se_pm_eb(vi: np.ndarray, tau2: float, k: int, p: int) -> float:
    return float(np.sqrt(2 * k**2 / (k - p) / np.sum(1 / (vi + tau2)) ** 2))


def _fisher_scoring(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    control: FitControl,
    name: str,
    step: Callable[[_Projection], float],
) -> tuple[float, bool, tuple[str, ...]]:
    """metafor's scoring iteration for ML, REML and EB.

    Start at the HE estimate truncated at 0; tau2 += step, halving a step that
    would cross 0; stop when tau2 changes by less than `control.tau2_tol`.
    """
    tau2 = max(0.0, _he_raw(yi, vi, X)[0])
    for _ in range(control.max_iter):
        adjustment = step(_project(yi, vi, X, tau2))
        if np.isnan(adjustment):
            adjustment = 0.0
        while tau2 + adjustment < 0:
            adjustment /= 2
        tau2, previous = tau2 + adjustment, tau2
        if abs(tau2 - previous) <= control.tau2_tol:
            return tau2, True, ()
    return tau2, False, (f"{name}: Fisher scoring did not converge in {control.max_iter} iterations",)


def _log_likelihood(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float, reml: bool) -> float:
    k, p = X.shape
    fit = _project(yi, vi, X, tau2)
    ll = -0.5 * np.sum(np.log(vi + tau2)) - 0.5 * fit.rss
    if reml:
        return ll - 0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(fit.A)[1]
    return ll - 0.5 * k * np.log(2 * np.pi)


def _likelihood_tau2(
    yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl, reml: bool
) -> tuple[float, bool, tuple[str, ...]]:
    """Scoring for ML/REML, then metafor's check that tau2 = 0 is not a better maximum."""
    if reml:

        def step(fit: _Projection) -> float:
            return (float(fit.p_y @ fit.p_y) - fit.trace_p()) / fit.sum_p_squared()

    else:

        def step(fit: _Projection) -> float:
            return (float(fit.p_y @ fit.p_y) - np.sum(fit.w)) / np.sum(fit.w**2)

    name = "REML" if reml else "ML"
    tau2, converged, notes = _fisher_scoring(yi, vi, X, control, name, step)
    if converged and tau2 > control.tau2_tol:
        gain_at_zero = _log_likelihood(yi, vi, X, 0.0, reml) - _log_likelihood(yi, vi, X, tau2, reml)
        if gain_at_zero > control.loglik_tol:
            notes += (f"{name}: scoring stopped at a local maximum; tau2 = 0 has a higher likelihood",)
            tau2 = 0.0
    return tau2, converged, notes


def _tau2_ml(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> _Tau2:
    """Maximum-likelihood estimator (metafor ``method="ML"``).

    tau2 maximises the marginal normal likelihood; Fisher scoring with
    step (y'PPy - sum w) / sum w^2 from the HE estimate, truncated at 0.
    SE: sqrt(2 / sum w^2).
    Viechtbauer W (2005). Bias and efficiency of meta-analytic variance
    estimators in the random-effects model. J Educ Behav Stat 30:261-293.
    doi:10.3102/10769986030003261
    """
    tau2, converged, notes = _likelihood_tau2(yi, vi, X, control, reml=False)
    return _Tau2(tau2, float(np.sqrt(2 / np.sum((1 / (vi + tau2)) ** 2))), converged, notes)


def _tau2_reml(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> _Tau2:
    """Restricted maximum-likelihood estimator (metafor ``method="REML"``).

    tau2 maximises the restricted likelihood; Fisher scoring with
    step (y'PPy - tr P) / tr(PP) from the HE estimate, truncated at 0.
    SE: sqrt(2 / tr(PP)).
    Viechtbauer W (2005). Bias and efficiency of meta-analytic variance
    estimators in the random-effects model. J Educ Behav Stat 30:261-293.
    doi:10.3102/10769986030003261
    """
    tau2, converged, notes = _likelihood_tau2(yi, vi, X, control, reml=True)
    return _Tau2(tau2, float(np.sqrt(2 / _project(yi, vi, X, tau2).sum_p_squared())), converged, notes)


def _tau2_eb(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> _Tau2:
    """Empirical Bayes (Morris) estimator (metafor ``method="EB"``).

    tau2 solves Q(tau2) k / (k - p) = k, i.e. the Paule-Mandel equation, by
    metafor's scoring with step (Q k/(k - p) - k) / sum w from the HE
    estimate, truncated at 0. SE: sqrt(2 k^2 / (k - p) / (sum w)^2).
    Morris CN (1983). Parametric empirical Bayes inference: theory and
    applications. JASA 78:47-55. doi:10.1080/01621459.1983.10477920
    """
    k, p = X.shape

    def step(fit: _Projection) -> float:
        return (fit.rss * k / (k - p) - k) / np.sum(fit.w)

    tau2, converged, notes = _fisher_scoring(yi, vi, X, control, "EB", step)
    return _Tau2(tau2, _se_pm_eb(vi, tau2, k, p), converged, notes)


_ESTIMATORS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray, FitControl], _Tau2]] = {
    "DL": _tau2_dl,
    "REML": _tau2_reml,
    "ML": _tau2_ml,
    "PM": _tau2_pm,
    "HS": _tau2_hs,
    "SJ": _tau2_sj,
    "EB": _tau2_eb,
    "HE": _tau2_he,
}


def q_profile_ci(
    yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float, level: float, control: FitControl
) -> tuple[float, float, tuple[str, ...]]:
    """Q-profile confidence interval of tau2 (metafor ``confint(rma)``).

    The limits solve Q(tau2) = chi2_{k-p; 1-a/2} (lower) and chi2_{k-p; a/2}
    (upper); Q is decreasing in tau2. A limit is 0 where Q(0) is already below
    its quantile, and is the search bound max(100, 10 tau2) where Q stays above
    it there (said in the notes), as in metafor.
    Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity
    in meta-analysis. Stat Med 26:37-52. doi:10.1002/sim.2514
    """
    k, p = X.shape
    alpha = 1 - level
    quantile_low = stats.chi2.isf(alpha / 2, k - p)  # the lower tau2 limit solves Q = this
    quantile_high = stats.chi2.ppf(alpha / 2, k - p)  # the upper tau2 limit solves Q = this
    upper_bound = max(control.tau2_search_max, 10 * tau2)

    def q(tau2_value: float) -> float:
        return _q_statistic(yi, vi, X, tau2_value)

    def solve(target: float) -> float:
        return optimize.brentq(
            lambda t: q(t) - target, 0.0, upper_bound, xtol=control.root_tol, maxiter=control.root_max_iter
        )

    q_at_zero, q_at_bound = q(0.0), q(upper_bound)
    notes: tuple[str, ...] = ()
    if q_at_bound > quantile_low:
        notes = (f"tau2 CI: both limits beyond the search bound {upper_bound:g}",)
        return upper_bound, upper_bound, notes
    if q_at_zero < quantile_high:
        return 0.0, 0.0, ("tau2 CI: Q(0) below both quantiles, the CI is {0}",)
    if q_at_bound > quantile_high:
        high = upper_bound
        notes = (f"tau2 CI: upper limit at the search bound {upper_bound:g}",)
    else:
        high = solve(quantile_high)
    low = 0.0 if q_at_zero < quantile_low else solve(quantile_low)
    return low, high, notes


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
        tau2_fit = _Tau2(0.0, np.nan)
        notes.append("k = 1: heterogeneity not estimable (tau2 = 0, Q = 0, I2 = 0, H2 = 1)")
        if ci_method != "z":
            notes.append(f"k = 1: {ci_method} needs k >= 2, z used")
            ci_method = "z"
    elif method == "FE":
        tau2_fit = _Tau2(0.0, np.nan)
    else:
        if k - p < 1:
            raise ValueError(f"{method} needs more studies ({k}) than coefficients ({p})")
        tau2_fit = _ESTIMATORS[method](yi, vi, X, control)
    tau2 = tau2_fit.value
    notes.extend(tau2_fit.notes)
    if 0 < tau2 < control.tau2_boundary:
        notes.append(f"tau2 {tau2:.3g} on the boundary: set to 0")
        tau2 = 0.0

    fit = _project(yi, vi, X, tau2)
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

    fe = _project(yi, vi, X, 0.0)
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


# ---------------------------------------------------------------- GLMM ---


class _BinomialNormal:
    """Marginal likelihood of x_i ~ Bin(n_i, expit(mu + tau u_i)), u_i ~ N(0, 1).

    Each study's integral over u is approximated by adaptive Gauss-Hermite
    quadrature (Pinheiro JC, Bates DM (1995), J Comput Graph Stat 4:12-35,
    doi:10.1080/10618600.1995.10474663), as lme4's glmer with nAGQ > 1: with
    h(u) = x eta - n log(1 + e^eta) - u^2/2 (eta = mu + tau u), its mode u^ and
    s = (-h''(u^))^-1/2 = (tau^2 n p(1-p) + 1)^-1/2,
    L_i = C(n, x) s sum_j w_j exp(h(u^ + s z_j) + z_j^2/2) with the nodes z_j and
    weights w_j (sum 1) of the standard normal. One node is the Laplace
    approximation. The likelihood is even in tau, so tau may be optimised
    unconstrained and reported as |tau|.
    """

    def __init__(self, events: np.ndarray, total: np.ndarray, control: FitControl) -> None:
        self.events = events
        self.total = total
        self.control = control
        nodes, weights = np.polynomial.hermite_e.hermegauss(control.glmm_nagq)
        self._nodes = nodes
        self._log_weights = np.log(weights / np.sqrt(2 * np.pi)) + nodes**2 / 2
        self._log_binomial = gammaln(total + 1) - gammaln(events + 1) - gammaln(total - events + 1)

    def _h(self, u: np.ndarray, mu: float, tau: float) -> np.ndarray:
        """h at u of shape (k, nodes)."""
        eta = mu + tau * u
        events, total = self.events[:, None], self.total[:, None]
        return events * log_expit(eta) + (total - events) * log_expit(-eta) - u**2 / 2

    def _modes(self, mu: float, tau: float) -> np.ndarray:
        """Mode of each study's h by safeguarded Newton steps (h is strictly concave).

        h'(u) = tau (x - n expit(eta)) - u, so the mode lies in [tau (x - n), tau x].
        """
        low = np.minimum(tau * (self.events - self.total), tau * self.events)
        high = np.maximum(tau * (self.events - self.total), tau * self.events)
        u = np.zeros_like(self.events)
        for _ in range(self.control.root_max_iter):
            prob = expit(mu + tau * u)
            gradient = tau * (self.events - self.total * prob) - u
            curvature = tau**2 * self.total * prob * (1 - prob) + 1
            low = np.where(gradient > 0, u, low)
            high = np.where(gradient < 0, u, high)
            newton = u + gradient / curvature
            new = np.where((newton > low) & (newton < high), newton, (low + high) / 2)
            if np.max(np.abs(new - u)) <= self.control.glmm_mode_tol:
                return new
            u = new
        raise GLMMFitError("conditional modes of the random effects did not converge")

    def deviance(self, params: np.ndarray) -> float:
        """-2 log-likelihood at params = (tau, mu)."""
        tau, mu = float(params[0]), float(params[1])
        modes = self._modes(mu, tau)
        prob = expit(mu + tau * modes)
        scale = 1 / np.sqrt(tau**2 * self.total * prob * (1 - prob) + 1)
        at_nodes = self._h(modes[:, None] + scale[:, None] * self._nodes[None, :], mu, tau)
        log_lik = self._log_binomial + np.log(scale) + np.logaddexp.reduce(at_nodes + self._log_weights, axis=1)
        return float(-2 * np.sum(log_lik))


def _central_hessian(function: Callable[[np.ndarray], float], x: np.ndarray, step: float) -> np.ndarray:
    """Hessian by central differences, as lme4's deriv12 (same step, same stencil)."""
    n = x.size
    hessian = np.empty((n, n))
    f0 = function(x)
    unit = np.eye(n) * step
    for j in range(n):
        hessian[j, j] = (function(x + unit[j]) - 2 * f0 + function(x - unit[j])) / step**2
        for i in range(j):
            hessian[i, j] = hessian[j, i] = (
                function(x + unit[i] + unit[j])
                - function(x + unit[i] - unit[j])
                - function(x - unit[i] + unit[j])
                + function(x - unit[i] - unit[j])
            ) / (2 * step) ** 2
    return hessian


def _newton_polish(
    function: Callable[[np.ndarray], float], x: np.ndarray, hessian: np.ndarray, control: FitControl
) -> np.ndarray:
    """Newton steps on a central-difference gradient from a Nelder-Mead optimum.

    Nelder-Mead compares deviance values, which rounding makes flat within
    ~1e-14: that pins the optimum only to ~sqrt(1e-14 / curvature), ~1e-7 for
    a poorly identified tau. The gradient is not flat there, so a few Newton
    steps on it reach the optimum to ~1e-10.
    """
    step = control.glmm_gradient_step
    unit = np.eye(x.size) * step
    for _ in range(control.glmm_max_newton):
        gradient = np.array([(function(x + e) - function(x - e)) / (2 * step) for e in unit])
        change = np.linalg.solve(hessian, gradient)
        x = x - change
        if np.max(np.abs(change)) <= control.glmm_xtol:
            break
    return x


def _heterogeneity_lrt(events: np.ndarray, total: np.ndarray) -> float:
    """-2 (ll_common - ll_saturated) of the binomial logistic models (metafor QE.LRT)."""
    pooled = events.sum() / total.sum()
    observed = events / total
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(events > 0, events * np.log(observed / pooled), 0.0) + np.where(
            events < total, (total - events) * np.log((1 - observed) / (1 - pooled)), 0.0
        )
    return max(0.0, float(2 * np.sum(terms)))


def fit_glmm(
    events: npt.ArrayLike,
    total: npt.ArrayLike,
    level: float = 0.95,
    control: FitControl = FitControl(),
    ci_method: str = "z",
) -> MetaResult:
    """Binomial-normal random-intercept logistic model by maximum likelihood.

    logit(p_i) = mu + u_i, u_i ~ N(0, tau2), x_i ~ Bin(n_i, p_i): the exact
    within-study likelihood, no continuity correction (Stijnen T, Hamza TH,
    Ozdemir P (2010). Random effects meta-analysis of event outcome in the
    framework of the generalized linear mixed model with applications in
    sparse data. Stat Med 29:3046-3067. doi:10.1002/sim.4040).

    metafor: ``rma.glmm(measure="PLO", xi=events, ni=total)``, which fits
    lme4::glmer(cbind(x, n - x) ~ 1 + (1 | study), binomial, nAGQ = 7): adaptive
    Gauss-Hermite quadrature with `control.glmm_nagq` = 7 points here too (see
    `_BinomialNormal`), maximised over (tau, mu) by Nelder-Mead and polished
    by Newton steps (`_newton_polish`). The SE of mu
    is lme4's: from the inverse of the central-difference Hessian of the
    deviance in (tau, mu) (step `control.glmm_hessian_step`, lme4's 1e-4), so
    it accounts for the estimation of tau. The CI and the test of mu use z
    (`ci_method` "z", metafor test = "z") or t on k - 1 df ("t", metafor
    ``rma.glmm(test = "t")``), which with few studies allows for the
    uncertainty in tau2 that z ignores; the PI is `prediction_interval` (t,
    k - 1 df, k >= 3) either way. tau2 below `control.tau2_boundary` is 0.
    I2/H2 use the typical variance of the PLO effects (with metafor's default
    correction); q is the likelihood-ratio heterogeneity test (metafor QE.LRT).

    Raises GLMMFitError when the model cannot be fitted: k = 1, every study at
    0% or every study at 100% (the likelihood increases without bound as
    mu -> -inf or +inf; metafor's rma.glmm stops there too), a
    between-study SD running past `control.glmm_tau_max`, an optimiser that
    does not converge, or a Hessian that is not positive definite.
    """
    events, total = validate_counts(events, total)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if ci_method not in ("z", "t"):
        raise ValueError(f"the GLMM's ci_method is z or t, got {ci_method!r}")
    k = events.size
    if k == 1:
        raise GLMMFitError("k = 1: a random-effects model needs at least 2 studies (metafor refuses too)")
    if np.all(events == 0):
        raise GLMMFitError(
            "all studies have 0 events: the likelihood has no maximum (the pooled logit runs to -inf)"
        )
    if np.all(events == total):
        raise GLMMFitError(
            "all studies have 100% events: the likelihood has no maximum (the pooled logit runs to +inf)"
        )

    model = _BinomialNormal(events, total, control)
    effects = proportion_effects(events, total, "PLO")
    start = np.array([0.5, np.log(events.sum() / (total.sum() - events.sum()))])
    simplex = np.array([start, start + [0.25, 0.0], start + [0.0, 0.25]])
    optimum = optimize.minimize(
        model.deviance,
        start,
        method="Nelder-Mead",
        options={
            "initial_simplex": simplex,
            "xatol": control.glmm_xtol,
            "fatol": control.glmm_ftol,
            "maxfev": control.glmm_max_eval,
            "maxiter": control.glmm_max_eval,
        },
    )
    if not optimum.success:
        raise GLMMFitError(f"the optimiser did not converge: {optimum.message}")
    params = np.array([abs(optimum.x[0]), optimum.x[1]])
    if params[0] > control.glmm_tau_max:
        raise GLMMFitError(
            f"the between-study SD ran to {params[0]:.3g} (> {control.glmm_tau_max:g}): no interior maximum"
        )
    hessian = _central_hessian(model.deviance, params, control.glmm_hessian_step)
    if np.any(np.linalg.eigvalsh(hessian) <= 0):
        raise GLMMFitError("the Hessian of the deviance is not positive definite: no standard error")
    params = _newton_polish(model.deviance, params, hessian, control)
    hessian = _central_hessian(model.deviance, params, control.glmm_hessian_step)
    se = float(np.sqrt(2 * np.linalg.inv(hessian)[1, 1]))
    tau, mu = abs(float(params[0])), float(params[1])
    tau2 = tau**2
    notes = [f"binomial-normal GLMM, adaptive Gauss-Hermite quadrature with {control.glmm_nagq} points",
             "q is the likelihood-ratio test of heterogeneity (saturated vs common-effect logistic model)"]
    if 0 < tau2 < control.tau2_boundary:
        notes.append(f"tau2 {tau2:.3g} on the boundary: set to 0")
        tau2 = 0.0

    df = float(k - 1) if ci_method == "t" else np.nan
    crit = stats.t.isf((1 - level) / 2, df) if ci_method == "t" else stats.norm.isf((1 - level) / 2)
    stat = mu / se
    pi_low, pi_high = prediction_interval(mu, se, tau2, k, level, "GLMM")
    typical_vi = (k - 1) / _project(effects.yi, effects.vi, np.ones((k, 1)), 0.0).trace_p()
    q = _heterogeneity_lrt(events, total)
    return MetaResult(
        measure="PLO",
        method="GLMM",
        ci_method=ci_method,
        level=level,
        k=k,
        estimate=mu,
        se=se,
        ci_low=mu - crit * se,
        ci_high=mu + crit * se,
        pi_low=pi_low,
        pi_high=pi_high,
        tau2=tau2,
        tau2_se=np.nan,
        tau2_ci_low=np.nan,
        tau2_ci_high=np.nan,
        i2=100 * tau2 / (typical_vi + tau2),
        h2=tau2 / typical_vi + 1,
        q=q,
        q_df=k - 1,
        q_p=float(stats.chi2.sf(q, k - 1)),
        stat=stat,
        pval=float(2 * (stats.t.sf(abs(stat), df) if ci_method == "t" else stats.norm.sf(abs(stat)))),
        df=df,
        weights=(),
        converged=True,
        notes=tuple(notes),
    )
