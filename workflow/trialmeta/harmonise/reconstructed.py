"""Digitised Kaplan-Meier curves in the pipeline: reconstructed patients, their curves, checks and landmarks.

One job per curve file (`reconstruct_file`) rebuilds patient-level data with
`trialmeta.harmonise.guyot.reconstruct` and writes it as JSON. Harmonise then
(`reconstructed_level`) turns every curve of a paper in the run into
tables/patients.csv rows (source ``reconstructed``) and one Kaplan-Meier fit
(lifelines, Greenwood SE, log(-log) CI). That fit

- is compared with each landmark the paper reports (checks.csv,
  ``km_landmark_consistent`` / ``km_landmark_inconsistent``, the detail
  saying the curve is reconstructed), and
- gives the landmark value where the paper reports none for that endpoint at
  that landmark (an endpoints.csv row, source ``reconstructed``, flag
  ``from_reconstructed_curve``; SE by Greenwood, n the number at risk at 0),
  never beyond the last digitised time.

A curve whose paper is not in the run, or whose group is an arm rather than
``all``, is drawn nowhere and pooled nowhere; checks.csv says why.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trialmeta.harmonise.guyot import CurveError, read_curves, reconstruct
from trialmeta.harmonise.patients import KMCurve, kaplan_meier, landmark_check

SOURCE = "reconstructed"
FLAG = "from_reconstructed_curve"


def reconstruct_file(path: str | Path) -> dict:
    """The reconstruction record of one curve file: its curves' points and patients, or the error."""
    path = str(path)
    try:
        curves = read_curves(path)
        rebuilt = [(curve, reconstruct(curve)) for curve in curves]
    except CurveError as err:
        return {"file": path, "status": "error", "error": str(err), "curves": []}
    return {"file": path, "status": "ok", "error": None, "curves": [
        {"study": c.study, "paper": c.paper, "endpoint": c.endpoint, "group": c.group,
         "digitised": {"time_months": list(c.times), "survival": list(c.survival)},
         "risk_times": list(c.risk_times), "at_risk": list(c.at_risk), "total_events": c.total_events,
         "durations": list(r.durations), "events": [bool(e) for e in r.events], "notes": list(r.notes)}
        for c, r in rebuilt
    ]}


def curve_key(study: str, endpoint: str, source: str | None = None) -> str:
    """The name of a curve in km_curves.json and in the Kaplan-Meier figure's legend."""
    return f"{study} ({endpoint}{'' if source is None else ', ' + source})"


def _landmark_row(curve: KMCurve, study: dict, endpoint: str, months: float, file: str) -> dict:
    s, low, high = curve.at(months)
    return {
        "study": study["study"], "paper": study["paper"], "trial_ids": study.get("trial_ids"),
        "endpoint": endpoint, "landmark_months": float(months), "events": None, "total": curve.n,
        "estimate": s, "ci_low": low, "ci_high": high, "se": curve.se_at(months), "source": SOURCE,
        "page": None, "quote": f"Kaplan-Meier of {curve.n} patients ({curve.events} events) reconstructed "
                               f"from the digitised curve {Path(file).name} (Guyot 2012); Greenwood SE",
        "flags": FLAG,
    }


def reconstructed_level(
    records: list[dict], endpoints: pd.DataFrame, studies: pd.DataFrame, landmark_months: list[float], level: float = 0.95,
) -> tuple[list[dict], list[dict], list[dict], list[dict], dict[str, dict]]:
    """patients.csv rows, checks.csv rows, endpoints.csv rows, failures.csv rows and km_curves.json entries."""
    patients, checks, landmarks, failures, curves = [], [], [], [], {}
    by_paper = {row["paper"]: row for row in studies.to_dict("records")}
    for record in sorted(records, key=lambda r: r["file"]):
        if record["status"] != "ok":
            failures.append({"paper": Path(record["file"]).stem, "stage": "reconstruct", "error_kind": "bad_curve_file",
                             "message": record["error"]})
            continue
        for digitised in record["curves"]:
            paper, endpoint = digitised["paper"], digitised["endpoint"]
            study = by_paper.get(paper)
            why = None
            if study is None:
                why = f"paper {paper!r} of {Path(record['file']).name} is not among this run's papers"
            elif digitised["group"] != "all":
                why = f"group {digitised['group']!r} is an arm, not the whole cohort"
            if why is not None:
                checks.append({"paper": paper, "study": digitised["study"], "endpoint": endpoint, "landmark_months": None,
                               "check": "curve_not_used", "detail": f"{why}: the reconstructed curve is not used"})
                continue
            assumptions = [f"reconstructed from the digitised curve {Path(record['file']).name} (Guyot 2012)",
                           *digitised["notes"]]
            curve = kaplan_meier(digitised["durations"], digitised["events"], level, assumptions)
            curves[curve_key(study["study"], endpoint, SOURCE)] = {
                "study": study["study"], "paper": paper, "endpoint": endpoint, "source": SOURCE,
                **curve.as_dict(), "digitised": digitised["digitised"],
            }
            patients.extend(
                {"study": study["study"], "paper": paper, "endpoint": endpoint, "patient": f"r{index + 1}",
                 "time_months": duration, "event": int(event), "assumptions": "; ".join(assumptions), "source": SOURCE}
                for index, (duration, event) in enumerate(zip(digitised["durations"], digitised["events"]))
            )
            reported = endpoints[(endpoints["paper"] == paper) & (endpoints["endpoint"] == endpoint)
                                 & endpoints["landmark_months"].notna() & endpoints["estimate"].notna()]
            for _, value in reported.sort_values("landmark_months").iterrows():
                ci = (value["ci_low"], value["ci_high"]) if pd.notna(value["ci_low"]) and pd.notna(value["ci_high"]) else None
                check = landmark_check(curve, paper, study["study"], endpoint, float(value["landmark_months"]),
                                       float(value["estimate"]), reported_ci=ci,
                                       reported_se=None if pd.isna(value["se"]) else float(value["se"]))
                check["detail"] += f"; Greenwood SE {100 * curve.se_at(float(value['landmark_months'])):.1f} points"
                checks.append(check)
            last = max(digitised["digitised"]["time_months"])
            given = set(reported["landmark_months"].astype(float))
            for months in landmark_months:
                if float(months) not in given and months <= last:
                    landmarks.append(_landmark_row(curve, study, endpoint, months, record["file"]))
    return patients, checks, landmarks, failures, curves
