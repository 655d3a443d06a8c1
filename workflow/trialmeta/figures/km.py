"""Kaplan-Meier curves from patient-level data, with their numbers at risk."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt

from trialmeta.figures.style import CHAR_WIDTH_IN, COLOURS, OKABE_ITO, STYLE, not_estimable_figure


# The curve keeps this width whatever the study names' length: they are written above their
# row of numbers at risk, not beside it
CURVE_WIDTH_IN = 6.4
LEFT_IN, RIGHT_IN = 0.75, 0.25
AT_RISK_ROW_IN = 0.38
NOTE_FONT_PT = 7.5


def _step(ax, times, values, **style) -> None:
    ax.step(times, values, where="post", **style)


def _month_ticks(ax, last: float) -> None:
    # the numbers at risk are given every 6 months: the ticks fall on them
    step = 6.0 if last <= 60 else 12.0
    ax.set_xticks([step * i for i in range(int(last // step) + 1)])


def draw_km(ax_curve, ax_table, km: dict) -> None:
    """Kaplan-Meier curves of the studies with patient-level data and their numbers at risk.

    A curve reconstructed from a digitised plot is drawn over the digitised
    points it was rebuilt from, so a reader sees how well it follows them.
    """
    names = list(km)
    last = 0.0
    for index, name in enumerate(names):
        curve = km[name]
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        label = name + (" (approximate)" if curve.get("approximate") and curve.get("source") != "reconstructed" else "")
        _step(ax_curve, curve["timeline"], curve["survival"], color=colour, lw=1.5, label=label)
        if curve.get("ci_low") and curve.get("ci_high"):
            ax_curve.fill_between(curve["timeline"], curve["ci_low"], curve["ci_high"], step="post", color=colour,
                                  alpha=0.15, lw=0)
        if curve.get("digitised"):
            points = curve["digitised"]
            ax_curve.plot(points["time_months"], points["survival"], ls="none", marker="o", ms=3, mfc="none",
                          mec=colour, mew=0.7, label=f"{name}: digitised points")
        row = len(names) - 1 - index
        ax_table.text(0.0, row + 0.42, name, transform=ax_table.get_yaxis_transform(), ha="left", va="center",
                      color=colour, fontsize=7.5)
        for t, n in zip(curve.get("at_risk_times", []), curve.get("at_risk", [])):
            ax_table.text(t, row, str(n), ha="center", va="center", color=colour, fontsize=8)
        last = max(last, max(curve["timeline"]))
    _month_ticks(ax_curve, last)
    ax_curve.set_ylim(0, 1.02)
    ax_curve.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25", "50", "75", "100"])
    ax_curve.set_ylabel("Survival (%)")
    ax_curve.legend(loc="lower left", fontsize=8, frameon=False)
    ax_curve.tick_params(labelbottom=False)
    ax_table.set_ylim(-0.5, len(names) - 0.1)
    ax_table.set_yticks([])
    ax_table.set_xlabel("Months")
    ax_table.set_title("Number at risk", fontsize=8, loc="left")
    ax_table.spines["left"].set_visible(False)


def _note_lines(notes: list[str], width_in: float) -> list[str]:
    """Notes wrapped to the figure's width, one paragraph each."""
    chars = int(0.97 * width_in / (CHAR_WIDTH_IN * NOTE_FONT_PT / 9))
    return [line for note in notes for line in textwrap.wrap(note, chars)]


