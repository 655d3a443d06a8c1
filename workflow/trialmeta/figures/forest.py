"""Forest plots: primary, subgroup, leave-one-out, cumulative and landmark forests.

The layout follows metafor's ``forest()`` and meta's ``forest.meta()``:
study labels and events/total on the left, squares sized by weight with their
CIs in the middle on the back-transformed (percent) scale, estimate [CI] and
weight on the right, the pooled diamonds with the prediction interval below,
and a heterogeneity line. Subgroup, landmark, leave-one-out and cumulative
forests are the same layout with other rows, so every forest is first built as
a list of `Row`s and then drawn by one function.

`draw_rows` draws on axes it is given; the ``*_figure`` functions size a
figure for the content and call it. When an analysis could not be done (too
few studies, a key absent), the figure says so in a "not estimable" panel, so
each configured output file always exists.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
from matplotlib.collections import LineCollection
from matplotlib.patches import Polygon

from trialmeta.figures.labels import (
    analysis_reason,
    fitted,
    no_studies_reason,
    heterogeneity_text,
    model_label,
    primary_analysis,
    sensitivity_analysis,
    subgroup_test_text,
)
from trialmeta.figures.style import (
    CHAR_WIDTH_IN,
    COLOURS,
    FIXED_HEIGHT_IN,
    ROW_HEIGHT_IN,
    STYLE,
    TITLE_LINE_IN,
    interval_text,
    not_estimable_figure,
    percent,
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
            interval_text(s["estimate"], s.get("ci_low"), s.get("ci_high")),
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
    if primary["k"] < 2:
        # one study is shown, not pooled (meta does not pool k = 1): no diamond, no I², no PI
        return [Row("text", "Not pooled: a single study (k = 1); its exact interval is shown above", small=True)]
    total = _total_text(entry["studies"])
    rows = []
    others = [a for a in entry["analyses"] if a is not primary and fitted(a) and a["method"] == "FE"]
    common = next((a for a in others if a["measure"] == primary["measure"]), others[0] if others else None)
    for analysis, colour in ((common, COLOURS["common"]), (primary, COLOURS["pooled"])):
        if analysis is None:
            continue
        rows.append(Row(
            "diamond", model_label(analysis), total if analysis is primary else "",
            analysis["estimate_prop"], analysis["ci_low_prop"], analysis["ci_high_prop"],
            right=interval_text(analysis["estimate_prop"], analysis["ci_low_prop"], analysis["ci_high_prop"]),
            # the weight column exists only when the model has study weights (not the GLMM)
            right2="100%" if analysis is primary and _weighted(entry) else "", colour=colour, bold=analysis is primary,
        ))
    # the pool stage gives a prediction interval only for k >= 3 (t, k - 1 df)
    if primary.get("pi_low_prop") is not None and primary["k"] >= 3 and primary["method"] != "FE":
        rows.append(Row("prediction", "Prediction interval", "", None, primary["pi_low_prop"], primary["pi_high_prop"],
                        right=f"[{percent(primary['pi_low_prop'])}, {percent(primary['pi_high_prop'])}]",
                        colour=COLOURS["prediction"]))
    rows.append(Row("text", heterogeneity_text(primary), small=True))
    return rows


def _weighted(entry: dict) -> bool:
    return any(s.get("weight") is not None for s in entry["studies"])


def forest_rows(entry: dict) -> list[Row]:
    rows = [*study_rows(entry["studies"]), Row("blank"), *pooled_rows(entry)]
    if entry.get("primary_note") and primary_analysis(entry) is not None:
        rows.append(Row("text", entry["primary_note"], small=True))
    if not _weighted(entry) and len(entry["studies"]) > 1:
        rows.append(Row("text", "Squares sized by number of patients: the primary model has no study weights", small=True))
    rows.extend(excluded_rows(entry))
    return rows


def excluded_rows(entry: dict, prefix: str = "Not pooled") -> list[Row]:
    """Studies that reported the endpoint but are not pooled, with why: the pool's k is never silently short.

    Studies sharing a reason share one row (wrapped to the figure's width): a landmark forest of 19
    studies at 200 papers listed 120 studies that report another landmark, one row each.
    """
    by_reason: dict[str, list[str]] = {}
    for excluded in entry.get("excluded", []):
        by_reason.setdefault(excluded["reason"], []).append(excluded["study"])
    return [Row("text", f"{prefix}: {studies[0]} ({reason})" if len(studies) == 1
                else f"{prefix} ({reason}), {len(studies)} studies: {', '.join(studies)}", small=True)
            for reason, studies in by_reason.items()]


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
        if group["k"] < 2:
            rows.append(Row("text", "Single study: not pooled", small=True))
        else:
            label = "Exact CI of summed counts" if group.get("model", "").startswith("exact") else "Subgroup estimate"
            rows.append(Row(
                "diamond", f"{label} (k = {group['k']})", _total_text(members),
                group["estimate"], group["ci_low"], group["ci_high"],
                right=interval_text(group["estimate"], group["ci_low"], group["ci_high"]), colour=COLOURS["subgroup"],
            ))
            rows.append(Row("text", heterogeneity_text({**group, "q_p": group.get("q_p")}), small=True))
        rows.append(Row("blank"))
    # the overall estimate is the main forest's (primary model); the subgroups' model is named beside it
    rows.extend(pooled_rows(entry))
    if subgroup.get("model"):
        rows.append(Row("text", f"Subgroup estimates: {subgroup['model']}", small=True))
    rows.append(Row("text", subgroup_test_text(subgroup), small=True))
    return rows


def _omitted_label(r: dict) -> str:
    return f"Omitting {r['omitted']}"


def _added_label(r: dict) -> str:
    return f"+ {r['added']}" + (f" ({r['year']})" if r.get("year") else "")


# leave-one-out and cumulative forests differ only in these: results.json key, title, first column and row label
INFLUENCE = {
    "leave_one_out": ("leave-one-out", "Omitted study", _omitted_label),
    "cumulative": ("cumulative by year", "Study added", _added_label),
}


def influence_rows(entry: dict, key: str) -> list[Row]:
    """One point per refit (`entry[key]`: leave_one_out or cumulative) with its k and I², then all studies."""
    row_label = INFLUENCE[key][2]
    rows = [
        Row("point", row_label(r), str(r["k"]), r["estimate"], r["ci_low"], r["ci_high"],
            right=interval_text(r["estimate"], r["ci_low"], r["ci_high"]),
            right2="NA" if r.get("i2") is None else f"{r['i2']:.0f}%")
        for r in entry[key]
    ]
    return [*rows, Row("blank"), *_all_studies_row(entry)]


def _all_studies_row(entry: dict) -> list[Row]:
    primary = sensitivity_analysis(entry)
    return [Row(
        "diamond", f"All studies: {model_label(primary)}", str(primary["k"]),
        primary["estimate_prop"], primary["ci_low_prop"], primary["ci_high_prop"],
        right=interval_text(primary["estimate_prop"], primary["ci_low_prop"], primary["ci_high_prop"]),
        right2="NA" if primary.get("i2") is None else f"{primary['i2']:.0f}%", colour=COLOURS["pooled"], bold=True,
    )]


def _clipped_interval(ax, low, high, y, colour, segments: list | None = None) -> None:
    """A CI line; a limit beyond [0, 1] (a reported survival CI past 100%) ends in an arrow.

    With `segments`, the line is appended there (drawn later as one LineCollection) instead of
    being its own Line2D: a forest of 200 studies drew 400 artists where one does.
    """
    if low is None or high is None:
        return
    left, right = max(low, 0.0), min(high, 1.0)
    if segments is None:
        ax.plot([left, right], [y, y], color=colour, lw=1.0, solid_capstyle="butt")
    else:
        segments.append([(left, y), (right, y)])
    for limit, edge, marker in ((low, 0.0, "<"), (high, 1.0, ">")):
        if (limit < edge) if edge == 0.0 else (limit > edge):
            ax.plot(edge, y, marker=marker, ms=4, color=colour, ls="none")


def _draw_points(ax, points: list[tuple], marker: str) -> None:
    """(x, y, side in points, colour) markers as one scatter, sized as plot(ms=side) draws them.

    The collection's gid is "forest-<marker>" (forest-s: study squares, forest-o: refit points).
    """
    if points:
        xs, ys, sides, colours = zip(*points)
        ax.scatter(xs, ys, s=[side ** 2 for side in sides], c=list(colours), marker=marker, linewidths=1.0,
                   edgecolors="face", zorder=2.1, gid=f"forest-{marker}")


def draw_rows(ax_left, ax_plot, ax_right, rows: list[Row], columns: Columns, title: str,
              reference: float | None = None) -> None:
    """Draw forest rows top to bottom on three axes sharing the row positions."""
    n = len(rows)
    weights = [r.weight for r in rows if r.kind == "study" and r.weight]
    max_weight = max(weights) if weights else 1.0
    # CI lines and markers of all rows are drawn as one collection each (after the loop)
    segments: list = []
    squares: list[tuple] = []
    circles: list[tuple] = []
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
            _clipped_interval(ax_plot, row.low, row.high, y, COLOURS["interval"], segments)
            # marker area proportional to weight, as metafor's forest()
            side = max(3.0, 11.0 * math.sqrt((row.weight or 0.0) / max_weight))
            squares.append((row.estimate, y, side, row.colour))
        elif row.kind == "point" and row.estimate is not None:
            _clipped_interval(ax_plot, row.low, row.high, y, COLOURS["interval"], segments)
            circles.append((row.estimate, y, 4.0, row.colour))
        elif row.kind == "diamond" and row.estimate is not None:
            ax_plot.add_patch(Polygon(
                [(row.low, y), (row.estimate, y + 0.38), (row.high, y), (row.estimate, y - 0.38)],
                closed=True, facecolor=row.colour, edgecolor="black", lw=0.6,
            ))
        elif row.kind == "prediction" and row.low is not None:
            ax_plot.plot([row.low, row.high], [y, y], color=row.colour, lw=2.5, solid_capstyle="butt")
    if segments:
        ax_plot.add_collection(LineCollection(segments, colors=COLOURS["interval"], linewidths=1.0, capstyle="butt",
                                              zorder=2))
    _draw_points(ax_plot, squares, "s")
    _draw_points(ax_plot, circles, "o")
    header_y = n - 0.2
    for ax, x, ha, text in (
        (ax_left, 0.0, "left", columns.label), (ax_left, 1.0, "right", columns.count),
        (ax_right, 0.0, "left", columns.right), (ax_right, 1.0, "right", columns.right2),
    ):
        ax.text(x, header_y, text, va="center", ha=ha, fontweight="bold")
    # a title wrapped over two lines (rows_figure) grows upwards from the header row, clear of the
    # column headers beside it and of the first study
    multiline = "\n" in title
    ax_plot.text(0.5, header_y - 0.3 if multiline else header_y, title, va="bottom" if multiline else "center",
                 ha="center", fontweight="bold", transform=ax_plot.get_yaxis_transform())
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
        # the plot column's title (bold, ~12% wider) wraps within the column instead of running over
        # the headers beside it ("... grade >=3 by target" over "Events/Total")
        lines = textwrap.wrap(title, int(plot_in / (CHAR_WIDTH_IN * 1.12))) or [title]
        title = "\n".join(lines)
        extra_top = TITLE_LINE_IN * (len(lines) - 1)
        height = FIXED_HEIGHT_IN + ROW_HEIGHT_IN * (len(rows) + 1) + extra_top
        fig = plt.figure(figsize=(left_in + plot_in + right_in + 0.3, height))
        grid = fig.add_gridspec(1, 3, width_ratios=[left_in, plot_in, right_in], wspace=0.03)
        axes = [fig.add_subplot(grid[0, i]) for i in range(3)]
        draw_rows(*axes, rows, columns, title, reference)
        fig.subplots_adjust(left=0.02, right=0.98, top=1 - (0.15 + extra_top) / height, bottom=0.55 / height)
        return fig


def forest_figure(endpoint_result: dict):
    """The primary forest plot of one endpoint (proportion or landmark survival)."""
    if not endpoint_result["studies"]:
        return not_estimable_figure(endpoint_result["label"], no_studies_reason(endpoint_result))
    return rows_figure(forest_rows(endpoint_result), _columns(endpoint_result), endpoint_result["label"],
                       _reference(endpoint_result))


def subgroup_forest_figure(entry: dict, column: str):
    title = f"{entry['label']} by {column}"
    reason = analysis_reason(entry, "subgroups", column)
    if reason is not None:
        return not_estimable_figure(title, reason)
    return rows_figure(subgroup_rows(entry, entry["subgroups"][column]), _columns(entry), title, _reference(entry))


def influence_figure(entry: dict, key: str):
    """The leave-one-out (`key` leave_one_out) or cumulative (`key` cumulative) forest of one endpoint."""
    what, first_column, _ = INFLUENCE[key]
    title = f"{entry['label']}: {what}"
    reason = analysis_reason(entry, key)
    if reason is not None:
        return not_estimable_figure(title, reason)
    columns = _columns(entry, label=first_column, count="k", right2="I²")
    return rows_figure(influence_rows(entry, key), columns, title, _reference(entry, sensitivity_analysis(entry)))


def landmark_rows(entry: dict) -> list[Row]:
    """One landmark entry (e.g. RFS at 12 months): its studies, diamond and heterogeneity, and its exclusions."""
    rows: list[Row] = []
    if not entry["studies"]:
        rows.append(Row("text", f"Not estimable: {no_studies_reason(entry)}", small=True))
    else:
        rows.extend(study_rows(entry["studies"]))
        rows.extend(pooled_rows(entry))
    rows.extend(excluded_rows(entry, "Excluded"))
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
