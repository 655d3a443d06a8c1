"""A minimal endpoints_table (issue 18, newcomer review F14): the columns a clinician has."""

from __future__ import annotations

import pytest

from trialmeta.harmonise.endpoints_table import EndpointsTableError, load_endpoints_table, records_from_table
from trialmeta.harmonise.table import harmonise, poolable


def test_four_columns_are_enough_and_each_study_is_its_own_paper(tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("study,endpoint,events,total\nNovak 2024,cr_cri,24,30\nLee 2021,cr_cri,20,20\n"
                     "Novak 2024,n_treated,,30\n")
    rows = load_endpoints_table(sheet)
    assert {r["paper"] for r in rows} == {"Novak_2024", "Lee_2021"}
    tables = harmonise(records_from_table(rows), None)
    kept, excluded = poolable(tables["endpoints"], "cr_cri")
    assert sorted(zip(kept["study"], kept["events"], kept["total"])) == [("Lee 2021", 20, 20), ("Novak 2024", 24, 30)]
    assert excluded == []


def test_an_estimate_with_its_ci_and_the_study_columns(tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("study,endpoint,landmark_months,estimate,ci_low,ci_high,target,year\n"
                     "Novak 2024,os,12,0.77,0.55,0.99,CD22,2024\n")
    tables = harmonise(records_from_table(load_endpoints_table(sheet)), None)
    row = tables["endpoints"].iloc[0]
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (0.77, 0.55, 0.99)
    assert row["se"] == pytest.approx((0.99 - 0.55) / (2 * 1.959963984540054))  # from the CI
    study = tables["studies"].iloc[0]
    assert (study["target"], study["year"]) == ("CD22", 2024)


@pytest.mark.parametrize("text, message", [
    ("study,events,total\nA,1,2\n", r"missing: endpoint"),
    ("study,endpoint,event,total\nA,cr_cri,1,2\n", r"unexpected: event \(did you mean 'events'\?\)"),
    ("study,endpoint,events,total,target\nA,cr_cri,1,2,CD20\n", r"row 1 \(line 2\), column target: 'CD20' is not one of"),
    ("study,endpoint,events,total\nA,cr_cri,3,2\n", r"column events: 3 events is more than the total of 2"),
])
def test_a_bad_sheet_names_row_and_column(tmp_path, text, message):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(text)
    with pytest.raises(EndpointsTableError, match=message):
        load_endpoints_table(sheet)
