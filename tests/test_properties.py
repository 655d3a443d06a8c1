"""Property-based tests (hypothesis): the number parser reads back what a
generated sentence prints, and effect sizes transform back to the proportion.

The sentences are written by the test from generated numbers, so the expected
values are the generated numbers themselves; number words are spelled by the
test's own speller, not by the parser's table.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trialmeta.pool.effects import back_transform, freeman_tukey, proportion_effects
from trialmeta.extract.numbers import find_quantities, parse_int

UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}


def spell(number: int, joiner: str = "-") -> str:
    """English words for 0-99 ("twenty-three")."""
    if number < 20:
        return UNITS[number]
    tens, units = divmod(number, 10)
    return TENS[tens] + (joiner + UNITS[units] if units else "")


counts = st.integers(min_value=1, max_value=999).flatmap(
    lambda total: st.tuples(st.integers(min_value=0, max_value=total), st.just(total))
)
decimals = st.integers(min_value=0, max_value=2)


def printed_percent(events: int, total: int, places: int) -> str:
    return f"{100 * events / total:.{places}f}"


def only(sentence: str):
    quantities = find_quantities(sentence)
    assert len(quantities) == 1, (sentence, quantities)
    return quantities[0]


# --- the number parser ------------------------------------------------------------------


@given(counts, decimals)
def test_fraction_then_percent_reads_back(pair, places):
    events, total = pair
    percent = printed_percent(events, total, places)
    q = only(f"Remission was reached in {events}/{total} ({percent}%) of the cohort.")
    assert (q.events, q.total, q.percent) == (events, total, float(percent))


@given(counts, decimals, st.sampled_from([" ", ""]))
def test_percent_then_fraction_reads_back(pair, places, space):
    events, total = pair
    percent = printed_percent(events, total, places)
    q = only(f"Remission was reached in {percent}%{space}({events}/{total}).")
    assert (q.events, q.total, q.percent) == (events, total, float(percent))


@given(st.integers(min_value=0, max_value=99), st.integers(min_value=1, max_value=99), st.booleans(), st.booleans())
def test_counts_in_words_read_back(events, total, words, capital):
    assume(events <= total)
    first = spell(events) if words else str(events)
    first = first.capitalize() if capital else first
    second = spell(total) if words else str(total)
    percent = printed_percent(events, total, 1)
    q = only(f"{first} of {second} patients ({percent}%) relapsed.")
    assert (q.events, q.total, q.percent) == (events, total, float(percent))


@given(st.integers(min_value=0, max_value=99), st.sampled_from(["-", " "]), st.sampled_from([str.lower, str.upper, str.title]))
def test_number_words_parse_to_their_value(number, joiner, case):
    assert parse_int(case(spell(number, joiner))) == number


@given(st.text(max_size=12))
def test_parse_int_gives_a_whole_number_or_a_value_error(token):
    try:
        value = parse_int(token)
    except ValueError:
        return
    assert isinstance(value, int) and value >= 0


@given(
    st.integers(min_value=0, max_value=1000), st.integers(min_value=0, max_value=1000),
    st.integers(min_value=0, max_value=1000), st.sampled_from(["-", "–", " to "]),
)
def test_percent_with_confidence_interval_reads_back(a, b, c, dash):
    low, estimate, high = sorted((a, b, c))
    low, estimate, high = low / 10, estimate / 10, high / 10
    q = only(f"The 1-year OS was {estimate:g}% (95% CI, {low:g}{dash}{high:g}).")
    assert (q.percent, q.ci_low, q.ci_high) == (estimate, low, high)


@given(st.integers(min_value=0, max_value=1000), st.integers(min_value=1, max_value=300))
def test_percent_with_standard_error_reads_back(estimate, error):
    q = only(f"The 1-year OS was {estimate / 10:g}% ± {error / 10:g}%.")
    assert (q.percent, q.se) == (estimate / 10, error / 10)


sentence_text = st.lists(
    st.sampled_from(list("0123456789 /%().,;-–±abcdefnoprstuvwxyAlOfN=") + [" of ", " patients", " months", "all "]),
    max_size=60,
).map("".join)


@settings(max_examples=300)
@given(sentence_text)
def test_any_text_gives_ordered_disjoint_quantities_that_quote_the_text(sentence):
    quantities = find_quantities(sentence)
    for q in quantities:
        assert sentence[q.start : q.end] == q.raw
        assert q.total is None or q.total > 0
    for before, after in zip(quantities, quantities[1:]):
        assert before.end <= after.start


# --- effect sizes ---------------------------------------------------------------------------

inner_counts = st.integers(min_value=2, max_value=2000).flatmap(
    lambda total: st.tuples(st.integers(min_value=1, max_value=total - 1), st.just(total))
)


@pytest.mark.parametrize("measure", ["PLO", "PAS", "PR"])
@given(pair=inner_counts)
def test_effect_sizes_transform_back_to_the_proportion(measure, pair):
    events, total = pair
    effects = proportion_effects([events], [total], measure)
    assert not effects.corrected[0]  # strictly between 0 and n: no continuity correction
    assert back_transform(effects.yi, measure)[0] == pytest.approx(events / total, rel=1e-12, abs=1e-15)
    assert np.isfinite(effects.vi[0]) and effects.vi[0] > 0


@given(pair=st.integers(min_value=1, max_value=2000).flatmap(
    lambda total: st.tuples(st.integers(min_value=0, max_value=total), st.just(total))
))
def test_freeman_tukey_transforms_back_at_the_study_size(pair):
    # one study: the harmonic mean of the sizes is its own size, where Miller's inverse is exact
    events, total = pair
    effects = proportion_effects([events], [total], "PFT")
    assert effects.yi[0] == pytest.approx(float(freeman_tukey(events, total)), abs=1e-15)
    assert back_transform(effects.yi, "PFT", [total])[0] == pytest.approx(events / total, abs=1e-9)


@pytest.mark.parametrize("measure", ["PLO", "PFT", "PAS", "PR"])
@given(total=st.integers(min_value=2, max_value=500))
def test_effect_sizes_grow_with_the_events(measure, total):
    yi = proportion_effects(np.arange(total + 1), np.full(total + 1, total), measure).yi
    assert np.all(np.isfinite(yi)) and np.all(np.diff(yi) > 0)


@pytest.mark.parametrize("measure", ["PLO", "PR"])
@given(total=st.integers(min_value=1, max_value=2000), at_top=st.booleans())
def test_a_study_at_a_bound_is_corrected_towards_the_middle(measure, total, at_top):
    events = total if at_top else 0
    effects = proportion_effects([events], [total], measure)
    assert effects.corrected[0]
    back = back_transform(effects.yi, measure)[0]
    # half an event added to events and non-events: (x + 1/2) / (n + 1)
    assert back == pytest.approx((events + 0.5) / (total + 1), rel=1e-12)
