"""Phrasings real trial reports use, taught by the development corpus (dev/corpus/, not in CI).

Each case is a short report written in this project's own words (no sentence of a real paper)
with the value a careful reviewer reads from it. The whole paper is extracted, so mentions,
cohort, binding, candidates and choice all take part.
"""

import pandas as pd
import pytest

from trialmeta.extract.extraction import extract_paper
from trialmeta.extract.lexicon import load_lexicon
from trialmeta.harmonise.table import harmonise

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
        ("Overall, 44 adults with untreated lymphoma initiated four cycles of the combination.", 44),
        ("Nine children with a median age of six years (range, three to eleven) with marrow relapse "
         "received one dose of the cells.", 9),
        ("Thirty-eight adults with a median follow-up of 20.5 months were treated.", 38),
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
        "Eleven patients receiving tocilizumab recovered within two days.",
        "Of the 28 evaluable for response (3 started in remission), 25 reached CR.",
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


def test_a_percentage_names_its_denominator_when_the_sentence_counts_that_group(tmp_path):
    text = ALL + "Sixty adults were infused. Fifty (83%) patients reached CR, with 45 (90%) of them MRD-negative."
    mrd = chosen(tmp_path, text)[("mrd_neg", None)]
    assert (mrd["events"], mrd["total"]) == (45, 50)  # 45 / 50 = 90%, the 50 responders


def test_a_duration_belongs_to_the_phrase_next_to_it(tmp_path):
    text = ALL + "Twenty adults were infused. Responses lasted 9.5 months in median (DOR), over a median follow-up of 18 months."
    assert chosen(tmp_path, text)[("followup_median_months", None)]["estimate"] == pytest.approx(18.0)


def test_a_value_after_a_finished_respectively_list_is_not_given_to_it(tmp_path):
    text = (ALL + "Thirty adults were infused. Deaths by day 30 and by day 60 reached 2% and 8%, respectively, "
            "and overall survival had a median of 11 months.")
    values = chosen(tmp_path, text)
    assert not any(key[0] == "os" for key in values)


def test_a_counted_death_is_not_a_relapse(tmp_path):
    text = ALL + "Thirty adults were infused. One patient died of infection, and 4 patients relapsed later."
    relapse = chosen(tmp_path, text)[("relapse", None)]
    assert relapse["events"] == 4


def test_two_equally_credible_values_are_left_for_a_reviewer(tmp_path):
    path = tmp_path / "paper.txt"
    path.write_text(ALL + "Forty adults were infused. The CR rate was 70%. In a later analysis the CR rate was 80%.")
    record = extract_paper(str(path), LEXICON)
    assert all(record["candidates"][c["candidate"]]["endpoint"] != "cr_cri" for c in record["chosen"])
    assert [a["endpoint"] for a in record["ambiguous"]] == ["cr_cri"]
    reasons = {c["why_not_chosen"] for c in record["candidates"] if c["endpoint"] == "cr_cri"}
    assert reasons == {"as credible as another value for this endpoint: left for a reviewer (check ambiguous_value)"}


# Two abstracts in the form CAR-T reports in B-ALL take, written for this test: every value a
# reviewer would take, and nothing else.
ABSTRACT_ADULTS = (
    "CD19-directed CAR T cells in adults with relapsed B-cell acute lymphoblastic leukemia (B-ALL).\n"
    "Of the 30 patients enrolled, 27 received CAR T-cell infusion. The CR/CRi rate at day 28 was 85.2% (23/27). "
    "MRD-negative CR was achieved in 21 of the 23 responders (91.3%). With a median follow-up of 12.5 months "
    "(range, 3-30), the 1-year OS and LFS were 72.1% (95% CI, 55.0-85.0) and 60.3% (95% CI, 44.1-75.2), "
    "respectively. CRS occurred in 24 patients (88.9%), including grade 3 or higher CRS in 4 (14.8%). "
    "Neurotoxicity was observed in 3 patients (11.1%), all grade 1-2. Seven patients relapsed after achieving CR, "
    "including 3 with CD19-negative relapse. The 2-year EFS was 45%."
)
ABSTRACT_CHILDREN = (
    "Tandem CD19/CD22 CAR T cells for children with relapsed or refractory B-ALL.\n"
    "A total of 42 children and young adults were treated. Overall, 38 patients (90.5%) achieved complete "
    "remission or CR with incomplete count recovery (CR/CRi) within 28 days. Grade ≥3 CRS developed in 6 "
    "patients (14.3%), and grade ≥3 ICANS in 2 (4.8%). No grade 4 or 5 neurotoxicity was reported. At a median "
    "follow-up of 18 months, 12 patients had relapsed, 8 of them with CD19-negative disease. The estimated "
    "12-month event-free survival was 55.6% (95% CI, 40.2%–68.4%). Twenty-three of the 38 responders (60.5%) "
    "proceeded to allogeneic HSCT. The cumulative incidence of relapse at 1 year was 25.3%."
)


