"""Curation decisions and their audit trail, denominators, landmarks, duplicates, the user's sheet."""

import re

import pandas as pd
import pytest

from trialmeta.harmonise.curation import CurationError, landmark_months, load_curation
from trialmeta.harmonise.duplicates import single_reports
from trialmeta.harmonise.endpoints_table import EndpointsTableError, load_endpoints_table, records_from_table
from trialmeta.harmonise.table import ENDPOINT_COLUMNS, harmonise, poolable
from test_harmonise import candidate, record


def rows_of(tables):
    return tables["endpoints"].set_index(["endpoint"])


def audit_lines(tables):
    audit = tables["audit"]
    return {(r.endpoint if isinstance(r.endpoint, str) else "", r.field, r.old_value if isinstance(r.old_value, str) else "",
             r.new_value if isinstance(r.new_value, str) else "", r.decision) for r in audit.itertuples()}


def write(path, text):
    path.write_text(text)
    return path


# ------------------------------------------------------------ curation and audit


def test_audit_lists_every_curated_change(tmp_path):
    write(tmp_path / "p.yaml", """
study: Trial P
year: 2022
reason: label; year printed in the header
decisions:
  - {endpoint: mrd_neg, decision: override, values: {events: 13}, reason: table 2 counts 13}
  - {endpoint: cr_cri, decision: add, values: {events: 14, total: 15}, reason: stated in the results}
  - {endpoint: relapse, decision: reject, reason: sentence about another trial}
  - {endpoint: crs_any, decision: accept, values: {events: 5, total: 15}, reason: 'whole cohort, not the subgroup'}
  - {endpoint: os, landmark: 1 year, decision: override, values: {percent: 86, ci_percent: [68, 104]}, reason: as printed}
""")
    extracted = [
        candidate("n_treated", total=15),
        candidate("mrd_neg", 12, 15, 12 / 15),
        candidate("relapse", 2, 15, 2 / 15),
        candidate("crs_any", 3, 10, 0.3),
        candidate("os", estimate=0.77, ci=(0.55, 0.99), landmark=12),
    ]
    # an extra, unchosen candidate for crs_any that the curator accepts
    rec = record("p", extracted + [candidate("crs_any", 5, 15, 5 / 15)], metadata={"year": None})
    rec["chosen"] = rec["chosen"][:5]
    tables = harmonise([rec], str(tmp_path))
    assert audit_lines(tables) == {
        ("", "study", "p", "Trial P", "metadata"),
        ("", "year", "", "2022", "metadata"),
        ("mrd_neg", "events", "12", "13", "override"),
        ("mrd_neg", "estimate", "0.8", "0.8666666667", "override"),  # 12/15 -> 13/15
        ("cr_cri", "row", "", "14/15", "add"),
        ("relapse", "row", "2/15", "", "reject"),
        ("crs_any", "events", "3", "5", "accept"),
        ("crs_any", "total", "10", "15", "accept"),
        ("crs_any", "estimate", "0.3", "0.3333333333", "accept"),
        # 77% (55-99) -> 86% (68-104); the SE follows the CI: (0.99-0.55)/3.92 -> (1.04-0.68)/3.92
        ("os", "estimate", "0.77", "0.86", "override"),
        ("os", "ci_low", "0.55", "0.68", "override"),
        ("os", "ci_high", "0.99", "1.04", "override"),
        ("os", "se", "0.1122469605", "0.09183842225", "override"),
    }
    assert set(tables["audit"]["file"]) == {"p.yaml"}
    rows = rows_of(tables)
    assert "relapse" not in rows.index
    assert set(tables["endpoints"]["source"]) == {"curated", "extracted"}
    assert rows.loc["crs_any", "source"] == "curated" and rows.loc["n_treated", "source"] == "extracted"
    os_row = rows.loc["os"]
    assert (os_row["ci_low"], os_row["ci_high"]) == (pytest.approx(0.68), pytest.approx(1.04))
    assert "ci_outside_0_1" in os_row["flags"]  # the curated CI is checked like an extracted one


