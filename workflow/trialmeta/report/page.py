"""The self-contained HTML report: it reads the pipeline's results, never refits.

Figures are embedded as data URIs so the file opens offline, except those too large
to embed (see `_link_large`), which are shown from their SVGs beside the report; each number of
the harmonised table carries its quote and page (click to show). The methods
paragraphs come from `methods`. Apart from the run date
in its header, the same inputs give the same report.
"""

from __future__ import annotations

import base64
import html
import importlib.metadata
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd

from trialmeta.figures.forest import ci_header
from trialmeta.figures.labels import heterogeneity_text, model_label, primary_analysis, subgroup_test_text
from trialmeta.report.methods import landmark_entries, methods, model_of
from trialmeta.report.preparation import entry_title
from trialmeta.report.summary import papers_in, report_block

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
details.src summary{cursor:pointer;color:#0072B2;text-decoration:underline dotted}
details.src blockquote{margin:4px 0;padding:4px 8px;background:#f7f7f7;border-left:3px solid #0072B2;max-width:40em;font-size:0.95em}
details.fig>summary{cursor:pointer;font-weight:600;margin:0.6em 0}
.flag{color:#D55E00}
img{max-width:100%;height:auto;display:block;margin:0.5em 0}
.note{color:#555;font-size:0.9em}
nav ul{columns:3;font-size:0.9em}
section.endpoint{border-top:2px solid #0072B2;margin-top:2em}
"""
SOFTWARE = ("snakemake", "pdfplumber", "numpy", "scipy", "pandas", "statsmodels", "lifelines", "matplotlib")


def _e(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value))


def _pct(value) -> str:
    return "" if _missing(value) else f"{100 * float(value):.1f}%"


def _num(value, fmt="{:.3g}") -> str:
    return "" if _missing(value) else fmt.format(float(value))


def _tau2(value) -> str:
    """τ² to at most 4 decimals: a fit stopped on the boundary (τ² = 3e-21) prints 0, as metafor prints it."""
    if _missing(value):
        return ""
    return "0" if abs(float(value)) < 5e-5 else f"{float(value):.3g}"


def _p(value) -> str:
    return "" if _missing(value) else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def _interval(estimate, low, high) -> str:
    if _missing(estimate):
        return ""
    return f"{_pct(estimate)} [{_pct(low)}, {_pct(high)}]"


def _table(frame: pd.DataFrame, columns: list[str], formats: dict | None = None, headers: dict | None = None) -> str:
    formats, headers = formats or {}, headers or {}
    head = "".join(f"<th>{_e(headers.get(c, c))}</th>" for c in columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            if column in formats:
                cells.append(f"<td class='num'>{formats[column](value)}</td>")
            else:
                cells.append(f"<td>{_e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _rows_table(headers: list[str], rows: list[list[str]]) -> str:
    """A table of already escaped cells."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _svg_width_px(path: Path) -> int:
    """The CSS width (96 px per inch) of a matplotlib SVG, from its root's width in points."""
    for _, element in ElementTree.iterparse(path, events=("start",)):
        width = element.get("width", "")
        if width.endswith("pt"):
            return round(float(width[:-2]) * 96 / 72)
        break
    raise ValueError(f"{path}: the SVG root has no width in points")


# Above this many studies an endpoint's figures are linked, not embedded: a forest of 200
# studies is a few MB of SVG, and the report embedding all of them reached 60 MB.
EMBED_MAX_STUDIES = 40
# ... and so is any SVG larger than EMBED_MAX_BYTES (a landmark forest of 19 studies listing 170
# studies excluded at that landmark was 1.1 MB; the Kaplan-Meier curves of 76 studies 1.8 MB), and
# every SVG once the figures embedded so far reach EMBED_BUDGET_BYTES: at 200 studies eight such
# SVGs made 10.2 of the report's 11.8 MB. Linked figures are the SVGs in results/figures/.
EMBED_MAX_BYTES = 300_000
EMBED_BUDGET_BYTES = 4_000_000


@dataclass(frozen=True)
class Linked:
    """A figure the report links to (its SVG beside the report) instead of embedding it."""

    path: Path
    href: str
    why: str = f"more than {EMBED_MAX_STUDIES} studies"


def _img(path: str | Path | Linked | None, alt: str) -> str:
    """The figure's SVG, embedded: sharp at any zoom, and no rasterising in the report job.

    (Down-sampling the 300 dpi PNGs took 175 s of the report job at 200 studies.) A `Linked`
    figure is shown from its file, which must stay beside the report.
    """
    if isinstance(path, Linked):
        return (f"<p class='note'><a href='{html.escape(path.href)}'>Open the figure</a> (not embedded: "
                f"{html.escape(path.why)}).</p><img alt='{html.escape(alt)}' loading='lazy' "
                f"width='{_svg_width_px(path.path)}' src='{html.escape(path.href)}'>")
    if path is None or not Path(path).exists():
        return f"<p class='note'>Figure not available: {html.escape(alt)}.</p>"
    path = Path(path)
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' width='{_svg_width_px(path)}' src='data:image/svg+xml;base64,{encoded}'>"


def _entry_figures(name: str, entry: dict, config: dict) -> list[str]:
    """The figure names of one results.json entry (as endpoint_figure_names in rules/common.smk)."""
    if entry.get("kind") == "landmark":
        return [f"forest_{name}"]
    pooling = config["pooling"]
    return [f"forest_{name}", *(f"forest_{name}_by_{c}" for c in pooling.get("subgroups", [])), f"leave_one_out_{name}",
            f"cumulative_{name}", f"funnel_{name}", *(f"bubble_{name}_{m}" for m in pooling.get("moderators", []))]


def _link_large(figures: dict, details: dict, config: dict, report_dir: str) -> dict:
    """`figures` with those too large to embed as Linked: every figure of an entry of more than
    EMBED_MAX_STUDIES studies, any SVG above EMBED_MAX_BYTES, and, in page order, every SVG that
    would take the embedded total past EMBED_BUDGET_BYTES."""
    out = dict(figures)

    def link(figure: str, why: str) -> None:
        out[figure] = Linked(Path(out[figure]), os.path.relpath(out[figure], report_dir), why)

    named = [*details.get("endpoints", {}).items(), *landmark_entries(details)]
    order = [figure for name, entry in named for figure in _entry_figures(name, entry, config)]
    order += [figure for figure in out if figure not in order]  # KM curves, then anything else
    large = {name for name, entry in named if len(entry["studies"]) > EMBED_MAX_STUDIES}
    for name, entry in named:
        if name not in large:
            continue
        for figure in _entry_figures(name, entry, config):
            if figure in out and Path(out[figure]).exists():
                link(figure, f"more than {EMBED_MAX_STUDIES} studies")
    embedded = 0
    for figure in order:
        if figure not in out or isinstance(out[figure], Linked) or not Path(out[figure]).exists():
            continue
        size = Path(out[figure]).stat().st_size
        if size > EMBED_MAX_BYTES:
            link(figure, f"its SVG is {size / 1e6:.1f} MB")
        elif embedded + size > EMBED_BUDGET_BYTES:
            link(figure, f"the figures embedded above reach {EMBED_BUDGET_BYTES / 1e6:g} MB")
        else:
            embedded += size
    return out


def _endpoint_value_cell(row) -> str:
    if not _missing(row["events"]) and not _missing(row["total"]):
        shown = f"{row['events']}/{row['total']}"
    elif not _missing(row["total"]) and row["endpoint"] == "n_treated":
        shown = f"{row['total']}"
    elif not _missing(row["estimate"]):
        shown = f"{row['estimate']:.3g}"
    else:
        shown = "?"
    page = "" if _missing(row["page"]) else f"page {row['page']}: "
    page_attribute = "" if _missing(row["page"]) else f" data-page='{row['page']}'"
    return (
        f"<details class='src'{page_attribute}><summary>{html.escape(shown)}</summary>"
        f"<blockquote>{html.escape(page)}{_e(row['quote'])} <span class='note'>({_e(row['source'])})</span></blockquote></details>"
    )


def software_versions() -> list[tuple[str, str]]:
    versions = [("python", platform.python_version())]
    for name in SOFTWARE:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return versions


def _not_pooled(entry: dict) -> str:
    """Studies that reported the endpoint but are not in its pool, with why (shown beside the number)."""
    excluded = entry.get("excluded") or []
    return "".join(f"<br><span class='note flag'>not pooled: {_e(x['study'])} ({_e(x['reason'])})</span>" for x in excluded)


def _anchor(name: str) -> str:
    return "ep-" + "".join(c if c.isalnum() else "-" for c in name)


def _summary_rows(details: dict) -> list[list[str]]:
    rows = []
    named = [*details.get("endpoints", {}).items(), *landmark_entries(details)]
    for name, entry in named:
        link = f"<a href='#{_anchor(name)}'>{_e(entry_title(entry))}</a>{_not_pooled(entry)}"
        a = primary_analysis(entry)
        if a is None:
            reason = entry.get("primary_note") or "no poolable study"
            rows.append([link, str(len(entry["studies"])), "", f"not estimable: {_e(reason)}", "", "", "", ""])
            continue
        single = a["k"] < 2  # shown, not pooled: no PI, I² or τ²
        rows.append([
            link, str(a["k"]), _e(a.get("n_total")), _interval(a["estimate_prop"], a["ci_low_prop"], a["ci_high_prop"]),
            "" if single or a.get("pi_low_prop") is None else f"[{_pct(a['pi_low_prop'])}, {_pct(a['pi_high_prop'])}]",
            "" if single else _num(a.get("i2"), "{:.0f}%"), "" if single else _tau2(a.get("tau2")),
            _e(model_label(a)) + "".join(f"<br><span class='flag'>{_e(f)}</span>" for f in a.get("flags") or []),
        ])
    return rows


def _note(entry: dict, key: str) -> str:
    """Why an analysis is missing: "<key>_note" is a string, or a dict by column for subgroups and meta-regression."""
    reason = entry.get(f"{key}_note") or entry.get("sensitivity_note")
    if isinstance(reason, dict):
        reason = "; ".join(f"{column}: {why}" for column, why in reason.items())
    reason = reason or ("not computed by the pooling stage" if key not in entry else "not estimable")
    if reason.startswith("not run"):  # a rule of the pool stage (too few studies), not a failed estimate
        return f"<p class='note'>{_e(reason[:1].upper() + reason[1:])}</p>"
    return f"<p class='note'>Not estimable: {_e(reason)}</p>"


def _column_note(entry: dict, key: str, column: str) -> str:
    notes = entry.get(f"{key}_note")
    reason = notes.get(column) if isinstance(notes, dict) else notes
    return f"<p class='note'>By {_e(column)}: not estimable: {_e(reason or 'not in results.json')}</p>"


def _subgroups_html(entry: dict, figures: dict, name: str) -> str:
    out = ["<h3>Subgroups</h3>"]
    subgroups = entry.get("subgroups") or {}
    notes = entry.get("subgroups_note") if isinstance(entry.get("subgroups_note"), dict) else {}
    if not subgroups and not notes:
        return out[0] + _note(entry, "subgroups")
    for column in notes:
        out.append(_column_note(entry, "subgroups", column))
    for column, subgroup in subgroups.items():
        rows = [[_e(g["group"]), str(g["k"]), _interval(g["estimate"], g["ci_low"], g["ci_high"]),
                 _num(g.get("i2"), "{:.0f}%"), _tau2(g.get("tau2")), _e(", ".join(g["studies"])),
                 _e(g.get("model") or subgroup.get("model") or "")]
                for g in subgroup["groups"]]
        out.append(f"<h4>By {_e(column)}</h4>")
        out.append(_rows_table([column, "k", f"Estimate [{ci_header(entry)}]", "I²", "τ²", "Studies", "Model"], rows))
        out.append(f"<p>{html.escape(subgroup_test_text(subgroup))}.</p>")
        out.append(_img(figures.get(f"forest_{name}_by_{column}"), f"Forest plot of {entry['label']} by {column}"))
    return "\n".join(out)


def _sensitivity_html(entry: dict, figures: dict, name: str) -> str:
    out = ["<h3>Sensitivity analyses</h3>"]
    if entry.get("leave_one_out"):
        rows = [[_e(r["omitted"]), str(r["k"]), _interval(r["estimate"], r["ci_low"], r["ci_high"]),
                 _num(r.get("i2"), "{:.0f}%"), _tau2(r.get("tau2")), _e(r.get("model", ""))] for r in entry["leave_one_out"]]
        out.append("<h4>Leave-one-out</h4>" + _rows_table(["Omitted", "k", f"Estimate [{ci_header(entry)}]", "I²", "τ²", "Model"], rows))
        out.append(_img(figures.get(f"leave_one_out_{name}"), f"Leave-one-out forest of {entry['label']}"))
    else:
        out.append("<h4>Leave-one-out</h4>" + _note(entry, "leave_one_out"))
    if entry.get("cumulative"):
        out.append("<h4>Cumulative by year</h4>")
        out.append(_img(figures.get(f"cumulative_{name}"), f"Cumulative forest of {entry['label']}"))
    else:
        out.append("<h4>Cumulative by year</h4>" + _note(entry, "cumulative"))
    out.append("<h4>Small-study effects</h4>")
    egger, fill = entry.get("egger"), entry.get("trim_and_fill")
    if egger:
        out.append(f"<p>Egger's regression test: statistic {_num(egger.get('stat'), '{:.2f}')}, p {_p(egger.get('pval'))}; "
                   f"limit estimate (SE → 0) {_num(egger.get('limit_estimate'))} on the model scale."
                   + (f" <span class='flag'>{_e(egger['warning'])}</span>" if egger.get("warning") else "") + "</p>")
    else:
        out.append(_note(entry, "egger"))
    if fill:
        out.append(f"<p>Trim-and-fill: {fill.get('k0')} studies filled on the {_e(fill.get('side'))} side; adjusted "
                   f"estimate {_interval(fill.get('estimate'), fill.get('ci_low'), fill.get('ci_high'))}"
                   + (f" ({_e(fill['model'])})" if fill.get("model") else "") + "."
                   + (f" <span class='flag'>{_e(fill['warning'])}</span>" if fill.get("warning") else "") + "</p>")
    if entry.get("funnel"):
        out.append(_img(figures.get(f"funnel_{name}"), f"Funnel plot of {entry['label']}"))
    out.append("<h4>Meta-regression</h4>")
    regressions = entry.get("meta_regression") or {}
    notes = entry.get("meta_regression_note") if isinstance(entry.get("meta_regression_note"), dict) else {}
    if not regressions and not notes:
        out.append(_note(entry, "meta_regression"))
    for moderator in notes:
        out.append(_column_note(entry, "meta_regression", moderator))
    for moderator, r in regressions.items():
        out.append(f"<p>{_e(moderator)}: slope {_num(r['slope'])} [{_num(r.get('slope_ci_low'))}, "
                   f"{_num(r.get('slope_ci_high'))}] per unit on the {_e(r['measure'])} scale, p {_p(r.get('slope_p'))}; "
                   f"k = {r['k']}, residual τ² {_num(r.get('tau2'))}.</p>")
        out.append(_img(figures.get(f"bubble_{name}_{moderator}"), f"Bubble plot of {entry['label']} on {moderator}"))
    return "\n".join(out)


def _data_sensitivity_html(entry: dict, rows: pd.DataFrame, columns: list[str], fmt: dict) -> str:
    """The repeats over other data: intention to treat, and landmarks without imputed SEs."""
    out = []
    itt = entry.get("intention_to_treat")
    if itt:
        changed = [f"{_e(s['study'])} {s['events']}/{s['per_protocol_total']} → {s['events']}/{s['itt_total']} "
                   f"({_e(s['source'])})" for s in itt["studies"] if s["itt_total"] != s["per_protocol_total"]]
        out.append("<h3>Intention to treat (enrolled denominator)</h3>"
                   f"<p>{_e(itt['model'])}: {_interval(itt.get('estimate'), itt.get('ci_low'), itt.get('ci_high'))} "
                   f"from {itt.get('k')} {'study' if itt.get('k') == 1 else 'studies'}, {_e(itt.get('n_total'))} "
                   "patients. Denominators changed: "
                   f"{'; '.join(changed) or 'none'}.</p>")
        out.extend(f"<p class='note'>{_e(note)}</p>" for note in itt.get("notes", []))
    without = entry.get("without_imputed_se")
    if without:
        repeat = rows[rows["subgroup"] == without.get("subgroup", "sensitivity:without_imputed_se")]
        out.append("<h3>Without the studies whose SE was imputed</h3>"
                   f"<p class='note'>Omitted: {_e(', '.join(without['omitted']))}. {_e(without.get('note', ''))}</p>")
        if not repeat.empty:
            out.append(_table(repeat, columns, fmt))
    return "\n".join(out)


def _endpoint_html(entry: dict, name: str, pooled: pd.DataFrame, figures: dict, fmt: dict) -> str:
    out = [f"<section class='endpoint' id='{_anchor(name)}'><h2>{_e(entry_title(entry))}</h2>"]
    first = primary_analysis(entry)
    if first is None:
        out.append(f"<p class='note'>No pooled estimate: {_e(entry.get('primary_note') or 'no poolable study')}.</p>")
    else:
        out.append(f"<p><b>{html.escape(model_of(first))}</b>: "
                   f"{_interval(first['estimate_prop'], first['ci_low_prop'], first['ci_high_prop'])}"
                   f" from {first['k']} {'study' if first['k'] == 1 else 'studies'}. {html.escape(heterogeneity_text(first))}.</p>")
        for note in first.get("notes", []):
            out.append(f"<p class='note'>{_e(note)}</p>")
    out.append(_img(figures.get(f"forest_{name}"), f"Forest plot: {entry_title(entry)}"))
    if entry.get("kind") == "landmark":
        rows = pooled[(pooled["endpoint"] == entry["endpoint"]) & (pooled["landmark_months"] == entry["landmark_months"])]
    else:
        rows = pooled[(pooled["endpoint"] == entry["endpoint"]) & pooled["landmark_months"].isna()]
    columns = ["measure", "method", "ci_method", "k", "n_total", "estimate", "ci_low", "ci_high",
               "pi_low", "pi_high", "tau2", "i2", "q", "q_p", "model", "flags"]
    # model and flags are new in pooled.csv (issue 17): a table written before has none
    columns = [c for c in columns if c in rows.columns]
    if not rows.empty:
        out.append("<h3>Pooled estimates, all configured analyses</h3>")
        out.append(_table(rows[rows["subgroup"] == "all"], columns, fmt))
    out.append(_data_sensitivity_html(entry, rows, columns, fmt))
    if entry.get("excluded"):
        out.append("<p class='note'>Not pooled: " + "; ".join(f"{_e(x['study'])} ({_e(x['reason'])})"
                                                              for x in entry["excluded"]) + "</p>")
    for note in entry.get("notes", []):
        out.append(f"<p class='note'>{_e(note)}</p>")
    if entry.get("sensitivity_note"):
        out.append(f"<p class='note'>Subgroups and sensitivity analyses: {_e(entry['sensitivity_note'])}.</p>")
    if entry["studies"] and entry.get("kind") != "landmark":
        out.append(_subgroups_html(entry, figures, name))
        out.append(_sensitivity_html(entry, figures, name))
    out.append("</section>")
    return "\n".join(out)


def _changes_html(changes: dict | None, primary: dict) -> str:
    out = ["<h2 id='changes'>What changed since the last run</h2>"]
    if changes is None:
        return out[0] + "<p class='note'>No history was kept for this run.</p>"
    if changes["previous_id"] is None:
        return out[0] + (f"<p>First recorded run (snapshot <code>{_e(changes['current_id'])}</code>): "
                         f"{len(changes['studies_added'])} studies, nothing to compare with.</p>")
    out.append(f"<p class='note'>Snapshot <code>{_e(changes['previous_id'])}</code> → <code>{_e(changes['current_id'])}</code>.</p>")
    out.append("<p>Studies added: " + (_e(", ".join(changes["studies_added"])) or "none") + ". Studies removed: "
               + (_e(", ".join(changes["studies_removed"])) or "none") + ".</p>")
    if changes.get("studies_renamed"):
        out.append("<p>Studies renamed: " + _e("; ".join(f"{r['old']} → {r['new']} ({r['paper']})"
                                                        for r in changes["studies_renamed"])) + ".</p>")
    if changes["recurated"]:
        rows = [[_e(r["study"]), _e(c["value"]), _e(_value_text(c["old"])), _e(_value_text(c["new"]))]
                for r in changes["recurated"] for c in r["changes"]]
        out.append("<h3>Values changed (re-extracted or re-curated)</h3>" + _rows_table(["Study", "Value", "Before", "Now"], rows))
    else:
        out.append("<p>No study's values changed.</p>")
    # the primary rows over all studies: subgroup and sensitivity rows share the method but not the data
    is_primary = [r for r in changes["pooled"] if r["measure"] == primary["measure"] and r["method"] == primary["method"]
                  and r["ci_method"] == primary.get("ci_method", "z") and r.get("subgroup", "all") == "all"]
    if is_primary:
        rows = []
        for r in is_primary:
            old, new = r["old"] or {}, r["new"] or {}
            name = r["endpoint"] + ("" if r.get("landmark_months") is None else f" at {r['landmark_months']:g} months")
            shift = "" if r["estimate_shift"] is None else f"{100 * r['estimate_shift']:+.1f} points"
            rows.append([_e(name), _e(old.get("k", "")), _interval(old.get("estimate"), old.get("ci_low"), old.get("ci_high")) or "not pooled",
                         _e(new.get("k", "")), _interval(new.get("estimate"), new.get("ci_low"), new.get("ci_high")) or "not pooled", shift])
        out.append("<h3>Pooled estimates that moved (primary analysis)</h3>"
                   + _rows_table(["Endpoint", "k before", "Before", "k now", "Now", "Shift"], rows))
    else:
        out.append("<p>No pooled estimate of the primary analysis moved.</p>")
    return "\n".join(out)


def _value_text(value: dict | None) -> str:
    if value is None:
        return "absent"
    if value.get("events") is not None and value.get("total") is not None:
        return f"{value['events']}/{value['total']} ({value.get('source')})"
    return f"{_num(value.get('estimate'))} ({value.get('source')})"


def _km_html(details: dict, figures: dict) -> str:
    out = ["<h2 id='km'>Kaplan-Meier curves (patient-level data)</h2>"]
    km = details.get("km")
    if not km:
        return out[0] + f"<p class='note'>{_e(details.get('km_note') or 'No study gives patient-level survival data.')}</p>"
    out.append(_img(figures.get("km_curves"), "Kaplan-Meier curves with numbers at risk"))
    rows = [[_e(study), "yes" if c.get("approximate") else "no", _e("; ".join(c.get("assumptions", [])) or "none")]
            for study, c in km.items()]
    out.append(_rows_table(["Study", "Approximate", "Assumptions"], rows))
    pooled = details.get("km_pooled") or {}
    if pooled:
        out.append("<h3>Pooled Kaplan-Meier of reconstructed patients</h3>")
        rows = []
        for endpoint, entry in pooled.items():
            test = entry.get("logrank")
            logrank = (f"χ² = {test['statistic']:.2f} (df = {test['df']}), p {_p(test['p'])}" if test
                       else _e(entry.get("logrank_note")))
            rows.append([_e(endpoint), _e(", ".join(entry["studies"])), str(entry["n"]), str(entry["events"]), logrank])
        out.append(_rows_table(["Endpoint", "Studies", "Patients", "Events", "Log-rank across studies"], rows))
        out.append(_img(figures.get("km_pooled"), "Pooled Kaplan-Meier of reconstructed patients"))
    return "\n".join(out)


def build_report(
    endpoints: pd.DataFrame, studies: pd.DataFrame, pooled: pd.DataFrame, checks: pd.DataFrame,
    failures: pd.DataFrame, details: dict, figures: dict[str, str], config: dict,
    audit: pd.DataFrame | None = None, changes: dict | None = None, run_date: str = "", report_dir: str | None = None,
    agreement: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> str:
    """The report; `figures` maps a figure's name (file stem, e.g. forest_relapse) to its SVG.

    With `report_dir` (the folder report.html is written to), the figures of an endpoint of
    more than EMBED_MAX_STUDIES studies are linked from there rather than embedded.
    `agreement`: (agreement_summary.csv, agreement.csv) of a double extraction, when configured.
    """
    if report_dir is not None:
        figures = _link_large(figures, details, config, report_dir)
    primary = config["pooling"]["analyses"][0]
    fmt = {c: _pct for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}
    fmt.update({"tau2": _tau2, "i2": lambda v: _num(v, "{:.1f}%"), "q": _num, "q_p": _p})
    method_text = methods(config, details)
    landmarks = details.get("landmarks") or {}
    nav = [("summary", "Summary"), ("changes", "What changed"), ("methods", "Methods")]
    nav += [(_anchor(n), e["label"]) for n, e in details["endpoints"].items()]
    nav += [(_anchor(n), entry_title(e)) for n, e in landmark_entries(details)]
    nav += [("km", "Kaplan-Meier curves"), ("studies", "Studies"), ("harmonised", "Harmonised table"),
            ("checks", "Checks"), ("audit", "Curation audit"), ("failures", "Failures"), ("software", "Software")]
    if agreement is not None:
        nav.insert(-2, ("agreement", "Reviewer agreement"))
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>trialmeta report</title>", f"<style>{CSS}</style></head><body>",
        "<h1>Meta-analysis report</h1>",
        f"<p class='note'>{len(studies)} studies from {papers_in(studies, failures)} papers; papers folder "
        f"<code>{_e(config['papers_dir'])}</code>." + (f" Run date {_e(run_date)}." if run_date else "") + "</p>",
        report_block(endpoints, studies, checks, failures, details, config),
        "<nav><ul>" + "".join(f"<li><a href='#{a}'>{_e(t)}</a></li>" for a, t in nav) + "</ul></nav>",
        "<h2 id='summary'>Summary of pooled endpoints (primary analysis)</h2>",
        f"<p class='note'>Configured primary model: {html.escape(model_label({**primary, 'ci_method': primary.get('ci_method', 'z')}))}; "
        f"each row names the model that produced it; estimates in percent with {ci_header(config['pooling'])} and "
        "prediction interval (k >= 3 only).</p>",
        _rows_table(["Endpoint", "k", "Patients", f"Estimate [{ci_header(config['pooling'])}]", "Prediction interval", "I²", "τ²",
                     "Model"], _summary_rows(details)),
        _changes_html(changes, primary),
        "<h2 id='methods'>Methods</h2>",
        *(f"<p>{html.escape(p)}</p>" for p in method_text.paragraphs),
        "<h3>References</h3><ol>" + "".join(f"<li>{html.escape(r)}</li>" for r in method_text.references) + "</ol>",
    ]
    for name, entry in details["endpoints"].items():
        out.append(_endpoint_html(entry, name, pooled, figures, fmt))
    if landmarks:
        out.append("<h2>Survival at landmarks</h2>")
        for name, entry in landmark_entries(details):
            out.append(_endpoint_html(entry, name, pooled, figures, fmt))
    out.append(_km_html(details, figures))
    out.append("<h2 id='studies'>Studies</h2>")
    out.append(_table(studies, list(studies.columns)))
    out.append("<h2 id='harmonised'>Harmonised endpoint table</h2>"
               "<p class='note'>Click a value to see the sentence or table cell it came from, and its page.</p>")
    head = "".join(f"<th>{c}</th>" for c in ("study", "endpoint", "landmark (months)", "value", "estimate", "95% CI", "SE", "flags"))
    body = []
    for _, row in endpoints.iterrows():
        ci = "" if _missing(row["ci_low"]) else f"{_pct(row['ci_low'])} – {_pct(row['ci_high'])}"
        estimate = _num(row["estimate"]) if row["endpoint"] == "followup_median_months" else _pct(row["estimate"])
        body.append(
            f"<tr><td>{_e(row['study'])}</td><td>{_e(row['endpoint'])}</td><td class='num'>{_num(row['landmark_months'], '{:g}')}</td>"
            f"<td>{_endpoint_value_cell(row)}</td><td class='num'>{estimate}</td><td class='num'>{ci}</td>"
            f"<td class='num'>{_num(row['se'])}</td><td class='flag'>{_e(row['flags'])}</td></tr>"
        )
    out.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")
    out.append("<h2 id='checks'>Checks</h2>")
    out.append(_table(checks, list(checks.columns)) if not checks.empty else "<p>No check raised a flag.</p>")
    out.append("<h2 id='audit'>Curation audit</h2>")
    if audit is None:
        out.append("<p class='note'>No curation audit table in this run.</p>")
    elif audit.empty:
        out.append("<p>No curation decision changed an extracted value.</p>")
    else:
        out.append(_table(audit, list(audit.columns)))
    if agreement is not None:
        summary, values = agreement
        disagreements = values[values["agree"] == "no"]
        out.append("<h2 id='agreement'>Reviewer agreement (double extraction)</h2>"
                   "<p class='note'>Percent agreement and Cohen's kappa per field over the values both reviewers' "
                   "curation folders leave in the table (review.reviewer_dirs); kappa is empty when undefined.</p>")
        out.append(_table(summary, list(summary.columns), {"percent_agreement": lambda v: _num(v, "{:.1f}%"), "kappa": _num}))
        out.append(f"<h3>Disagreements to settle ({len(disagreements)})</h3>")
        out.append(_table(disagreements, list(disagreements.columns)) if not disagreements.empty else "<p>None.</p>")
    out.append("<h2 id='failures'>Papers that could not be processed</h2>")
    out.append(_table(failures, list(failures.columns)) if not failures.empty else "<p>None.</p>")
    out.append("<h2 id='software'>Software</h2><p class='note'>" + ", ".join(f"{n} {v}" for n, v in software_versions())
               + (f". Run date {_e(run_date)}." if run_date else ".") + "</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
