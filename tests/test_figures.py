"""Figure structure (rows, labels, diamonds, panels), from hand-made results.json entries.

The entries follow /work/results_contract.md (the pool stage's output); their
numbers are made up and only have to be consistent enough to draw. The tests
check what a reader sees (which rows, which labels, how many diamonds), not pixels.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Polygon

from trialmeta.figures import diagnostics, forest, km as km_figures, style

STUDIES = [
    # study, year, events, total, weight (%), target
    ("Alpha", 2019, 9, 12, 24.0, "CD19"),
    ("Beta", 2020, 3, 20, 22.0, "CD19"),
    ("Gamma", 2021, 5, 14, 20.0, "CD19/CD22"),
    ("Delta", 2022, 0, 9, 12.0, "CD19/CD22"),
    ("Epsilon", None, 11, 30, 22.0, "CD19/CD22"),
]


def _analysis(method, measure="PLO", ci_method="hk", estimate=0.3, primary=False):
    return {
        "endpoint": "relapse", "measure": measure, "method": method, "ci_method": ci_method, "k": 5, "n_total": 85,
        "estimate_prop": estimate, "ci_low_prop": estimate - 0.12, "ci_high_prop": estimate + 0.15,
        "pi_low_prop": None if method == "FE" else 0.05, "pi_high_prop": None if method == "FE" else 0.75,
        "tau2": 0.0 if method == "FE" else 0.41, "i2": 0.0 if method == "FE" else 52.3, "h2": 2.1, "q": 8.4,
        "q_p": 0.078, "primary": primary, "notes": [],
    }


def contract_entry() -> dict:
    """A proportion endpoint with every key of the contract filled in."""
    studies = [
        {"study": s, "paper": s.lower(), "year": y, "events": e, "total": n, "estimate": e / n,
         "ci_low": max(e / n - 0.2, 0.0), "ci_high": min(e / n + 0.2, 1.0), "weight": w, "flags": ""}
        for s, y, e, n, w, _ in STUDIES
    ]
    group = {
        "CD19": {"group": "CD19", "k": 2, "studies": ["Alpha", "Beta"], "estimate": 0.4, "ci_low": 0.1,
                 "ci_high": 0.8, "pi_low": None, "pi_high": None, "tau2": 1.2, "i2": 80.0, "q": 5.1, "q_p": 0.024},
        "CD19/CD22": {"group": "CD19/CD22", "k": 3, "studies": ["Gamma", "Delta", "Epsilon"], "estimate": 0.3,
                      "ci_low": 0.15, "ci_high": 0.5, "pi_low": 0.02, "pi_high": 0.9, "tau2": 0.1, "i2": 10.0,
                      "q": 2.2, "q_p": 0.33},
    }
    return {
        "endpoint": "relapse", "label": "Relapse", "kind": "proportion", "landmark_months": None,
        "studies": studies,
        "excluded": [{"study": "Zeta", "paper": "zeta", "reason": "impossible value: events_exceed_total"}],
        "analyses": [_analysis("REML", primary=True), _analysis("FE", estimate=0.28), _analysis("DL", "PFT", "z")],
        "subgroups": {"target": {"column": "target", "q_between": 0.31, "q_between_df": 1, "q_between_p": 0.58,
                                 "groups": [group["CD19"], group["CD19/CD22"]]}},
        "meta_regression": {"year": {
            "moderator": "year", "measure": "PLO", "k": 4, "intercept": 250.0, "slope": -0.124, "slope_se": 0.2,
            "slope_p": 0.54, "slope_ci_low": -0.9, "slope_ci_high": 0.65, "qm": 0.38, "qm_df": 1, "qm_p": 0.54,
            "tau2": 0.5,
            "points": [{"study": s, "x": y, "yi": -1.0 + 0.2 * i, "vi": 0.3, "weight": w}
                       for i, (s, y, _, _, w, _) in enumerate(STUDIES) if y is not None],
        }},
        "leave_one_out": [
            {"omitted": s, "k": 4, "estimate": 0.3 + 0.01 * i, "ci_low": 0.15, "ci_high": 0.5, "tau2": 0.3,
             "i2": 40.0 + i, "q": 6.0, "q_p": 0.1}
            for i, (s, *_rest) in enumerate(STUDIES)
        ],
        "cumulative": [
            {"added": s, "year": y, "k": i + 1, "estimate": 0.3, "ci_low": 0.3 - 0.3 / (i + 1),
             "ci_high": 0.3 + 0.3 / (i + 1), "tau2": None if i == 0 else 0.2, "i2": None if i == 0 else 30.0}
            for i, (s, y, *_rest) in enumerate(STUDIES)
        ],
        "funnel": {"measure": "PLO", "pooled_yi": -0.85,
                   "points": [{"study": s, "yi": -1.5 + 0.3 * i, "sei": 0.3 + 0.1 * i} for i, (s, *_r) in enumerate(STUDIES)]},
        "egger": {"stat": 1.2, "pval": 0.31, "df": 3, "slope": 1.1, "slope_se": 0.9, "limit_estimate": -1.4,
                  "limit_ci_low": -2.5, "limit_ci_high": -0.3, "warning": "k < 10: low power"},
        "trim_and_fill": {"k0": 2, "side": "left", "estimate": 0.25, "ci_low": 0.12, "ci_high": 0.45,
                          "filled": [{"yi": -2.0, "sei": 0.5}, {"yi": -2.3, "sei": 0.7}], "warning": None},
    }


def not_estimable_entry() -> dict:
    """One study only: the contract's keys are null with the reason in <key>_note."""
    entry = contract_entry()
    entry["studies"] = entry["studies"][:1]
    entry["analyses"] = [{**_analysis("REML", primary=True), "k": 1, "q": 0.0}]
    for key in ("subgroups", "meta_regression", "leave_one_out", "cumulative", "funnel", "egger", "trim_and_fill"):
        entry[key] = None
        entry[f"{key}_note"] = "k = 1: too few studies"
    return entry


