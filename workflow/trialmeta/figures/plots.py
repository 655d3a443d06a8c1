"""Figures drawn from pooled results: they read results.json entries and never refit.

The forest layout follows metafor's ``forest()`` and meta's ``forest.meta()``:
study labels and events/total on the left, squares sized by weight with their
CIs in the middle on the back-transformed (percent) scale, estimate [CI] and
weight on the right, the pooled diamonds with the prediction interval below,
and a heterogeneity line. Subgroup, landmark, leave-one-out and cumulative
forests are the same layout with other rows, so every forest is first built as
a list of `Row`s and then drawn by one function.

Every ``draw_*`` function draws on axes it is given; the ``*_figure``
functions size a figure for the content and call them. When an analysis could
not be done (too few studies, a key absent), the figure says so in a
"not estimable" panel, so each configured output file always exists.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, replace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

# Okabe-Ito palette: distinguishable with every common colour-vision deficiency.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
COLOURS = {
    "study": "#0072B2", "pooled": "#D55E00", "common": "#56B4E9", "subgroup": "#CC79A7",
    "interval": "#000000", "prediction": "#009E73", "grid": "#BBBBBB", "filled": "#E69F00", "muted": "#555555",
}
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "trialmeta",  # fixed ids inside SVGs: byte-identical reruns
    "svg.fonttype": "path",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
ROW_HEIGHT_IN = 0.28
CHAR_WIDTH_IN = 0.072  # mean advance of a 9 pt DejaVu Sans character
FIXED_HEIGHT_IN = 1.2
# PNG/SVG metadata would otherwise carry a date and break byte-identical reruns.
SAVE_METADATA = {"png": {"Software": "trialmeta"}, "svg": {"Date": None, "Creator": "trialmeta"}}
MEASURE_AXIS = {
    "PLO": "Logit proportion",
    "PFT": "Freeman-Tukey double arcsine",
    "PAS": "Arcsine square-root proportion",
    "PR": "Proportion",
    "cloglog": "log(-log survival)",
}
CI_NAMES = {"z": "z", "hk": "Knapp-Hartung", "hk_adhoc": "Knapp-Hartung (ad hoc)"}


def _percent(value) -> str:
    return "NA" if value is None else f"{100 * value:.1f}"


def _interval(estimate, low, high) -> str:
    return f"{_percent(estimate)} [{_percent(low)}, {_percent(high)}]"


def _p_text(p) -> str:
    return "p = NA" if p is None else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


def _number(value, fmt: str = "{:.3g}") -> str:
    return "NA" if value is None else fmt.format(value)


def heterogeneity_text(analysis: dict) -> str:
    if analysis["k"] < 2:
        return "Heterogeneity: not estimable with one study"
    i2 = "NA" if analysis.get("i2") is None else f"{analysis['i2']:.0f}%"
    return (
        f"Heterogeneity: I² = {i2}, τ² = {_number(analysis.get('tau2'))}, "
        f"Q = {_number(analysis.get('q'), '{:.2f}')} (df = {analysis['k'] - 1}), {_p_text(analysis.get('q_p'))}"
    )


def model_label(analysis: dict) -> str:
    if analysis["method"] == "FE":
        return f"Common effect ({analysis['measure']})"
    if analysis["method"] == "GLMM":
        return f"Random effects (binomial-normal GLMM, {CI_NAMES[analysis['ci_method']]})"
    return f"Random effects ({analysis['method']}, {analysis['measure']}, {CI_NAMES[analysis['ci_method']]})"


def _fitted(analysis: dict) -> bool:
    return analysis.get("estimate_prop") is not None


def primary_analysis(entry: dict) -> dict | None:
    """The analysis the pool stage made primary (a GLMM's fallback when it failed), if it was fitted."""
    return next((a for a in entry.get("analyses", []) if a.get("primary") and _fitted(a)), None)


def sensitivity_analysis(entry: dict) -> dict | None:
    """The inverse-variance analysis behind subgroups, leave-one-out, cumulative and funnel.

    results.json names it in "sensitivity_model" (as "PLO-REML-hk"); the primary
    analysis when that key is absent.
    """
    label = entry.get("sensitivity_model")
    named = next((a for a in entry.get("analyses", []) if _fitted(a) and label is not None and
                  f"{a['measure']}-{a['method']}-{a['ci_method']}" == label), None)
    return named or primary_analysis(entry)


def subgroup_test_text(subgroup: dict) -> str:
    return (
        f"Test for subgroup differences: Q = {_number(subgroup.get('q_between'), '{:.2f}')} "
        f"(df = {subgroup.get('q_between_df', 'NA')}), {_p_text(subgroup.get('q_between_p'))}"
    )


@dataclass(frozen=True)
class Row:
    """One line of a forest plot; `kind` says how the middle panel draws it.

    study: square sized by `weight` with its CI; point: a small marker with its
    CI (leave-one-out, cumulative); diamond: a pooled estimate; prediction: a
    bar; text: words only; blank: a spacer.
    """

    kind: str
    label: str = ""
    count: str = ""
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    weight: float | None = None
    right: str = ""
    right2: str = ""
    colour: str = COLOURS["study"]
    bold: bool = False
    small: bool = False


@dataclass(frozen=True)
class Columns:
    """Column headings of a forest: two text columns left, two right."""

    label: str = "Study"
    count: str = "Events/Total"
    right: str = "Proportion, % [95% CI]"
    right2: str = "Weight"
    axis: str = "Proportion (%)"


def _study_label(study: dict) -> str:
    # "Novak 2024" already says its year: no "Novak 2024 (2024)"
    year = study.get("year")
    return study["study"] + (f" ({year})" if year and str(year) not in study["study"] else "")


def _count(study: dict) -> str:
    if study.get("events") is not None and study.get("total") is not None:
        return f"{study['events']}/{study['total']}"
    return "" if study.get("total") is None else f"n = {study['total']}"


def study_rows(studies: list[dict]) -> list[Row]:
    """Study rows; squares sized by weight, or by patients when the model has no weights (GLMM)."""
    weighted = any(s.get("weight") is not None for s in studies)
    return [
        Row("study", _study_label(s), _count(s), s["estimate"], s.get("ci_low"), s.get("ci_high"),
            (s.get("weight") or 0.0) if weighted else float(s.get("total") or 1),
            _interval(s["estimate"], s.get("ci_low"), s.get("ci_high")),
            "" if s.get("weight") is None else f"{s['weight']:.1f}%")
        for s in studies
    ]


def _total_text(studies: list[dict]) -> str:
    totals = [s.get("total") for s in studies]
    return str(sum(totals)) if totals and None not in totals else ""


def pooled_rows(entry: dict, primary: dict | None = None) -> list[Row]:
    """Diamonds of the primary analysis (and a common-effect one if configured), PI, heterogeneity."""
    primary = primary or primary_analysis(entry)
    if primary is None:
        return [Row("text", f"No pooled estimate: {entry.get('primary_note') or 'the primary analysis was not fitted'}",
                    small=True)]
    total = _total_text(entry["studies"])
    rows = []
    others = [a for a in entry["analyses"] if a is not primary and _fitted(a) and a["method"] == "FE"]
    common = next((a for a in others if a["measure"] == primary["measure"]), others[0] if others else None)
    for analysis, colour in ((common, COLOURS["common"]), (primary, COLOURS["pooled"])):
        if analysis is None:
            continue
        rows.append(Row(
            "diamond", model_label(analysis), total if analysis is primary else "",
            analysis["estimate_prop"], analysis["ci_low_prop"], analysis["ci_high_prop"],
            right=_interval(analysis["estimate_prop"], analysis["ci_low_prop"], analysis["ci_high_prop"]),
            right2="100%" if analysis is primary else "", colour=colour, bold=analysis is primary,
        ))
    if primary.get("pi_low_prop") is not None and primary["k"] >= 2 and primary["method"] != "FE":
        rows.append(Row("prediction", "Prediction interval", "", None, primary["pi_low_prop"], primary["pi_high_prop"],
                        right=f"[{_percent(primary['pi_low_prop'])}, {_percent(primary['pi_high_prop'])}]",
                        colour=COLOURS["prediction"]))
    rows.append(Row("text", heterogeneity_text(primary), small=True))
    return rows


def _weighted(entry: dict) -> bool:
    return any(s.get("weight") is not None for s in entry["studies"])


def forest_rows(entry: dict) -> list[Row]:
    rows = [*study_rows(entry["studies"]), Row("blank"), *pooled_rows(entry)]
    if entry.get("primary_note") and primary_analysis(entry) is not None:
        rows.append(Row("text", entry["primary_note"], small=True))
    if not _weighted(entry):
        rows.append(Row("text", "Squares sized by number of patients: the primary model has no study weights", small=True))
    rows.extend(excluded_rows(entry))
    return rows


def excluded_rows(entry: dict) -> list[Row]:
    """Studies that reported the endpoint but are not pooled, with why: the pool's k is never silently short."""
    return [Row("text", f"Not pooled: {e['study']} ({e['reason']})", small=True) for e in entry.get("excluded", [])]


def ci_header(entry: dict) -> str:
    """ "95% CI", or the `level` an entry (see `with_level`) or the pooling config carries."""
    return f"{100 * entry.get('level', 0.95):g}% CI"


def with_level(details: dict) -> dict:
    """results.json with pooling.level on every endpoint and landmark entry, for the headers' "90% CI"."""
    level = details.get("pooling", {}).get("level", 0.95)
    return {**details, **{group: {name: {**entry, "level": level} for name, entry in (details.get(group) or {}).items()}
                          for group in ("endpoints", "landmarks")}}


def subgroup_rows(entry: dict, subgroup: dict) -> list[Row]:
    """Blocks of studies per group, each with its own diamond, then the overall result and the test."""
    by_name = {s["study"]: s for s in entry["studies"]}
    rows: list[Row] = []
    for group in subgroup["groups"]:
        members = [by_name[name] for name in group["studies"] if name in by_name]
        rows.append(Row("text", f"{subgroup['column']} = {group['group']}", bold=True))
        rows.extend(study_rows(members))
        rows.append(Row(
            "diamond", f"Subgroup estimate (k = {group['k']})", _total_text(members),
            group["estimate"], group["ci_low"], group["ci_high"],
            right=_interval(group["estimate"], group["ci_low"], group["ci_high"]), colour=COLOURS["subgroup"],
        ))
        if group["k"] >= 2:
            rows.append(Row("text", heterogeneity_text({**group, "q_p": group.get("q_p")}), small=True))
        rows.append(Row("blank"))
    # the overall estimate of the model the subgroups were pooled with, so the two compare
    rows.extend(pooled_rows(entry, sensitivity_analysis(entry)))
    rows.append(Row("text", subgroup_test_text(subgroup), small=True))
    return rows


def leave_one_out_rows(entry: dict) -> list[Row]:
    rows = [
        Row("point", f"Omitting {r['omitted']}", str(r["k"]), r["estimate"], r["ci_low"], r["ci_high"],
            right=_interval(r["estimate"], r["ci_low"], r["ci_high"]),
            right2="NA" if r.get("i2") is None else f"{r['i2']:.0f}%")
        for r in entry["leave_one_out"]
    ]
    return [*rows, Row("blank"), *_all_studies_row(entry)]


def cumulative_rows(entry: dict) -> list[Row]:
    rows = [
        Row("point", f"+ {r['added']}" + (f" ({r['year']})" if r.get("year") else ""), str(r["k"]),
            r["estimate"], r["ci_low"], r["ci_high"], right=_interval(r["estimate"], r["ci_low"], r["ci_high"]),
            right2="NA" if r.get("i2") is None else f"{r['i2']:.0f}%")
        for r in entry["cumulative"]
    ]
    return [*rows, Row("blank"), *_all_studies_row(entry)]


def _all_studies_row(entry: dict) -> list[Row]:
    primary = sensitivity_analysis(entry)
    return [Row(
        "diamond", f"All studies: {model_label(primary)}", str(primary["k"]),
        primary["estimate_prop"], primary["ci_low_prop"], primary["ci_high_prop"],
        right=_interval(primary["estimate_prop"], primary["ci_low_prop"], primary["ci_high_prop"]),
        right2="NA" if primary.get("i2") is None else f"{primary['i2']:.0f}%", colour=COLOURS["pooled"], bold=True,
    )]


def _clipped_interval(ax, low, high, y, colour, lw=1.0) -> None:
    """A CI line; a limit beyond [0, 1] (a reported survival CI past 100%) ends in an arrow."""
    if low is None or high is None:
        return
    left, right = max(low, 0.0), min(high, 1.0)
    ax.plot([left, right], [y, y], color=colour, lw=lw, solid_capstyle="butt")
    for limit, edge, marker in ((low, 0.0, "<"), (high, 1.0, ">")):
        if (limit < edge) if edge == 0.0 else (limit > edge):
            ax.plot(edge, y, marker=marker, ms=4, color=colour, ls="none")


def draw_rows(ax_left, ax_plot, ax_right, rows: list[Row], columns: Columns, title: str,
              reference: float | None = None) -> None:
    """Draw forest rows top to bottom on three axes sharing the row positions."""
    n = len(rows)
    weights = [r.weight for r in rows if r.kind == "study" and r.weight]
    max_weight = max(weights) if weights else 1.0
    for index, row in enumerate(rows):
        y = n - 1 - index
        weight = "bold" if row.bold else "normal"
        size = 8 if row.small else None
        text_colour = COLOURS["muted"] if row.small else "black"
        ax_left.text(0.0, y, row.label, va="center", ha="left", fontweight=weight, fontsize=size, color=text_colour)
        if row.count:
            ax_left.text(1.0, y, row.count, va="center", ha="right", fontweight=weight)
        if row.right:
            ax_right.text(0.0, y, row.right, va="center", ha="left", fontweight=weight)
        if row.right2:
            ax_right.text(1.0, y, row.right2, va="center", ha="right", fontweight=weight)
        if row.kind == "study" and row.estimate is not None:
            _clipped_interval(ax_plot, row.low, row.high, y, COLOURS["interval"])
            # marker area proportional to weight, as metafor's forest()
            side = max(3.0, 11.0 * math.sqrt((row.weight or 0.0) / max_weight))
            ax_plot.plot(row.estimate, y, marker="s", ms=side, color=row.colour, ls="none")
        elif row.kind == "point" and row.estimate is not None:
            _clipped_interval(ax_plot, row.low, row.high, y, COLOURS["interval"])
            ax_plot.plot(row.estimate, y, marker="o", ms=4, color=row.colour, ls="none")
        elif row.kind == "diamond" and row.estimate is not None:
            ax_plot.add_patch(Polygon(
                [(row.low, y), (row.estimate, y + 0.38), (row.high, y), (row.estimate, y - 0.38)],
                closed=True, facecolor=row.colour, edgecolor="black", lw=0.6,
            ))
        elif row.kind == "prediction" and row.low is not None:
            ax_plot.plot([row.low, row.high], [y, y], color=row.colour, lw=2.5, solid_capstyle="butt")
    header_y = n - 0.2
    for ax, x, ha, text in (
        (ax_left, 0.0, "left", columns.label), (ax_left, 1.0, "right", columns.count),
        (ax_right, 0.0, "left", columns.right), (ax_right, 1.0, "right", columns.right2),
    ):
        ax.text(x, header_y, text, va="center", ha=ha, fontweight="bold")
    ax_plot.text(0.5, header_y, title, va="center", ha="center", fontweight="bold",
                 transform=ax_plot.get_yaxis_transform())
    for ax in (ax_left, ax_right):
        ax.set_xlim(0, 1)
        ax.axis("off")
    ax_plot.set_xlim(-0.02, 1.02)
    ax_plot.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25", "50", "75", "100"])
    ax_plot.set_xlabel(columns.axis)
    if reference is not None:
        ax_plot.axvline(reference, color=COLOURS["grid"], lw=0.8, ls="--", zorder=0)
    ax_plot.spines["left"].set_visible(False)
    ax_plot.set_yticks([])
    # transparent, so a long heterogeneity line from the left panel stays readable under the plot
    ax_plot.patch.set_visible(False)
    for ax in (ax_left, ax_plot, ax_right):
        ax.set_ylim(-0.8, n + 0.4)


def draw_forest(ax_left, ax_plot, ax_right, endpoint_result: dict) -> None:
    """Draw one endpoint's forest plot (primary analysis) on three axes."""
    draw_rows(ax_left, ax_plot, ax_right, forest_rows(endpoint_result), _columns(endpoint_result),
              endpoint_result["label"], _reference(endpoint_result))


def _reference(entry: dict, analysis: dict | None = None) -> float | None:
    analysis = analysis or primary_analysis(entry)
    return None if analysis is None else analysis["estimate_prop"]


def _columns(entry: dict, **changes) -> Columns:
    if entry.get("kind") == "landmark":
        base = Columns(count="Patients", right=f"Survival, % [{ci_header(entry)}]", axis="Survival (%)")
    else:
        base = Columns(right=f"Proportion, % [{ci_header(entry)}]")
    if not _weighted(entry):
        base = replace(base, right2="")
    return replace(base, **changes)


def draw_not_estimable(ax, title: str, reason: str) -> None:
    """A panel that states why a figure could not be drawn, in place of the figure."""
    ax.text(0.5, 0.62, title, ha="center", va="center", transform=ax.transAxes, fontweight="bold")
    ax.text(0.5, 0.32, f"Not estimable: {reason}", ha="center", va="center", transform=ax.transAxes,
            wrap=True, color=COLOURS["muted"])
    ax.axis("off")


def not_estimable_figure(title: str, reason: str):
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(9, 1.6))
        draw_not_estimable(ax, title, reason)
        return fig


