"""The binomial-normal random-effects model of proportions: metafor's ``rma.glmm(measure="PLO")``.

x_i ~ Bin(n_i, expit(mu + u_i)), u_i ~ N(0, tau2), fitted by maximum likelihood with adaptive
Gauss-Hermite quadrature (as lme4's glmer, which metafor calls), z- or t-based intervals.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats
from scipy.special import expit, gammaln, log_expit

from trialmeta.pool.control import FitControl
from trialmeta.pool.effects import proportion_effects, validate_counts
from trialmeta.pool.models import MetaResult, prediction_interval
from trialmeta.pool.tau2 import project


class GLMMFitError(RuntimeError):
    """The binomial-normal model has no (finite, interior) maximum likelihood fit."""



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
    typical_vi = (k - 1) / project(effects.yi, effects.vi, np.ones((k, 1)), 0.0).trace_p()
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