@pytest.mark.parametrize(
    "text, expected",
    [
        (ABSTRACT_ADULTS, {
            ("n_enrolled", None): (None, 30, None), ("n_treated", None): (None, 27, None),
            ("cr_cri", None): (23, 27, 0.852), ("mrd_neg", None): (21, 23, 0.913),
            ("followup_median_months", None): (None, None, 12.5), ("os", 12): (None, None, 0.721),
            ("lfs", 12): (None, None, 0.603), ("crs_any", None): (24, None, 0.889),
            ("crs_grade3plus", None): (4, None, 0.148), ("icans_any", None): (3, None, 0.111),
            ("icans_grade3plus", None): (0, None, 0.0), ("relapse", None): (7, None, None),
            ("efs", 24): (None, None, 0.45),
        }),
        (ABSTRACT_CHILDREN, {
            ("n_treated", None): (None, 42, None), ("cr_cri", None): (38, None, 0.905),
            ("crs_grade3plus", None): (6, None, 0.143), ("icans_grade3plus", None): (2, None, 0.048),
            ("followup_median_months", None): (None, None, 18.0), ("relapse", None): (12, None, None),
            ("efs", 12): (None, None, 0.556), ("relapse_cuminc", 12): (None, None, 0.253),
        }),
    ],
    ids=["adults", "children"],
)
def test_a_whole_abstract(tmp_path, text, expected):
    values = chosen(tmp_path, text)
    got = {key: (c["events"], c["total"], None if c["estimate"] is None else round(c["estimate"], 3))
           for key, c in values.items()}
    assert got == expected


def test_an_ambiguous_endpoint_is_a_check_in_harmonise(tmp_path):
    from trialmeta.harmonise.table import harmonise

    path = tmp_path / "paper.txt"
    path.write_text(ALL + "Forty adults were infused. The CR rate was 70%. In a later analysis the CR rate was 80%.")
    tables = harmonise([extract_paper(str(path), LEXICON)], curation_dir=None)
    checks = tables["checks"]
    row = checks[checks["check"] == "ambiguous_value"].iloc[0]
    assert row["endpoint"] == "cr_cri" and "70%, 80%" in row["detail"]
    assert "cr_cri" not in set(tables["endpoints"]["endpoint"])


def test_a_survival_estimate_of_a_group_the_sentence_opens_with_is_not_the_cohorts(tmp_path):
    # the 1-year EFS of the 25 in remission (a part of the 40 infused) is that group's, not the cohort's
    text = (ALL + "Forty adults were infused. The 1-year EFS was 48%. "
            "In 25 adults still in remission after day 90, the 1-year EFS was 66%.")
    values = chosen(tmp_path, text)
    assert values[("efs", 12.0)]["estimate"] == pytest.approx(0.48)


def test_a_study_that_includes_its_patients_gives_the_denominator(tmp_path):
    # no treated count: the 120 the trial included are the cohort a bare percentage is over (harmonise)
    from trialmeta.harmonise.table import harmonise

    path = tmp_path / "paper.txt"
    path.write_text("Adults with myeloma joined this phase 2 trial. The trial included 120 evaluable patients. "
                    "The complete response rate was 25%.", encoding="utf-8")
    endpoints = harmonise([extract_paper(str(path), LEXICON)], curation_dir=None)["endpoints"]
    cr = endpoints[endpoints["endpoint"] == "cr_cri"].iloc[0]
    assert (cr["events"], cr["total"]) == (30, 120)  # 25% of 120 = 30


def test_a_sentence_opening_with_a_described_part_gives_that_parts_values(tmp_path):
    # a registry of two diseases: the lymphoma value is one part's, the next sentence is the cohort's
    text = ("A registry followed 300 patients given the product for leukaemia or lymphoma. "
            "Among adults with lymphoma, the complete response rate was 41%. "
            "Severe CRS occurred in 9% of all patients.")
    values = chosen(tmp_path, text)
    assert ("cr_cri", None) not in values
    assert values[("crs_grade3plus", None)]["estimate"] == pytest.approx(0.09)


