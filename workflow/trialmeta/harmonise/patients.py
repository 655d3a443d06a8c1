"""Patient-level survival from per-patient tables: Kaplan-Meier with lifelines, checks, pooled curves.

A per-patient table (extraction records carry ``tables: [{page, bbox, header,
rows}]``) names each patient's outcome ("MR", "Relapse", "Relapse (death)");
the times of relapse or death are often in the text instead ("relapsed at
740, 597 and 238 days"). `patients_from_table` joins the two; every time that
is missing is filled by a stated assumption (`endpoint_data`), and a curve
built on any assumption is marked approximate.

Kaplan-Meier: lifelines ``KaplanMeierFitter`` (Davidson-Pilon C (2019),
J Open Source Softw 4:1317, doi:10.21105/joss.01317), with Greenwood's
variance and the log(-log) ("exponential Greenwood") interval:
S(t) = prod_{t_j <= t} (1 - d_j / n_j),
Var(log S) = sum d_j / (n_j (n_j - d_j)) (Greenwood 1926),
CI = S^exp(+-z sqrt(Var(log S)) / log S)
(Kaplan EL, Meier P (1958), JASA 53:457-481, doi:10.1080/01621459.1958.10501452).
R: ``survfit(Surv(time, status) ~ 1, conf.type = "log-log")``.
Log-rank: lifelines ``multivariate_logrank_test`` (Mantel N (1966), Cancer
Chemother Rep 50:163-170), R ``survdiff(Surv(time, status) ~ group)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test

DAYS_PER_MONTH = 365.25 / 12
UNITS = {"days": 1 / DAYS_PER_MONTH, "weeks": 7 / DAYS_PER_MONTH, "months": 1.0, "years": 12.0}
# Events of each endpoint: relapse-type endpoints count relapse or death.
ENDPOINT_EVENTS = {"efs": ("relapse", "death"), "rfs": ("relapse", "death"), "lfs": ("relapse", "death"),
                   "os": ("death",)}
_ID_HEADERS = ("patient", "case", "upn", "no.", "id", "pt")
_OUTCOME_HEADERS = ("outcome", "status", "response at last", "last follow")
_RELAPSE = re.compile(r"\b(relapse[ds]?|progress(ion|ed)?|recurren(ce|t))\b", re.IGNORECASE)
_NO_RELAPSE = re.compile(r"\b(no|without|free of)\s+(relapse|progression|recurrence)|relapse-free", re.IGNORECASE)
_DEATH = re.compile(r"\b(death|died|dead|deceased)\b", re.IGNORECASE)


class PatientTableError(ValueError):
    """A per-patient table that cannot be read as outcomes; the message says which column is missing."""


@dataclass(frozen=True)
class Patient:
    """One patient's outcome; times in months from infusion, None where the paper gives none."""

    patient: str
    relapsed: bool
    died: bool
    relapse_months: float | None = None
    death_months: float | None = None
    last_followup_months: float | None = None
    outcome: str = ""


@dataclass(frozen=True)
class SurvivalData:
    """Durations (months) and event indicators of one endpoint, with the assumptions that built them."""

    study: str
    endpoint: str
    patients: tuple[str, ...]
    durations: tuple[float, ...]
    events: tuple[bool, ...]
    assumptions: tuple[str, ...]

    @property
    def approximate(self) -> bool:
        return bool(self.assumptions)


@dataclass(frozen=True)
class KMCurve:
    """A Kaplan-Meier curve with its log(-log) CI and numbers at risk."""

    timeline: tuple[float, ...]
    survival: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    at_risk_times: tuple[float, ...]
    at_risk: tuple[int, ...]
    n: int
    events: int
    assumptions: tuple[str, ...]
    approximate: bool
    # Greenwood SE of S at each time, S sqrt(sum d_j / (n_j (n_j - d_j))); NaN once S reaches 0
    se: tuple[float, ...] = ()

    def at(self, months: float) -> tuple[float, float, float]:
        """S(t) and its CI at `months` (the step function is right-continuous)."""
        index = int(np.searchsorted(self.timeline, months, side="right")) - 1
        return self.survival[index], self.ci_low[index], self.ci_high[index]

    def se_at(self, months: float) -> float:
        """Greenwood's SE of S(t) at `months` (R: summary(survfit(...), times = t)$std.err)."""
        return self.se[int(np.searchsorted(self.timeline, months, side="right")) - 1]

    def as_dict(self) -> dict:
        return {
            "timeline": list(self.timeline), "survival": list(self.survival),
            "ci_low": list(self.ci_low), "ci_high": list(self.ci_high),
            "at_risk_times": list(self.at_risk_times), "at_risk": list(self.at_risk),
            "assumptions": list(self.assumptions), "approximate": self.approximate,
        }


