"""The number finder on the forms trial reports use (sentences in the project's own words)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialmeta.extract.numbers import find_landmarks, find_quantities, parse_int, split_sentences


def only(sentence):
    found = find_quantities(sentence)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    "sentence, form, events, total, percent",
    [
        ("remission was seen in 93.9% (14/15) of them", "percent_fraction", 14, 15, 93.9),
        ("the syndrome was seen (26.7%, 4/15)", "percent_fraction", 4, 15, 26.7),
        ("negativity in 21/22 (95.5%)", "fraction_percent", 21, 22, 95.5),
        ("fever in 18 of 20 patients (90%)", "fraction_percent", 18, 20, 90.0),
        ("All 20 patients (100%) responded", "all_n", 20, 20, 100.0),
        ("all twelve children responded", "all_n", 12, 12, None),
        ("the rate was 91% (n = 22)", "percent_n", None, 22, 91.0),
        ("fourteen of fifteen responded", "fraction", 14, 15, None),
        ("twenty-one out of 23 responded", "fraction", 21, 23, None),
        ("we saw 12 patients (85.7%) convert", "count_percent", 12, None, 85.7),
        ("a response in 14/15", "fraction", 14, 15, None),
    ],
)
def test_count_forms(sentence, form, events, total, percent):
    q = only(sentence)
    assert (q.form, q.events, q.total, q.percent) == (form, events, total, percent)


def test_percent_with_ci_keeps_bounds_as_printed():
    q = only("survival was 86% (95% CI, 68–104) at a year")
    assert (q.form, q.percent, q.ci_low, q.ci_high) == ("percent_ci", 86.0, 68.0, 104.0)
    q = only("survival was 77% (95% CI 55-99%)")
    assert (q.ci_low, q.ci_high) == (55.0, 99.0)


def test_plus_minus_is_a_standard_error_with_or_without_the_first_percent_sign():
    assert (only("EFS of 61.2% ± 14.0%").se, only("OS 78.6 ± 11.0%").percent) == (14.0, 78.6)


def test_confidence_level_is_not_a_value():
    forms = [q.form for q in find_quantities("the 95% CI was wide")]
    assert forms == []


def test_doses_and_exponents_are_not_fractions():
    assert find_quantities("doses of 5 × 106/kg and 1 × 10^6/kg were given") == []


@pytest.mark.parametrize(
    "sentence, months, low, high",
    [
        ("median follow-up 15.5 months (range, 2.5–33)", 15.5, 2.5, 33.0),
        ("followed for a median of 9 (3.5-20) months", 9.0, 3.5, 20.0),
        ("median follow-up of 647 days (range 172–945 days)", 647 / 30.4375, 172.0, 945.0),
    ],
)
def test_durations_convert_to_months(sentence, months, low, high):
    q = only(sentence)
    assert q.form == "duration"
    assert q.months == pytest.approx(months)
    assert (q.range_low, q.range_high) == (low, high)


@pytest.mark.parametrize(
    "sentence, months",
    [("the 1-year rate", [12]), ("a 12-month rate", [12]), ("at 24 months", [24]), ("Six-month OS", [6]),
     ("two-year EFS", [24]), ("at 1 year and 18 months", [12, 18])],
)
def test_landmarks(sentence, months):
    assert [lm.months for lm in find_landmarks(sentence)] == months


def test_sentences_do_not_break_after_abbreviations():
    text = "As Fig. 2 shows, OS was 80% vs. 70%. Relapse was rare (P = .04). Done."
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == ["As Fig. 2 shows, OS was 80% vs. 70%.", "Relapse was rare (P = .04).", "Done."]


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=500))
def test_any_fraction_round_trips(events, total):
    q = only(f"it happened in {events}/{total} of them")
    assert (q.events, q.total) == (events, total)


@given(st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=9))
def test_any_percentage_round_trips(whole, tenth):
    q = only(f"the rate was {whole}.{tenth}% overall")
    assert q.percent == pytest.approx(whole + tenth / 10)


def test_number_words():
    assert [parse_int(w) for w in ("fourteen", "Twenty-three", "7", "thirty one")] == [14, 23, 7, 31]
    with pytest.raises(ValueError):
        parse_int("many")


def test_fraction_glued_to_a_name_is_not_a_fraction():
    assert [q.form for q in find_quantities("anti-CD19/22 cells at 5 × 10^6/kg")] == []


def test_count_and_percent_after_a_slash_are_one_fraction():
    (quantity,) = find_quantities("seen in 2/18 patients (11.1%)")
    assert (quantity.form, quantity.events, quantity.total, quantity.percent) == ("fraction_percent", 2, 18, 11.1)


def test_percent_of_a_named_group_with_its_size():
    (quantity,) = find_quantities("in 85% of the response cohort (n = 20)")
    assert (quantity.form, quantity.total, quantity.percent) == ("percent_n", 20, 85.0)


def test_bounds_and_hedges_are_marked():
    bound, exact = find_quantities("more than 60% in earlier series and 45% here")
    assert (bound.bound, exact.bound) == (True, False)


def test_the_end_of_a_grade_range_is_not_a_count():
    assert [q.events for q in find_quantities("grade 1-2 in 9 patients")] == [9]


def test_passive_verb_makes_a_count_the_subject():
    (quantity,) = find_quantities("11 were infused")
    assert (quantity.form, quantity.events) == ("count_subject", 11)


def test_landmarks_listed_with_one_unit():
    landmarks = find_landmarks("EFS was 70% at 6 and 12 months, OS 80% at 2 years")
    assert [(lm.months, lm.group) for lm in landmarks] == [(6, 0), (12, 0), (24, 1)]


def test_a_citation_mark_after_the_full_stop_stays_with_its_sentence():
    text = "Relapse occurred in 4 of 9.^7 The present cohort was larger."
    assert [text[s:e] for s, e in split_sentences(text)] == ["Relapse occurred in 4 of 9.^7", "The present cohort was larger."]


def test_a_sentence_may_open_with_a_numeral():
    text = "Nineteen patients were infused. 12 patients reached CR. OS was 80.5% at 1 year. 3 relapsed."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Nineteen patients were infused.", "12 patients reached CR.", "OS was 80.5% at 1 year.", "3 relapsed."
    ]


def test_a_numeral_after_an_abbreviation_does_not_open_a_sentence():
    text = "As shown in Fig. 3 and Ref. 12 patients relapsed."
    assert [text[s:e] for s, e in split_sentences(text)] == [text]


@pytest.mark.parametrize(
    "sentence",
    ["CRS was seen in 13/15 patients (86.7%).", "CRS was seen in 13 of 15 patients (86.7%).",
     "CRS was seen in 13 / 15 treated patients (86.7%).", "CRS: 13/15 (86.7%) patients."],
)
def test_a_percent_after_a_fraction_belongs_to_the_fraction_not_to_its_denominator(sentence):
    (quantity,) = find_quantities(sentence)
    # 13/15 = 86.67%: the percent pairs with 13 events of 15, never with a count of 15
    assert (quantity.form, quantity.events, quantity.total, quantity.percent) == ("fraction_percent", 13, 15, 86.7)
