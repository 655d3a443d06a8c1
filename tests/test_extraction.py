"""Extraction rules on short reports written for these tests (read through the real reader)."""

from pathlib import Path

import pytest

from trialmeta.extraction import choose, extract_candidates, extract_metadata, extract_paper
from trialmeta.lexicon import LexiconError, load_lexicon
from trialmeta.reading import read_document

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
