"""Individual patient data reconstructed from a digitised Kaplan-Meier curve (Guyot et al. 2012).

Guyot P, Ades AE, Ouwens MJNM, Welton NJ (2012). Enhanced secondary analysis
of survival data: reconstructing the data from published Kaplan-Meier
survival curves. BMC Med Res Methodol 12:9. doi:10.1186/1471-2288-12-9.
R equivalent: the authors' published R function (also ``IPDfromKM::getIPD``
and ``reconstructKM``).

Within each interval between two printed numbers at risk n_i and n_{i+1},
the number censored is first guessed as n_i S(t_{i+1})/S(t_i) - n_{i+1} and
spread evenly over the interval; events at each digitised point follow from
the KM step, d_k = round(n_k (1 - S_k / S_last)), and the censored count is
corrected until the reconstructed number at risk at t_{i+1} equals n_{i+1}.
After the last printed number at risk the censoring rate of the earlier
intervals is carried on; a reported total number of events, if given, adjusts
the censoring of the last interval. Events are placed at the digitised times,
censorings half-way between digitised points.

Curve files (CSV, UTF-8, one or more curves per file; see resources/curves/README.md):
``study, paper, endpoint, group, series, time_months, value`` where series is
"survival" (a digitised point: time, S in [0, 1]), "at_risk" (the number at
risk printed under the plot at that time) or "total_events" (value = events
in the whole curve, time empty). Rows with equal study/paper/endpoint/group
form one curve.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CURVE_COLUMNS = ["study", "paper", "endpoint", "group", "series", "time_months", "value"]
SERIES = ("survival", "at_risk", "total_events")
# The censoring corrections move by whole patients towards a fixed target and
# settle in a few rounds; the bound only turns a cycling input into an error.
_MAX_ADJUSTMENTS = 1000


class CurveError(ValueError):
    """A curve file that cannot be used; the message names the file, the row and the problem."""


@dataclass(frozen=True)
class DigitisedCurve:
    """Digitised coordinates (time in months, S) and the printed numbers at risk of one curve."""

    study: str
    paper: str
    endpoint: str
    group: str
    times: tuple[float, ...]
    survival: tuple[float, ...]
    risk_times: tuple[float, ...]
    at_risk: tuple[int, ...]
    total_events: int | None
    source: str


@dataclass(frozen=True)
class ReconstructedData:
    """Reconstructed patients: durations (months) and event indicators, and what was adjusted."""

    durations: tuple[float, ...]
    events: tuple[bool, ...]
    notes: tuple[str, ...]


def _float(value: str, path: str, line: int, column: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CurveError(f"{path}: line {line}: {column} {value!r} is not a number") from None
    if not np.isfinite(number):
        raise CurveError(f"{path}: line {line}: {column} {value!r} is not finite")
    return number


def read_curves(path: str | Path) -> list[DigitisedCurve]:
    """Every curve of one CSV file, in order of first appearance; CurveError names file, line and problem."""
    path = str(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != CURVE_COLUMNS:
                raise CurveError(f"{path}: header must be {','.join(CURVE_COLUMNS)}, got {reader.fieldnames}")
            rows = list(enumerate(reader, start=2))
    except (OSError, UnicodeDecodeError) as err:
        raise CurveError(f"{path}: cannot read: {err}") from err
    curves: dict[tuple[str, ...], dict] = {}
    for line, row in rows:
        key = tuple(row[c].strip() for c in ("study", "paper", "endpoint", "group"))
        if not key[0]:
            raise CurveError(f"{path}: line {line}: empty study")
        series = row["series"].strip()
        if series not in SERIES:
            raise CurveError(f"{path}: line {line}: series {series!r} is not one of {SERIES}")
        curve = curves.setdefault(key, {"survival": [], "at_risk": [], "total_events": []})
        value = _float(row["value"], path, line, "value")
        if series == "total_events":
            curve["total_events"].append(value)
            continue
        time = _float(row["time_months"], path, line, "time_months")
        if time < 0:
            raise CurveError(f"{path}: line {line}: negative time {time:g}")
        if series == "survival" and not 0 <= value <= 1:
            raise CurveError(f"{path}: line {line}: survival {value:g} outside [0, 1] (give proportions, not percent)")
        if series == "at_risk" and (value < 0 or value != int(value)):
            raise CurveError(f"{path}: line {line}: number at risk {value:g} is not a whole number >= 0")
        curve[series].append((time, value))
    out = []
    for (study, paper, endpoint, group), data in curves.items():
        name = f"{path}: curve {study}/{endpoint}/{group}"
        if len(data["survival"]) < 2:
            raise CurveError(f"{name}: needs at least two digitised survival points")
        if not data["at_risk"]:
            raise CurveError(f"{name}: no numbers at risk (series at_risk)")
        if len(data["total_events"]) > 1:
            raise CurveError(f"{name}: more than one total_events row")
        points = sorted(data["survival"])
        risk = sorted(data["at_risk"])
        out.append(DigitisedCurve(
            study=study, paper=paper, endpoint=endpoint, group=group,
            times=tuple(t for t, _ in points), survival=tuple(s for _, s in points),
            risk_times=tuple(t for t, _ in risk), at_risk=tuple(int(n) for _, n in risk),
            total_events=int(data["total_events"][0]) if data["total_events"] else None, source=path,
        ))
    return out


def _clean(curve: DigitisedCurve) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Digitised points as a proper KM: starts at (0, 1), non-increasing, one point per time."""
    times = np.asarray(curve.times, dtype=float)
    survival = np.asarray(curve.survival, dtype=float)
    notes = []
    if times[0] > 0 or survival[0] < 1:
        times, survival = np.r_[0.0, times], np.r_[1.0, survival]
        notes.append("point (0, 1) added")
    # reading error can make a digitised curve rise a little; a KM never does
    monotone = np.minimum.accumulate(survival)
    if np.any(monotone < survival):
        notes.append(f"{int(np.sum(monotone < survival))} rising points lowered to keep the curve non-increasing")
    # the top and bottom of a drop share a time: keep the bottom (the value from t on)
    unique, first = np.unique(times, return_index=True)
    last = np.r_[first[1:] - 1, times.size - 1]
    return unique, monotone[last], notes


