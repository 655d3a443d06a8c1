"""Tolerances and iteration limits of the pooling estimators, in one place.

Every number that decides when an iterative estimator stops lives in
`FitControl`, so that a result can be reproduced exactly from its inputs and
the control it was fitted with, and so that the tests can state which
tolerance a comparison with metafor relies on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FitControl:
    """Tolerances and limits of `trialmeta.pool.models`.

    The defaults are tighter than metafor's own (threshold 1e-5, uniroot tol
    eps^0.25 ~ 1.2e-4, 100 iterations) because the fits here are cheap and
    the pipeline promises results that do not depend on where an iteration
    happened to stop.
    """

    # Fisher scoring (ML, REML, EB) stops when tau2 changes by less than this
    # between iterations, as metafor's `threshold`. Scoring converges
    # quadratically near the root, so 1e-12 costs one or two extra steps and
    # leaves tau2 exact to far below any reported digit.
    tau2_tol: float = 1e-12

    # Fisher scoring gives up after this many iterations (metafor: maxiter).
    # On the boundary the step-halving towards tau2 = 0 shrinks geometrically,
    # which needs ~40 iterations to reach tau2_tol; 10,000 is never hit by a
    # well-posed fit and only guards against a cycle.
    max_iter: int = 10_000

    # Iterations allowed to each root search (Paule-Mandel, Q-profile limits,
    # GLMM conditional modes), as confint's maxiter = 1000. Brent's method on a
    # monotone function needs ~50; the limit only turns a bug into an error.
    root_max_iter: int = 1000

    # Absolute tolerance on tau2 of the root searches: the Paule-Mandel
    # estimating equation and the Q-profile confidence limits (metafor: the
    # `tol` of uniroot). Brent's method reaches it in a few dozen evaluations.
    root_tol: float = 1e-12

    # Lower end of the upper search bound for tau2 in the Paule-Mandel and
    # Q-profile searches: metafor searches [0, max(100, 10 * mad(yi)^2)] for PM
    # and [0, max(100, 10 * tau2)] for the Q-profile CI. 100 on the logit
    # scale is a between-study SD of 10, far beyond any real heterogeneity.
    tau2_search_max: float = 100.0

    # ML/REML only: if the log-likelihood at tau2 = 0 beats the one at the
    # scoring root by more than this, the root was a local maximum and tau2 is
    # set to 0 (metafor's ll0check, which uses its `tol`).
    loglik_tol: float = 1e-12

    # Trim-and-fill re-estimates the number of missing studies until it stops
    # changing; metafor allows 100 rounds. It settles in a handful (k0 moves
    # by whole studies), so 100 only guards against a cycle.
    trimfill_max_iter: int = 100

    # GLMM: points of the adaptive Gauss-Hermite quadrature. 7 is the nAGQ
    # metafor's rma.glmm passes to lme4::glmer; with 1 it becomes Laplace.
    glmm_nagq: int = 7

    # GLMM: Newton iterations for each study's conditional mode stop when the
    # step is below this (lme4's PIRLS tolerance is tolPwrss = 1e-7; the
    # quadrature needs the mode far more precisely than the fit is reported).
    glmm_mode_tol: float = 1e-12

    # GLMM: the optimiser (Nelder-Mead on (tau, logit)) stops when both the
    # simplex size and the deviance spread fall below these. Deviance is
    # -2 log L, so 1e-13 is far below its rounding at the optimum.
    glmm_xtol: float = 1e-10
    glmm_ftol: float = 1e-13

    # GLMM: after Nelder-Mead, Newton steps on a central-difference gradient
    # of the deviance locate the optimum beyond the ~1e-7 that comparing
    # deviance values allows. The step balances truncation error (~step^2)
    # against rounding (~1e-14 / step): both ~1e-10 at 1e-5. Newton converges
    # in 2-3 steps from there; 20 only bounds a pathological case.
    glmm_gradient_step: float = 1e-5
    glmm_max_newton: int = 20

    # GLMM: optimiser evaluations allowed (a 2-parameter Nelder-Mead needs a
    # few hundred).
    glmm_max_eval: int = 20_000

    # GLMM: step of the central finite differences of the deviance whose
    # Hessian gives the standard error, as lme4's deriv12 (delta = 1e-4): the
    # same step keeps the same truncation error, so the SE matches lme4's.
    glmm_hessian_step: float = 1e-4

    # GLMM: a between-study SD on the logit scale beyond this means the
    # likelihood has no interior maximum (e.g. studies only at 0% and 100%).
    glmm_tau_max: float = 50.0

    # tau2 below this is on the boundary of its parameter space: it is stored
    # and printed as 0 (the GLMM's optimiser stops at tau ~1e-11, tau2 ~1e-21,
    # where metafor prints 0). 1e-10 is a between-study SD of 1e-5 on the
    # logit scale, invisible in any reported digit.
    tau2_boundary: float = 1e-10

    # A back-transformed proportion compared with the study proportions and
    # the crude pooled proportion (the Freeman-Tukey flags of
    # trialmeta.pool.pooling) counts as equal within this: the PFT
    # back-transformation of identical studies returns 0.2 + 2e-16 for 0.2.
    proportion_tol: float = 1e-9
