"""Figures drawn from pooled results: they read results and never refit.

The layout follows metafor's ``forest()`` and meta's ``forest.meta()``: study
labels and events/total on the left, squares sized by weight with their CIs in
the middle on the back-transformed (percent) scale, estimate [CI] and weight on
the right, the pooled diamond with its prediction interval below, and a
heterogeneity line.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

# Okabe-Ito palette: distinguishable with every common colour-vision deficiency.
COLOURS = {"study": "#0072B2", "pooled": "#D55E00", "interval": "#000000", "prediction": "#009E73", "grid": "#BBBBBB"}
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "trialmeta",  # fixed ids inside SVGs: byte-identical reruns
    "svg.fonttype": "path",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
ROW_HEIGHT_IN = 0.28
FIXED_HEIGHT_IN = 1.9
# PNG/SVG metadata would otherwise carry a date and break byte-identical reruns.
SAVE_METADATA = {"png": {"Software": "trialmeta"}, "svg": {"Date": None, "Creator": "trialmeta"}}


def _percent(value) -> str:
    return "NA" if value is None else f"{100 * value:.1f}"


def _interval(estimate, low, high) -> str:
    return f"{_percent(estimate)} [{_percent(low)}, {_percent(high)}]"


def heterogeneity_text(analysis: dict) -> str:
    if analysis["k"] < 2:
        return "Heterogeneity: not estimable with one study"
    i2 = "NA" if analysis.get("i2") is None else f"{analysis['i2']:.0f}%"
    tau2 = "NA" if analysis.get("tau2") is None else f"{analysis['tau2']:.3g}"
    p = analysis.get("q_p")
    p_text = "p = NA" if p is None else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")
    return f"Heterogeneity: I² = {i2}, τ² = {tau2}, Q = {analysis['q']:.2f} (df = {analysis['k'] - 1}), {p_text}"


def model_label(analysis: dict) -> str:
    if analysis["method"] == "FE":
        return "Common effect"
    ci = {"z": "z", "hk": "Knapp-Hartung", "hk_adhoc": "Knapp-Hartung (ad hoc)"}[analysis["ci_method"]]
    return f"Random effects ({analysis['method']}, {analysis['measure']}, {ci})"


def draw_forest(ax_left, ax_plot, ax_right, endpoint_result: dict) -> None:
    """Draw one endpoint's forest plot on three axes sharing the row positions."""
    studies = endpoint_result["studies"]
    analysis = endpoint_result["analyses"][0]
    k = len(studies)
    pooled_y = -1.5
    rows = list(range(k - 1, -1, -1))
    weights = [s["weight"] or 0 for s in studies]
    max_weight = max(weights) if weights and max(weights) > 0 else 1
    for y, study, weight in zip(rows, studies, weights):
        ax_plot.plot([study["ci_low"], study["ci_high"]], [y, y], color=COLOURS["interval"], lw=1)
        size = 4 + 8 * (weight / max_weight) ** 0.5
        ax_plot.plot(study["estimate"], y, marker="s", ms=size, color=COLOURS["study"], ls="none")
        label = study["study"] + (f" ({study['year']})" if study.get("year") else "")
        ax_left.text(0.0, y, label, va="center", ha="left")
        ax_left.text(1.0, y, f"{study['events']}/{study['total']}", va="center", ha="right")
        ax_right.text(0.0, y, _interval(study["estimate"], study["ci_low"], study["ci_high"]), va="center")
        ax_right.text(1.0, y, f"{weight:.1f}%", va="center", ha="right")
    est, low, high = analysis["estimate_prop"], analysis["ci_low_prop"], analysis["ci_high_prop"]
    diamond = Polygon(
        [(low, pooled_y), (est, pooled_y + 0.35), (high, pooled_y), (est, pooled_y - 0.35)],
        closed=True, color=COLOURS["pooled"],
    )
    ax_plot.add_patch(diamond)
    ax_left.text(0.0, pooled_y, model_label(analysis), va="center", fontweight="bold")
    ax_left.text(1.0, pooled_y, str(sum(s["total"] for s in studies)), va="center", ha="right", fontweight="bold")
    ax_right.text(0.0, pooled_y, _interval(est, low, high), va="center", fontweight="bold")
    ax_right.text(1.0, pooled_y, "100%", va="center", ha="right", fontweight="bold")
    if analysis.get("pi_low_prop") is not None and k >= 2:
        pi_y = pooled_y - 0.8
        ax_plot.plot([analysis["pi_low_prop"], analysis["pi_high_prop"]], [pi_y, pi_y], color=COLOURS["prediction"], lw=2.5)
        ax_left.text(0.0, pi_y, "Prediction interval", va="center", color=COLOURS["prediction"])
        ax_right.text(0.0, pi_y, f"[{_percent(analysis['pi_low_prop'])}, {_percent(analysis['pi_high_prop'])}]", va="center")
    ax_left.text(0.0, pooled_y - 1.7, heterogeneity_text(analysis), va="center", fontsize=8)
    header_y = k + 0.3
    for ax, x, ha, text in (
        (ax_left, 0.0, "left", "Study"), (ax_left, 1.0, "right", "Events/Total"),
        (ax_right, 0.0, "left", "Proportion, % [95% CI]"), (ax_right, 1.0, "right", "Weight"),
    ):
        ax.text(x, header_y, text, va="center", ha=ha, fontweight="bold")
    ax_plot.text(0.5, header_y, endpoint_result["label"], va="center", ha="center", fontweight="bold",
                 transform=ax_plot.get_yaxis_transform())
    for ax in (ax_left, ax_right):
        ax.set_xlim(0, 1)
        ax.axis("off")
    ax_plot.set_xlim(-0.02, 1.02)
    ax_plot.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25", "50", "75", "100"])
    ax_plot.set_xlabel("Proportion (%)")
    ax_plot.plot([est, est], [pooled_y, k - 0.5], color=COLOURS["grid"], lw=0.8, ls="--", zorder=0)
    ax_plot.spines["left"].set_visible(False)
    ax_plot.set_yticks([])
    bottom = pooled_y - 2.2
    for ax in (ax_left, ax_plot, ax_right):
        ax.set_ylim(bottom, k + 0.8)