def test_problem_of_a_replaced_value_stays_named_and_the_fix_is_pooled(tmp_path):
    write(tmp_path / "p.yaml", "decisions:\n  - {endpoint: relapse, decision: override, values: {events: 6}, reason: r}\n")
    tables = harmonise([record("p", [candidate("n_treated", total=15), candidate("relapse", 16, 15)])], str(tmp_path))
    row = rows_of(tables).loc["relapse"]
    assert row["flags"].split(";") == ["denominator:treated", "superseded:events_exceed_total"]
    line = tables["checks"].iloc[0]
    assert (line["check"], line["detail"]) == (
        "events_exceed_total", "extracted value, replaced by curation (p.yaml): 16 events > 15 total")
    assert poolable(tables["endpoints"], "relapse")[0][["events", "total"]].values.tolist() == [[6, 15]]


def test_stale_decision_is_a_check_line_and_the_paper_finishes(tmp_path):
    write(tmp_path / "p.yaml", "decisions:\n  - {endpoint: relapse, decision: reject, reason: r}\n")
    tables = harmonise([record("p", [candidate("mrd_neg", 12, 14, 12 / 14)])], str(tmp_path))
    line = tables["checks"].iloc[0]
    assert line["check"] == "curation_not_applied" and "decisions/0" in line["detail"]
    assert list(tables["endpoints"]["endpoint"]) == ["mrd_neg"]


@pytest.mark.parametrize("text, where", [
    ("{endpoint: os, decision: add, values: {percent: 80}}", r"decisions/0: 'reason' is a required property"),
    ("{endpoint: os, decision: add, reason: r}", r"decisions/0: 'values' is a required property"),
    ("{endpoint: cr, decision: reject, reason: r}", r"decisions/0/endpoint: 'cr' is not one of"),
    ("{endpoint: os, landmark: 1 yr, decision: reject, reason: r}", r"decisions/0/landmark: '1 yr' does not match"),
    ("{endpoint: os, decision: add, values: {percent: 80, estimate: 0.8}, reason: r}", r"decisions/0/values: .* should not be valid"),
    ("{endpoint: mrd_neg, decision: add, values: {events: 16, total: 15}, reason: r}",
     r"decisions/0/values: 16 events is more than the total of 15"),
    # the newcomer's typo: `value:` for `values:`
    ("{endpoint: mrd_neg, decision: override, value: {events: 3}, reason: r}",
     r"decisions/0: Additional properties are not allowed \('value' was unexpected\)"),
])
def test_a_bad_decision_is_refused_alone_naming_its_key_and_the_rest_of_the_file_applies(tmp_path, text, where):
    path = write(tmp_path / "q.yaml", f"""
target: CD22
year: 2024
reason: as printed
decisions:
  - {text}
  - {{endpoint: crs_any, decision: override, values: {{events: 4}}, reason: table 2}}
""")
    curation = load_curation(path)
    assert len(curation.refused) == 1 and curation.refused[0][0] == "decisions/0"
    assert re.match(where, curation.refused[0][1]), curation.refused
    assert [d.endpoint for d in curation.decisions] == ["crs_any"]
    tables = harmonise([record("q", [candidate("n_treated", total=15), candidate("crs_any", 3, 15)],
                               metadata={"target": "CD19/CD22", "year": None})], str(tmp_path))
    study = tables["studies"].iloc[0]
    assert (study["target"], study["year"]) == ("CD22", 2024)  # metadata kept (they reverted before)
    assert rows_of(tables).loc["crs_any", "events"] == 4  # the valid decision applied
    refused = tables["checks"][tables["checks"]["check"] == "curation_not_applied"]
    assert len(refused) == 1 and refused.iloc[0]["detail"].startswith("q.yaml: decisions/0")


def test_bad_metadata_still_refuse_the_file_naming_file_and_key(tmp_path):
    with pytest.raises(CurationError, match=r"q\.yaml: \(top level\): 'reason' is a dependency of 'year'"):
        load_curation(write(tmp_path / "q.yaml", "year: 2020\n"))


# ------------------------------------------------------------ landmarks


def test_one_year_is_twelve_months_is_365_days():
    assert landmark_months("1 year") == landmark_months("12 months") == landmark_months("365 days") == 12.0
    assert landmark_months("180 days") == 6.0  # 5.91 months: a change of unit, not of time point
    assert landmark_months("24 months") == 24.0


def test_a_24_month_value_is_never_pooled_as_a_12_month_value():
    tables = harmonise([record("p", [candidate("relapse", 3, 10, landmark=None),
                                     candidate("os", 7, 10, 0.7, landmark=24)])], None)
    endpoints = tables["endpoints"]
    assert poolable(endpoints, "os", 12)[0].empty
    assert list(poolable(endpoints, "os", 24)[0]["events"]) == [7]
    assert poolable(endpoints, "os")[0].empty  # no landmark asked: no survival row


