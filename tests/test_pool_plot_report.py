"""Pooling glue, forest plot structure and report content, on a small hand-made table."""

import pandas as pd
import pytest
from scipy import stats
from matplotlib.patches import Polygon

from trialmeta.figures.forest import forest_figure
from trialmeta.pool.pooling import exact_ci, pool_all
from trialmeta.report.methods import methods_text
from trialmeta.report.page import build_report

POOLING = {
    "level": 0.95,
    "continuity_correction": {"add": 0.5, "to": "only0"},
    "analyses": [{"measure": "PLO", "method": "REML", "ci_method": "hk"}, {"measure": "PFT", "method": "DL", "ci_method": "z"}],
}
CONFIG = {"papers_dir": "papers", "pooling": POOLING}


@pytest.fixture(scope="module")
def tables():
    rows = [("Trial A", 15, 15), ("Trial B", 3, 20), ("Trial C", 4, 14), ("Trial D", 0, 9)]
    endpoints = pd.DataFrame([
        {"study": s, "paper": s.lower().replace(" ", "_"), "trial_ids": "", "endpoint": "relapse",
         "landmark_months": None, "events": e, "total": n, "estimate": e / n, "ci_low": None, "ci_high": None,
         "se": None, "source": "extracted", "page": 2, "quote": f"{s}: {e} of {n} relapsed", "flags": ""}
        for s, e, n in rows
    ])
    endpoints["events"] = endpoints["events"].astype("Int64")
    endpoints["total"] = endpoints["total"].astype("Int64")
    endpoints["page"] = endpoints["page"].astype("Int64")
    studies = pd.DataFrame({"study": [r[0] for r in rows], "year": [2020, 2021, None, 2023]})
    pooled, details = pool_all(endpoints, studies, ["relapse", "crs_any"], POOLING)
    return endpoints, studies, pooled, details


def test_one_row_per_endpoint_and_analysis_with_pooled_counts(tables):
    _, _, pooled, details = tables
    relapse = pooled[pooled["endpoint"] == "relapse"]
    assert list(relapse["measure"]) == ["PLO", "PFT"]
    assert set(relapse["k"]) == {4} and set(relapse["n_total"]) == {58}
    assert pooled[pooled["endpoint"] == "crs_any"].empty  # no study reports it: no row, no invented number
    assert details["endpoints"]["crs_any"]["studies"] == []
    weights = [s["weight"] for s in details["endpoints"]["relapse"]["studies"]]
    assert sum(weights) == pytest.approx(100)


def test_exact_interval_by_hand():
    # Clopper-Pearson for 0/9: upper = 1 - 0.025^(1/9) = 0.3363...
    low, high = exact_ci(0, 9, 0.95)
    assert low == 0 and high == pytest.approx(1 - 0.025 ** (1 / 9))


@pytest.mark.parametrize("events, total", [(1, 9), (7, 15), (14, 15), (15, 15), (3, 200)])
def test_exact_interval_equals_scipys_root_search(events, total):
    # scipy's binomtest finds the Clopper-Pearson limits by root search on the binomial tails
    reference = stats.binomtest(events, total).proportion_ci(confidence_level=0.95, method="exact")
    assert exact_ci(events, total, 0.95) == pytest.approx((reference.low, reference.high), rel=1e-9, abs=1e-12)


def test_forest_has_a_row_per_study_a_diamond_and_readable_labels(tables):
    _, _, _, details = tables
    relapse = details["endpoints"]["relapse"]
    fig = forest_figure(relapse)
    left, plot, right = fig.axes
    labels = [t.get_text() for t in left.texts]
    assert "Trial A (2020)" in labels and "Trial C" in labels and "0/9" in labels
    assert sum(isinstance(p, Polygon) for p in plot.patches) == 1
    squares = [xy for c in plot.collections if c.get_gid() == "forest-s" for xy in c.get_offsets()]  # one scatter
    assert len(squares) == 4
    assert any(t.get_text().startswith("Heterogeneity: I² =") for t in left.texts)


def test_forest_grows_with_the_number_of_studies(tables):
    _, _, _, details = tables
    small = forest_figure(details["endpoints"]["relapse"])
    many = dict(details["endpoints"]["relapse"])
    many["studies"] = details["endpoints"]["relapse"]["studies"] * 25
    big = forest_figure(many)
    assert big.get_figheight() > 5 * small.get_figheight() / 2


def test_report_links_numbers_to_quotes_and_states_the_methods(tables, tmp_path):
    endpoints, studies, pooled, details = tables
    svg = tmp_path / "forest.svg"
    forest_figure(details["endpoints"]["relapse"]).savefig(svg)
    empty = pd.DataFrame(columns=["paper", "stage", "error_kind", "message"])
    html = build_report(endpoints, studies, pooled, pd.DataFrame(columns=["paper", "check"]), empty, details,
                        {"forest_relapse": svg, "forest_crs_any": svg}, CONFIG)
    assert html.count("data:image/svg+xml;base64,") == 2
    assert "<summary>3/20</summary>" in html and "Trial B: 3 of 20 relapsed" in html and "page 2" in html
    text = methods_text(CONFIG)
    assert "logit transformation" in text and "restricted maximum likelihood" in text and "Knapp-Hartung" in text
    assert "PFT / DL / z" in text