def missing_reason(entry: dict, key: str, column: str | None = None) -> str | None:
    """Why `entry[key]` (or `entry[key][column]`) cannot be drawn, or None when it can.

    The pool stage writes the reason to "<key>_note": a string, or for the
    per-column keys (subgroups, meta_regression) a dict by column.
    """
    if key not in entry:
        return entry.get("sensitivity_note") or f"'{key}' is not in results.json (the pooling stage did not compute it)"
    value, note = entry[key], entry.get(f"{key}_note")
    if column is not None:
        if isinstance(note, dict) and column in note:
            return note[column]
        if value and value.get(column):
            return None
        return note if isinstance(note, str) and note else f"no analysis by '{column}' in results.json"
    if not value:
        return note if isinstance(note, str) and note else f"'{key}' is empty"
    return None


def _no_studies_reason(entry: dict) -> str:
    reason = "no study reports this endpoint with a usable estimate"
    excluded = "; ".join(f"{e['study']}: {e['reason']}" for e in entry.get("excluded", []))
    return reason + (f" (excluded: {excluded})" if excluded else "")


def _wrap_small_rows(rows: list[Row], width_chars: int) -> list[Row]:
    wrapped = []
    for row in rows:
        if row.small and len(row.label) > width_chars:
            wrapped.extend(replace(row, label=line) for line in textwrap.wrap(row.label, width_chars))
        else:
            wrapped.append(row)
    return wrapped