def glmm_entry() -> dict:
    """A GLMM primary (no study weights) with the sensitivity analyses from REML, as the pool stage writes it."""
    entry = contract_entry()
    glmm = {**_analysis("GLMM", ci_method="z", estimate=0.32, primary=True), "tau2": 0.5, "i2": None}
    reml = {**entry["analyses"][0], "primary": False}
    entry["analyses"] = [glmm, reml]
    entry["sensitivity_model"] = "PLO-REML-hk"
    for study in entry["studies"]:
        study["weight"] = None
    entry["subgroups_note"] = {"population": "needs at least 2 subgroups with a known population; found 1"}
    return entry


def landmarks() -> dict:
    rfs = copy.deepcopy(contract_entry())
    rfs.update({"endpoint": "rfs", "label": "Relapse-free survival", "kind": "landmark",
                "landmark_months": 12, "excluded": [{"study": "Epsilon", "paper": "epsilon",
                                                    "reason": "reported at 24 months only"}]})
    for study in rfs["studies"]:
        study["events"] = None
    rfs["studies"][0]["ci_high"] = 1.08  # a reported CI running past 100%
    rfs["studies"] = rfs["studies"][:4]
    os_ = {"endpoint": "os", "label": "Overall survival", "kind": "landmark", "landmark_months": 24,
           "studies": [], "excluded": [], "analyses": []}
    return {"rfs_12m": rfs, "os_24m": os_}


def km() -> dict:
    return {
        "Alpha": {"timeline": [0, 2, 5, 9, 14, 24], "survival": [1, 0.9, 0.8, 0.7, 0.7, 0.6],
                  "ci_low": [1, 0.7, 0.55, 0.45, 0.45, 0.35], "ci_high": [1, 0.98, 0.93, 0.87, 0.87, 0.8],
                  "at_risk_times": [0, 6, 12, 18, 24], "at_risk": [12, 9, 7, 6, 3],
                  "assumptions": ["censored at median follow-up where no time is given"], "approximate": True},
        "Beta": {"timeline": [0, 3, 8, 20], "survival": [1, 0.95, 0.85, 0.8], "ci_low": [1, 0.8, 0.65, 0.6],
                 "ci_high": [1, 1, 0.95, 0.92], "at_risk_times": [0, 6, 12, 18], "at_risk": [20, 18, 15, 10],
                 "assumptions": [], "approximate": False},
    }


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def diamonds(ax) -> list[Polygon]:
    return [p for p in ax.patches if isinstance(p, Polygon)]


class Square(NamedTuple):
    """One study square of a forest (drawn as one scatter per figure), read like a Line2D marker."""

    x: float
    y: float
    side: float

    def get_xdata(self):
        return [self.x]

    def get_markersize(self):
        return self.side


