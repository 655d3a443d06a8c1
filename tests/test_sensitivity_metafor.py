"""Sensitivity analyses against metafor's leave1out, cumul, regtest, trimfill, and rma with mods.

Tolerances as in test_models_metafor.py: 1e-10 for the closed-form
estimators (FE, DL, HS, HE, SJ), 1e-6 where an iterative solution enters
(REML, ML, PM, EB, the Q-profile CI).
"""

from __future__ import annotations

import numpy as np
import pytest

from metafor_reference import (
    CI_METHOD, CLOSED_FORM_TOL, ITERATIVE_METHODS, ITERATIVE_TOL, assert_close, dataset, number, reference,
)
from trialmeta.pool.effects import proportion_effects
from trialmeta.pool.models import fit_meta
from trialmeta.pool.sensitivity import (
    cumulative,
    egger_test,
    leave_one_out,
    meta_regression,
    subgroup_analysis,
    trim_and_fill,
)

CASES = reference()["sensitivity"]
MODERATORS = reference()["moderators"]
FIT_FIELDS = ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "h2", "q", "q_p")
SEQUENCE_FIELDS = FIT_FIELDS + ("stat", "pval")
REGRESSION_FIELDS = ("coefficients", "se", "stat", "pval", "ci_low", "ci_high", "df", "qm", "qm_df", "qm_p",
                     "tau2", "tau2_se", "i2", "h2", "q", "q_p")  # fmt: skip


def _case_id(case: dict) -> str:
    return f"{case['dataset']}-{case['measure']}-{case['method']}-{case['test']}"


def _setup(case: dict) -> tuple:
    events, total = dataset(case["dataset"])
    effects = proportion_effects(events, total, case["measure"])
    tol = ITERATIVE_TOL if case["method"] in ITERATIVE_METHODS else CLOSED_FORM_TOL
    return effects, (case["method"], CI_METHOD[case["test"]]), tol


def _assert_fit(fit, expected: dict, names: tuple[str, ...], tol: float, what: str) -> None:
    for name in names:
        assert_close(getattr(fit, name), expected[name], tol, f"{what} {name}")


def _assert_sequence(fits: tuple, expected: dict, tol: float, what: str) -> None:
    for name in SEQUENCE_FIELDS:
        if name == "tau2" and expected[name] == []:
            # metafor reports no tau2 for the fits of a common-effect model
            assert all(fit.method == "FE" and fit.tau2 == 0 for fit in fits)
            continue
        assert_close([getattr(fit, name) for fit in fits], expected[name], tol, f"{what} {name}")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
@pytest.mark.parametrize(
    ("key", "analysis", "labels"),
    [("leave1out", leave_one_out, "omitted"), ("cumul", cumulative, "order")],
    ids=["leave1out", "cumul"],
)
def test_study_sequences_match_metafor(case: dict, key: str, analysis, labels: str) -> None:
    effects, model, tol = _setup(case)
    result = analysis(effects, *model)
    assert getattr(result, labels) == tuple(range(effects.k))
    _assert_sequence(result.fits, case[key], tol, key)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_egger_matches_metafor_regtest(case: dict) -> None:
    effects, model, tol = _setup(case)
    result = egger_test(effects, *model)
    _assert_fit(result, case["regtest"], ("stat", "pval", "df", "slope", "slope_se", "limit_estimate",
                                          "limit_ci_low", "limit_ci_high"), tol, "regtest")  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_trim_and_fill_matches_metafor(case: dict) -> None:
    effects, model, tol = _setup(case)
    expected = case["trimfill"]
    result = trim_and_fill(effects, *model)
    assert result.side == expected["side"]
    assert result.k0 == number(expected["k0"])
    assert_close(result.k0_se, expected["k0_se"], CLOSED_FORM_TOL, "k0 se")
    assert_close(result.filled_yi, expected["filled_yi"], tol, "filled yi")
    assert_close(result.filled_vi, expected["filled_vi"], CLOSED_FORM_TOL, "filled vi")
    _assert_fit(result.fit, expected, FIT_FIELDS, tol, "trimfill fit")


SUBGROUP_CASES = [case for case in CASES if "subgroups" in case]