def rows_figure(rows: list[Row], columns: Columns, title: str, reference: float | None = None):
    """A forest figure sized for its rows (readable from 2 to 200 studies) and its longest label."""
    with plt.rc_context(STYLE):
        # a bold label is ~12% wider; small text rows run on under the plot, as in metafor
        label_chars = max([len(r.label) * (1.12 if r.bold else 1.0) + len(r.count) for r in rows if not r.small]
                          + [len(columns.label) + len(columns.count)])
        left_in = min(max(2.6, CHAR_WIDTH_IN * (label_chars + 4)), 7.0)
        right_in = 2.7
        plot_in = 3.2
        # ... and wrap within the figure's width (8 pt, so 8/9 of a 9 pt character)
        rows = _wrap_small_rows(rows, int(0.95 * (left_in + plot_in + right_in) / (CHAR_WIDTH_IN * 8 / 9)))
        height = FIXED_HEIGHT_IN + ROW_HEIGHT_IN * (len(rows) + 1)
        fig = plt.figure(figsize=(left_in + plot_in + right_in + 0.3, height))
        grid = fig.add_gridspec(1, 3, width_ratios=[left_in, plot_in, right_in], wspace=0.03)
        axes = [fig.add_subplot(grid[0, i]) for i in range(3)]
        draw_rows(*axes, rows, columns, title, reference)
        fig.subplots_adjust(left=0.02, right=0.98, top=1 - 0.15 / height, bottom=0.55 / height)
        return fig