@dataclass(frozen=True)
class GroupComparison:
    """Log-rank test between groups of pooled patients (lifelines multivariate_logrank_test)."""

    test: str
    statistic: float
    df: int
    p: float
    groups: tuple[str, ...]
    n: tuple[int, ...]
    events: tuple[int, ...]
    note: str


def _column(header: Sequence[str], keys: Iterable[str], what: str, given: str | None, anywhere: bool) -> int:
    lowered = [h.strip().lower() for h in header]
    if given is not None:
        if given not in header:
            raise PatientTableError(f"no column {given!r} in header {list(header)}")
        return list(header).index(given)
    for key in keys:
        for index, name in enumerate(lowered):
            if name.startswith(key) or anywhere and key in name:
                return index
    raise PatientTableError(f"no {what} column in header {list(header)}")


def _months(value: float | None, unit: str) -> float | None:
    return None if value is None else float(value) * UNITS[unit]


def patients_from_table(
    table: Mapping,
    times: Mapping[str, Mapping[str, float]] | None = None,
    time_unit: str = "days",
    id_column: str | None = None,
    outcome_column: str | None = None,
) -> list[Patient]:
    """Patients of a per-patient table, with event times from `times`.

    `table` is an extraction record's table, ``{"header": [...], "rows": [[...]]}``.
    The patient column is the first header starting with patient/case/UPN/No./ID
    and the outcome column the first naming outcome/status (or pass
    `id_column`, `outcome_column`). An outcome naming relapse (or progression,
    recurrence; not "no relapse") is a relapse, one naming death or died a
    death. `times` maps a patient id to any of "relapse", "death",
    "last_followup" in `time_unit` (days, weeks, months, years), e.g. the
    relapse days the text gives; they are converted to months (365.25/12 days).
    Raises PatientTableError naming the missing column or unknown patient.
    """
    if time_unit not in UNITS:
        raise ValueError(f"unknown time unit {time_unit!r}; expected one of {tuple(UNITS)}")
    header = list(table["header"])
    id_index = _column(header, _ID_HEADERS, "patient", id_column, anywhere=False)
    outcome_index = _column(header, _OUTCOME_HEADERS, "outcome", outcome_column, anywhere=True)
    times = dict(times or {})
    patients, seen = [], set()
    for row in table["rows"]:
        patient = str(row[id_index]).strip()
        outcome = str(row[outcome_index]).strip()
        relapsed = bool(_RELAPSE.search(outcome)) and not _NO_RELAPSE.search(outcome)
        given = times.get(patient, {})
        unknown = set(given) - {"relapse", "death", "last_followup"}
        if unknown:
            raise PatientTableError(f"patient {patient}: unknown time kinds {sorted(unknown)}")
        if "relapse" in given and not relapsed:
            raise PatientTableError(f"patient {patient}: a relapse time but the outcome is {outcome!r}")
        patients.append(Patient(
            patient=patient, relapsed=relapsed, died=bool(_DEATH.search(outcome)) or "death" in given,
            relapse_months=_months(given.get("relapse"), time_unit),
            death_months=_months(given.get("death"), time_unit),
            last_followup_months=_months(given.get("last_followup"), time_unit),
            outcome=outcome,
        ))
        seen.add(patient)
    missing = sorted(set(times) - seen)
    if missing:
        raise PatientTableError(f"times given for patients not in the table: {missing}")
    return patients


