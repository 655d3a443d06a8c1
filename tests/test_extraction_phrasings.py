"""Phrasings real trial reports use, taught by the development corpus (dev/corpus/, not in CI).

Each case is a short report written in this project's own words (no sentence of a real paper)
with the value a careful reviewer reads from it. The whole paper is extracted, so mentions,
cohort, binding, candidates and choice all take part.
"""

import pytest

from trialmeta.extract.extraction import extract_paper
from trialmeta.extract.lexicon import load_lexicon

LEXICON = load_lexicon("resources/lexicon.yaml")


def chosen(tmp_path, text: str) -> dict:
    path = tmp_path / "paper.txt"
    path.write_text(text, encoding="utf-8")
    record = extract_paper(str(path), LEXICON)
    out = {}
    for choice in record["chosen"]:
        c = record["candidates"][choice["candidate"]]
        out[(c["endpoint"], c["landmark_months"])] = c
    return out


ALL = "Adults with B-cell acute lymphoblastic leukemia (B-ALL) joined this single-arm trial. "


@pytest.mark.parametrize(
    "text, treated",
    [
        ("Sixty-two adults were registered and a total of 54 adults received the CAR T cells.", 54),
        ("In all, 31 patients were infused and included in the analysis.", 31),
        ("Of 40 patients who underwent leukapheresis, 35 (88%) received the product.", 35),
        ("Twenty-six out of 30 enrolled patients completed the CAR T infusion.", 26),
        ("The cells were given to 18 children with relapsed disease.", 18),
        ("One hundred twelve patients received the infusion.", 112),
        ("In the treated population (N = 77), fever was common.", 77),
    ],
)
def test_cohort_statements(tmp_path, text, treated):
    assert chosen(tmp_path, ALL + text)[("n_treated", None)]["total"] == treated


@pytest.mark.parametrize(
    "text",
    [
        # a drug for a side effect, a transplant, "the first N": none of them is the cohort
        "Nine patients received tocilizumab for fever.",
        "After remission, 14 patients received an allogeneic transplant.",
        "The first 8 patients received the lower dose.",
        "For comparison we used 60 patients treated with chemotherapy at our centre.",
    ],
)
def test_counts_that_are_not_the_cohort(tmp_path, text):
    assert chosen(tmp_path, ALL + "Thirty adults were infused. " + text)[("n_treated", None)]["total"] == 30


def test_fraction_with_percent_and_ci_is_one_value(tmp_path):
    values = chosen(tmp_path, ALL + "Twenty patients were infused. CR was reached by 17 of 20 patients (85%; 95% CI, 62 to 97).")
    cr = values[("cr_cri", None)]
    assert (cr["events"], cr["total"], cr["ci_low"], cr["ci_high"]) == (17, 20, 0.62, 0.97)


def test_two_endpoints_in_one_sentence_each_keep_their_own(tmp_path):
    values = chosen(tmp_path, ALL + "Twelve patients were infused. All 12 (100%) reached CR, and 10 of 12 (83%) had no detectable MRD by flow.")
    assert values[("cr_cri", None)]["events"] == 12
    assert (values[("mrd_neg", None)]["events"], values[("mrd_neg", None)]["total"]) == (10, 12)


def test_an_abbreviation_the_paper_defines_is_recognised_later(tmp_path):
    text = (ALL + "Sixteen patients were infused. The goal was MRD-negative complete remission (MRD-CR) at day 28. "
            "At day 28, MRD -CR was seen in 13 of 16 patients.")
    assert chosen(tmp_path, text)[("mrd_neg", None)]["events"] == 13


@pytest.mark.parametrize(
    "sentence, events",
    [
        ("Severe CRS occurred in 3 of 25 patients.", 3),
        ("CRS of grade > 2 affected 2 of 25 patients.", 2),
        ("CRS of grade 3 or higher was seen in 4 of 25 patients.", 4),
        ("Grade 3/4 CRS occurred in 5 of 25 patients.", 5),
    ],
)
def test_severe_grade_wordings(tmp_path, sentence, events):
    values = chosen(tmp_path, ALL + "Twenty-five adults were infused. " + sentence)
    assert values[("crs_grade3plus", None)]["events"] == events


def test_grade_cue_before_a_list_of_endpoints_qualifies_each(tmp_path):
    values = chosen(tmp_path, ALL + "Fifty adults were infused. Grade 3 or higher CRS and neurotoxicity occurred in 10% and 4%, respectively.")
    assert values[("crs_grade3plus", None)]["estimate"] == pytest.approx(0.10)
    assert values[("icans_grade3plus", None)]["estimate"] == pytest.approx(0.04)
    assert ("icans_any", None) not in values


def test_sentence_initial_number_word_with_percent(tmp_path):
    values = chosen(tmp_path, ALL + "Forty-six patients were infused. Forty (87%) patients achieved CR or CRi.")
    assert values[("cr_cri", None)]["events"] == 40


def test_overall_response_is_cr_in_all_but_not_where_partial_responses_exist(tmp_path):
    leukemia = ALL + "Thirty adults were infused. The overall response rate was 80%."
    assert chosen(tmp_path, leukemia)[("cr_cri", None)]["estimate"] == pytest.approx(0.80)
    lymphoma = ("Adults with lymphoma joined this trial. Thirty adults were infused. The overall response rate was 80%, "
                "with partial responses in 30%.")
    assert ("cr_cri", None) not in chosen(tmp_path, lymphoma)


def test_values_of_another_study_or_of_a_subgroup_are_not_chosen(tmp_path):
    text = (ALL + "In an earlier trial, approval was based on a CR rate of 81% [3]. Forty adults were infused. "
            "Among responders, the 1-year OS was 90%. CR was reached by 30 of 40 (75%).")
    values = chosen(tmp_path, text)
    assert values[("cr_cri", None)]["events"] == 30
    assert ("os", 12.0) not in values


def test_values_compared_between_two_products_are_not_the_cohorts(tmp_path):
    text = ("Adults with myeloma received one of two CAR T products. CRS was seen in 80% of product A and 70% of "
            "product B patients, a difference that was not significant.")
    assert ("crs_any", None) not in chosen(tmp_path, text)


def test_relapsed_refractory_names_the_population_not_a_relapse(tmp_path):
    values = chosen(tmp_path, "Thirty-three relapsed/refractory patients were infused.")
    assert ("relapse", None) not in values


def test_no_significant_difference_is_no_zero(tmp_path):
    values = chosen(tmp_path, ALL + "Twenty adults were infused. There was no significant difference in CR between age groups.")
    assert ("cr_cri", None) not in values