def forest_figure(endpoint_result: dict):
    """The primary forest plot of one endpoint (proportion or landmark survival)."""
    if not endpoint_result["studies"]:
        return not_estimable_figure(endpoint_result["label"], _no_studies_reason(endpoint_result))
    return rows_figure(forest_rows(endpoint_result), _columns(endpoint_result), endpoint_result["label"],
                       _reference(endpoint_result))


def subgroup_forest_figure(entry: dict, column: str):
    title = f"{entry['label']} by {column}"
    reason = _analysis_reason(entry, "subgroups", column)
    if reason is not None:
        return not_estimable_figure(title, reason)
    return rows_figure(subgroup_rows(entry, entry["subgroups"][column]), _columns(entry), title,
                       _reference(entry, sensitivity_analysis(entry)))


def leave_one_out_figure(entry: dict):
    title = f"{entry['label']}: leave-one-out"
    reason = _analysis_reason(entry, "leave_one_out")
    if reason is not None:
        return not_estimable_figure(title, reason)
    columns = _columns(entry, label="Omitted study", count="k", right2="I²")
    return rows_figure(leave_one_out_rows(entry), columns, title, _reference(entry, sensitivity_analysis(entry)))


def cumulative_figure(entry: dict):
    title = f"{entry['label']}: cumulative by year"
    reason = _analysis_reason(entry, "cumulative")
    if reason is not None:
        return not_estimable_figure(title, reason)
    columns = _columns(entry, label="Study added", count="k", right2="I²")
    return rows_figure(cumulative_rows(entry), columns, title, _reference(entry, sensitivity_analysis(entry)))