def draw_empty(ax, endpoint_result: dict) -> None:
    reasons = "; ".join(f"{e['study']}: {e['reason']}" for e in endpoint_result.get("excluded", []))
    ax.text(0.5, 0.6, f"{endpoint_result['label']}: no study reports this endpoint as events/total",
            ha="center", va="center", transform=ax.transAxes, fontweight="bold")
    if reasons:
        ax.text(0.5, 0.35, "Excluded: " + reasons, ha="center", va="center", transform=ax.transAxes, wrap=True, fontsize=8)
    ax.axis("off")


def forest_figure(endpoint_result: dict):
    """A figure sized for k studies, readable from 2 to 200 rows."""
    with plt.rc_context(STYLE):
        k = len(endpoint_result["studies"])
        if k == 0 or not endpoint_result["analyses"]:
            fig, ax = plt.subplots(figsize=(10, 1.6))
            draw_empty(ax, endpoint_result)
            return fig
        fig = plt.figure(figsize=(11, FIXED_HEIGHT_IN + ROW_HEIGHT_IN * (k + 4)))
        grid = fig.add_gridspec(1, 3, width_ratios=[3.4, 3.0, 2.4], wspace=0.04)
        axes = [fig.add_subplot(grid[0, i]) for i in range(3)]
        draw_forest(*axes, endpoint_result)
        fig.subplots_adjust(left=0.02, right=0.98, top=0.97, bottom=0.9 / (FIXED_HEIGHT_IN + ROW_HEIGHT_IN * (k + 4)))
        return fig


def save_figure(fig, png_path: str, svg_path: str) -> None:
    with plt.rc_context(STYLE):
        fig.savefig(png_path, dpi=300, metadata=SAVE_METADATA["png"])
        fig.savefig(svg_path, metadata=SAVE_METADATA["svg"])
    plt.close(fig)
