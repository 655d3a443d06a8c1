"""The self-contained HTML report: it reads the pipeline's results, never refits.

Figures are embedded as data URIs so the file opens offline; each number of
the harmonised table carries its quote and page (click to show).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import importlib.metadata
import platform
from pathlib import Path

import pandas as pd

from trialmeta.plots import heterogeneity_text, model_label

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
details.src summary{cursor:pointer;color:#0072B2}
details.src blockquote{margin:4px 0;padding:4px 8px;background:#f7f7f7;border-left:3px solid #0072B2;max-width:40em;font-size:0.95em}
.flag{color:#D55E00}
img{max-width:100%}
.note{color:#555;font-size:0.9em}
"""
SOFTWARE = ("snakemake", "pdfplumber", "numpy", "scipy", "pandas", "statsmodels", "lifelines", "matplotlib")
METHOD_NAMES = {
    "FE": "a common-effect (inverse-variance) model",
    "DL": "the DerSimonian-Laird estimator of τ²",
    "REML": "restricted maximum likelihood (REML) for τ²",
    "ML": "maximum likelihood for τ²",
    "PM": "the Paule-Mandel estimator of τ²",
    "HS": "the Hunter-Schmidt estimator of τ²",
    "SJ": "the Sidik-Jonkman estimator of τ²",
    "EB": "the empirical Bayes estimator of τ²",
    "HE": "the Hedges estimator of τ²",
}
MEASURE_NAMES = {
    "PLO": "the logit transformation",
    "PFT": "the Freeman-Tukey double arcsine transformation (back-transformed with the harmonic mean of the sample sizes)",
    "PAS": "the arcsine square-root transformation",
    "PR": "raw proportions",
}
CI_NAMES = {
    "z": "Wald-type confidence intervals from the normal distribution",
    "hk": "the Knapp-Hartung method (t distribution with k-1 degrees of freedom)",
    "hk_adhoc": "the Knapp-Hartung method with the ad hoc correction that never lets the interval be narrower than the normal one",
}
REFERENCES = [
    "Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3). doi:10.18637/jss.v036.i03",
    "DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188. doi:10.1016/0197-2456(86)90046-2",
    "Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the random-effects model. J Educ Behav Stat 30:261-293. doi:10.3102/10769986030003261",
    "Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single covariate. Stat Med 22:2693-2710. doi:10.1002/sim.1482",
    "Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Stat Med 21:1539-1558. doi:10.1002/sim.1186",
    "Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the case of the binomial. Biometrika 26:404-413. doi:10.1093/biomet/26.4.404",
]


