"""Effect sizes and back-transformations against metafor's escalc and transf.* functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metafor_reference import CLOSED_FORM_TOL, assert_close, dataset, number, reference
from trialmeta.pool.effects import back_transform, freeman_tukey, proportion_effects

ESCALC = reference()["escalc"]


def _escalc_id(entry: dict) -> str:
    correction = "default" if entry["add"] is None else f"{entry['add']}-{entry['to']}"
    return f"{entry['dataset']}-{entry['measure']}-{correction}"


@pytest.mark.parametrize("entry", ESCALC, ids=[_escalc_id(e) for e in ESCALC])
def test_escalc_matches_metafor(entry: dict) -> None:
    events, total = dataset(entry["dataset"])
    if entry["add"] is None:
        effects = proportion_effects(events, total, entry["measure"])
    else:
        effects = proportion_effects(events, total, entry["measure"], add=entry["add"], to=entry["to"])
    assert_close(effects.yi, entry["yi"], CLOSED_FORM_TOL, "yi")
    assert_close(effects.vi, entry["vi"], CLOSED_FORM_TOL, "vi")


@pytest.mark.parametrize("measure", ["PFT", "PAS", "PLO"])
def test_back_transform_matches_metafor(measure: str) -> None:
    # a grid from below 0 to beyond the upper end of each scale, so that the
    # clipping of transf.ipft.hm and transf.iarcsin is exercised
    transforms = reference()["transforms"]
    got = back_transform(number(transforms["values"]), measure, number(transforms["total"]))
    assert_close(got, transforms[measure], CLOSED_FORM_TOL, f"{measure} back-transform")


def test_logit_by_hand() -> None:
    # 12/14: logit = log(12/2) = log 6, variance 1/12 + 1/2.
    # 15/15 is at 100%: 1/2 is added to events and non-events, 15.5 / 0.5:
    # logit = log 31, variance 1/15.5 + 1/0.5.
    effects = proportion_effects([12, 15], [14, 15], "PLO")
    assert effects.yi == pytest.approx([math.log(6), math.log(31)], rel=1e-15)
    assert effects.vi == pytest.approx([1 / 12 + 1 / 2, 1 / 15.5 + 2], rel=1e-15)
    assert effects.corrected.tolist() == [False, True]
    assert effects.add == 0.5


def test_raw_proportion_by_hand() -> None:
    # 3/20 = 0.15, variance 0.15 * 0.85 / 20; 0/8 becomes 0.5/9.
    effects = proportion_effects([3, 0], [20, 8], "PR")
    assert effects.yi == pytest.approx([0.15, 0.5 / 9], rel=1e-15)
    assert effects.vi == pytest.approx([0.15 * 0.85 / 20, (0.5 / 9) * (8.5 / 9) / 9], rel=1e-15)


def test_arcsine_scales_need_no_correction() -> None:
    # 0/9: PAS = asin(0) = 0 with variance 1/36; PFT = asin(sqrt(1/10)) / 2
    # with variance 1/38. No study is corrected by default.
    pas = proportion_effects([0], [9], "PAS")
    pft = proportion_effects([0], [9], "PFT")
    assert pas.yi[0] == 0 and pas.vi[0] == pytest.approx(1 / 36)
    assert pft.yi[0] == pytest.approx(math.asin(math.sqrt(0.1)) / 2)
    assert pft.vi[0] == pytest.approx(1 / 38)
    assert pas.add == pft.add == 0
    assert not pas.corrected.any() and not pft.corrected.any()


def test_if0all_corrects_every_study_when_one_is_at_a_bound() -> None:
    effects = proportion_effects([0, 3, 5], [10, 20, 15], "PLO", to="if0all")
    assert effects.corrected.all()
    assert effects.yi[1] == pytest.approx(math.log(3.5 / 17.5))


def test_uncorrected_logit_at_zero_is_not_estimable() -> None:
    # as escalc, which recodes the infinite logit to NA
    effects = proportion_effects([0, 3], [10, 20], "PLO", to="none")
    assert np.isnan(effects.yi[0]) and np.isnan(effects.vi[0])
    assert np.isfinite(effects.yi[1])


def test_freeman_tukey_back_transform_inverts_at_the_harmonic_mean() -> None:
    # with equal study sizes the harmonic mean is that size, so the PFT of
    # x/n maps back to x/n exactly (Miller 1978)
    total = np.full(3, 20.0)
    for events in (1, 7, 13, 19):
        assert back_transform(freeman_tukey(events, 20), "PFT", total) == pytest.approx(events / 20, abs=1e-12)
    assert back_transform(freeman_tukey(0, 20), "PFT", total) == 0
    assert back_transform(freeman_tukey(20, 20), "PFT", total) == 1


def test_back_transform_keeps_shape_and_raw_scale() -> None:
    assert isinstance(back_transform(0.0, "PLO"), float)
    assert back_transform(0.0, "PLO") == 0.5
    assert back_transform([1.2, -0.1], "PR").tolist() == [1.2, -0.1]  # not clipped, as metafor
    assert back_transform(2.0, "PAS") == 1.0


def test_pft_back_transform_needs_the_totals() -> None:
    with pytest.raises(ValueError, match="study sizes"):
        back_transform(0.5, "PFT")


def test_effect_sizes_are_read_only() -> None:
    effects = proportion_effects([5, 3], [15, 20], "PLO")
    with pytest.raises(ValueError):
        effects.yi[0] = 0.0
    assert effects.k == 2


@pytest.mark.parametrize(
    ("events", "total", "message"),
    [
        ([16], [15], r"events > total in studies 0 \(16 > 15\)"),
        ([-1], [15], "must not be negative"),
        ([3], [0], "total must be > 0"),
        ([3, 4], [15], "differ in length"),
        ([], [], "no studies"),
        ([np.nan], [10], "finite"),
    ],
)
def test_invalid_counts_are_refused(events: list, total: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        proportion_effects(events, total, "PLO")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"measure": "OR"}, "unknown measure"),
        ({"measure": "PLO", "to": "some"}, "correction target"),
        ({"measure": "PLO", "add": -0.5}, "add must be"),
    ],
)
def test_invalid_options_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        proportion_effects([5], [10], **kwargs)