def squares(ax) -> list[Square]:
    return [Square(x, y, size ** 0.5) for c in ax.collections if c.get_gid() == "forest-s"
            for (x, y), size in zip(c.get_offsets(), c.get_sizes())]


def test_forest_rows_labels_counts_and_two_diamonds_when_common_effect_is_configured():
    fig = forest.forest_figure(contract_entry())
    left, plot, right = fig.axes
    labels = texts(left)
    assert "Alpha (2019)" in labels and "Epsilon" in labels and "0/9" in labels
    assert len(squares(plot)) == 5
    # primary random-effects diamond and the configured common-effect one
    assert len(diamonds(plot)) == 2
    assert "Random effects (REML, PLO, Knapp-Hartung)" in labels and "Common effect (PLO)" in labels
    assert "Prediction interval" in labels
    assert "Heterogeneity: I² = 52%, τ² = 0.41, Q = 8.40 (df = 4), p = 0.078" in labels
    # the right-hand columns: estimate [CI] in percent and weight; 9/12 = 75.0%
    assert "75.0 [55.0, 95.0]" in texts(right) and "24.0%" in texts(right)
    assert plot.get_xlabel() == "Proportion (%)"
    assert [t.get_text() for t in plot.get_xticklabels()] == ["0", "25", "50", "75", "100"]


def test_squares_are_sized_by_weight():
    fig = forest.forest_figure(contract_entry())
    sizes = {round(line.get_xdata()[0], 4): line.get_markersize() for line in squares(fig.axes[1])}
    # Alpha (24%) is the heaviest, Delta (12%) the lightest: marker side ~ sqrt(weight)
    assert sizes[0.75] == pytest.approx(11.0)
    assert sizes[0.0] == pytest.approx(11.0 * (12 / 24) ** 0.5)


def test_forest_without_a_common_effect_analysis_has_one_diamond():
    entry = contract_entry()
    entry["analyses"] = [entry["analyses"][0], entry["analyses"][2]]
    assert len(diamonds(forest.forest_figure(entry).axes[1])) == 1


@pytest.mark.parametrize("k", [2, 200])
def test_forest_grows_with_k_and_keeps_a_row_height(k):
    entry = contract_entry()
    entry["studies"] = [dict(entry["studies"][i % 5], study=f"Study {i}") for i in range(k)]
    fig = forest.forest_figure(entry)
    assert len(squares(fig.axes[1])) == k
    # every row gets the same physical height, whatever k
    rows = len(forest.forest_rows(entry))
    assert fig.get_figheight() == pytest.approx(style.FIXED_HEIGHT_IN + style.ROW_HEIGHT_IN * (rows + 1))


def test_subgroup_forest_has_a_block_and_a_diamond_per_group_and_the_between_test():
    fig = forest.subgroup_forest_figure(contract_entry(), "target")
    left, plot, _ = fig.axes
    labels = texts(left)
    assert "target = CD19" in labels and "target = CD19/CD22" in labels
    assert labels.count("Subgroup estimate (k = 2)") == 1 and labels.count("Subgroup estimate (k = 3)") == 1
    # two groups + primary + common effect
    assert len(diamonds(plot)) == 4
    assert len(squares(plot)) == 5
    assert "Test for subgroup differences: Q = 0.31 (df = 1), p = 0.580" in labels
    # each block lists its own studies, in the group's order
    order = [t for t in labels if t in ("Alpha (2019)", "Beta (2020)", "Gamma (2021)", "Delta (2022)", "Epsilon")]
    assert order == ["Alpha (2019)", "Beta (2020)", "Gamma (2021)", "Delta (2022)", "Epsilon"]


def test_leave_one_out_and_cumulative_have_a_row_per_step_and_the_full_estimate():
    loo = forest.influence_figure(contract_entry(), "leave_one_out")
    labels = texts(loo.axes[0])
    assert [t for t in labels if t.startswith("Omitting ")] == [f"Omitting {s[0]}" for s in STUDIES]
    assert len(diamonds(loo.axes[1])) == 1
    assert "44%" in texts(loo.axes[2])  # I² of the fifth omission
    cumulative = forest.influence_figure(contract_entry(), "cumulative")
    labels = texts(cumulative.axes[0])
    assert [t for t in labels if t.startswith("+ ")][:2] == ["+ Alpha (2019)", "+ Beta (2020)"]
    assert "NA" in texts(cumulative.axes[2])  # I² of one study is not estimable