def test_two_follow_up_times_for_two_diseases_are_neither_the_cohorts(tmp_path):
    text = ("A registry followed 300 patients given the product, with a median follow-up of 10.2 and 8.5 "
            "months for leukaemia and lymphoma, respectively.")
    assert ("followup_median_months", None) not in chosen(tmp_path, text)


def test_in_patients_with_the_disease_names_the_whole_cohort(tmp_path):
    text = ("Fifty adults with myeloma were treated. In heavily treated adults with myeloma, the product "
            "gave a complete response rate of 30%.")
    assert chosen(tmp_path, text)[("cr_cri", None)]["estimate"] == pytest.approx(0.30)


def test_a_decimal_before_a_bracket_does_not_end_the_sentence(tmp_path):
    # "27.0 (range, ...)": the point is a decimal point, so the follow-up and its value stay together
    text = ALL + "Twenty adults were infused. After a median follow-up of 14.0 (range, 9.5-20.1) months, 15 of 20 were alive."
    assert chosen(tmp_path, text)[("followup_median_months", None)]["estimate"] == pytest.approx(14.0)


def test_patients_with_the_disease_in_a_cohort_statement_name_no_subgroup(tmp_path):
    text = ("CAR T cells in chronic lymphocytic leukaemia. We studied 38 patients with relapsed CLL treated on a "
            "phase 2 trial, with a median follow-up of 41.5 months.")
    values = chosen(tmp_path, text)
    assert values[("n_treated", None)]["total"] == 38
    assert values[("followup_median_months", None)]["estimate"] == pytest.approx(41.5)


@pytest.mark.parametrize(
    "sentence, months",
    [
        # the time right before "of follow-up", not the median survival before it
        ("Median OS was 9.1 (6.0-12.2) months, with a median of 20.5 (range, 4.1-30.2) months of follow-up.", 20.5),
        ("We report updated results (N = 20; 31.4-month median follow-up).", 31.4),
        # an approximate time is no value
        ("Later data (about 40-month median follow-up) will follow; at a median follow-up of 22.3 months, "
         "the cohort was analysed.", 22.3),
    ],
)
def test_follow_up_wordings(tmp_path, sentence, months):
    values = chosen(tmp_path, ALL + "Twenty adults were infused. " + sentence)
    assert values[("followup_median_months", None)]["estimate"] == pytest.approx(months)


def test_a_part_of_cr_cri_alone_is_not_its_value(tmp_path):
    # the 12 with CRp are a part: CR/CRi is 10 + 12 = 22 of 50, never 12
    text = (ALL + "Fifty adults were infused. In all, 10 patients (20%) reached a complete remission (CR) and "
            "12 (24%) had a CR with incomplete platelet recovery (CRp).")
    assert chosen(tmp_path, text)[("cr_cri", None)]["events"] == 22


def test_the_composite_beside_cr_alone_is_the_endpoints(tmp_path):
    text = (ALL + "Forty adults were infused. The rate of CR plus CR with partial hematologic recovery (CRh) was 45.0% "
            "(95% confidence interval [CI], 29.3% to 61.5%); CR alone 30.0% (95% CI, 16.6% to 46.5%).")
    cr = chosen(tmp_path, text)[("cr_cri", None)]
    assert (cr["estimate"], cr["ci_low"], cr["ci_high"]) == (pytest.approx(0.45), pytest.approx(0.293), pytest.approx(0.615))


def test_two_decimal_times_in_a_list_are_no_landmarks_of_a_response(tmp_path):
    text = (ALL + "Forty adults were infused. Durations of CR/CRi and of CR were not reached (lower bounds 3.6 and "
            "4.2 months); 70.5% and 75.0% remained in remission.")
    assert not [key for key in chosen(tmp_path, text) if key[0] == "cr_cri" and key[1] is not None]


def test_a_treated_group_smaller_than_the_cohort_is_a_part(tmp_path):
    text = (ALL + "Forty adults were infused. Among 8 patients who received a second product, 7 (88%) reached CR. "
            "Overall, CR was reached by 30 of 40 (75%).")
    assert chosen(tmp_path, text)[("cr_cri", None)]["events"] == 30


