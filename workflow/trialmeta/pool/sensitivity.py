"""Sensitivity analyses of a pooled proportion, validated against metafor.

- `meta_regression`: metafor ``rma(yi, vi, mods=...)``, with the omnibus
  test QM of the moderators.
- `subgroup_analysis`: a separate fit per subgroup (each with its own tau2),
  the test of the difference between the subgroup estimates that the R
  package meta reports (Q_between: a common-effect meta-analysis of the
  subgroup estimates with their standard errors, df = G - 1, i.e. metafor's
  ``rma(yi=estimates, sei=ses, method="FE")$QE``), and metafor's mixed-effects
  alternative: ``rma(yi, vi, mods=~factor(group))`` QM with one tau2 shared by
  all subgroups.
- `leave_one_out` (metafor ``leave1out``), `cumulative` (``cumul``).
- `egger_test`: metafor ``regtest(model="rma", predictor="sei")``, Egger's
  regression test in metafor's default form: the standard error as a
  moderator of the same model (same tau2 estimator and test) rather than
  Egger's original weighted least squares (``model="lm"``).
- `trim_and_fill`: metafor ``trimfill`` (Duval & Tweedie).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
from scipy import stats

from trialmeta.pool.control import FitControl
from trialmeta.pool.effects import EffectSizes
from trialmeta.pool.models import MetaResult, ModelFit, fit_location, fit_meta, pool

TRIMFILL_ESTIMATORS = ("L0", "R0", "Q0")


@dataclass(frozen=True)
class MetaRegression(ModelFit):
    """A meta-regression: `ModelFit` (residual heterogeneity) and the coefficients.

    `names` start with "intercept". `qm` is the Wald test of all coefficients
    but the intercept: chi2 on `qm_df` df, or with Knapp-Hartung QM / qm_df
    referred to F(qm_df, k - p), as metafor's QM.
    """

    names: tuple[str, ...]
    coefficients: tuple[float, ...]
    se: tuple[float, ...]
    stat: tuple[float, ...]
    pval: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    qm: float
    qm_df: int
    qm_p: float


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Separate fits per subgroup and the tests of a difference between subgroups.

    `groups` are the subgroup labels, sorted (as R's factor levels), and
    `fits` their separate fits. `q_between` (df `q_between_df` = G - 1,
    p `q_between_p`) tests the subgroup estimates for equality, each with its
    own tau2 (the R package meta's test). `mixed_effects` is the meta-regression on
    the subgroup indicators, with one tau2 for all: its `qm` is metafor's test.
    """

    groups: tuple[str, ...]
    fits: tuple[MetaResult, ...]
    q_between: float
    q_between_df: int
    q_between_p: float
    mixed_effects: MetaRegression


@dataclass(frozen=True)
class LeaveOneOut:
    """`fits[i]` leaves out study `omitted[i]` (metafor leave1out)."""

    omitted: tuple[int, ...]
    fits: tuple[MetaResult, ...]


@dataclass(frozen=True)
class Cumulative:
    """`fits[i]` pools the studies `order[:i + 1]` (metafor cumul)."""

    order: tuple[int, ...]
    fits: tuple[MetaResult, ...]


@dataclass(frozen=True)
class EggerTest:
    """Egger's regression test: the slope of yi on sqrt(vi) in the model.

    `stat`, `pval`, `df` test the slope (z, or t on k - 2 with Knapp-Hartung);
    `limit_estimate` is the intercept, the effect of a study of infinite size.
    Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis
    detected by a simple, graphical test. BMJ 315:629-634.
    doi:10.1136/bmj.315.7109.629
    """

    stat: float
    pval: float
    df: float
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    regression: MetaRegression


@dataclass(frozen=True)
class TrimAndFill:
    """Trim-and-fill: `k0` (SE `k0_se`) studies imputed on `side` and the fit with them.

    `filled_yi` and `filled_vi` are the imputed studies (mirror images
    2 mu - yi of the most extreme ones); `fit` pools the observed and the
    imputed studies (it is the original fit when k0 = 0).
    """

    side: str
    estimator: str
    k0: int
    k0_se: float
    filled_yi: tuple[float, ...]
    filled_vi: tuple[float, ...]
    fit: MetaResult