def _e(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    return html.escape(str(value))


def _pct(value) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"


def _num(value, fmt="{:.3g}") -> str:
    return "" if value is None or pd.isna(value) else fmt.format(float(value))


def _table(frame: pd.DataFrame, columns: list[str], formats: dict | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
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


def _img(path: str | Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def _endpoint_value_cell(row) -> str:
    if not pd.isna(row["events"]) and not pd.isna(row["total"]):
        shown = f"{row['events']}/{row['total']}"
    elif not pd.isna(row["total"]) and row["endpoint"] == "n_treated":
        shown = f"{row['total']}"
    elif not pd.isna(row["estimate"]):
        shown = f"{row['estimate']:.3g}"
    else:
        shown = "?"
    page = "" if pd.isna(row["page"]) else f"page {row['page']}: "
    return (
        f"<details class='src'><summary>{html.escape(shown)}</summary>"
        f"<blockquote>{html.escape(page)}{_e(row['quote'])} <span class='note'>({_e(row['source'])})</span></blockquote></details>"
    )


def methods_text(config: dict) -> str:
    """A methods paragraph from the settings and results actually used (as metafor's reporter())."""
    pooling = config["pooling"]
    primary = pooling["analyses"][0]
    parts = [
        f"Proportions were pooled with {MEASURE_NAMES[primary['measure']]} using "
        f"{METHOD_NAMES[primary['method']]}"
        + ("" if primary["method"] == "FE" else ", in a random-effects model")
        + f"; {int(pooling['level'] * 100)}% confidence intervals of the pooled estimates used "
        f"{CI_NAMES[primary.get('ci_method', 'z')]}."
    ]
    correction = pooling["continuity_correction"]
    if primary["measure"] in ("PLO", "PR") and correction["to"] != "none":
        parts.append(
            f"A continuity correction of {correction['add']:g} was added to the event and non-event counts "
            + ("of studies with zero or all events" if correction["to"] == "only0" else f"(rule '{correction['to']}')")
            + "."
        )
    parts.append(
        "Heterogeneity is reported as Cochran's Q with its p-value, τ² and I² (computed from τ² as metafor does), "
        "with a prediction interval for the proportion expected in a new study."
        " Study-level intervals in the forest plots are exact Clopper-Pearson intervals."
    )
    others = pooling["analyses"][1:]
    if others:
        parts.append(
            "Sensitivity analyses repeated each pooling with: "
            + "; ".join(f"{a['measure']} / {a['method']} / {a.get('ci_method', 'z')}" for a in others)
            + "."
        )
    return " ".join(parts)


def software_versions() -> list[tuple[str, str]]:
    versions = [("python", platform.python_version())]
    for name in SOFTWARE:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return versions


def build_report(
    endpoints: pd.DataFrame, studies: pd.DataFrame, pooled: pd.DataFrame, checks: pd.DataFrame,
    failures: pd.DataFrame, details: dict, figures: dict[str, str], config: dict,
) -> str:
    primary = config["pooling"]["analyses"][0]
    is_primary = (
        (pooled["measure"] == primary["measure"]) & (pooled["method"] == primary["method"])
        & (pooled["ci_method"] == primary.get("ci_method", "z"))
    )
    fmt = {c: _pct for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}
    fmt.update({"tau2": _num, "i2": lambda v: _num(v, "{:.1f}%"), "q": _num, "q_p": _num})
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>trialmeta report</title>", f"<style>{CSS}</style></head><body>",
        "<h1>Meta-analysis report</h1>",
        f"<p class='note'>{len(studies)} studies from {len(studies) + len(failures)} papers; "
        f"papers folder <code>{_e(config['papers_dir'])}</code>. Generated {_dt.date.today().isoformat()}.</p>",
        "<h2>Summary of pooled endpoints (primary analysis)</h2>",
        _table(pooled[is_primary], ["endpoint", "k", "n_total", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2", "tau2"], fmt),
        "<h2>Methods</h2>", f"<p>{html.escape(methods_text(config))}</p>",
    ]
    for endpoint, detail in details["endpoints"].items():
        out.append(f"<h2 id='{_e(endpoint)}'>{_e(detail['label'])}</h2>")
        if detail["analyses"]:
            first = detail["analyses"][0]
            out.append(f"<p>{html.escape(model_label(first))}. {html.escape(heterogeneity_text(first))}.</p>")
            for note in first["notes"]:
                out.append(f"<p class='note'>{_e(note)}</p>")
        out.append(_img(figures[endpoint], f"Forest plot: {detail['label']}"))
        rows = pooled[pooled["endpoint"] == endpoint]
        if not rows.empty:
            out.append("<h3>All analyses</h3>")
            out.append(_table(rows, ["measure", "method", "ci_method", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_p"], fmt))
        if detail["excluded"]:
            out.append("<p class='note'>Not pooled: " + "; ".join(f"{_e(x['study'])} ({_e(x['reason'])})" for x in detail["excluded"]) + "</p>")
    out.append("<h2>Studies</h2>")
    out.append(_table(studies, list(studies.columns)))
    out.append("<h2>Harmonised endpoint table</h2><p class='note'>Click a value to see the sentence or table cell it came from.</p>")
    head = "".join(f"<th>{c}</th>" for c in ("study", "endpoint", "landmark (months)", "value", "estimate", "95% CI", "SE", "flags"))
    body = []
    for _, row in endpoints.iterrows():
        ci = "" if pd.isna(row["ci_low"]) else f"{_pct(row['ci_low'])} – {_pct(row['ci_high'])}"
        estimate = _num(row["estimate"]) if row["endpoint"] == "followup_median_months" else _pct(row["estimate"])
        body.append(
            f"<tr><td>{_e(row['study'])}</td><td>{_e(row['endpoint'])}</td><td class='num'>{_num(row['landmark_months'], '{:g}')}</td>"
            f"<td>{_endpoint_value_cell(row)}</td><td class='num'>{estimate}</td><td class='num'>{ci}</td>"
            f"<td class='num'>{_num(row['se'])}</td><td class='flag'>{_e(row['flags'])}</td></tr>"
        )
    out.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")
    out.append("<h2>Checks</h2>")
    out.append(_table(checks, list(checks.columns)) if not checks.empty else "<p>No check raised a flag.</p>")
    out.append("<h2>Papers that could not be processed</h2>")
    out.append(_table(failures, list(failures.columns)) if not failures.empty else "<p>None.</p>")
    out.append("<h2>References</h2><ol>" + "".join(f"<li>{html.escape(r)}</li>" for r in REFERENCES) + "</ol>")
    out.append("<h2>Software</h2><p class='note'>" + ", ".join(f"{n} {v}" for n, v in software_versions()) + "</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