def test_an_opening_group_named_evaluable_after_its_noun_is_the_evaluable_cohort(tmp_path):
    text = ("Adults with myeloma joined this phase 2 trial. A total of 120 adults were treated. "
            "Of the 96 patients in the efficacy-evaluable set, the complete response rate was 30% (95% CI, 21-40).")
    cr = chosen(tmp_path, text)[("cr_cri", None)]
    assert (cr["total"], cr["estimate"]) == (96, pytest.approx(0.30))


# -- binding and cohort forms taught by the corpus (2026-12-02, second pass) --

def test_a_value_that_completes_the_phrase_before_it_is_that_phrases(tmp_path):
    # the percentage after "was" belongs to the overall response, not to the CR phrase after "with"
    text = ("Adults with lymphoma were treated; 50 patients received the drug. The overall response rate at "
            "3 months was 64.0% with a complete response rate of 38.0%.")
    values = chosen(tmp_path, text)
    assert values[("cr_cri", None)]["estimate"] == pytest.approx(0.38)


def test_a_share_of_patients_achieving_an_endpoint_is_that_endpoints(tmp_path):
    text = ("Forty patients with myeloma received the cells. Responses were seen in most: an overall "
            "response rate of 92%, with 61% of all treated patients achieving a complete response.")
    assert chosen(tmp_path, text)[("cr_cri", None)]["estimate"] == pytest.approx(0.61)


def test_counted_subjects_with_other_verbs_are_no_values_of_the_endpoint_before(tmp_path):
    text = (ALL + "In total, 30 patients received the cells. Twenty-four (80%) reached CR/CR with "
            "incomplete count recovery, 3 (10%) had progressive disease and 3 (10%) "
            "dropped out before assessment.")
    value = chosen(tmp_path, text)[("cr_cri", None)]
    assert (value["events"], value["estimate"]) == (24, pytest.approx(0.80))


def test_a_with_clause_before_an_achievement_is_no_baseline(tmp_path):
    text = (ALL + "Data of 25 patients were reviewed. A total of 20 patients (80.0%), including 9 (36.0%) "
            "with a high marrow burden, achieved morphologic CR.")
    assert chosen(tmp_path, text)[("cr_cri", None)]["events"] == 20


def test_a_value_in_brackets_belongs_to_the_word_before_the_bracket(tmp_path):
    # "fatigue (31.0%)": neither the fatigue nor the fever value is a CRS value
    text = ("Eighty patients with lymphoma were treated. Frequent adverse events were cytokine release "
            "syndrome (45.0%), fatigue (31.0%) and fever (22.5%).")
    values = chosen(tmp_path, text)
    assert values[("crs_any", None)]["estimate"] == pytest.approx(0.45)
    record = extract_paper(str(tmp_path / "paper.txt"), LEXICON)
    assert [round(c["estimate"], 3) for c in record["candidates"] if c["endpoint"] == "crs_any"] == [0.45]


@pytest.mark.parametrize(
    "text, endpoint, total",
    [
        # a capital N after the patients it sizes is the study's size
        ("We give updated results in adults with lymphoma (N = 140; median follow-up 20 months).", "n_enrolled", 140),
        ("This registry study describes a cohort of 96 patients receiving the drug at 20 centres.", "n_enrolled", 96),
        ("Close to half (47%) of 1200 total recipients were over 65 years.", "n_treated", 1200),
    ],
)
def test_study_sizes_stated_in_passing(tmp_path, text, endpoint, total):
    assert chosen(tmp_path, text)[(endpoint, None)]["total"] == total


def test_an_opening_group_with_a_bracketed_abbreviation_sizes_its_values(tmp_path):
    text = ("Patients with lymphoma (N = 150) were treated. Of 110 measurable residual disease (MRD)-evaluable "
            "patients, 40.0% had MRD negativity.")
    value = chosen(tmp_path, text)[("mrd_neg", None)]
    assert (value["total"], value["cohort_kind"]) == (110, "evaluable")


def test_a_sentence_whose_subject_is_a_smaller_treated_group_speaks_of_that_group(tmp_path):
    text = ("Among 120 patients who received the drug, responses were assessed at day 28. Fifteen patients "
            "received the drug as third-line therapy, with CR/CRi achieved in 20%.")
    assert ("cr_cri", None) not in chosen(tmp_path, text)


def test_a_sustained_share_after_the_headline_is_a_part_of_it(tmp_path):
    text = ("Seventy patients with myeloma received the cells. In the 50 patients evaluable for MRD, 90% "
            "reached MRD negativity, which was sustained beyond 6 months in 40% and beyond 12 months in 20%.")
    value = chosen(tmp_path, text)[("mrd_neg", None)]
    assert (value["estimate"], value["total"]) == (pytest.approx(0.90), 50)


