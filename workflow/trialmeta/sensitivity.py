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

from trialmeta.control import FitControl
from trialmeta.effects import EffectSizes
from trialmeta.models import MetaResult, ModelFit, fit_location, fit_meta, pool

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
    `trialmeta.models.fit_location` with X = [1, moderators]; tau2 is the
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
    """The analysis repeated k times, each time without one study (metafor leave1out)."""
    if effects.k < 2:
        raise ValueError("leave-one-out needs at least 2 studies")
    everyone = np.arange(effects.k)
    return LeaveOneOut(
        omitted=tuple(everyone.tolist()),
        fits=tuple(
            fit_meta(effects.subset(everyone != i), method, ci_method, level, control) for i in everyone
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

    metafor ``cumul(res, order=order)``; ties keep their given order.
    """
    keys = np.arange(effects.k) if order is None else np.asarray(order)
    if keys.shape != (effects.k,):
        raise ValueError(f"order needs one value per study ({effects.k}), got shape {keys.shape}")
    sequence = np.argsort(keys, kind="stable")
    return Cumulative(
        order=tuple(sequence.tolist()),
        fits=tuple(
            fit_meta(effects.subset(sequence[: i + 1]), method, ci_method, level, control)
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
