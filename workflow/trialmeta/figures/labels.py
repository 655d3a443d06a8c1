"""What a figure says about a results.json entry: which analysis is primary, its label, its
heterogeneity line, and why an analysis cannot be drawn. Shared by the figures and the report.
"""

from __future__ import annotations

from trialmeta.figures.style import number_text, p_text

CI_NAMES = {"z": "z", "t": "t", "hk": "Knapp-Hartung", "hk_adhoc": "Knapp-Hartung (ad hoc)"}


def heterogeneity_text(analysis: dict) -> str:
    if analysis["k"] < 2:
        return "Heterogeneity: not estimable with one study"
    if analysis.get("method") == "exact" or (analysis.get("tau2") is None and analysis.get("q") is None):
        # the exact interval of summed counts (every study at 0% or at 100%): no model, no heterogeneity
        why = next(iter(analysis.get("flags") or []), "no model fitted")
        return f"Heterogeneity: not estimable ({why})"
    i2 = "NA" if analysis.get("i2") is None else f"{analysis['i2']:.0f}%"
    return (
        f"Heterogeneity: I² = {i2}, τ² = {number_text(analysis.get('tau2'))}, "
        f"Q = {number_text(analysis.get('q'), '{:.2f}')} (df = {analysis['k'] - 1}), {p_text(analysis.get('q_p'))}"
    )


def model_label(analysis: dict) -> str:
    """The model behind a pooled row: its "model" field (written by the pool stage), else built from the config."""
    if analysis.get("model"):
        return analysis["model"]
    if analysis["method"] == "FE":
        return f"Common effect ({analysis['measure']})"
    if analysis["method"] == "GLMM":
        return f"Random effects (binomial-normal GLMM, {CI_NAMES[analysis['ci_method']]})"
    return f"Random effects ({analysis['method']}, {analysis['measure']}, {CI_NAMES[analysis['ci_method']]})"


def fitted(analysis: dict) -> bool:
    return analysis.get("estimate_prop") is not None


def primary_analysis(entry: dict) -> dict | None:
    """The analysis the pool stage made primary (a GLMM's fallback when it failed), if it was fitted."""
    return next((a for a in entry.get("analyses", []) if a.get("primary") and fitted(a)), None)


def sensitivity_analysis(entry: dict) -> dict | None:
    """The inverse-variance analysis behind subgroups, leave-one-out, cumulative and funnel.

    results.json names it in "sensitivity_model" (as "PLO-REML-hk"); the primary
    analysis when that key is absent.
    """
    label = entry.get("sensitivity_model")
    named = next((a for a in entry.get("analyses", []) if fitted(a) and label is not None and
                  f"{a['measure']}-{a['method']}-{a['ci_method']}" == label), None)
    return named or primary_analysis(entry)


def subgroup_test_text(subgroup: dict) -> str:
    """The test between subgroups by its name, with what was left out of it; or why it was not run."""
    left_out = subgroup.get("left_out_of_test") or []
    out = f" (not in the test: {', '.join(left_out)})" if left_out else ""
    if subgroup.get("q_between") is None and subgroup.get("test_note"):
        return subgroup["test_note"][:1].upper() + subgroup["test_note"][1:] + out
    return (
        f"{subgroup.get('test') or 'Test for subgroup differences'}: "
        f"Q = {number_text(subgroup.get('q_between'), '{:.2f}')} "
        f"(df = {subgroup.get('q_between_df', 'NA')}), {p_text(subgroup.get('q_between_p'))}" + out
    )



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


def no_studies_reason(entry: dict) -> str:
    reason = "no study reports this endpoint with a usable estimate"
    excluded = "; ".join(f"{e['study']}: {e['reason']}" for e in entry.get("excluded", []))
    return reason + (f" (excluded: {excluded})" if excluded else "")



def analysis_reason(entry: dict, key: str, column: str | None = None) -> str | None:
    if not entry["studies"]:
        return no_studies_reason(entry)
    if sensitivity_analysis(entry) is None:
        return entry.get("sensitivity_note") or entry.get("primary_note") or "no fitted analysis"
    return missing_reason(entry, key, column)