def test_landmark_checked_against_the_median_and_the_longest_follow_up():
    # Issue 17: a 12-month value from an abstract with a 9-month median follow-up (range 3.5-20)
    # passed, as only the longest follow-up was compared; at most half its patients reached 12 months.
    followup = candidate("followup_median_months", estimate=9.0)
    followup["quote"] = "The median follow-up was 9 (3.5-20) months."
    tables = harmonise([record("p", [followup, candidate("os", estimate=0.5, landmark=12),
                                     candidate("rfs", estimate=0.4, landmark=24),
                                     candidate("efs", estimate=0.8, landmark=6)])], None)
    checks = tables["checks"].set_index("endpoint")
    assert checks.loc["os", "check"] == "landmark_beyond_median_followup"
    assert checks.loc["os", "detail"] == ("12-month value beyond the median follow-up of 9 months (longest 20 months): "
                                          "at most half the patients were followed to the landmark")
    assert checks.loc["rfs", "check"] == "landmark_beyond_followup"  # 24 > 20: nobody was observed there
    assert checks.loc["rfs", "detail"] == "24-month value beyond the longest follow-up of 20 months"
    assert "efs" not in checks.index  # 6 months: inside the median


def test_landmark_checked_against_median_follow_up_when_no_range_is_printed():
    tables = harmonise([record("p", [candidate("followup_median_months", estimate=9.0),
                                     candidate("os", estimate=0.5, landmark=12)])], None)
    detail = tables["checks"].set_index("endpoint").loc["os", "detail"]
    assert detail == ("12-month value beyond the median follow-up of 9 months (longest follow-up not reported): "
                      "at most half the patients were followed to the landmark")


# ------------------------------------------------------------ denominators, CI, SE, counts


def two_denominators():
    # 14/15 over the infused and 14/19 over the enrolled, the extractor chose the first
    rec = record("p", [candidate("n_treated", total=15), candidate("cr_cri", 14, 15, 14 / 15),
                       candidate("cr_cri", 14, 19, 14 / 19)])
    rec["chosen"] = rec["chosen"][:2]
    return rec


def test_denominator_preference_is_configurable_and_visible(tmp_path):
    write(tmp_path / "p.yaml", "cohort: {enrolled: 19}\nreason: 19 enrolled\n")
    treated = rows_of(harmonise([two_denominators()], str(tmp_path))).loc["cr_cri"]
    assert (treated["events"], treated["total"]) == (14, 15) and "denominator:treated" in treated["flags"]
    tables = harmonise([two_denominators()], str(tmp_path), {"denominator": ["enrolled", "treated"]})
    enrolled = rows_of(tables).loc["cr_cri"]
    assert (enrolled["events"], enrolled["total"]) == (14, 19) and "denominator:enrolled" in enrolled["flags"]
    assert "denominator_rule" in enrolled["flags"]
    assert ("cr_cri", "row", "14/15", "14/19", "denominator_rule") in audit_lines(tables)


def test_percent_without_denominator_reads_over_the_first_known_cohort(tmp_path):
    write(tmp_path / "p.yaml", "cohort: {evaluable: 20}\nreason: 20 evaluable\n")
    rec = record("p", [candidate("n_treated", total=23), candidate("crs_any", estimate=0.9, percent=90.0)])
    row = rows_of(harmonise([rec], str(tmp_path), {"denominator": ["evaluable", "treated"]})).loc["crs_any"]
    # 90% of 20 = 18 exactly; over the 23 treated it would be 20.7, not a count
    assert (row["events"], row["total"]) == (18, 20)
    assert {"assumed_denominator", "denominator:evaluable", "derived_count"} <= set(row["flags"].split(";"))


def test_count_not_derived_when_several_whole_numbers_fit():
    # 50% of 300 printed without decimals: 149/300 = 49.67% and 151/300 = 50.33% also round to 50%
    tables = harmonise([record("p", [candidate("crs_any", total=300, estimate=0.5, percent=50.0)])], None)
    row = rows_of(tables).loc["crs_any"]
    assert pd.isna(row["events"]) and "no_count" in row["flags"]
    assert "fits 149 to 151 patients" in tables["checks"].iloc[0]["detail"]