def endpoint_data(
    patients: Sequence[Patient], study: str, endpoint: str, followup_median_months: float | None
) -> SurvivalData:
    """Durations and events of `endpoint` (efs, rfs, lfs: relapse or death; os: death).

    A patient's duration is the earliest time of an event of the endpoint;
    without an event, the last follow-up. Where that time is missing:

    - no event and no last follow-up: censored at the median follow-up of the
      study (the typical patient's follow-up; patients followed longer or
      shorter make the curve's tail approximate);
    - an event whose time is not given: placed at the median follow-up, or at
      the latest time known to precede it (e.g. a death after a relapse) if
      that is later.

    Each assumption is listed with the patients it concerns. Raises ValueError
    when a time is needed and `followup_median_months` is None.
    """
    if endpoint not in ENDPOINT_EVENTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {tuple(ENDPOINT_EVENTS)}")
    kinds = ENDPOINT_EVENTS[endpoint]
    durations, events, censored_assumed, events_assumed = [], [], [], []
    for p in patients:
        happened = {"relapse": p.relapsed, "death": p.died}
        known = {"relapse": p.relapse_months, "death": p.death_months}
        event = any(happened[k] for k in kinds)
        if event:
            times = [known[k] for k in kinds if happened[k] and known[k] is not None]
            if times:
                duration = min(times)
            else:
                if followup_median_months is None:
                    raise ValueError(f"{study}: patient {p.patient} has an event without a time and no median follow-up")
                before = [t for t in (p.relapse_months,) if t is not None]
                duration = max([followup_median_months, *before])
                events_assumed.append(p.patient)
        elif p.last_followup_months is not None:
            duration = p.last_followup_months
        else:
            if followup_median_months is None:
                raise ValueError(f"{study}: patient {p.patient} has no follow-up time and no median follow-up")
            duration = followup_median_months
            censored_assumed.append(p.patient)
        durations.append(float(duration))
        events.append(event)
    assumptions = []
    if censored_assumed:
        assumptions.append(
            f"censored at the median follow-up ({followup_median_months:.3g} months), no follow-up time given: "
            f"patients {', '.join(censored_assumed)}"
        )
    if events_assumed:
        assumptions.append(
            f"{endpoint} event without a time, placed at the median follow-up ({followup_median_months:.3g} months) "
            f"or the later relapse: patients {', '.join(events_assumed)}"
        )
    return SurvivalData(study, endpoint, tuple(p.patient for p in patients), tuple(durations), tuple(events),
                        tuple(assumptions))


def _at_risk_grid(durations: np.ndarray, step: float) -> tuple[tuple[float, ...], tuple[int, ...]]:
    times = np.arange(0.0, durations.max() + step, step)
    times = times[times <= durations.max()]
    return tuple(float(t) for t in times), tuple(int(np.sum(durations >= t)) for t in times)


