"""Where the number is (issue 18, newcomer review F1 and F6): a study that reported the endpoint but is not
pooled is named with its reason on the forest plot and the report's summary row; every interval header
says the configured level ("90% CI" when pooling.level is 0.9)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

from trialmeta.figures import plots  # noqa: E402
from trialmeta.harmonise.table import ENDPOINT_COLUMNS, poolable  # noqa: E402
from test_figures import contract_entry  # noqa: E402
import test_report  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def all_texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_a_percentage_that_is_no_count_is_excluded_saying_what_to_do():
    # the newcomer's F1: 27.2% of 23 (the shared abstract's grade >= 3 CRS) left the pool without a word
    row = {c: None for c in ENDPOINT_COLUMNS} | {"study": "Tandem", "paper": "t", "endpoint": "crs_grade3plus",
                                                 "total": 23, "estimate": 0.272, "flags": "no_count"}
    kept, excluded = poolable(pd.DataFrame([row], columns=ENDPOINT_COLUMNS), "crs_grade3plus")
    assert kept.empty
    assert excluded == [{"study": "Tandem", "reason": "27.2% of 23 is no whole number of patients; give events and "
                                                      "total in a curation file"}]


def test_forest_plot_names_the_study_not_pooled_and_why():
    text = all_texts(plots.forest_figure(contract_entry()))
    assert "Not pooled: Zeta (impossible value: events_exceed_total)" in text


def test_every_interval_header_follows_the_level():
    entry = contract_entry()
    assert "Proportion, % [95% CI]" in all_texts(plots.forest_figure(entry))
    at_90 = plots.with_level({"endpoints": {"relapse": entry}, "pooling": {"level": 0.9}})["endpoints"]["relapse"]
    for figure in (plots.forest_figure(at_90), plots.leave_one_out_figure(at_90), plots.cumulative_figure(at_90),
                   plots.subgroup_forest_figure(at_90, "target")):
        text = all_texts(figure)
        assert "90% CI" in text and "95% CI" not in text


def test_report_summary_says_the_level_and_lists_studies_not_pooled(tmp_path, monkeypatch):
    config = {**test_report.CONFIG, "pooling": {**test_report.CONFIG["pooling"], "level": 0.9}}
    details = test_report.details()
    details["pooling"] = {**details["pooling"], "level": 0.9}
    details["endpoints"]["relapse"]["excluded"] = [{"study": "Zeta", "reason": "no events/total reported or derivable"}]
    empty = pd.DataFrame(columns=["paper", "stage", "error_kind", "message"])
    studies = pd.DataFrame({"study": ["Alpha", "Beta"], "paper": ["alpha", "beta"], "year": [2019, 2020]})
    page = test_report.build_report(
        test_report.endpoint_table(), studies, test_report.pooled_table(),
        pd.DataFrame(columns=["paper", "study", "endpoint", "landmark_months", "check", "detail"]), empty,
        plots.with_level(details), {}, config, run_date="2026-01-02")
    assert "Estimate [90% CI]" in page and "estimates in percent with 90% CI" in page
    assert "Estimate [95% CI]" not in page
    assert "not pooled: Zeta (no events/total reported or derivable)" in page
    assert "<h2 id='run'>This run</h2>" in page  # the run summary heads the report
    assert "2 studies from 2 papers" in page


def test_a_label_that_carries_its_year_does_not_get_it_twice():
    entry = contract_entry()
    entry["studies"][0]["study"] = f"Novak {entry['studies'][0]['year']}"
    text = all_texts(plots.forest_figure(entry))
    assert f"Novak {entry['studies'][0]['year']}" in text and f"({entry['studies'][0]['year']})" not in text.split(
        f"Novak {entry['studies'][0]['year']}")[1].split("\n")[0]
