"""Extraction rules on short reports written for these tests (read through the real reader)."""

from pathlib import Path

import pytest

from trialmeta.extract.choice import choose
from trialmeta.extract.extraction import extract_candidates, extract_paper
from trialmeta.extract.metadata import extract_metadata
from trialmeta.extract.lexicon import LexiconError, load_lexicon
from trialmeta.extract.reading import read_document

ROOT = Path(__file__).resolve().parents[1]
LEXICON = load_lexicon(ROOT / "resources/lexicon.yaml")

REPORT = """# Tandem CD19/CD22 CAR-T cells in children with relapsed/refractory B-ALL

## Methods

This single-centre study (NCT01234567) infused tandem CAR-T cells into 18 children
with relapsed/refractory leukemia, aged 2 to 15 years.

## Results

Complete remission was reached by 16 of 18 patients (88.9%). MRD-negative status
was documented in fifteen of eighteen. The 12-month EFS and OS were 60% (95% CI, 38–82)
and 75% (95% CI, 55–95), respectively. Two patients had a relapse.
Cytokine release syndrome occurred in 14/18 (77.8%), with no severe CRS.
Median follow-up was 14 months (range, 6–30).

## Discussion

Other trials reported an EFS of 40% at 12 months [7].
"""


@pytest.fixture(scope="module")
def chosen(tmp_path_factory):
    path = tmp_path_factory.mktemp("paper") / "tandem_children.md"
    path.write_text(REPORT)
    document = read_document(path)
    choices = choose(extract_candidates(document, LEXICON))
    return {c.candidate.key: c.candidate for c in choices}, document


def test_counts_with_and_without_percent(chosen):
    values, _ = chosen
    assert (values[("cr_cri", None)].events, values[("cr_cri", None)].total) == (16, 18)
    assert (values[("mrd_neg", None)].events, values[("mrd_neg", None)].total) == (15, 18)
    assert values[("crs_any", None)].events == 14
    assert values[("relapse", None)].events == 2


def test_respectively_pairs_endpoints_and_values_in_order(chosen):
    values, _ = chosen
    efs, os_ = values[("efs", 12)], values[("os", 12)]
    assert (efs.estimate, efs.ci_low, efs.ci_high) == pytest.approx((0.60, 0.38, 0.82))
    assert (os_.estimate, os_.ci_low, os_.ci_high) == pytest.approx((0.75, 0.55, 0.95))


def test_negated_severe_event_is_a_zero_count(chosen):
    values, _ = chosen
    assert values[("crs_grade3plus", None)].events == 0


def test_values_about_other_studies_are_never_chosen(chosen):
    values, _ = chosen
    assert values[("efs", 12)].estimate == pytest.approx(0.60)  # not the 40% of the cited trials


def test_every_value_carries_its_quote_and_line(chosen):
    values, _ = chosen
    for candidate in values.values():
        assert candidate.quote and candidate.line is not None
    assert "14/18" in values[("crs_any", None)].quote


def test_follow_up_and_treated(chosen):
    values, _ = chosen
    assert values[("followup_median_months", None)].estimate == pytest.approx(14.0)
    assert values[("n_treated", None)].total == 18


def test_metadata_cues(chosen):
    _, document = chosen
    metadata = extract_metadata(document, LEXICON)
    assert metadata["trial_ids"] == ["NCT01234567"]
    assert (metadata["target"], metadata["construct"]) == ("CD19/CD22", "tandem")
    assert (metadata["population"], metadata["age_group"]) == ("relapsed_refractory", "pediatric")


def test_unreadable_paper_gives_an_error_record_naming_the_file(tmp_path):
    empty = tmp_path / "empty_report.pdf"
    empty.write_bytes(b"")
    record = extract_paper(str(empty), LEXICON)
    assert record["status"] == "failed"
    assert record["error"]["kind"] == "empty"
    assert "empty_report.pdf" in record["error"]["message"]


def test_a_bad_lexicon_names_the_file_and_key(tmp_path):
    bad = tmp_path / "lexicon.yaml"
    bad.write_text((ROOT / "resources/lexicon.yaml").read_text().replace("kind: survival", "kind: survivl", 1))
    with pytest.raises(LexiconError, match=r"lexicon\.yaml: endpoints/relapse_cuminc/kind"):
        load_lexicon(bad)


# --- choice rules, each on sentences invented for the test -------------------

GRADE_SPLITS = {t.name: t.grade_split for t in LEXICON.endpoints if t.grade_split}


def _choices(tmp_path, text: str, grade_splits=GRADE_SPLITS) -> dict:
    path = tmp_path / "invented_report.txt"
    path.write_text(text)
    document = read_document(path)
    return {c.candidate.key: c.candidate for c in choose(extract_candidates(document, LEXICON), grade_splits)}