def _hist(values: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Counts per bin (b_{j-1}, b_j], the first bin closed, as R's hist(right = TRUE)."""
    index = np.clip(np.searchsorted(breaks, values, side="left") - 1, 0, breaks.size - 2)
    return np.bincount(index, minlength=breaks.size - 1)


def reconstruct(curve: DigitisedCurve) -> ReconstructedData:
    """Patient-level durations and events from a digitised curve (the algorithm of Guyot et al. 2012).

    Numbers at risk printed after the last digitised point are dropped, and so
    is any whose interval holds no digitised point (noted). Raises CurveError
    if the reconstruction does not settle.
    """
    t, s, notes = _clean(curve)
    risk_times = np.asarray(curve.risk_times, dtype=float)
    n_risk = np.asarray(curve.at_risk, dtype=float)
    keep = risk_times <= t[-1]
    if not keep.all():
        notes.append(f"{int((~keep).sum())} numbers at risk after the last digitised point ignored")
    risk_times, n_risk = risk_times[keep], n_risk[keep]
    lower = np.searchsorted(t, risk_times, side="left")
    distinct = np.r_[True, np.diff(lower) > 0]
    if not distinct.all():
        notes.append(f"{int((~distinct).sum())} numbers at risk without a digitised point in their interval ignored")
    lower, n_risk, risk_times = lower[distinct], n_risk[distinct], risk_times[distinct]
    if risk_times.size == 0 or risk_times[0] != 0:
        raise CurveError(f"{curve.source}: {curve.study}/{curve.endpoint}: no number at risk at time 0")
    upper = np.r_[lower[1:] - 1, t.size - 1]
    n_int, n_t = lower.size, t.size
    n_censor = np.zeros(n_int)
    n_hat = np.full(n_t + 1, n_risk[0] + 1)
    cen = np.zeros(n_t)
    d = np.zeros(n_t)
    km_hat = np.ones(n_t)
    last_i = np.zeros(n_int, dtype=int)

    def spread(i: int, end: int) -> None:
        """Spread n_censor[i] censorings evenly over (t[lower[i]], t[end])."""
        count = int(n_censor[i])
        cen_times = t[lower[i]] + np.arange(1, count + 1) * (t[end] - t[lower[i]]) / (count + 1)
        cen[lower[i]:end] = _hist(cen_times, t[lower[i]:end + 1])

    def events(i: int, first_point_fixed: bool) -> int:
        n_hat[lower[i]] = n_risk[i]
        last = last_i[i]
        for k in range(lower[i], upper[i] + 1):
            if first_point_fixed and k == lower[i]:
                d[k], km_hat[k] = 0, 1.0
            else:
                d[k] = np.rint(n_hat[k] * (1 - s[k] / km_hat[last])) if km_hat[last] > 0 and n_hat[k] > 0 else 0
                km_hat[k] = km_hat[last] * (1 - d[k] / n_hat[k]) if n_hat[k] > 0 else km_hat[last]
            n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
            if n_hat[k + 1] < 0:  # the number at risk cannot be negative
                n_hat[k + 1] = 0
                cen[k] = n_hat[k] - d[k]
            if d[k] != 0:
                last = k
        return last

    for i in range(n_int - 1):
        n_censor[i] = np.rint(n_risk[i] * s[lower[i + 1]] / s[lower[i]] - n_risk[i + 1])
        last = last_i[i]
        for _ in range(_MAX_ADJUSTMENTS):
            target = n_hat[lower[i + 1]]
            if not (target > n_risk[i + 1] or (target < n_risk[i + 1] and n_censor[i] > 0)):
                break
            if n_censor[i] <= 0:
                cen[lower[i]:upper[i] + 1] = 0
                n_censor[i] = 0
            else:
                spread(i, lower[i + 1])
            last = events(i, first_point_fixed=i == 0)
            n_censor[i] += n_hat[lower[i + 1]] - n_risk[i + 1]
        else:
            raise CurveError(f"{curve.source}: {curve.study}/{curve.endpoint}: censoring did not settle in interval {i + 1}")
        if n_hat[lower[i + 1]] < n_risk[i + 1]:
            notes.append(f"number at risk at {t[lower[i + 1]]:g} months lowered to {int(n_hat[lower[i + 1]])}")
            n_risk[i + 1] = n_hat[lower[i + 1]]
        last_i[i + 1] = last

    # after the last number at risk: the censoring rate of the earlier intervals
    j = n_int - 1
    if n_int > 1:
        rate_span = t[upper[j - 1]] - t[lower[0]]
        n_censor[j] = min(np.rint(n_censor[:j].sum() * (t[upper[j]] - t[lower[j]]) / rate_span), n_risk[j])

    def last_interval() -> None:
        if n_censor[j] <= 0:
            cen[lower[j]:upper[j]] = 0
            n_censor[j] = 0
        else:
            spread(j, upper[j])
        events(j, first_point_fixed=n_int == 1)

    last_interval()
    if curve.total_events is not None:
        total = curve.total_events
        before = d[:upper[j - 1] + 1].sum() if n_int > 1 else 0.0
        if n_int > 1 and before >= total:
            d[lower[j]:upper[j] + 1] = 0
            cen[lower[j]:upper[j]] = 0
            notes.append("the reported total of events is reached before the last number at risk")
        else:
            for _ in range(_MAX_ADJUSTMENTS):
                reached = d.sum()
                if not (reached > total or (reached < total and n_censor[j] > 0)):
                    break
                n_censor[j] += reached - total
                last_interval()
            else:
                raise CurveError(f"{curve.source}: {curve.study}/{curve.endpoint}: total events not matched")

    n = int(curve.at_risk[0])
    durations = np.full(n, t[-1])
    observed = np.zeros(n, dtype=bool)
    position = 0
    for k in range(n_t):
        count = int(d[k])
        durations[position:position + count] = t[k]
        observed[position:position + count] = True
        position += count
    for k in range(n_t - 1):
        count = int(cen[k])
        durations[position:position + count] = (t[k] + t[k + 1]) / 2
        position += count
    if position > n:
        raise CurveError(f"{curve.source}: {curve.study}/{curve.endpoint}: {position} patients reconstructed > {n} at risk")
    return ReconstructedData(tuple(durations.tolist()), tuple(observed.tolist()), tuple(notes))
