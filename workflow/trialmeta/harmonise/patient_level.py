"""Patient-level survival data from the papers' per-patient tables, and its Kaplan-Meier checks.

A paper's per-patient table gives each patient's outcome; the event times its
text states for single patients come from the curation file
(``patient_times``). `patient_level` builds, for every time-to-event endpoint
the study reports at a landmark, the patients' durations and events
(`trialmeta.harmonise.patients.endpoint_data`, assumptions stated), compares the
lifelines Kaplan-Meier value at that landmark with the reported one (a
checks.csv row), and returns the patient rows for tables/patients.csv and
the fitted curves for km_curves.json: the only Kaplan-Meier fit of these
patients (the pool stage and the figures read it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trialmeta.harmonise.curation import CurationError, load_curation
from trialmeta.harmonise.patients import ENDPOINT_EVENTS, PatientTableError, curve_of, endpoint_data, landmark_check, patients_from_table
from trialmeta.harmonise.reconstructed import curve_key

PATIENT_COLUMNS = ["study", "paper", "endpoint", "patient", "time_months", "event", "assumptions", "source"]
SOURCE = "per_patient_table"


def _patient_table(record: dict, times: dict, unit: str):
    """The patients of the first table of the record that reads as a per-patient outcome table."""
    for table in record.get("tables", []):
        try:
            return patients_from_table(table, times, unit)
        except PatientTableError:
            continue
    return None


def patient_level(
    records: list[dict], curation_dir: str | None, endpoints: pd.DataFrame, studies: pd.DataFrame, level: float = 0.95
) -> tuple[pd.DataFrame, list[dict], dict[str, dict]]:
    """tables/patients.csv rows, checks.csv rows (km_landmark_consistent / _inconsistent) and the curves."""
    rows, checks, curves = [], [], {}
    by_paper = studies.set_index("paper")
    for record in sorted(records, key=lambda r: r["paper"]):
        paper = record["paper"]
        if record.get("status") != "ok" or paper not in by_paper.index:
            continue
        times, unit = {}, "days"
        path = Path(curation_dir) / f"{paper}.yaml" if curation_dir else None
        if path is not None and path.exists():
            try:
                curation = load_curation(path)
            except CurationError:  # harmonise already reports it in failures.csv
                curation = None
            if curation is not None:
                times, unit = curation.patient_times, curation.patient_time_unit
        patients = _patient_table(record, times, unit)
        # a table whose outcomes name no relapse or death and no stated time gives no survival information
        if not patients or not (times or any(p.relapsed or p.died for p in patients)):
            continue
        study = by_paper.loc[paper, "study"]
        followup = by_paper.loc[paper, "followup_median_months"]
        followup = None if pd.isna(followup) else float(followup)
        reported = endpoints[(endpoints["paper"] == paper) & endpoints["endpoint"].isin(list(ENDPOINT_EVENTS))]
        reported = reported[reported["landmark_months"].notna() & reported["estimate"].notna()]
        for endpoint in sorted(set(reported["endpoint"])):
            try:
                data = endpoint_data(patients, study, endpoint, followup)
            except ValueError as err:
                # one paper's missing times must not stop the others; the reviewer can add them by curation
                checks.append({
                    "paper": paper, "study": study, "endpoint": endpoint, "landmark_months": None,
                    "check": "km_not_built",
                    "detail": f"{err}; give the times as patient_times in the paper's curation file",
                })
                continue
            curve = curve_of(data, level)
            curves[curve_key(study, endpoint)] = {"study": study, "paper": paper, "endpoint": endpoint, "source": SOURCE,
                                                  **curve.as_dict()}
            for _, value in reported[reported["endpoint"] == endpoint].sort_values("landmark_months").iterrows():
                ci = (value["ci_low"], value["ci_high"]) if pd.notna(value["ci_low"]) and pd.notna(value["ci_high"]) else None
                checks.append(landmark_check(
                    curve, paper, study, endpoint, float(value["landmark_months"]), float(value["estimate"]),
                    reported_ci=ci, reported_se=None if pd.isna(value["se"]) else float(value["se"]),
                ))
            assumptions = "; ".join(data.assumptions)
            rows.extend(
                {"study": study, "paper": paper, "endpoint": endpoint, "patient": patient, "time_months": duration,
                 "event": int(event), "assumptions": assumptions, "source": SOURCE}
                for patient, duration, event in zip(data.patients, data.durations, data.events)
            )
    return pd.DataFrame(rows, columns=PATIENT_COLUMNS), checks, curves

