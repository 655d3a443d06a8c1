"""The metafor reference values (tests/reference/metafor_reference.json) for the tests.

The JSON is written by tests/reference/metafor_reference.R; the tests only
read it, so they run without R. Non-finite numbers are stored as the strings
"NA", "NaN", "Inf", "-Inf".
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PATH = Path(__file__).parent / "reference" / "metafor_reference.json"

_NON_FINITE = {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}

# Two tolerances, both on |python - R| <= tol * max(1, |R|): relative for
# values above 1 in magnitude, absolute below (tau2 at 0, tiny p-values).
# Closed-form quantities agree to rounding (observed ~1e-13);
CLOSED_FORM_TOL = 1e-10
# iterative ones agree to the tolerance the two implementations stop at.
ITERATIVE_TOL = 1e-6
# tau2 estimators found by iteration (the others are closed form)
ITERATIVE_METHODS = frozenset({"REML", "ML", "PM", "EB"})
# metafor's test= argument -> this pipeline's ci_method
CI_METHOD = {"z": "z", "knha": "hk", "adhoc": "hk_adhoc"}
HETEROGENEITY_COLUMNS = ("tau2", "i2", "h2", "q", "q_p")


@cache
def reference() -> dict[str, Any]:
    return json.loads(PATH.read_text())


def number(value: Any) -> float | np.ndarray:
    """A JSON value as a float (scalar) or float array (list)."""
    if isinstance(value, list):
        return np.array([number(v) for v in value], dtype=float)
    if isinstance(value, str):
        return _NON_FINITE[value]
    return float(value)


def dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    data = reference()["datasets"][name]
    return number(data["events"]), number(data["total"])


def assert_close(got: Any, expected: Any, tol: float, what: str) -> None:
    """got equals the R value within tol * max(1, |R|); nan/inf must match exactly."""
    got = np.atleast_1d(np.asarray(got, dtype=float))
    expected = np.atleast_1d(np.asarray(number(expected) if not isinstance(expected, np.ndarray) else expected))
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != R's {expected.shape}"
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(got[~finite], expected[~finite], err_msg=f"{what}: non-finite values differ")
    error = np.abs(got[finite] - expected[finite]) / np.maximum(1.0, np.abs(expected[finite]))
    assert np.all(error <= tol), f"{what}: {got} vs R {expected}, scaled error {error.max():.3g} > {tol:g}"


def assert_pooled_row(row: Any, fit: dict, what: str, heterogeneity_tol: float, total: Any = None) -> None:
    """A pooled.csv row (pandas Series) against a metafor fit of the reference: its analysis, the
    back-transformed estimate and intervals (nan where metafor has none) at ITERATIVE_TOL, and the
    heterogeneity columns at `heterogeneity_tol`. The prediction interval is `expected_pi`'s (t on
    k - 1 df, k >= 3), back-transformed with the study sizes `total` for PFT."""
    assert (row["measure"], row["method"], row["ci_method"]) == (fit["measure"], fit["method"], CI_METHOD[fit["test"]])
    from trialmeta.pool.effects import back_transform

    pi = back_transform(list(expected_pi(fit, int(row["k"]))), fit["measure"], total if fit["measure"] == "PFT" else None)
    pi = np.asarray(pi, dtype=float)  # back_transform keeps a missing limit as None
    back = dict(fit["back"], pi_low=pi[0], pi_high=pi[1])
    for column in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        expected = back[column]
        if isinstance(expected, str) or np.isnan(number(expected)):
            assert pd.isna(row[column]), f"{what} {column}: {row[column]} where metafor has none"
        else:
            assert_close(row[column], expected, ITERATIVE_TOL, f"{what} {column}")
    for column in HETEROGENEITY_COLUMNS:
        assert_close(row[column], fit[column], heterogeneity_tol, f"{what} {column}")


def expected_pi(fit: dict, k: int, level: float = 0.95) -> tuple[float, float]:
    """The prediction interval the pool stage reports, on the model scale, from an R fit's values.

    Only for k >= 3 (nan below, and for a common-effect model), on t with k - 1 df
    (meta 8's default; issue 17). Under Knapp-Hartung (test knha or adhoc) that is
    metafor's own predict() interval; under z it is computed here by hand from R's
    estimate, se and tau2: estimate +- qt(1 - a/2, k - 1) sqrt(se^2 + tau2).
    """
    if k < 3 or fit.get("method") == "FE":
        return np.nan, np.nan
    if fit.get("test") in ("knha", "adhoc"):
        return number(fit["pi_low"]), number(fit["pi_high"])
    from scipy import stats

    half = stats.t.isf((1 - level) / 2, k - 1) * np.sqrt(number(fit["se"]) ** 2 + number(fit["tau2"]))
    return number(fit["estimate"]) - half, number(fit["estimate"]) + half


def reported_fit(fit: dict) -> dict:
    """The metafor fit the pool stage's row corresponds to: metafor's knha CI of zero width (s2 = 0,
    every yi equal) is replaced by the ad hoc correction (issue 17), so such a row is test="adhoc"'s."""
    if fit["test"] == "knha" and number(fit["se"]) == 0:
        return next(f for f in reference()["fits"] if (f["dataset"], f["measure"], f["method"], f["test"])
                    == (fit["dataset"], fit["measure"], fit["method"], "adhoc"))
    return fit


SMALL_K_PATH = Path(__file__).parent / "reference" / "small_k_reference.json"


@cache
def small_k_reference() -> dict[str, Any]:
    """tests/reference/small_k_reference.json, written by small_k_reference.R (issue 17's cases)."""
    return json.loads(SMALL_K_PATH.read_text())


# reference datasets no model pools (issue 17): one study, every study at 100%, every one at 0%;
# their row is the exact interval of the summed counts, in small_k_reference.json's "exact"
UNPOOLABLE = {"k1": "ref_k1", "all_events": "ref_all_events", "zero_events": "ref_zero_events"}


def assert_exact_rows(rows: Any, name: str) -> None:
    """The overall pooled.csv rows of an unpoolable reference dataset: every configured analysis
    empty and flagged, then one exact Clopper-Pearson row of the summed counts (binom.test in R)."""
    configured, exact = rows[rows["method"] != "exact"], rows[rows["method"] == "exact"]
    assert configured["estimate"].isna().all() and configured["flags"].str.startswith("not fitted:").all(), name
    assert len(exact) == 1, name
    expected = small_k_reference()["exact"][UNPOOLABLE[name]]
    assert_close([exact.iloc[0]["ci_low"], exact.iloc[0]["ci_high"]], [expected["low"], expected["high"]],
                 CLOSED_FORM_TOL, f"{name} exact CI")
    assert pd.isna(exact.iloc[0]["tau2"]) and pd.isna(exact.iloc[0]["pi_low"]) and pd.isna(exact.iloc[0]["i2"])