def _regression(
    yi: np.ndarray,
    vi: np.ndarray,
    moderators: Mapping[str, npt.ArrayLike],
    method: str,
    ci_method: str,
    level: float,
    control: FitControl,
) -> MetaRegression:
    names = ("intercept", *moderators)
    X = np.column_stack([np.ones_like(yi), *(np.asarray(v, dtype=float) for v in moderators.values())])
    fit = fit_location(yi, vi, X, method, ci_method, level, control)
    se = np.sqrt(np.diag(fit.vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = fit.beta / se
    tested = slice(1, None)
    qm_df = X.shape[1] - 1
    qm = float(fit.beta[tested] @ np.linalg.solve(fit.vb[tested, tested], fit.beta[tested]))
    if np.isnan(fit.df):
        qm_p = stats.chi2.sf(qm, qm_df)
    else:
        qm /= qm_df
        qm_p = stats.f.sf(qm, qm_df, fit.df)
    shared = {field.name: getattr(fit, field.name) for field in fields(ModelFit)}
    return MetaRegression(
        **shared,
        names=names,
        coefficients=tuple(fit.beta.tolist()),
        se=tuple(se.tolist()),
        stat=tuple(stat.tolist()),
        pval=tuple(np.asarray(fit.p_value(stat)).tolist()),
        ci_low=tuple((fit.beta - fit.crit * se).tolist()),
        ci_high=tuple((fit.beta + fit.crit * se).tolist()),
        qm=qm,
        qm_df=qm_df,
        qm_p=float(qm_p),
    )


def meta_regression(
    effects: EffectSizes,
    moderators: Mapping[str, npt.ArrayLike],
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
) -> MetaRegression:
    """Mixed-effects meta-regression of yi on numeric `moderators` (name -> one value per study).

    metafor: ``rma(yi, vi, mods=~ m1 + m2 ..., method, test)``: the tau2
    estimators, Knapp-Hartung and the tau2 CI are those of
    `trialmeta.pool.models.fit_location` with X = [1, moderators]; tau2 is the
    residual heterogeneity, Q the residual heterogeneity test on k - p df.
    """
    if not moderators:
        raise ValueError("meta_regression needs at least one moderator")
    return _regression(effects.yi, effects.vi, moderators, method, ci_method, level, control)


def subgroup_analysis(
    effects: EffectSizes,
    groups: npt.ArrayLike,
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
) -> SubgroupAnalysis:
    """Fit each subgroup on its own and test whether the subgroups differ (see the module docstring)."""
    groups = np.asarray(groups).astype(str)
    if groups.shape != (effects.k,):
        raise ValueError(f"groups needs one label per study ({effects.k}), got shape {groups.shape}")
    labels = tuple(sorted(set(groups.tolist())))
    if len(labels) < 2:
        raise ValueError("subgroup analysis needs at least 2 subgroups")
    fits = tuple(
        fit_meta(effects.subset(groups == label), method, ci_method, level, control) for label in labels
    )
    between = pool(
        [fit.estimate for fit in fits], [fit.se**2 for fit in fits], effects.measure, "FE", "z", level, control
    )
    indicators = {f"group {label}": (groups == label).astype(float) for label in labels[1:]}
    return SubgroupAnalysis(
        groups=labels,
        fits=fits,
        q_between=between.q,
        q_between_df=between.q_df,
        q_between_p=between.q_p,
        mixed_effects=_regression(effects.yi, effects.vi, indicators, method, ci_method, level, control),
    )


def leave_one_out(
    effects: EffectSizes,
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
) -> LeaveOneOut:
    """The analysis repeated k times, each time without one study (metafor leave1out; no tau2 CI, as there)."""
    if effects.k < 2:
        raise ValueError("leave-one-out needs at least 2 studies")
    everyone = np.arange(effects.k)
    return LeaveOneOut(
        omitted=tuple(everyone.tolist()),
        fits=tuple(
            fit_meta(effects.subset(everyone != i), method, ci_method, level, control, tau2_ci=False)
            for i in everyone
        ),
    )


def cumulative(
    effects: EffectSizes,
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
    order: npt.ArrayLike | None = None,
) -> Cumulative:
    """Studies added one at a time, in the ascending order of `order` (e.g. year; default as given).

    metafor ``cumul(res, order=order)``; ties keep their given order; no tau2 CI, as there.
    """
    keys = np.arange(effects.k) if order is None else np.asarray(order)
    if keys.shape != (effects.k,):
        raise ValueError(f"order needs one value per study ({effects.k}), got shape {keys.shape}")
    sequence = np.argsort(keys, kind="stable")
    return Cumulative(
        order=tuple(sequence.tolist()),
        fits=tuple(
            fit_meta(effects.subset(sequence[: i + 1]), method, ci_method, level, control, tau2_ci=False)
            for i in range(effects.k)
        ),
    )


def egger_test(
    effects: EffectSizes,
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
) -> EggerTest:
    """Egger's test for funnel-plot asymmetry, metafor ``regtest(rma(...))`` (see the module docstring)."""
    regression = _regression(
        effects.yi, effects.vi, {"sei": np.sqrt(effects.vi)}, method, ci_method, level, control
    )
    return EggerTest(
        stat=regression.stat[1],
        pval=regression.pval[1],
        df=regression.df,
        slope=regression.coefficients[1],
        slope_se=regression.se[1],
        limit_estimate=regression.coefficients[0],
        limit_ci_low=regression.ci_low[0],
        limit_ci_high=regression.ci_high[0],
        regression=regression,
    )


def _missing_studies(centred: np.ndarray, estimator: str) -> tuple[float, float]:
    """Duval-Tweedie estimate of the number of missing studies and its SE (before rounding).

    `centred` are yi - mu sorted by yi (on the side where studies are missing
    being the left). Ranks of |yi - mu| break ties by position, as metafor.
    """
    k = centred.size
    signed_ranks = np.sign(centred) * stats.rankdata(np.abs(centred), method="ordinal")
    if estimator == "R0":
        k0 = k - np.max(-signed_ranks[signed_ranks < 0], initial=0) - 1
        return k0, np.sqrt(2 * max(0.0, k0) + 2)
    wilcoxon = np.sum(signed_ranks[signed_ranks > 0])
    if estimator == "L0":
        k0 = (4 * wilcoxon - k * (k + 1)) / (2 * k - 1)
    else:
        k0 = k - 0.5 - np.sqrt(2 * k**2 - 4 * wilcoxon + 0.25)
    variance = (
        k * (k + 1) * (2 * k + 1) + 10 * k0**3 + 27 * k0**2 + 17 * k0 - 18 * k * k0**2 - 18 * k * k0 + 6 * k**2 * k0
    ) / 24
    if estimator == "L0":
        return k0, 4 * np.sqrt(variance) / (2 * k - 1)
    return k0, 2 * np.sqrt(variance) / np.sqrt((k - 0.5) ** 2 - k0 * (2 * k - k0 - 1))


def trim_and_fill(
    effects: EffectSizes,
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
    side: str | None = None,
    estimator: str = "L0",
) -> TrimAndFill:
    """Duval & Tweedie's trim-and-fill, as metafor ``trimfill(rma(...))``.

    Iterate: pool the k - k0 least extreme studies, rank |yi - mu|, and
    re-estimate k0 with `estimator` (L0, R0, Q0) until k0 stops changing
    (at most `control.trimfill_max_iter` times). Then the k0 most extreme
    studies are mirrored about mu and the augmented set is pooled with the
    same method and test. `side` (where studies are missing) defaults, as in
    metafor, to "right" when the slope of yi on sqrt(vi) is negative, else
    "left". (metafor refits the filled data with test="z" unless the test is
    passed to trimfill again; here `ci_method` is used throughout.)
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based
    method of testing and adjusting for publication bias in meta-analysis.
    Biometrics 56:455-463. doi:10.1111/j.0006-341X.2000.00455.x
    """
    if estimator not in TRIMFILL_ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; expected one of {TRIMFILL_ESTIMATORS}")
    if effects.k < 2:
        raise ValueError("trim-and-fill needs at least 2 studies")
    if side is None:
        slope = _regression(effects.yi, effects.vi, {"sei": np.sqrt(effects.vi)}, method, "z", level, control)
        side = "right" if slope.coefficients[1] < 0 else "left"
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    # work on the scale where the missing studies are on the left
    sign = -1.0 if side == "right" else 1.0
    by_size = np.argsort(sign * effects.yi, kind="stable")
    yi, vi = sign * effects.yi[by_size], effects.vi[by_size]
    k = effects.k
    ones = np.ones((k, 1))

    k0, previous, iterations = 0, -1, 0
    while k0 != previous:
        iterations += 1
        if iterations > control.trimfill_max_iter:
            raise ValueError(f"trim-and-fill did not converge in {control.trimfill_max_iter} iterations")
        previous = k0
        mu = float(fit_location(yi[: k - k0], vi[: k - k0], ones[: k - k0], method, "z", level, control).beta[0])
        k0_raw, k0_se = _missing_studies(yi - mu, estimator)
        k0 = int(max(0, np.round(k0_raw)))

    filled_yi = sign * (2 * mu - yi[k - k0 :])
    filled_vi = vi[k - k0 :]
    if k0 == 0:
        fit = fit_meta(effects, method, ci_method, level, control)
    else:
        fit = pool(
            np.concatenate([effects.yi, filled_yi]),
            np.concatenate([effects.vi, filled_vi]),
            effects.measure,
            method,
            ci_method,
            level,
            control,
            (f"trim-and-fill: {k0} studies imputed on the {side}",),
        )
    return TrimAndFill(
        side=side,
        estimator=estimator,
        k0=k0,
        k0_se=float(max(0.0, k0_se)),
        filled_yi=tuple(filled_yi.tolist()),
        filled_vi=tuple(filled_vi.tolist()),
        fit=fit,
    )


@dataclass(frozen=True)
class Influence:
    """Outlier and influence diagnostics of each study, metafor ``influence(rma(...))``.

    Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for
    meta-analysis. Res Synth Methods 1:112-125, doi:10.1002/jrsm.11. With mu,
    its variance vb and tau2 from the full fit, mu_(i), vb_(i), tau2_(i), Q_(i)
    from the fit without study i, w_i = 1/(v_i + tau2), h_i = w_i / sum w, and
    s2_(i) the Knapp-Hartung factor of the fit without i (1 under z), so that
    vb_(i) = s2_(i) / sum_(j != i) 1/(v_j + tau2_(i)):
    rstudent_i = (y_i - mu_(i)) / sqrt(s2_(i) (v_i + tau2_(i)) + vb_(i));
    dffits_i = (mu - mu_(i)) / sqrt(s2_(i) h_i (tau2_(i) + v_i)); cook_d_i = (mu - mu_(i))^2 / vb;
    cov_r_i = vb_(i) / vb; dfbetas_i = (mu - mu_(i)) / sqrt(s2_(i) / sum_j 1/(v_j + tau2_(i)))
    (the last sum over all k studies). These forms were matched to metafor 3.8
    (tests/reference/influence_reference.R), Knapp-Hartung fits included.
    A study is `influential` (metafor's asterisk) when |dffits| > 3 sqrt(1/(k-1)),
    the chi-square(1) lower tail at cook_d exceeds 0.5, h_i > 3/k, or |dfbetas| > 1.
    """

    rstudent: tuple[float, ...]
    dffits: tuple[float, ...]
    cook_d: tuple[float, ...]
    cov_r: tuple[float, ...]
    tau2_del: tuple[float, ...]
    q_del: tuple[float, ...]
    hat: tuple[float, ...]
    weight: tuple[float, ...]
    dfbetas: tuple[float, ...]
    influential: tuple[bool, ...]


def influence_diagnostics(
    effects: EffectSizes,
    method: str,
    ci_method: str = "z",
    level: float = 0.95,
    control: FitControl = FitControl(),
    left_out: LeaveOneOut | None = None,
) -> Influence:
    """Leave-one-out outlier and influence diagnostics (see `Influence`); needs k >= 2.

    `left_out`: the `leave_one_out` of the same analysis, if already fitted.
    """
    full = fit_meta(effects, method, ci_method, level, control, tau2_ci=False)
    loo = left_out if left_out is not None else leave_one_out(effects, method, ci_method, level, control)
    k = effects.k
    mu, vb = full.estimate, full.se**2
    mu_del = np.array([f.estimate for f in loo.fits])
    vb_del = np.array([f.se**2 for f in loo.fits])
    tau2_del = np.array([f.tau2 for f in loo.fits])
    vi = effects.vi
    w = 1.0 / (vi + full.tau2)
    hat = w / w.sum()
    others = ~np.eye(k, dtype=bool)
    precision_without = np.array([np.sum(1.0 / (vi[others[i]] + tau2_del[i])) for i in range(k)])
    precision_all = np.array([np.sum(1.0 / (vi + tau2_del[i])) for i in range(k)])
    s2 = vb_del * precision_without
    rstudent = (effects.yi - mu_del) / np.sqrt(s2 * (vi + tau2_del) + vb_del)
    dffits = (mu - mu_del) / np.sqrt(s2 * hat * (tau2_del + vi))
    cook_d = (mu - mu_del) ** 2 / vb
    dfbetas = (mu - mu_del) / np.sqrt(s2 / precision_all)
    influential = (
        (np.abs(dffits) > 3 * np.sqrt(1 / (k - 1)))
        | (stats.chi2.cdf(cook_d, 1) > 0.5)
        | (hat > 3 / k)
        | (np.abs(dfbetas) > 1)
    )
    as_tuple = lambda values: tuple(float(v) for v in values)  # noqa: E731
    return Influence(
        rstudent=as_tuple(rstudent), dffits=as_tuple(dffits), cook_d=as_tuple(cook_d),
        cov_r=as_tuple(vb_del / vb), tau2_del=as_tuple(tau2_del), q_del=as_tuple(f.q for f in loo.fits),
        hat=as_tuple(hat), weight=as_tuple(100 * hat), dfbetas=as_tuple(dfbetas),
        influential=tuple(bool(v) for v in influential),
    )