def test_a_total_wins_over_its_parts(tmp_path):
    values = _choices(tmp_path, (
        "Sixteen patients were infused. The overall MRD response reached 100%, with 81.3% (13/16) "
        "MRD-negative CR and 18.8% (3/16) MRD-negative CRi."
    ))
    assert values[("mrd_neg", None)].estimate == pytest.approx(1.0)


def test_a_smaller_group_named_before_the_value_is_not_the_cohort(tmp_path):
    values = _choices(tmp_path, (
        "Sixteen patients were infused. The 1-year OS of the cohort was 70% (95% CI, 48-92). "
        "Apart from two transplanted patients, the 14 patients had a 1-year OS of 64.3% (95% CI, 39-89)."
    ))
    assert (values[("os", 12)].estimate, values[("os", 12)].ci_low) == pytest.approx((0.70, 0.48))


def test_grade_3_and_grade_4_printed_apart_are_summed(tmp_path):
    values = _choices(tmp_path, "Of 32 infused patients, 12.5% had grade 3 CRS and 6.3% grade 4 CRS.")
    severe = values[("crs_grade3plus", None)]
    assert severe.rule == "text:grade_sum"
    assert severe.estimate == pytest.approx(0.125 + 0.063)


def test_grade_3_or_more_is_any_grade_minus_grade_1_2(tmp_path):
    values = _choices(tmp_path, "CRS affected 15 of 16 patients (93.8%) and was grade 1-2 in 13 patients.")
    severe = values[("crs_grade3plus", None)]
    assert (severe.events, severe.total) == (2, 16)  # 15 - 13 of 16


def test_grade_1_2_count_is_any_grade_only_when_none_was_severe(tmp_path):
    text = "Sixteen patients were infused. Grade 1-2 CRS occurred in 5 of 16 patients; no patient had severe CRS."
    values = _choices(tmp_path, text)
    assert (values[("crs_any", None)].events, values[("crs_grade3plus", None)].events) == (5, 0)
    other = _choices(tmp_path, "Sixteen patients were infused. Grade 1-2 CRS occurred in 5 of 16 patients.")
    assert ("crs_any", None) not in other


def test_a_value_said_to_hold_at_a_later_time_point_is_copied_there(tmp_path):
    values = _choices(tmp_path, "EFS was 58% at 6 months and remained the same at 12 months.")
    assert values[("efs", 6)].estimate == values[("efs", 12)].estimate == pytest.approx(0.58)
    assert values[("efs", 12)].rule == "text:same_as_landmark"


def test_one_value_at_two_listed_time_points(tmp_path):
    values = _choices(tmp_path, "The OS rate was 81.3% at 6 and 9 months.")
    assert values[("os", 6)].estimate == values[("os", 9)].estimate == pytest.approx(0.813)


def test_a_value_right_after_its_time_point_is_not_given_the_previous_one(tmp_path):
    values = _choices(tmp_path, "The cumulative incidence of relapse was 10.5% at 6 months and 21.0% at 2 years.")
    assert values[("relapse_cuminc", 6)].estimate == pytest.approx(0.105)
    assert values[("relapse_cuminc", 24)].estimate == pytest.approx(0.21)


def test_a_bound_or_hedged_value_is_never_chosen(tmp_path):
    values = _choices(tmp_path, "Sixteen patients were infused. The CR rate was higher than 80% in all dose groups.")
    assert ("cr_cri", None) not in values


def test_a_value_goes_to_the_phrase_it_qualifies(tmp_path):
    values = _choices(tmp_path, "Toxicity was modest: 25.0% grade 3 CRS and 0% severe ICANS.")
    assert values[("icans_grade3plus", None)].estimate == 0.0
    assert values[("crs_grade3plus", None)].estimate == pytest.approx(0.25)


def test_the_evaluable_patients_are_the_denominator_when_the_sentence_says_so(tmp_path):
    values = _choices(tmp_path, (
        "Nineteen patients were infused. Eighteen patients were evaluable for response. "
        "All evaluable patients reached CR (100%)."
    ))
    assert (values[("cr_cri", None)].total, values[("cr_cri", None)].estimate) == (18, 1.0)


def test_patients_not_infused_are_not_the_treated_count(tmp_path):
    values = _choices(tmp_path, (
        "Twenty patients were enrolled and 18 were infused. Of the two who were not infused, one had progressive disease."
    ))
    assert values[("n_treated", None)].total == 18


def test_a_count_with_a_grade_right_after_it(tmp_path):
    values = _choices(tmp_path, "Among 12 infused patients, ICANS affected five (5/12): four had grade 2 and one had grade 4.")
    assert values[("icans_grade3plus", None)].events == 1


def test_landmark_value_with_plus_minus_keeps_estimate_and_se(tmp_path):
    values = _choices(tmp_path, "The 2-year EFS was 55.0% ± 12.5%.")
    efs = values[("efs", 24)]
    assert (efs.estimate, efs.se) == pytest.approx((0.55, 0.125))