def test_a_paragraph_reporting_its_parts_in_turn_keeps_each_parts_values_apart(tmp_path):
    text = ("Seventy patients were treated (leukemia, n = 40; lymphoma, n = 30). Among children with leukemia, "
            "the CR rate was 80%. Their 12-month OS rate was 70%. Among adults with lymphoma, the CR rate "
            "was 45%. The 6-month OS rate was 60%. Grade 3 or higher CRS occurred in 10% of all patients.")
    values = chosen(tmp_path, text)
    assert ("os", 12) not in values and ("os", 6) not in values and ("cr_cri", None) not in values
    assert values[("crs_grade3plus", None)]["estimate"] == pytest.approx(0.10)


def test_a_time_is_no_clause_of_its_own(tmp_path):
    # the follow-up time before ", and" does not cut the list of endpoints from its values
    text = ("Sixty adults with lymphoma received the product. After a median follow-up of 14 months, the "
            "Kaplan-Meier estimates of OS, PFS, and nonrelapse mortality 12 months from infusion were 61%, "
            "35%, and 8%, respectively.")
    values = chosen(tmp_path, text)
    assert values[("os", 12)]["estimate"] == pytest.approx(0.61)


def test_values_across_dose_levels_and_their_bracketed_grades(tmp_path):
    text = ("Fifty adults with myeloma were treated. Pooled across dose levels, CRS was seen in 76% (4% grade "
            "≥3), neurotoxicity in 12% (6% grade ≥3), and infections in 28% of patients (8% grade ≥3).")
    values = chosen(tmp_path, text)
    assert values[("crs_any", None)]["estimate"] == pytest.approx(0.76)
    assert values[("crs_grade3plus", None)]["estimate"] == pytest.approx(0.04)
    assert values[("icans_any", None)]["estimate"] == pytest.approx(0.12)
    assert values[("icans_grade3plus", None)]["estimate"] == pytest.approx(0.06)


def test_bare_survival_at_a_landmark_is_overall_survival(tmp_path):
    text = "Forty children with leukemia were infused. Their 2-year survival was 66%, and median survival 30 months."
    assert chosen(tmp_path, text)[("os", 24)]["estimate"] == pytest.approx(0.66)


def test_the_cohorts_description_at_baseline_sizes_it(tmp_path):
    text = ("The 48 participants had a median age of 60 years. Complete response was reached by 50%.")
    values = chosen(tmp_path, text)
    assert values[("cr_cri", None)]["estimate"] == pytest.approx(0.5)
    assert values[("n_enrolled", None)]["total"] == 48


def test_landmarks_with_a_hanging_hyphen(tmp_path):
    text = "Twenty patients were infused. The 6- and 12-month LFS rates were 80% and 65%, respectively."
    values = chosen(tmp_path, text)
    assert (values[("lfs", 6)]["estimate"], values[("lfs", 12)]["estimate"]) == (pytest.approx(0.80), pytest.approx(0.65))


def test_a_graded_endpoint_seen_in_a_count(tmp_path):
    text = ("Thirty patients received the infusion. CRS of grade 3 or higher was seen in four (13.3%) and "
            "grade > 2 ICANS in one (3.3%).")
    values = chosen(tmp_path, text)
    assert values[("crs_grade3plus", None)]["events"] == 4
    assert values[("icans_grade3plus", None)]["events"] == 1


@pytest.mark.parametrize(
    "text, treated",
    [
        ("From 2018 to 2021, 58 patients were enrolled, of whom 51 received CAR T cells.", 51),
        # a small part of the enrolled is no cohort
        ("In all, 40 patients were enrolled, of whom 3 received the lower dose.", None),
        ("At the data cutoff, 40 pts had been infused.", 40),
        # "had received" tells the patients' history, not the cohort
        ("Eight patients had received inotuzumab before enrolment.", None),
    ],
)
def test_treated_cohorts_beside_the_enrolled_and_in_the_perfect(tmp_path, text, treated):
    value = chosen(tmp_path, ALL + text).get(("n_treated", None))
    assert (value or {}).get("total") == treated