def test_plus_minus_is_kept_as_se_and_ci_gives_se_when_none_printed():
    tables = harmonise([record("p", [candidate("efs", estimate=0.612, se=0.14, landmark=24),
                                     candidate("os", estimate=0.86, ci=(0.68, 1.04), landmark=12)])], None)
    rows = rows_of(tables)
    assert rows.loc["efs", "se"] == pytest.approx(0.14) and "se_from_ci" not in str(rows.loc["efs", "flags"])
    # normal approximation: (1.04 - 0.68) / (2 x 1.959964) = 0.0918384
    assert rows.loc["os", "se"] == pytest.approx(0.0918384, abs=1e-7)


def test_subgroup_larger_than_cohort_is_flagged(tmp_path):
    write(tmp_path / "p.yaml", "cohort: {enrolled: 19}\nreason: 19 enrolled\n")
    tables = harmonise([record("p", [candidate("n_treated", total=15), candidate("crs_any", 4, 22, 4 / 22)])],
                       str(tmp_path))
    assert tables["checks"].set_index("check").loc["subgroup_exceeds_cohort", "detail"] == "denominator 22 > 19 enrolled"


def test_printed_percent_that_disagrees_elsewhere_in_the_paper_is_flagged():
    # the row holds 15/15 from "100%"; the same paper also prints "93.9% (14/15)"
    rec = record("p", [candidate("n_treated", total=15), candidate("mrd_neg", estimate=1.0, percent=100.0),
                       candidate("mrd_neg", 14, 15, 0.939, percent=93.9)])
    rec["chosen"] = rec["chosen"][:2]
    tables = harmonise([rec], None)
    row = rows_of(tables).loc["mrd_neg"]
    assert (row["events"], row["total"]) == (15, 15)
    assert "other_value:percent_count_mismatch" in row["flags"]
    assert "printed 93.9% but 14/15 = 93.33%" in tables["checks"].set_index("check").loc["percent_count_mismatch", "detail"]


# ------------------------------------------------------------ same trial twice


def trial(paper, ids, year=2020, counts=((10, 14), (12, 14), (4, 14)), report=None, centre=None):
    rec = record(paper, [candidate("n_treated", total=14)] + [
        candidate(endpoint, events, total, events / total)
        for endpoint, (events, total) in zip(("crs_any", "mrd_neg", "relapse"), counts)
    ], metadata={"trial_ids": list(ids), "year": year, "report": report, "centre": centre})
    return rec


def test_a_copy_under_a_second_name_is_the_same_trial_and_pooled_once():
    tables = harmonise([trial("a_paper", ["NCT01"]), trial("b_copy", ["NCT01"])], None)
    flagged = tables["endpoints"][tables["endpoints"]["flags"].str.contains("duplicate_of:a_paper", na=False)]
    assert set(flagged["paper"]) == {"b_copy"}
    reports = single_reports(tables["endpoints"])
    assert reports.dropped == {"b_copy": "a_paper"}
    assert set(reports.endpoints["paper"]) == {"a_paper"}
    rows, excluded = poolable(reports.endpoints, "mrd_neg")
    assert list(rows["paper"]) == ["a_paper"] and excluded == []
    assert reports.excluded(["mrd_neg"]) == [{"study": "b_copy", "paper": "b_copy", "reason": "same trial as a_paper"}]
    assert reports.excluded(["os"]) == []  # b_copy gives no OS: nothing to exclude from an OS pool
    assert ("", "pooled", "yes", "no: same trial as a_paper", "duplicate") in audit_lines(tables)


def test_same_cohort_without_registry_id_is_found_unless_centres_differ():
    same = harmonise([trial("a", []), trial("b", [])], None)
    assert poolable(single_reports(same["endpoints"]).endpoints, "mrd_neg")[0]["paper"].tolist() == ["a"]
    other_centre = harmonise([trial("a", [], centre="Tianjin"), trial("b", [], centre="Beijing")], None)
    assert poolable(other_centre["endpoints"], "mrd_neg")[0]["paper"].tolist() == ["a", "b"]
    other_counts = harmonise([trial("a", []), trial("b", [], counts=((9, 14), (11, 14), (3, 14)))], None)
    assert len(poolable(other_counts["endpoints"], "mrd_neg")[0]) == 2


