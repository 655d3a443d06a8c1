"""The data-preparation paragraph of the Methods (PRISMA 2020 items 13b-13f), from what the run did.

Page MJ, McKenzie JE, Bossuyt PM, et al. (2021). The PRISMA 2020 statement: an
updated guideline for reporting systematic reviews. BMJ 372:n71.
doi:10.1136/bmj.n71. Item 13b asks for the preparation of the data for
synthesis (derived counts, assumed denominators, continuity corrections,
imputed or converted standard errors), 13c-13f for how results are shown,
synthesised and checked. Everything here is read from results.json (the
studies' flags, the analyses' notes, the exclusions), so the paragraph says what
was done in this run, not what the configuration would allow.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

OTHER_LANDMARK = re.compile(r"no [0-9.]+-month value")
SE_SOURCES = {
    "ci_plain": "the printed CI (symmetric on the plain scale)",
    "ci_log": "the printed CI (log scale)",
    "ci_log-log": "the printed CI (log-log scale)",
    "ci_plain_one_sided": "the printed CI cut at 0 or 1 (its other side)",
    "reported_se": "a printed standard error",
    "peto_at_risk": "Peto's formula S·√((1 − S)/n at risk) from the number at risk",
    "greenwood_no_censoring": "an imputed binomial SE, √(S(1 − S)/n), which ignores censoring",
}


def entry_title(entry: dict) -> str:
    """An entry's name in the report: its label, with the landmark for a landmark pool."""
    months = entry.get("landmark_months") if entry.get("kind") == "landmark" else None
    return entry["label"] + ("" if months is None else f" at {months} months")


def _flags(study: dict) -> set[str]:
    flags = study.get("flags") or ""
    return set(flags.split(";") if isinstance(flags, str) else flags) - {""}


def _listing(groups: dict[str, list[str]]) -> str:
    """'A (x, y); B (z)' from {A: [x, y], B: [z]}, in the order given."""
    return "; ".join(f"{key} ({', '.join(values)})" for key, values in groups.items())


def _by_study(entries: list[dict], flag: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        for study in entry.get("studies", []):
            if flag in _flags(study):
                out[study["study"]].append(entry_title(entry))
    return dict(out)


def preparation_sentences(entries: list[dict], without_precision: str = "exclude", cite=lambda key: "") -> list[str]:
    """Sentences on derived counts, denominators, corrections, SEs, exact intervals and exclusions.

    `cite(key)` returns the citation mark of a reference of `trialmeta.report.methods.REFERENCES`.
    """
    proportions = [e for e in entries if e.get("kind") != "landmark"]
    landmarks = [e for e in entries if e.get("kind") == "landmark"]
    out = []
    derived = _by_study(proportions, "derived_count")
    if derived:
        out.append("Counts derived from a printed percentage and its denominator (only where exactly one whole "
                   f"number of patients fits the percentage): {_listing(derived)}.")
    assumed = _by_study(proportions, "assumed_denominator")
    if assumed:
        out.append("Denominators not printed with the value and taken as the first cohort the paper sizes "
                   f"(harmonise.denominator): {_listing(assumed)}.")
    kinds = Counter(f.split(":", 1)[1] for e in proportions for s in e.get("studies", []) for f in _flags(s)
                    if f.startswith("denominator:"))
    if kinds:
        out.append("Proportions count " + ", ".join(f"{n} study values over the {kind} patients"
                                                   for kind, n in sorted(kinds.items(), key=lambda i: -i[1])) + ".")
    corrected: dict[str, list[str]] = defaultdict(list)
    for entry in proportions:
        for analysis in entry.get("analyses", []):
            for note in analysis.get("notes", []):
                if note.startswith("continuity correction"):
                    label = analysis.get("label") or f"{analysis['measure']}-{analysis['method']}-{analysis.get('ci_method', 'z')}"
                    corrected[entry_title(entry)].append(f"{label}: {note[len('continuity correction '):]}")
    if corrected:
        out.append("The GLMM uses the exact binomial likelihood without correction; in the inverse-variance logit "
                   f"analyses a continuity correction was added to studies with 0 or all events: {_listing(corrected)}.")
    sources = Counter(s.get("se_source") for e in landmarks for s in e.get("studies", []))
    if sources:
        out.append("Standard errors of landmark estimates came from " + "; ".join(
            f"{SE_SOURCES.get(source, source)}" + (f" {cite('peto')}" if source == "peto_at_risk" else "") + f" ({n})"
            for source, n in sources.most_common()) + " (study × landmark values).")
    no_precision = [f"{x['study']} ({entry_title(e)})" for e in landmarks for x in e.get("excluded", [])
                    if "no usable precision" in x["reason"]]
    if no_precision:
        rule = ("excluded (survival.without_precision: exclude)" if without_precision == "exclude"
                else "excluded (no number of patients either)")
        out.append(f"Landmark values without any measure of precision were {rule}: {', '.join(no_precision)}.")
    if sources.get("greenwood_no_censoring"):
        out.append("Because imputed binomial SEs ignore censoring and overweight short follow-up, every landmark "
                   "pool that used one was repeated without those studies.")
    truncated = _by_study(landmarks, "estimate_truncated")
    if truncated:
        out.append("A printed landmark value of 0% or 100% has no finite log(−log S) and was pooled half a patient "
                   f"inside the bound (its study interval reaches the printed value): {_listing(truncated)}.")
    if proportions:
        out.append(f"Study-level intervals of proportions are exact Clopper-Pearson intervals {cite('exact')}; landmark studies show "
                   "the printed CI or, without one, the interval on the log-log scale from the SE used.")
    flagged: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        for analysis in entry.get("analyses", []):
            if analysis.get("primary"):
                for flag in analysis.get("flags") or []:
                    flagged[str(flag)].append(entry_title(entry))
    if flagged:
        out.append(f"Primary results carry these flags: {_listing(flagged)}.")
    reasons: dict[str, list[str]] = defaultdict(list)
    other_landmark = 0
    for entry in entries:
        for excluded in entry.get("excluded", []):
            if OTHER_LANDMARK.search(excluded["reason"]):
                other_landmark += 1
            elif "no usable precision" not in excluded["reason"]:
                reasons[f"{excluded['study']}, {entry_title(entry)}"].append(excluded["reason"])
    if reasons:
        out.append(f"Reported but not pooled: {_listing(reasons)}.")
    if other_landmark:
        out.append(f"In {other_landmark} cases a study reported the endpoint at other landmarks only; no value was "
                   "interpolated to the missing landmark.")
    return out
