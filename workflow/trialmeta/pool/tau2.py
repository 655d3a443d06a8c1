"""Between-study variance (tau2) estimators and the projection algebra they share.

metafor's ``rma(method=...)`` estimators for a general design matrix X (k x p): DL, HS, HE, SJ, PM,
ML, REML and EB, each truncated at zero as metafor does, and the Q-profile interval of tau2
(``confint()``). `trialmeta.pool.models` fits the location model on them and the meta-regression of
`trialmeta.pool.sensitivity` shares them. Every quantity comes from p x p matrices, never a k x k
one. Notation, as metafor's: W = diag(w), P = W - W X (X'WX)^-1 X'W, Q(tau2) = y'Py, w = 1/(v + tau2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from trialmeta.pool.control import FitControl

# metafor's `mad()`-based floor of the Paule-Mandel search bound uses R's
# normal-consistency constant, 1.4826, not scipy's exact 1/qnorm(3/4).
_R_MAD_CONSTANT = 1.4826


# --------------------------------------------------------------- algebra ---


class Projection:
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


def project(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float) -> Projection:
    return Projection(yi, X, 1 / (vi + tau2))


def _q_statistic(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Generalised Q(tau2) = sum w (y - X b)^2, w = 1/(v + tau2): `project(...).rss` without the traces.

    The root searches (Paule-Mandel, Q-profile limits) evaluate only this, tens
    of times per fit and per leave-one-out or cumulative refit; with one
    coefficient it is a weighted mean and a sum, about ten times cheaper.
    """
    if X.shape[1] != 1:
        return project(yi, vi, X, tau2).rss
    w = 1 / (vi + tau2)
    x = X[:, 0]
    beta = np.sum(w * x * yi) / np.sum(w * x * x)
    residual = yi - x * beta
    return float(np.sum(w * residual * residual))


# ---------------------------------------------------------- tau2 estimators ---


@dataclass(frozen=True)
class Tau2:
    value: float
    se: float
    converged: bool = True
    notes: tuple[str, ...] = ()


def _truncated(method: str, raw: float, se_at: Callable[[float], float]) -> Tau2:
    """A closed-form estimate truncated at 0 as metafor does, with its SE at the truncated value."""
    value = max(0.0, raw)
    notes = (f"{method} tau2 estimate {raw:.6g} truncated at 0",) if raw < 0 else ()
    return Tau2(value, se_at(value), notes=notes)