@pytest.mark.parametrize("case", SUBGROUP_CASES, ids=[_case_id(c) for c in SUBGROUP_CASES])
def test_subgroups_match_metafor(case: dict) -> None:
    effects, model, tol = _setup(case)
    expected = case["subgroups"]
    result = subgroup_analysis(effects, MODERATORS["group"], *model)
    assert list(result.groups) == expected["groups"]
    for fit, expected_fit in zip(result.fits, expected["fits"], strict=True):
        _assert_fit(fit, expected_fit, FIT_FIELDS, tol, "subgroup")
    assert_close(result.q_between, expected["q_between"], tol, "Q between")
    assert_close(result.q_between_p, expected["q_between_p"], tol, "Q between p")
    assert result.q_between_df == 2
    _assert_fit(result.mixed_effects, expected["mixed_effects"], REGRESSION_FIELDS, tol, "factor(group)")
    _assert_fit(result.mixed_effects, expected["mixed_effects"], ("tau2_ci_low", "tau2_ci_high"),
                ITERATIVE_TOL, "factor(group)")  # fmt: skip


@pytest.mark.parametrize("case", SUBGROUP_CASES, ids=[_case_id(c) for c in SUBGROUP_CASES])
def test_meta_regression_matches_metafor(case: dict) -> None:
    effects, model, tol = _setup(case)
    result = meta_regression(effects, {"dose": number(MODERATORS["dose"])}, *model)
    assert result.names == ("intercept", "dose")
    _assert_fit(result, case["metareg"], REGRESSION_FIELDS, tol, "dose")
    _assert_fit(result, case["metareg"], ("tau2_ci_low", "tau2_ci_high"), ITERATIVE_TOL, "dose")


def test_q_between_by_hand() -> None:
    # Two subgroups pooled by FE: the between-subgroup Q is the FE Q of the
    # two subgroup estimates with weights 1/se^2:
    #   Q = (e1 - e2)^2 / (se1^2 + se2^2)  (for two estimates)
    effects = proportion_effects([5, 3, 12, 15], [15, 20, 14, 15], "PAS")
    result = subgroup_analysis(effects, ["a", "a", "b", "b"], "FE")
    first, second = result.fits
    assert result.q_between == pytest.approx(
        (first.estimate - second.estimate) ** 2 / (first.se**2 + second.se**2), rel=1e-12
    )
    assert result.q_between_df == 1


def test_cumulative_follows_the_given_order() -> None:
    # ordered by year: the first fit is the 2019 study alone (k = 1)
    effects = proportion_effects([15, 20, 12, 21], [15, 20, 14, 22], "PLO")
    result = cumulative(effects, "DL", order=[2021, 2019, 2022, 2019])
    assert result.order == (1, 3, 0, 2)
    assert result.fits[0].estimate == pytest.approx(effects.yi[1])
    assert result.fits[-1].estimate == pytest.approx(fit_meta(effects, "DL").estimate)


def test_trim_and_fill_without_missing_studies_returns_the_fit() -> None:
    # the homogeneous set is symmetric enough on the left: L0 rounds to k0 = 0
    effects = proportion_effects([10, 11, 10, 12, 9, 11], [20, 21, 19, 23, 18, 22], "PLO")
    result = trim_and_fill(effects, "REML", side="left")
    assert result.k0 == 0 and result.filled_yi == ()
    assert result.fit.estimate == fit_meta(effects, "REML").estimate
    assert result.fit.notes == fit_meta(effects, "REML").notes


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: subgroup_analysis(e, ["a"] * 4, "DL"), "at least 2 subgroups"),
        (lambda e: subgroup_analysis(e, ["a", "b"], "DL"), "one label per study"),
        (lambda e: meta_regression(e, {}, "DL"), "at least one moderator"),
        (lambda e: trim_and_fill(e, "DL", estimator="X0"), "unknown estimator"),
        (lambda e: leave_one_out(e.subset([0]), "DL"), "at least 2 studies"),
        (lambda e: cumulative(e, "DL", order=[1, 2]), "one value per study"),
    ],
)
def test_invalid_requests_are_refused(call, message: str) -> None:
    effects = proportion_effects([15, 20, 12, 21], [15, 20, 14, 22], "PLO")
    with pytest.raises(ValueError, match=message):
        call(effects)


def test_results_are_frozen() -> None:
    effects = proportion_effects(*dataset("hetero_k30"), "PLO")
    result = egger_test(effects, "REML")
    with pytest.raises(AttributeError):
        result.stat = 0.0  # type: ignore[misc]
    assert np.isfinite(result.pval)