def _analysis_reason(entry: dict, key: str, column: str | None = None) -> str | None:
    if not entry["studies"]:
        return _no_studies_reason(entry)
    if sensitivity_analysis(entry) is None:
        return entry.get("sensitivity_note") or entry.get("primary_note") or "no fitted analysis"
    return missing_reason(entry, key, column)


def landmark_rows(entry: dict) -> list[Row]:
    """One landmark entry (e.g. RFS at 12 months): its studies, diamond and heterogeneity, and its exclusions."""
    rows: list[Row] = []
    if not entry["studies"]:
        rows.append(Row("text", f"Not estimable: {_no_studies_reason(entry)}", small=True))
    else:
        rows.extend(study_rows(entry["studies"]))
        rows.extend(pooled_rows(entry))
    for excluded in entry.get("excluded", []):
        rows.append(Row("text", f"Excluded: {excluded['study']} ({excluded['reason']})", small=True))
    return rows


def landmark_figure(entry: dict | None, key: str):
    """The forest plot of one landmark entry of results.json ("landmarks"/`key`, e.g. "os_12m")."""
    if not entry:
        return not_estimable_figure(key, f"no landmark entry {key!r} in results.json")
    months = entry.get("landmark_months")
    # the long endpoint name heads the rows; the plot column's header stays short enough for its width
    heading = Row("text", entry["label"] + ("" if months is None else f" at {months} months"), bold=True)
    quantity = entry.get("quantity", "survival").capitalize()
    # the value column is 2.7 inches wide: its header names the quantity by its last word
    columns = Columns(count="Patients", right=f"{quantity.split()[-1].capitalize()}, % [{ci_header(entry)}]", axis=f"{quantity} (%)")
    return rows_figure([heading, *landmark_rows(entry)], columns, "" if months is None else f"At {months} months")