def _tau2_dl(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> Tau2:
    """DerSimonian-Laird method-of-moments estimator (metafor ``method="DL"``).

    tau2 = max(0, (Q - (k - p)) / tr(P)) with the common-effect weights w = 1/v;
    for p = 1, tr(P) = sum w - sum w^2 / sum w.
    SE: sqrt((2(k - p) + 4 tau2 tr(P) + 2 tau2^2 tr(PP)) / tr(P)^2).
    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials.
    Controlled Clinical Trials 7:177-188. doi:10.1016/0197-2456(86)90046-2
    """
    k, p = X.shape
    fe = project(yi, vi, X, 0.0)
    tr_p, tr_pp = fe.trace_p(), fe.sum_p_squared()
    return _truncated(
        "DL",
        (fe.rss - (k - p)) / tr_p,
        lambda t: np.sqrt((2 * (k - p) + 4 * t * tr_p + 2 * t**2 * tr_pp) / tr_p**2),
    )


def _tau2_hs(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> Tau2:
    """Hunter-Schmidt estimator (metafor ``method="HS"``).

    tau2 = max(0, (Q - k) / sum w) with w = 1/v (k, not k - p, as in metafor).
    SE: sqrt((2(k - p) + 4 tau2 tr(P) + 2 tau2^2 tr(PP)) / (sum w)^2).
    Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis: Correcting Error
    and Bias in Research Findings, 2nd ed. Sage. doi:10.4135/9781412985031
    """
    k, p = X.shape
    fe = project(yi, vi, X, 0.0)
    sum_w, tr_p, tr_pp = float(np.sum(fe.w)), fe.trace_p(), fe.sum_p_squared()
    return _truncated(
        "HS",
        (fe.rss - k) / sum_w,
        lambda t: np.sqrt((2 * (k - p) + 4 * t * tr_p + 2 * t**2 * tr_pp) / sum_w**2),
    )


def _he_raw(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> tuple[float, Projection]:
    k, p = X.shape
    ols = Projection(yi, X, np.ones_like(vi))
    return (ols.rss - ols.trace_p(vi)) / (k - p), ols


def _tau2_he(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> Tau2:
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


def _tau2_sj(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> Tau2:
    """Sidik-Jonkman estimator (metafor ``method="SJ"``).

    With the starting value tau2_0 = sum (y - mean y)^2 / k and w = 1/(v + tau2_0),
    tau2 = tau2_0 Q(tau2_0) / (k - p): one step from tau2_0, closed form, never
    negative. SE: tau2_0 / (k - p) sqrt(2 tr(PVPV) + 4 tau2 sum(PV*P) + 2 tau2^2 tr(PP)).
    Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for
    meta-analysis. JRSS C 54:367-384. doi:10.1111/j.1467-9876.2005.00489.x
    """
    k, p = X.shape
    tau2_0 = float(np.mean((yi - yi.mean()) ** 2))
    start = project(yi, vi, X, tau2_0)
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
    return Tau2(tau2, float(se))


def _pm_search_max(yi: np.ndarray, control: FitControl) -> float:
    mad = _R_MAD_CONSTANT * np.median(np.abs(yi - np.median(yi)))
    return max(control.tau2_search_max, 10 * mad**2)


def _tau2_pm(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> Tau2:
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
    return Tau2(tau2, _se_pm_eb(vi, tau2, k, p), converged, notes)


def _se_pm_eb(vi: np.ndarray, tau2: float, k: int, p: int) -> float:
    return float(np.sqrt(2 * k**2 / (k - p) / np.sum(1 / (vi + tau2)) ** 2))


def _fisher_scoring(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    control: FitControl,
    name: str,
    step: Callable[[Projection], float],
) -> tuple[float, bool, tuple[str, ...]]:
    """metafor's scoring iteration for ML, REML and EB.

    Start at the HE estimate truncated at 0; tau2 += step, halving a step that
    would cross 0; stop when tau2 changes by less than `control.tau2_tol`.
    """
    tau2 = max(0.0, _he_raw(yi, vi, X)[0])
    for _ in range(control.max_iter):
        adjustment = step(project(yi, vi, X, tau2))
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
    fit = project(yi, vi, X, tau2)
    ll = -0.5 * np.sum(np.log(vi + tau2)) - 0.5 * fit.rss
    if reml:
        return ll - 0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(fit.A)[1]
    return ll - 0.5 * k * np.log(2 * np.pi)


def _likelihood_tau2(
    yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl, reml: bool
) -> tuple[float, bool, tuple[str, ...]]:
    """Scoring for ML/REML, then metafor's check that tau2 = 0 is not a better maximum."""
    if reml:

        def step(fit: Projection) -> float:
            return (float(fit.p_y @ fit.p_y) - fit.trace_p()) / fit.sum_p_squared()

    else:

        def step(fit: Projection) -> float:
            return (float(fit.p_y @ fit.p_y) - np.sum(fit.w)) / np.sum(fit.w**2)

    name = "REML" if reml else "ML"
    tau2, converged, notes = _fisher_scoring(yi, vi, X, control, name, step)
    if converged and tau2 > control.tau2_tol:
        gain_at_zero = _log_likelihood(yi, vi, X, 0.0, reml) - _log_likelihood(yi, vi, X, tau2, reml)
        if gain_at_zero > control.loglik_tol:
            notes += (f"{name}: scoring stopped at a local maximum; tau2 = 0 has a higher likelihood",)
            tau2 = 0.0
    return tau2, converged, notes


def _tau2_ml(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> Tau2:
    """Maximum-likelihood estimator (metafor ``method="ML"``).

    tau2 maximises the marginal normal likelihood; Fisher scoring with
    step (y'PPy - sum w) / sum w^2 from the HE estimate, truncated at 0.
    SE: sqrt(2 / sum w^2).
    Viechtbauer W (2005). Bias and efficiency of meta-analytic variance
    estimators in the random-effects model. J Educ Behav Stat 30:261-293.
    doi:10.3102/10769986030003261
    """
    tau2, converged, notes = _likelihood_tau2(yi, vi, X, control, reml=False)
    return Tau2(tau2, float(np.sqrt(2 / np.sum((1 / (vi + tau2)) ** 2))), converged, notes)


def _tau2_reml(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> Tau2:
    """Restricted maximum-likelihood estimator (metafor ``method="REML"``).

    tau2 maximises the restricted likelihood; Fisher scoring with
    step (y'PPy - tr P) / tr(PP) from the HE estimate, truncated at 0.
    SE: sqrt(2 / tr(PP)).
    Viechtbauer W (2005). Bias and efficiency of meta-analytic variance
    estimators in the random-effects model. J Educ Behav Stat 30:261-293.
    doi:10.3102/10769986030003261
    """
    tau2, converged, notes = _likelihood_tau2(yi, vi, X, control, reml=True)
    return Tau2(tau2, float(np.sqrt(2 / project(yi, vi, X, tau2).sum_p_squared())), converged, notes)


def _tau2_eb(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, control: FitControl) -> Tau2:
    """Empirical Bayes (Morris) estimator (metafor ``method="EB"``).

    tau2 solves Q(tau2) k / (k - p) = k, i.e. the Paule-Mandel equation, by
    metafor's scoring with step (Q k/(k - p) - k) / sum w from the HE
    estimate, truncated at 0. SE: sqrt(2 k^2 / (k - p) / (sum w)^2).
    Morris CN (1983). Parametric empirical Bayes inference: theory and
    applications. JASA 78:47-55. doi:10.1080/01621459.1983.10477920
    """
    k, p = X.shape

    def step(fit: Projection) -> float:
        return (fit.rss * k / (k - p) - k) / np.sum(fit.w)

    tau2, converged, notes = _fisher_scoring(yi, vi, X, control, "EB", step)
    return Tau2(tau2, _se_pm_eb(vi, tau2, k, p), converged, notes)


TAU2_ESTIMATORS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray, FitControl], Tau2]] = {
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