@pytest.mark.parametrize("draw", [
    lambda e: forest.influence_figure(e, "leave_one_out"), lambda e: forest.influence_figure(e, "cumulative"),
    diagnostics.funnel_figure,
    lambda e: forest.subgroup_forest_figure(e, "target"), lambda e: diagnostics.bubble_figure(e, "year"),
])
def test_impossible_analyses_draw_a_panel_naming_the_reason(draw):
    fig = draw(not_estimable_entry())
    assert len(fig.axes) == 1
    assert "Not estimable: k = 1: too few studies" in texts(fig.axes[0])


def test_keys_absent_from_results_are_named_not_crashed_on():
    entry = contract_entry()
    del entry["funnel"]
    fig = diagnostics.funnel_figure(entry)
    assert any("'funnel' is not in results.json" in t for t in texts(fig.axes[0]))
    fig = forest.subgroup_forest_figure(contract_entry(), "age_group")
    assert any("no analysis by 'age_group' in results.json" in t for t in texts(fig.axes[0]))


def test_funnel_shows_studies_filled_points_and_eggers_line():
    fig = diagnostics.funnel_figure(contract_entry())
    ax = fig.axes[0]
    studies, filled = ax.collections[1], ax.collections[2]
    assert len(studies.get_offsets()) == 5 and len(filled.get_offsets()) == 2
    egger = next(line for line in ax.lines if line.get_label() == "Egger's regression line")
    # yi = limit + slope * sei: at sei = 0 the line meets the limit estimate -1.4
    assert egger.get_xdata()[0] == pytest.approx(-1.4) and egger.get_ydata()[0] == 0
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # precise studies at the top
    assert ax.get_xlabel() == "Logit proportion"
    assert any("k < 10: low power" in t for t in texts(ax))


def test_bubble_plot_has_a_bubble_per_study_with_a_year_and_the_fitted_line():
    fig = diagnostics.bubble_figure(contract_entry(), "year")
    ax = fig.axes[0]
    assert len(ax.collections[0].get_offsets()) == 4  # Epsilon has no year
    line = ax.lines[0]
    x0, x1 = line.get_xdata()
    y0, y1 = line.get_ydata()
    assert (y1 - y0) / (x1 - x0) == pytest.approx(-0.124)
    assert ax.get_xlabel() == "year"


def test_landmark_figure_shows_one_entry_with_its_exclusions():
    fig = forest.landmark_figure(landmarks()["rfs_12m"], "rfs_12m")
    left, plot, right = fig.axes
    labels = texts(left)
    assert labels[0] == "Relapse-free survival at 12 months" and "At 12 months" in texts(plot)
    assert "Excluded: Epsilon (reported at 24 months only)" in labels
    assert len(squares(plot)) == 4 and len(diamonds(plot)) == 2  # primary and the configured common effect
    assert "n = 12" in labels  # no events for survival: the patients are shown
    # the CI past 100% ends in an arrow at the axis limit
    assert any(line.get_marker() == ">" and line.get_xdata()[0] == 1.0 for line in plot.lines)
    assert plot.get_xlabel() == "Survival (%)"


def test_landmark_without_studies_says_why():
    fig = forest.landmark_figure(landmarks()["os_24m"], "os_24m")
    assert any(t.startswith("Not estimable: no study reports") for t in texts(fig.axes[0]))


def test_km_curves_with_numbers_at_risk_and_approximation_marked():
    fig = km_figures.km_figure(km())
    curve, table = fig.axes
    assert [t.get_text() for t in curve.get_legend().get_texts()] == ["Alpha (approximate)", "Beta"]
    # each study's name heads its row of numbers at risk
    assert texts(table) == ["Alpha", "12", "9", "7", "6", "3", "Beta", "20", "18", "15", "10"]
    assert any("censored at median follow-up" in t.get_text() for t in fig.texts)
    empty = km_figures.km_figure({})
    assert "Not estimable: no study gives patient-level survival data" in texts(empty.axes[0])


def _curve_width_in(fig) -> float:
    return fig.axes[0].get_position().width * fig.get_figwidth()