def kaplan_meier(
    durations: Sequence[float], events: Sequence[bool], level: float = 0.95,
    assumptions: Sequence[str] = (), at_risk_step: float = 6.0,
) -> KMCurve:
    """Kaplan-Meier estimate with the log(-log) CI (lifelines; R survfit conf.type = "log-log").

    The curve is returned at 0 and every distinct time (events and
    censorings), as survfit's; numbers at risk at multiples of `at_risk_step`
    months (those still followed at that time, durations >= t).
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    if durations.size == 0:
        raise ValueError("no patients")
    if np.any(durations < 0) or not np.all(np.isfinite(durations)):
        raise ValueError("durations must be finite and >= 0")
    fitter = KaplanMeierFitter(alpha=1 - level).fit(durations, events)
    timeline = fitter.survival_function_.index.to_numpy(dtype=float)
    survival = fitter.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    ci = fitter.confidence_interval_survival_function_
    table = fitter.event_table.reindex(timeline)
    deaths, at_risk_n = table["observed"].to_numpy(dtype=float), table["at_risk"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(np.where(deaths > 0, deaths / (at_risk_n * (at_risk_n - deaths)), 0.0))
        se = np.where(survival > 0, survival * np.sqrt(greenwood), np.nan)
    at_risk_times, at_risk = _at_risk_grid(durations, at_risk_step)
    return KMCurve(
        timeline=tuple(timeline.tolist()), survival=tuple(survival.tolist()),
        ci_low=tuple(ci.iloc[:, 0].to_numpy(dtype=float).tolist()),
        ci_high=tuple(ci.iloc[:, 1].to_numpy(dtype=float).tolist()),
        at_risk_times=at_risk_times, at_risk=at_risk, n=int(durations.size), events=int(events.sum()),
        assumptions=tuple(assumptions), approximate=bool(assumptions), se=tuple(se.tolist()),
    )


def curve_of(data: SurvivalData, level: float = 0.95, at_risk_step: float = 6.0) -> KMCurve:
    return kaplan_meier(data.durations, data.events, level, data.assumptions, at_risk_step)


def landmark_check(
    curve: KMCurve, paper: str, study: str, endpoint: str, months: float,
    reported: float, reported_ci: tuple[float, float] | None = None, reported_se: float | None = None,
) -> dict:
    """A checks.csv row comparing the patient-level Kaplan-Meier at `months` with the paper's value.

    check "km_landmark_consistent" when the reported value lies inside the
    Kaplan-Meier CI, else "km_landmark_inconsistent"; the detail gives both
    values, the difference in percentage points, and (when approximate) the
    assumptions the curve rests on.
    """
    s, low, high = curve.at(months)
    printed = f"{100 * reported:.1f}%"
    if reported_ci is not None:
        printed += f" ({100 * reported_ci[0]:.0f}-{100 * reported_ci[1]:.0f})"
    elif reported_se is not None:
        printed += f" ± {100 * reported_se:.1f}"
    consistent = low <= reported <= high
    detail = (
        f"lifelines Kaplan-Meier from {curve.n} patients ({curve.events} events): {100 * s:.1f}% "
        f"(95% CI {100 * low:.1f}-{100 * high:.1f}) at {months:g} months vs reported {printed}; "
        f"difference {100 * (s - reported):+.1f} percentage points"
    )
    if curve.approximate:
        detail = "approximate comparison: " + detail + "; assumptions: " + "; ".join(curve.assumptions)
    return {
        "paper": paper, "study": study, "endpoint": endpoint, "landmark_months": months,
        "check": "km_landmark_consistent" if consistent else "km_landmark_inconsistent", "detail": detail,
    }


def pooled_curve(datasets: Sequence[SurvivalData], level: float = 0.95, at_risk_step: float = 6.0) -> KMCurve:
    """One Kaplan-Meier curve of all patients of several studies (naive pooling across trials).

    Patients of different trials are treated as one cohort, so differences
    between trials (population, follow-up) are ignored; the curve says so
    among its assumptions.
    """
    durations = [d for data in datasets for d in data.durations]
    events = [e for data in datasets for e in data.events]
    assumptions = [f"{data.study}: {a}" for data in datasets for a in data.assumptions]
    assumptions.append(
        f"pooled across {len(datasets)} trials as one cohort: differences between trials are ignored"
    )
    curve = kaplan_meier(durations, events, level, assumptions, at_risk_step)
    # the across-trial pooling is an assumption about the data, not an approximation of a time
    return KMCurve(**{**curve.__dict__, "approximate": any(d.approximate for d in datasets)})


def compare_groups(datasets: Sequence[SurvivalData], groups: Mapping[str, str]) -> GroupComparison:
    """Log-rank test of the patients of studies grouped by `groups` (study -> label, e.g. target).

    lifelines ``multivariate_logrank_test`` (the two-group log-rank test for
    two labels); R ``survdiff(Surv(time, status) ~ group)``. A stratified Cox
    model with the trial as stratum cannot estimate a trial-level subgroup
    effect (it is constant within each stratum), so the comparison is the
    unstratified log-rank test, across trials: it confounds the subgroup with
    everything else that differs between the trials.
    """
    missing = sorted({d.study for d in datasets} - set(groups))
    if missing:
        raise ValueError(f"no group for studies {missing}")
    labels = [groups[d.study] for d in datasets for _ in d.durations]
    if len(set(labels)) < 2:
        raise ValueError("the log-rank test needs at least two groups")
    durations = [t for d in datasets for t in d.durations]
    events = [e for d in datasets for e in d.events]
    result = multivariate_logrank_test(durations, labels, events)
    names = tuple(sorted(set(labels)))
    return GroupComparison(
        test="log-rank", statistic=float(result.test_statistic), df=int(result.degrees_of_freedom),
        p=float(result.p_value), groups=names,
        n=tuple(labels.count(g) for g in names),
        events=tuple(int(sum(e for e, lab in zip(events, labels) if lab == g)) for g in names),
        note="comparison across trials (patients of different trials, not randomised): "
             "differences between the trials are confounded with the groups",
    )
