"""Pooling (fit_meta, fit_glmm) against metafor's rma, predict, confint, weights and rma.glmm.

Tolerances (see metafor_reference.py; |python - R| <= tol * max(1, |R|)):

- 1e-10 for the closed-form estimators FE, DL, HS, HE and SJ. SJ counts as
  closed form: metafor's "SJ" is a single step from the closed-form start
  tau2_0 = sum (y - mean y)^2 / k (the iterated version is "SJIT").
- 1e-6 for everything that depends on an iterative solution: the REML, ML
  and EB Fisher scoring, the PM root, the Q-profile tau2 CI of every method,
  and the GLMM (quadrature + optimiser on both sides; lme4's own optimum is
  reproducible only to ~1e-7 even with the tight control of the R script).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from metafor_reference import (
    CI_METHOD, CLOSED_FORM_TOL, ITERATIVE_METHODS, ITERATIVE_TOL, assert_close, dataset, expected_pi, number, reference,
)
from trialmeta.pool.control import FitControl
from trialmeta.pool.effects import back_transform, proportion_effects
from trialmeta.pool.glmm import GLMMFitError, fit_glmm
from trialmeta.pool.models import METHODS, MetaResult, fit_meta

FITS = reference()["fits"]
GLMM = reference()["glmm"]
ITERATIVE_FIELDS = {"tau2_ci_low", "tau2_ci_high"}
FIELDS = (
    "estimate", "se", "stat", "pval", "df", "ci_low", "ci_high", "pi_low", "pi_high",
    "tau2", "tau2_se", "tau2_ci_low", "tau2_ci_high", "i2", "h2", "q", "q_p", "weights",
)  # fmt: skip
BACK_FIELDS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")


def _fit(dataset_name: str, measure: str, method: str, test: str) -> dict:
    return next(f for f in FITS if (f["dataset"], f["measure"], f["method"], f["test"]) == (dataset_name, measure, method, test))


def _fit_id(entry: dict) -> str:
    return f"{entry['dataset']}-{entry['measure']}-{entry['method']}-{entry['test']}"


def _tolerance(method: str, field: str) -> float:
    return ITERATIVE_TOL if method in ITERATIVE_METHODS or field in ITERATIVE_FIELDS else CLOSED_FORM_TOL


def test_reference_covers_the_grid() -> None:
    datasets = reference()["datasets"]
    assert len(FITS) == len(datasets) * 4 * len(METHODS) * 3
    assert not [entry for entry in FITS if entry["refused"]], "metafor refused no rma combination"


@pytest.mark.parametrize("entry", FITS, ids=[_fit_id(e) for e in FITS])
def test_fit_meta_matches_metafor(entry: dict) -> None:
    events, total = dataset(entry["dataset"])
    effects = proportion_effects(events, total, entry["measure"])
    result = fit_meta(effects, entry["method"], CI_METHOD[entry["test"]])
    if entry["test"] == "knha" and number(entry["se"]) == 0:
        # metafor's knha has a zero-width CI here (s2 = 0); the pool stage uses the
        # ad hoc correction instead (issue 17), so it must match metafor's test="adhoc"
        entry = _fit(entry["dataset"], entry["measure"], entry["method"], "adhoc")
    assert result.ci_method == CI_METHOD[entry["test_used"]]
    assert result.converged
    # the prediction interval is t on k - 1 df and only for k >= 3 (issue 17), not metafor's z-based one
    pi = expected_pi(entry, effects.k)
    expected = dict(entry, pi_low=pi[0], pi_high=pi[1])
    for field in FIELDS:
        assert_close(getattr(result, field), expected[field], _tolerance(entry["method"], field), field)
    back = result.back_transformed(effects)
    pi_back = back_transform(list(pi), entry["measure"], effects.total if entry["measure"] == "PFT" else None)
    expected_back = dict(entry["back"], pi_low=pi_back[0], pi_high=pi_back[1])
    for field in BACK_FIELDS:
        tol = _tolerance(entry["method"], field)
        assert_close(getattr(back, field), expected_back[field], tol, f"back-transformed {field}")


@pytest.mark.parametrize("entry", GLMM, ids=[e["dataset"] for e in GLMM])
def test_fit_glmm_matches_metafor(entry: dict) -> None:
    events, total = dataset(entry["dataset"])
    if entry["refused"]:
        # metafor's rma.glmm stops on these (k = 1; all studies at 0% or at
        # 100%, where the logit MLE is infinite); so does fit_glmm, saying why
        with pytest.raises(GLMMFitError):
            fit_glmm(events, total)
        return
    result = fit_glmm(events, total)
    pi = expected_pi({**entry, "test": "z"}, events.size)
    expected = dict(entry, q=entry["q_lrt"], q_p=entry["q_lrt_p"], pi_low=pi[0], pi_high=pi[1])
    for field in ("estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
                  "i2", "h2", "q", "q_p", "q_df"):  # fmt: skip
        assert_close(getattr(result, field), expected[field], ITERATIVE_TOL, field)
    back = result.back_transformed()
    pi_back = back_transform(list(pi), "PLO")
    expected_back = dict(entry["back"], pi_low=pi_back[0], pi_high=pi_back[1])
    for field in BACK_FIELDS:
        assert_close(getattr(back, field), expected_back[field], ITERATIVE_TOL, f"back-transformed {field}")


# ------------------------------------------------------------------ by hand ---


def test_common_effect_two_studies_by_hand() -> None:
    # PAS has vi = 1/(4 n), so the inverse-variance weights are 4 n and the
    # common effect is the n-weighted mean of the arcsine values:
    #   5/15: y1 = asin(sqrt(1/3)) = 0.6154797...,  w1 = 60
    #   3/20: y2 = asin(sqrt(0.15)) = 0.3976994...,  w2 = 80
    #   FE = (60 y1 + 80 y2) / 140,  se = 1 / sqrt(140)
    #   Q = 60 (y1 - FE)^2 + 80 (y2 - FE)^2 = (60 * 80 / 140) (y1 - y2)^2
    y1, y2 = math.asin(math.sqrt(1 / 3)), math.asin(math.sqrt(0.15))
    result = fit_meta(proportion_effects([5, 3], [15, 20], "PAS"), "FE")
    assert result.estimate == pytest.approx((60 * y1 + 80 * y2) / 140, rel=1e-14)
    assert result.se == pytest.approx(1 / math.sqrt(140), rel=1e-14)
    assert result.q == pytest.approx(60 * 80 / 140 * (y1 - y2) ** 2, rel=1e-12)
    assert result.weights == pytest.approx((100 * 60 / 140, 100 * 80 / 140), rel=1e-14)
    assert result.ci_low == pytest.approx(result.estimate - 1.959963984540054 * result.se, rel=1e-14)
    assert math.isnan(result.pi_low)  # a common-effect model has no PI, as metafor


def test_dersimonian_laird_two_studies_by_hand() -> None:
    # Same data: tau2_DL = (Q - (k - 1)) / (sum w - sum w^2 / sum w)
    #                    = (Q - 1) / (140 - (60^2 + 80^2) / 140) = (Q - 1) / (4800 / 70)
    # (for k = 2, sum w - sum w^2 / sum w = 2 w1 w2 / (w1 + w2))
    # Here Q = 1.6429... > 1, so tau2 > 0; the RE weights are 1/(1/60 + tau2), 1/(1/80 + tau2).
    y1, y2 = math.asin(math.sqrt(1 / 3)), math.asin(math.sqrt(0.15))
    q = 60 * 80 / 140 * (y1 - y2) ** 2
    tau2 = (q - 1) / (4800 / 70)
    w1, w2 = 1 / (1 / 60 + tau2), 1 / (1 / 80 + tau2)
    result = fit_meta(proportion_effects([5, 3], [15, 20], "PAS"), "DL")
    assert result.tau2 == pytest.approx(tau2, rel=1e-12)
    assert result.estimate == pytest.approx((w1 * y1 + w2 * y2) / (w1 + w2), rel=1e-13)
    assert result.se == pytest.approx(1 / math.sqrt(w1 + w2), rel=1e-13)


def test_knapp_hartung_two_studies_by_hand() -> None:
    # KH scales the variance by s2 = sum w (y - mu)^2 / (k - 1) and uses
    # t(1): with DL tau2 for k = 2 the RE residual Q equals exactly 1, so
    # s2 = 1 and the CI is mu +- t_{0.975, 1} se = mu +- 12.7062 se.
    result = fit_meta(proportion_effects([5, 3], [15, 20], "PAS"), "DL", "hk")
    standard = fit_meta(proportion_effects([5, 3], [15, 20], "PAS"), "DL")
    assert result.df == 1
    assert result.se == pytest.approx(standard.se, rel=1e-10)
    assert result.ci_high - result.estimate == pytest.approx(12.706204736174698 * result.se, rel=1e-12)


# ------------------------------------------------------------------ edges ---


@pytest.mark.parametrize("method", METHODS)
def test_single_study(method: str) -> None:
    effects = proportion_effects([12], [14], "PLO")
    result = fit_meta(effects, method, "hk")
    assert result.k == 1
    assert result.tau2 == 0 and result.q == 0 and result.i2 == 0 and result.h2 == 1
    assert result.estimate == pytest.approx(math.log(6))
    assert result.ci_method == "z" and math.isnan(result.df)
    assert any("k = 1: heterogeneity not estimable" in note for note in result.notes)
    assert math.isnan(result.tau2_ci_low) and math.isnan(result.tau2_se)
    assert result.weights == (100.0,)


def test_all_studies_at_100_percent() -> None:
    effects = proportion_effects([10, 25, 8, 14, 30], [10, 25, 8, 14, 30], "PLO")
    result = fit_meta(effects, "REML")
    assert "all studies at 100%" in result.notes
    assert "continuity correction 0.5 added to 5 of 5 studies" in result.notes
    assert 0.9 < result.back_transformed(effects).estimate < 1


def test_knapp_hartung_never_collapses_to_a_point_when_all_yi_agree() -> None:
    # every study at 100% gives asin(1) = pi/2 under PAS: s2 = 0, and metafor's knha
    # gives a CI of zero width. Issue 17: no zero-width interval is reported; the ad
    # hoc correction max(1, s2) = 1 leaves the unscaled se, sqrt(1 / sum(4 n)) for
    # DL with tau2 = 0 (vi = 1/(4 n)), and t on k - 1 = 2 df.
    result = fit_meta(proportion_effects([10, 25, 8], [10, 25, 8], "PAS"), "DL", "hk")
    se = math.sqrt(1 / (4 * (10 + 25 + 8)))
    assert result.ci_method == "hk_adhoc" and result.se == pytest.approx(se, rel=1e-12)
    # t(0.975; 2 df) in closed form: (2p - 1) / sqrt(2 p (1 - p)) with p = 0.975
    assert result.ci_high - result.ci_low == pytest.approx(2 * 0.95 / math.sqrt(2 * 0.975 * 0.025) * se, rel=1e-12)
    assert any("s2 = 0" in note and "ad hoc" in note for note in result.notes)


def test_truncation_is_noted() -> None:
    events, total = dataset("homogeneous")
    result = fit_meta(proportion_effects(events, total, "PLO"), "DL")
    assert result.tau2 == 0
    assert any("truncated at 0" in note for note in result.notes)


def test_uncorrected_zero_study_is_refused() -> None:
    with pytest.raises(ValueError, match="continuity correction"):
        fit_meta(proportion_effects([0, 3, 4], [10, 20, 14], "PLO", to="none"), "DL")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"method": "XX"}, "unknown method"), ({"method": "DL", "ci_method": "t"}, "unknown ci_method"),
     ({"method": "DL", "level": 95}, "level")],
)  # fmt: skip
def test_invalid_options_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_meta(proportion_effects([5, 3], [15, 20], "PLO"), **kwargs)


def test_events_above_total_are_refused() -> None:
    with pytest.raises(ValueError, match="events > total"):
        fit_glmm([5, 21], [15, 20])


@pytest.mark.parametrize(
    ("events", "total", "reason"),
    [([0, 0, 0], [12, 30, 9], "0 events"), ([10, 25], [10, 25], "100% events"), ([12], [14], "k = 1")],
)
def test_glmm_refuses_unfittable_data(events: list, total: list, reason: str) -> None:
    with pytest.raises(GLMMFitError, match=reason):
        fit_glmm(events, total)


def test_back_transformation_checks_its_effects() -> None:
    effects = proportion_effects([5, 3], [15, 20], "PFT")
    result = fit_meta(effects, "REML")
    with pytest.raises(ValueError, match="needs the EffectSizes"):
        result.back_transformed()
    with pytest.raises(ValueError, match="effects are PLO"):
        result.back_transformed(proportion_effects([5, 3], [15, 20], "PLO"))


def test_control_is_honoured() -> None:
    # a scoring limit of 1 iteration cannot reach the REML root of k = 30
    events, total = dataset("hetero_k30")
    effects = proportion_effects(events, total, "PLO")
    result = fit_meta(effects, "REML", control=FitControl(max_iter=1))
    assert not result.converged
    assert any("did not converge" in note for note in result.notes)
    assert fit_meta(effects, "REML").converged


def test_result_is_frozen() -> None:
    result = fit_meta(proportion_effects([5, 3], [15, 20], "PLO"), "DL")
    assert isinstance(result, MetaResult)
    with pytest.raises(AttributeError):
        result.tau2 = 1.0  # type: ignore[misc]
    assert np.isfinite(result.pval)