def test_km_curve_keeps_its_width_whatever_the_study_names_length():
    short = _curve_width_in(km_figures.km_figure(km()))
    long_names = {f"{name}: a study label of sixty characters or so, with its registry id": c for name, c in km().items()}
    assert _curve_width_in(km_figures.km_figure(long_names)) == pytest.approx(short)
    assert short >= 6.0  # inches: the curve, not the labels, takes the figure's width


def reconstructed_curve() -> dict:
    return {**km()["Beta"], "source": "reconstructed", "endpoint": "os", "paper": "beta", "study": "Beta",
            "assumptions": ["reconstructed from the digitised curve beta.csv (Guyot 2012)"], "approximate": True,
            "digitised": {"time_months": [0, 2.9, 3.1, 7.9, 8.2, 19.8], "survival": [1, 1, 0.95, 0.95, 0.85, 0.8]}}


def test_reconstructed_curve_is_drawn_over_its_digitised_points():
    fig = km_figures.km_figure({"Beta (os, reconstructed)": reconstructed_curve()})
    curve = fig.axes[0]
    legend = [t.get_text() for t in curve.get_legend().get_texts()]
    assert legend == ["Beta (os, reconstructed)", "Beta (os, reconstructed): digitised points"]
    points = [line for line in curve.get_lines() if line.get_marker() == "o"]
    assert len(points) == 1 and list(points[0].get_ydata()) == [1, 1, 0.95, 0.95, 0.85, 0.8]


def test_pooled_km_shows_the_pooled_curve_its_strata_and_the_log_rank_test():
    pooled = {"os": {"endpoint": "os", "studies": ["Alpha", "Beta"], "n": 32, "events": 9, **km()["Alpha"],
                     "logrank": {"statistic": 3.21, "df": 1, "p": 0.073}, "logrank_note": None}}
    strata = {"Alpha (os, reconstructed)": {**km()["Alpha"], "source": "reconstructed", "endpoint": "os"},
              "Beta (os, reconstructed)": reconstructed_curve(),
              "Gamma (efs, reconstructed)": {**km()["Beta"], "source": "reconstructed", "endpoint": "efs"}}
    fig = km_figures.km_pooled_figure(pooled, strata)
    (ax,) = fig.axes
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Alpha (os, reconstructed)", "Beta (os, reconstructed)",
                      "Pooled: 32 patients, 9 events, 2 studies", "Pooled 95% CI"]
    assert "Log-rank test across studies: χ² = 3.21 (df = 1), p = 0.073" in texts(ax)
    empty = km_figures.km_pooled_figure({}, strata)
    assert any(t.startswith("Not estimable: no digitised curve") for t in texts(empty.axes[0]))


def test_svg_and_png_are_byte_identical_across_saves(tmp_path):
    outputs = []
    for run in ("a", "b"):
        png, svg = tmp_path / f"{run}.png", tmp_path / f"{run}.svg"
        style.save_figure(forest.forest_figure(contract_entry()), str(png), str(svg))
        outputs.append((png.read_bytes(), svg.read_bytes()))
    assert outputs[0] == outputs[1]


def test_glmm_primary_sizes_squares_by_patients_and_subgroups_use_the_named_model():
    entry = glmm_entry()
    fig = forest.forest_figure(entry)
    left, plot, right = fig.axes
    labels = texts(left)
    assert "Random effects (binomial-normal GLMM, z)" in labels
    assert "Squares sized by number of patients: the primary model has no study weights" in labels
    assert "Weight" not in texts(right) and "24.0%" not in texts(right)
    assert "100%" not in texts(right)  # no weight column: no lone total under a missing header
    sizes = {round(line.get_xdata()[0], 4): line.get_markersize() for line in squares(plot)}
    # Epsilon has the most patients (30): full size; Delta (9): sqrt(9/30) of it
    assert sizes[round(11 / 30, 4)] == pytest.approx(11.0)
    assert sizes[0.0] == pytest.approx(11.0 * (9 / 30) ** 0.5)
    sub = texts(forest.subgroup_forest_figure(entry, "target").axes[0])
    # issue 17: the overall diamond beside the subgroups is the main forest's (the primary GLMM), not the
    # REML model the subgroups were pooled with (it once showed another overall estimate than the main forest)
    assert "Random effects (binomial-normal GLMM, z)" in sub and "Random effects (REML, PLO, Knapp-Hartung)" not in sub
    reason = texts(forest.subgroup_forest_figure(entry, "population").axes[0])
    assert "Not estimable: needs at least 2 subgroups with a known population; found 1" in reason


