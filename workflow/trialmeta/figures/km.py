"""Kaplan-Meier curves from patient-level data, with their numbers at risk."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt

from trialmeta.figures.style import CHAR_WIDTH_IN, COLOURS, OKABE_ITO, STYLE, not_estimable_figure


def _step(ax, times, values, **style) -> None:
    ax.step(times, values, where="post", **style)


def draw_km(ax_curve, ax_table, km: dict) -> None:
    """Kaplan-Meier curves of the studies with patient-level data and their numbers at risk."""
    names = list(km)
    for index, name in enumerate(names):
        curve = km[name]
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        label = name + (" (approximate)" if curve.get("approximate") else "")
        _step(ax_curve, curve["timeline"], curve["survival"], color=colour, lw=1.5, label=label)
        if curve.get("ci_low") and curve.get("ci_high"):
            ax_curve.fill_between(curve["timeline"], curve["ci_low"], curve["ci_high"], step="post", color=colour,
                                  alpha=0.15, lw=0)
        for t, n in zip(curve.get("at_risk_times", []), curve.get("at_risk", [])):
            ax_table.text(t, len(names) - 1 - index, str(n), ha="center", va="center", color=colour, fontsize=8)
    ax_curve.set_ylim(0, 1.02)
    ax_curve.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25", "50", "75", "100"])
    ax_curve.set_ylabel("Survival (%)")
    ax_curve.legend(loc="lower left", fontsize=8, frameon=False)
    ax_curve.tick_params(labelbottom=False)
    ax_table.set_ylim(-0.6, len(names) - 0.4)
    ax_table.set_yticks(range(len(names)), list(reversed(names)))
    ax_table.set_xlabel("Months")
    ax_table.set_title("Number at risk", fontsize=8, loc="left")
    ax_table.spines["left"].set_visible(False)
    ax_table.tick_params(axis="y", length=0)


def km_figure(km: dict | None, note: str | None = None):
    title = "Kaplan-Meier curves from patient-level data"
    if not km:
        return not_estimable_figure(title, note or "no study gives patient-level survival data")
    with plt.rc_context(STYLE):
        height_table = 0.5 + 0.25 * len(km)
        names_in = CHAR_WIDTH_IN * max(len(name) for name in km) + 0.5
        width = 5.5 + names_in
        # each curve's assumptions go under the axis label, wrapped to the width (7 pt characters)
        assumptions = [f"{name}: {'; '.join(curve['assumptions'])}" for name, curve in km.items() if curve.get("assumptions")]
        lines = textwrap.wrap("Assumptions. " + ". ".join(assumptions), int(0.97 * width / (CHAR_WIDTH_IN * 7 / 9))) \
            if assumptions else []
        notes_in = 0.13 * len(lines) + (0.1 if lines else 0.0)
        height = 4.2 + height_table + notes_in
        fig = plt.figure(figsize=(width, height))
        grid = fig.add_gridspec(2, 1, height_ratios=[4.0, height_table], hspace=0.12)
        ax_curve = fig.add_subplot(grid[0])
        ax_table = fig.add_subplot(grid[1], sharex=ax_curve)
        draw_km(ax_curve, ax_table, km)
        ax_curve.set_title(title, fontweight="bold")
        if lines:
            fig.text(0.01, 0.05 / height, "\n".join(lines), fontsize=7, color=COLOURS["muted"], va="bottom")
        fig.subplots_adjust(left=names_in / width, right=0.97, top=0.94, bottom=(0.5 + notes_in) / height)
        return fig