def test_record_lists_every_table_and_ages_from_a_per_patient_table(tmp_path):
    path = tmp_path / "table_report.txt"
    path.write_text(
        "Eight patients were infused.\n\n"
        "Table 1 Patients\n\n"
        "Patient\tAge, years\tCRS grade\n1\t15\t1\n2\t34\t0\n3\t51\t3\n"
    )
    record = extract_paper(str(path), LEXICON)
    assert record["tables"][0]["header"] == ["Patient", "Age, years", "CRS grade"]
    assert record["tables"][0]["rows"] == [["1", "15", "1"], ["2", "34", "0"], ["3", "51", "3"]]
    assert record["metadata"]["age_group"] == "mixed"  # 15 to 51 years


def test_a_threshold_in_the_methods_is_not_an_endpoint_value(tmp_path):
    values = _choices(tmp_path, (
        "Twelve patients were infused. MRD negativity was defined as < 0.01% (10^-4) of nucleated cells "
        "by flow cytometry. A threshold of 0.01% also defined MRD-negative remission in the second assay."
    ))
    assert ("mrd_neg", None) not in values


def test_a_definition_beside_the_value_leaves_the_value(tmp_path):
    values = _choices(tmp_path, (
        "Twelve patients were infused. MRD negativity, defined as below 0.01%, was reached by 9 of 12 patients (75.0%)."
    ))
    assert (values[("mrd_neg", None)].events, values[("mrd_neg", None)].total) == (9, 12)


def test_sentences_opening_with_numerals_keep_their_own_values(tmp_path):
    values = _choices(tmp_path, (
        "Overall, 43 patients (91.5%) reached MRD-negative remission. 12 of 47 patients (25.5%) had a relapse."
    ))
    assert values[("mrd_neg", None)].events == 43
    assert (values[("relapse", None)].events, values[("relapse", None)].total) == (12, 47)


def test_no_event_at_grade_3_or_higher_is_a_zero_count(tmp_path):
    values = _choices(tmp_path, "Twenty patients were infused. CRS occurred in 9 of 20 patients (45.0%). "
                                "No patient had grade 3 or higher CRS.")
    assert values[("crs_grade3plus", None)].events == 0
    assert values[("crs_any", None)].events == 9


def test_no_event_of_one_grade_says_nothing_of_the_others(tmp_path):
    values = _choices(tmp_path, "Twenty patients were infused. CRS occurred in 9 of 20 patients (45.0%). "
                                "No patient had grade 3 CRS.")
    assert ("crs_grade3plus", None) not in values  # grade 4 is left open


def test_an_outcome_column_without_any_relapse_counts_none(tmp_path):
    path = tmp_path / "table_report.md"
    path.write_text(
        "Four patients were infused.\n\n**Table 1. Outcome of every patient**\n\n"
        "| Patient | CRS grade | Outcome |\n|---|---|---|\n"
        "| 1 | 1 | Continuing CR |\n| 2 | 0 | No response |\n| 3 | 2 | Continuing CR |\n| 4 | 0 | Died in remission |\n"
    )
    record = extract_paper(str(path), LEXICON)
    chosen = {record["candidates"][c["candidate"]]["endpoint"]: record["candidates"][c["candidate"]] for c in record["chosen"]}
    assert (chosen["relapse"]["events"], chosen["relapse"]["total"]) == (0, 4)
    assert chosen["relapse"]["rule"] == "table:category_column_none"
    assert (chosen["crs_any"]["events"], chosen["crs_grade3plus"]["events"]) == (2, 0)


def test_cr_and_cri_reported_apart_are_summed_and_flagged(tmp_path):
    values = _choices(tmp_path, "Fifteen patients were infused. The CR rate was 8/15 and the CRi rate 3/15.")
    remission = values[("cr_cri", None)]
    assert (remission.events, remission.total) == (11, 15)  # 8 + 3 of 15
    assert remission.rule == "text:summed_parts" and "summed" in remission.context


def test_cr_alone_is_not_summed(tmp_path):
    values = _choices(tmp_path, "Fifteen patients were infused. The CR rate was 8/15.")
    assert (values[("cr_cri", None)].events, values[("cr_cri", None)].rule) == (8, "text:fraction")


def test_a_bad_parts_entry_names_the_key(tmp_path):
    bad = tmp_path / "lexicon.yaml"
    bad.write_text((ROOT / "resources/lexicon.yaml").read_text().replace("    - ['CR', 'complete", "    - ['CR', 7, 'complete", 1))
    with pytest.raises(LexiconError, match=r"parts/cr_cri"):
        load_lexicon(bad)


def test_an_anti_cd22_car_is_a_single_target(tmp_path):
    path = tmp_path / "single_target.md"
    path.write_text("# Anti-CD22 CAR-T cells in relapsed/refractory B-ALL\n\nWe infused anti-CD22 CAR-T cells into 9 adults.\n")
    metadata = extract_metadata(read_document(path), LEXICON)
    assert (metadata["target"], metadata["construct"]) == ("CD22", "single")