def draw_funnel(ax, funnel: dict, egger: dict | None = None, trim_and_fill: dict | None = None, level: float = 0.95) -> None:
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
        lines.append(f"Egger's test: {_number(egger.get('stat'), '{:.2f}')}, {_p_text(egger.get('pval'))}")
        if egger.get("warning"):
            lines.append(str(egger["warning"]))
    if trim_and_fill:
        lines.append(f"Trim-and-fill: {trim_and_fill.get('k0', 0)} studies filled ({trim_and_fill.get('side', 'NA')} side)")
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
    reason = _analysis_reason(entry, "funnel")
    if reason is not None:
        return not_estimable_figure(title, reason)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 5.2))
        draw_funnel(ax, entry["funnel"], entry.get("egger"), entry.get("trim_and_fill"), level)
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
        f"slope = {_number(regression['slope'])} [{_number(regression.get('slope_ci_low'))}, "
        f"{_number(regression.get('slope_ci_high'))}], {_p_text(regression.get('slope_p'))}\n"
        f"QM = {_number(regression.get('qm'), '{:.2f}')} (df = {regression.get('qm_df', 'NA')}), "
        f"τ² (residual) = {_number(regression.get('tau2'))}, k = {regression['k']}"
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    # below the x label, where no bubble can be
    ax.text(0.0, -0.2, text, transform=ax.transAxes, va="top", fontsize=7.5, color=COLOURS["muted"])


def bubble_figure(entry: dict, moderator: str):
    title = f"{entry['label']}: meta-regression on {moderator}"
    reason = _analysis_reason(entry, "meta_regression", moderator)
    if reason is not None:
        return not_estimable_figure(title, reason)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6, 4.8))
        draw_bubble(ax, entry["meta_regression"][moderator])
        ax.set_title(title, fontweight="bold")
        fig.tight_layout()
        return fig


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


def save_figure(fig, png_path: str, svg_path: str) -> None:
    with plt.rc_context(STYLE):
        fig.savefig(png_path, dpi=300, metadata=SAVE_METADATA["png"])
        fig.savefig(svg_path, metadata=SAVE_METADATA["svg"])
    plt.close(fig)
