"""Small-study and moderator figures: the funnel plot (with Egger's line and trim-and-fill) and the
meta-regression bubble plot, both on the model scale.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from trialmeta.figures.labels import analysis_reason
from trialmeta.figures.style import COLOURS, MEASURE_AXIS, STYLE, not_estimable_figure, number_text, p_text


def draw_funnel(ax, funnel: dict, egger: dict | None = None, trim_and_fill: dict | None = None, level: float = 0.95,
                note: str | None = None) -> None:
    """Funnel plot on the model scale: effect against its standard error, with Egger's line.

    Egger's line is metafor's regtest(model="rma", predictor="sei") fit drawn as
    yi = limit_estimate + slope * sei; at sei = 0 it meets the limit estimate.
    """
    from scipy.stats import norm

    points = funnel["points"]
    z = norm.ppf(0.5 + level / 2)
    se_values = [p["sei"] for p in points] + [f["sei"] for f in (trim_and_fill or {}).get("filled", [])]
    top = max(se_values) * 1.08
    centre = funnel["pooled_yi"]
    ax.fill_betweenx([0, top], [centre, centre - z * top], [centre, centre + z * top], color="#F2F2F2", zorder=0,
                     label=f"{level:.0%} pseudo-confidence region")
    ax.plot([centre, centre], [0, top], color="black", lw=0.8, zorder=1)
    ax.scatter([p["yi"] for p in points], [p["sei"] for p in points], s=28, color=COLOURS["study"], zorder=3,
               label="Studies", edgecolor="white", lw=0.5)
    if trim_and_fill and trim_and_fill.get("filled"):
        filled = trim_and_fill["filled"]
        ax.scatter([f["yi"] for f in filled], [f["sei"] for f in filled], s=28, facecolor="white",
                   edgecolor=COLOURS["filled"], lw=1.2, zorder=3, label=f"Filled by trim-and-fill ({len(filled)})")
    lines = []
    if egger:
        ax.plot([egger["limit_estimate"], egger["limit_estimate"] + egger["slope"] * top], [0, top],
                color=COLOURS["pooled"], lw=1.2, ls="--", zorder=2, label="Egger's regression line")
        lines.append(f"Egger's test: {number_text(egger.get('stat'), '{:.2f}')}, {p_text(egger.get('pval'))}")
        if egger.get("warning"):
            lines.append(str(egger["warning"]))
    if trim_and_fill:
        lines.append(f"Trim-and-fill: {trim_and_fill.get('k0', 0)} studies filled ({trim_and_fill.get('side', 'NA')} side)")
    if not egger and note:
        # where the test would be: why it was not run (e.g. too few studies)
        lines.append(f"Egger's test and trim-and-fill {note}")
    ax.set_ylim(top, 0)
    # the funnel and the points set the range; Egger's line is clipped to it
    xs = [p["yi"] for p in points] + [f["yi"] for f in (trim_and_fill or {}).get("filled", [])]
    low, high = min(xs + [centre - z * top]), max(xs + [centre + z * top])
    ax.set_xlim(low - 0.05 * (high - low), high + 0.05 * (high - low))
    ax.set_xlabel(MEASURE_AXIS.get(funnel["measure"], funnel["measure"]))
    ax.set_ylabel("Standard error")
    # the corners beside the funnel's apex are empty by construction
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    if lines:
        # below the x label, clear of points, legend and funnel
        ax.text(0.0, -0.16, "\n".join(lines), transform=ax.transAxes, fontsize=7.5, va="top", color=COLOURS["muted"], wrap=True)


def funnel_figure(entry: dict, level: float = 0.95):
    title = f"{entry['label']}: funnel plot"
    reason = analysis_reason(entry, "funnel")
    if reason is not None:
        return not_estimable_figure(title, reason)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 5.2))
        draw_funnel(ax, entry["funnel"], entry.get("egger"), entry.get("trim_and_fill"), level, entry.get("egger_note"))
        ax.set_title(title, fontweight="bold")
        fig.tight_layout()
        return fig


def draw_bubble(ax, regression: dict) -> None:
    """Meta-regression bubble plot: effects on the model scale against the moderator, area by weight."""
    points = regression["points"]
    weights = [p["weight"] or 0.0 for p in points]
    largest = max(weights) if weights and max(weights) > 0 else 1.0
    xs = [p["x"] for p in points]
    ax.scatter(xs, [p["yi"] for p in points], s=[20 + 380 * w / largest for w in weights],
               color=COLOURS["study"], alpha=0.6, edgecolor="black", lw=0.5, zorder=3)
    low, high = min(xs), max(xs)
    pad = 0.05 * (high - low or 1.0)
    grid = [low - pad, high + pad]
    ax.plot(grid, [regression["intercept"] + regression["slope"] * x for x in grid], color=COLOURS["pooled"], lw=1.5)
    ax.set_xlim(*grid)
    ax.set_xlabel(regression["moderator"])
    ax.set_ylabel(MEASURE_AXIS.get(regression["measure"], regression["measure"]))
    text = (
        f"slope = {number_text(regression['slope'])} [{number_text(regression.get('slope_ci_low'))}, "
        f"{number_text(regression.get('slope_ci_high'))}], {p_text(regression.get('slope_p'))}\n"
        f"QM = {number_text(regression.get('qm'), '{:.2f}')} (df = {regression.get('qm_df', 'NA')}), "
        f"τ² (residual) = {number_text(regression.get('tau2'))}, k = {regression['k']}"
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    # below the x label, where no bubble can be
    ax.text(0.0, -0.2, text, transform=ax.transAxes, va="top", fontsize=7.5, color=COLOURS["muted"])


def bubble_figure(entry: dict, moderator: str):
    title = f"{entry['label']}: meta-regression on {moderator}"
    reason = analysis_reason(entry, "meta_regression", moderator)
    if reason is not None:
        return not_estimable_figure(title, reason)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6, 4.8))
        draw_bubble(ax, entry["meta_regression"][moderator])
        ax.set_title(title, fontweight="bold")
        fig.tight_layout()
        return fig