def test_primary_not_fitted_draws_studies_and_says_why():
    entry = contract_entry()
    entry["analyses"] = [{**entry["analyses"][0], "estimate_prop": None, "ci_low_prop": None, "ci_high_prop": None}]
    entry["primary_note"] = "PLO-GLMM-z could not be fitted (all studies at 0%); no fallback configured"
    fig = forest.forest_figure(entry)
    assert len(squares(fig.axes[1])) == 5 and diamonds(fig.axes[1]) == []
    assert any(t.endswith("no fallback configured") for t in texts(fig.axes[0]))


def test_a_long_note_is_wrapped_inside_the_figure():
    entry = contract_entry()
    entry["primary_note"] = "PLO-GLMM-z could not be fitted (all studies have 100% events: " + "the likelihood has no maximum; " * 8
    fig = forest.forest_figure(entry)
    fig.canvas.draw()
    right_edge = fig.bbox.x1
    notes = [t for t in fig.axes[0].texts if "likelihood" in t.get_text() or "PLO-GLMM-z" in t.get_text()]
    assert len(notes) >= 3  # wrapped over several lines, not cut off
    assert all(t.get_window_extent().x1 <= right_edge for t in notes)


def test_png_pixels_are_capped_whatever_the_study_count_and_small_figures_stay_at_300_dpi(tmp_path):
    from PIL import Image

    small = forest.forest_figure(contract_entry())
    assert style.png_dpi(small) == 300
    many = contract_entry()
    many["studies"] = [{**s, "study": f"Study {i}"} for i in range(200) for s in many["studies"][:1]]
    big = forest.forest_figure(many)
    width, height = big.get_size_inches()
    assert width * height * 300 ** 2 > 4 * style.PNG_PIXEL_BUDGET  # 300 dpi would be far over budget
    png, svg = tmp_path / "big.png", tmp_path / "big.svg"
    style.save_figure(big, str(png), str(svg))
    with Image.open(png) as image:
        assert image.width * image.height <= style.PNG_PIXEL_BUDGET
        assert image.height > 3000  # still 130 dpi or so: every row readable


def test_studies_excluded_for_one_reason_share_a_row_and_none_is_left_out():
    # a landmark forest of 19 studies at 200 papers listed 120 studies reporting another landmark, a row each
    entry = {"excluded": [{"study": f"S{i}", "reason": "reports at 12 months"} for i in range(3)]
             + [{"study": "T", "reason": "same trial as S0"}]}
    labels = [row.label for row in forest.excluded_rows(entry, "Excluded")]
    assert labels == ["Excluded (reports at 12 months), 3 studies: S0, S1, S2", "Excluded: T (same trial as S0)"]


def test_a_large_forest_is_written_byte_identical_twice(tmp_path):
    entry = contract_entry()
    entry["studies"] = [{**entry["studies"][i % 5], "study": f"S{i}"} for i in range(60)]
    for run in ("a", "b"):
        style.save_figure(forest.forest_figure(entry), str(tmp_path / f"{run}.png"), str(tmp_path / f"{run}.svg"))
    for ext in ("png", "svg"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes()


def test_a_long_plot_title_wraps_clear_of_the_column_headers():
    # "<endpoint label> by <column>" is wider than the plot column: it must not run over "Events/Total"
    rows = [forest.Row("study", label=f"Study {i}", count=f"{i}/20", estimate=i / 20, low=0.0, high=0.5, weight=1.0)
            for i in range(1, 4)]
    title = "Cytokine release syndrome, grade 3 or higher, by construct"
    fig = forest.rows_figure(rows, forest.Columns(), title)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for ax in fig.axes for t in ax.texts]
    drawn_title = next(t for t in texts if t.get_text().replace("\n", " ") == title)
    assert "\n" in drawn_title.get_text()
    title_box = drawn_title.get_window_extent(renderer)
    for header in ("Events/Total", "Proportion, % [95% CI]", "Study 1"):
        box = next(t for t in texts if t.get_text() == header).get_window_extent(renderer)
        assert not title_box.overlaps(box), header
    plt.close(fig)