def test_a_count_with_its_interval_in_one_bracket(tmp_path):
    text = ALL + "Forty patients were infused. The CR rate at day 28 was 90.0% (36/40; 95% CI, 76.3-97.2)."
    value = chosen(tmp_path, text)[("cr_cri", None)]
    assert (value["events"], value["total"], value["ci_low"], value["ci_high"]) == (36, 40, 0.763, 0.972)


def test_mrd_among_the_responders_is_a_whole_study_value_but_crs_among_them_is_not(tmp_path):
    text = (ALL + "Forty patients were infused. Of the 36 patients in CR, 30 (83.3%) had no detectable MRD. "
            "Of the 36 patients in CR, 4 had grade 3 CRS.")
    values = chosen(tmp_path, text)
    assert (values[("mrd_neg", None)]["events"], values[("mrd_neg", None)]["total"]) == (30, 36)
    assert ("crs_grade3plus", None) not in values


def test_values_among_the_responders(tmp_path):
    # MRD negativity among responders is over them; no other cohort's size is assumed for it
    text = (ALL + "Thirty adults received CAR T cells. Among responders, 90% were MRD-negative by flow "
            "cytometry. Among responders, grade 3 CRS was seen in 10%.")
    values = chosen(tmp_path, text)
    assert values[("mrd_neg", None)]["cohort_kind"] == "responders"
    assert ("crs_grade3plus", None) not in values
    record = extract_paper(str(tmp_path / "paper.txt"), LEXICON)
    row = harmonise([record], curation_dir=None)["endpoints"].set_index("endpoint").loc["mrd_neg"]
    assert row["total"] is pd.NA or pd.isna(row["total"])
    assert "unknown_denominator" in row["flags"]


def test_a_grade_cap_after_a_semicolon(tmp_path):
    text = ALL + "Twenty patients were infused. CRS occurred in 20 patients; none were grade 3 or higher."
    assert chosen(tmp_path, text)[("crs_grade3plus", None)]["events"] == 0


def test_the_evaluable_count_is_the_denominator_where_no_treated_count_is_stated(tmp_path):
    text = ALL + "In all, 25 patients were evaluable. CR/CRi was reached by 80%. CRS was seen in 60%."
    (tmp_path / "paper.txt").write_text(text, encoding="utf-8")
    record = extract_paper(str(tmp_path / "paper.txt"), LEXICON)
    assert record["cohort"] == {"evaluable": 25}
    rows = harmonise([record], curation_dir=None)["endpoints"].set_index("endpoint")
    # 80% of 25 = 20 and 60% of 25 = 15, flagged as assumed
    assert (rows.loc["cr_cri", "events"], rows.loc["cr_cri", "total"]) == (20, 25)
    assert (rows.loc["crs_any", "events"], rows.loc["crs_any", "total"]) == (15, 25)
    assert "denominator:evaluable" in rows.loc["cr_cri", "flags"]


def test_counts_among_the_responders_a_sentence_opens_with(tmp_path):
    text = ALL + "Thirty patients were infused. Of the 24 responders, 22 were MRD-negative. Among 26 responders, 5 relapsed."
    values = chosen(tmp_path, text)
    assert (values[("mrd_neg", None)]["events"], values[("mrd_neg", None)]["total"]) == (22, 24)
    assert (values[("relapse", None)]["events"], values[("relapse", None)]["total"]) == (5, 26)


def test_a_semicolon_inside_brackets_separates_parts_of_one_value(tmp_path):
    text = "Sixteen patients were treated. The incidence of CRS was 81.3% (grade 1-2: 68.8%; grade 3: 12.5%)."
    values = chosen(tmp_path, text)
    assert values[("crs_any", None)]["estimate"] == pytest.approx(0.813)
    assert values[("crs_grade3plus", None)]["estimate"] == pytest.approx(0.125)


def test_a_bracket_listing_grades_after_the_phrase_is_no_grade_of_the_total(tmp_path):
    text = ("Forty patients were treated. Six patients (15%) had cytokine release syndrome (grade 1, n = 4; "
            "grade 3, n = 2).")
    assert chosen(tmp_path, text)[("crs_any", None)]["events"] == 6


def test_a_grade_before_a_phrase_reaches_its_bracketed_abbreviation(tmp_path):
    text = ("Twenty patients were treated. Toxicities included grade 3-4 cytokine release syndrome (CRS; 15%) "
            "and grade 1-2 skin rash (RASH; 10%).")
    values = chosen(tmp_path, text)
    assert values[("crs_grade3plus", None)]["estimate"] == pytest.approx(0.15)
    assert ("crs_any", None) not in values