def km_figure(km: dict | None, note: str | None = None):
    title = "Kaplan-Meier curves from patient-level data"
    if not km:
        return not_estimable_figure(title, note or "no study gives patient-level survival data")
    with plt.rc_context(STYLE):
        width = LEFT_IN + CURVE_WIDTH_IN + RIGHT_IN
        height_table = 0.35 + AT_RISK_ROW_IN * len(km)
        assumptions = [f"{name}: {'; '.join(curve['assumptions'])}." for name, curve in km.items() if curve.get("assumptions")]
        lines = _note_lines(["Assumptions."] + assumptions, width) if assumptions else []
        notes_in = 0.16 * len(lines) + (0.1 if lines else 0.0)
        height = 4.2 + height_table + notes_in
        fig = plt.figure(figsize=(width, height))
        grid = fig.add_gridspec(2, 1, height_ratios=[4.0, height_table], hspace=0.12)
        ax_curve = fig.add_subplot(grid[0])
        ax_table = fig.add_subplot(grid[1], sharex=ax_curve)
        draw_km(ax_curve, ax_table, km)
        ax_curve.set_title(title, fontweight="bold")
        if lines:
            fig.text(0.01, 0.05 / height, "\n".join(lines), fontsize=NOTE_FONT_PT, color="#333333", va="bottom",
                     linespacing=1.35)
        fig.subplots_adjust(left=LEFT_IN / width, right=1 - RIGHT_IN / width, top=1 - 0.3 / height,
                            bottom=(0.5 + notes_in) / height)
        return fig


def _logrank_text(entry: dict) -> str:
    test = entry.get("logrank")
    if not test:
        return f"Log-rank test across studies: {entry.get('logrank_note') or 'not done'}"
    p = "p < 0.001" if test["p"] < 0.001 else f"p = {test['p']:.3f}"
    return f"Log-rank test across studies: χ² = {test['statistic']:.2f} (df = {test['df']}), {p}"


def draw_km_pooled(ax, entry: dict, strata: dict) -> None:
    """The pooled curve (all reconstructed patients) with its CI, each study's curve as a thin stratum line."""
    for index, (name, curve) in enumerate(strata.items()):
        _step(ax, curve["timeline"], curve["survival"], color=OKABE_ITO[index % len(OKABE_ITO)], lw=0.9, alpha=0.8,
              label=name)
    _step(ax, entry["timeline"], entry["survival"], color="black", lw=2.0,
          label=f"Pooled: {entry['n']} patients, {entry['events']} events, {len(entry['studies'])} studies")
    ax.fill_between(entry["timeline"], entry["ci_low"], entry["ci_high"], step="post", color="black", alpha=0.12, lw=0,
                    label="Pooled 95% CI")
    _month_ticks(ax, max(entry["timeline"]))
    ax.set_ylim(0, 1.02)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25", "50", "75", "100"])
    ax.set_ylabel("Survival (%)")
    ax.set_xlabel("Months")
    ax.legend(loc="lower left", fontsize=7.5, frameon=False)
    ax.set_title(f"{entry['endpoint'].upper()}: pooled Kaplan-Meier of reconstructed patients", fontweight="bold",
                 fontsize=9)
    ax.text(1.0, 1.0, _logrank_text(entry), transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
            color=COLOURS["muted"])


def km_pooled_figure(km_pooled: dict | None, km: dict | None):
    """One panel per endpoint of results.json "km_pooled"; strata are the matching reconstructed curves of "km"."""
    title = "Pooled Kaplan-Meier of reconstructed patients"
    if not km_pooled:
        return not_estimable_figure(title, "no digitised curve of a paper in this run (curves_dir)")
    with plt.rc_context(STYLE):
        width = LEFT_IN + CURVE_WIDTH_IN + RIGHT_IN
        fig, axes = plt.subplots(len(km_pooled), 1, figsize=(width, 4.4 * len(km_pooled)), squeeze=False)
        for ax, (endpoint, entry) in zip(axes[:, 0], km_pooled.items()):
            strata = {name: c for name, c in (km or {}).items()
                      if c.get("source") == "reconstructed" and c.get("endpoint") == endpoint}
            draw_km_pooled(ax, entry, strata)
        fig.subplots_adjust(left=LEFT_IN / width, right=1 - RIGHT_IN / width, hspace=0.35,
                            top=1 - 0.35 / (4.4 * len(km_pooled)), bottom=0.55 / (4.4 * len(km_pooled)))
        return fig