def test_duplicate_rule_keeps_the_latest_full_report_by_default():
    records = [trial("abstract", ["NCT01"], year=2023, report="abstract"), trial("full", ["NCT-01"], year=2022)]
    kept = single_reports(harmonise(records, None)["endpoints"]).endpoints
    assert set(kept["paper"]) == {"full"}
    kept = single_reports(harmonise(records, None, {"duplicate_rule": "latest"})["endpoints"]).endpoints
    assert set(kept["paper"]) == {"abstract"}


# ------------------------------------------------------------ endpoints_table


SHEET_HEADER = ",".join(ENDPOINT_COLUMNS)


def sheet(tmp_path, *lines):
    return write(tmp_path / "sheet.csv", "\n".join([SHEET_HEADER, *lines]) + "\n")


def test_sheet_rows_are_harmonised_like_extracted_ones(tmp_path):
    path = sheet(
        tmp_path,
        "Trial A,a,NCT01,n_treated,,,15,,,,,,,,",
        "Trial A,a,NCT01,mrd_neg,,14,15,,,,,table,2,14 of 15,",
        "Trial A,a,NCT01,os,12,,,0.86,0.68,1.04,,,,,",
    )
    tables = harmonise(records_from_table(load_endpoints_table(path)), None)
    rows = rows_of(tables)
    assert rows.loc["mrd_neg", "estimate"] == pytest.approx(14 / 15)
    assert set(tables["endpoints"]["source"]) == {"table"}
    assert "ci_outside_0_1" in rows.loc["os", "flags"]
    assert tables["studies"].iloc[0][["study", "trial_ids", "n_treated"]].tolist() == ["Trial A", "NCT01", 15]


@pytest.mark.parametrize("bad, where", [
    ("Trial A,a,,mrd_neg,,14.5,15,,,,,,,,", r"row 2 \(line 3\), column events: '14.5' is not a whole number"),
    ("Trial A,a,,mrd_neg,,14,15,93.3,,,,,,,", r"row 2 \(line 3\), column estimate: 93.3 is greater than the maximum of 1"),
    ("Trial A,a,,os,,,,0.8,,,,,,,", r"row 2 \(line 3\), column landmark_months: an empty cell is not of type 'number'"),
    ("Trial A,a,,cr,,14,15,,,,,,,,", r"row 2 \(line 3\), column endpoint: 'cr' is not one of"),
    ("Trial B,a,,mrd_neg,,14,15,,,,,,,,", r"row 2 \(line 3\), column study: 'Trial B' differs from 'Trial A'"),
    ("Trial A,a,,n_treated,,,16,,,,,,,,", r"row 2 \(line 3\), column endpoint: paper 'a' already has n_treated in row 1"),
    ("Trial A,a,,mrd_neg,,16,15,,,,,,,,", r"row 2 \(line 3\), column events: 16 events is more than the total of 15"),
])
def test_bad_sheet_row_names_row_and_column(tmp_path, bad, where):
    path = sheet(tmp_path, "Trial A,a,,n_treated,,,15,,,,,,,,", bad)
    with pytest.raises(EndpointsTableError, match=r"sheet\.csv: " + where):
        load_endpoints_table(path)


def test_sheet_row_without_a_value_is_refused(tmp_path):
    # the other columns of endpoints.csv are optional (issue 18), a value is not
    path = write(tmp_path / "sheet.csv", "study,paper,endpoint\nA,a,mrd_neg\n")
    with pytest.raises(EndpointsTableError, match=r"row 1 \(line 2\), column events: no value: give events and total"):
        load_endpoints_table(path)


def test_reference_metadata_reach_studies_csv(tmp_path):
    write(tmp_path / "p.yaml", "first_author: Novak\njournal: Blood Adv\ndoi: 10.1182/bloodadvances.2024000001\n"
                               "reason: title page\n")
    study = harmonise([record("p", [candidate("n_treated", total=15)])], str(tmp_path))["studies"].iloc[0]
    assert (study["first_author"], study["journal"], study["doi"]) == ("Novak", "Blood Adv", "10.1182/bloodadvances.2024000001")
    write(tmp_path / "p.yaml", "doi: https://doi.org/10.1/x\nreason: r\n")
    with pytest.raises(CurationError, match=r"p\.yaml: doi: 'https://doi.org/10.1/x' does not match"):
        load_curation(tmp_path / "p.yaml")
