"""Guyot et al. (2012) reconstruction on simulated trials: simulate, draw the KM, digitise, reconstruct.

The demo curve resources/curves/simulated_demo.csv is made by `demo_rows`
below (run ``python tests/test_guyot.py`` to rewrite it); a test keeps the two equal.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from trialmeta.harmonise.guyot import CURVE_COLUMNS, CurveError, DigitisedCurve, read_curves, reconstruct
from trialmeta.harmonise.patients import kaplan_meier

DEMO = Path(__file__).parents[1] / "resources" / "curves" / "simulated_demo.csv"
LANDMARKS = (6, 12, 24)


def simulate(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exponential event times (median 15 months), uniform censoring 6-36 months; times to 0.01 month."""
    rng = np.random.default_rng(seed)
    event = rng.exponential(15 / np.log(2), n)
    censor = rng.uniform(6, 36, n)
    return np.round(np.minimum(event, censor), 2), event <= censor


def digitise(durations, events, seed: int, risk_step: float = 6.0) -> tuple[list, list, list, list]:
    """Read the KM plot as a digitiser would: the foot of every drop and a point every half month
    along the curve, each with reading error (SD 0.03 months, 0.2 percentage points), plus the
    numbers at risk printed every `risk_step` months."""
    rng = np.random.default_rng(seed)
    curve = kaplan_meier(durations, events)
    timeline, survival = np.array(curve.timeline), np.array(curve.survival)
    drops = timeline[1:][np.diff(survival) < 0]
    times = np.r_[drops, np.arange(0, timeline.max(), 0.5)]
    values = np.array([curve.at(t)[0] for t in times])
    times = np.clip(times + rng.normal(0, 0.03, times.size), 0, None)
    values = np.clip(values + rng.normal(0, 0.002, values.size), 0, 1)
    order = np.argsort(times, kind="mergesort")
    risk_times = np.arange(0, timeline.max() + 1e-9, risk_step)
    at_risk = [int(np.sum(np.asarray(durations) >= t)) for t in risk_times]
    return times[order].tolist(), values[order].tolist(), risk_times.tolist(), at_risk


def _check(durations, events, rebuilt) -> None:
    truth = kaplan_meier(durations, events)
    again = kaplan_meier(rebuilt.durations, rebuilt.events)
    for months in LANDMARKS:
        assert abs(truth.at(months)[0] - again.at(months)[0]) <= 0.02, f"S({months}) off by > 2 points"
    assert abs(sum(rebuilt.events) - int(np.sum(events))) <= 0.05 * int(np.sum(events))
    assert len(rebuilt.durations) == len(durations)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("with_total", [True, False])
def test_reconstruction_recovers_landmarks_and_events(seed, with_total):
    durations, events = simulate(seed, 120)
    times, values, risk_times, at_risk = digitise(durations, events, seed + 100)
    curve = DigitisedCurve("sim", "sim", "os", "all", tuple(times), tuple(values), tuple(risk_times),
                           tuple(at_risk), int(events.sum()) if with_total else None, "memory")
    _check(durations, events, reconstruct(curve))


def test_exact_coordinates_without_censoring_are_recovered_exactly():
    # 10 patients, deaths at 1..5 months, nobody censored before 6: the curve
    # read exactly gives back the five deaths at their times
    curve = DigitisedCurve("s", "p", "os", "all", (0, 1, 2, 3, 4, 5, 12), (1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.5),
                           (0, 6, 12), (10, 5, 5), None, "memory")
    rebuilt = reconstruct(curve)
    assert sorted(t for t, e in zip(rebuilt.durations, rebuilt.events) if e) == [1, 2, 3, 4, 5]
    assert sum(not e for e in rebuilt.events) == 5


def demo_rows() -> list[dict]:
    durations, events = simulate(2012, 40)
    times, values, risk_times, at_risk = digitise(durations, events, 2013)
    base = {"study": "Simulated demo", "paper": "simulated_demo", "endpoint": "os", "group": "all"}
    rows = [{**base, "series": "survival", "time_months": f"{t:.3f}", "value": f"{s:.4f}"}
            for t, s in zip(times, values)]
    rows += [{**base, "series": "at_risk", "time_months": f"{t:g}", "value": str(n)} for t, n in zip(risk_times, at_risk)]
    rows.append({**base, "series": "total_events", "time_months": "", "value": str(int(events.sum()))})
    return rows


def demo_text() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CURVE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(demo_rows())
    return out.getvalue()


def test_demo_curve_is_the_documented_simulation_and_reconstructs():
    assert DEMO.read_text(encoding="utf-8") == demo_text()
    (curve,) = read_curves(DEMO)
    assert (curve.study, curve.endpoint, curve.at_risk[0]) == ("Simulated demo", "os", 40)
    durations, events = simulate(2012, 40)
    _check(durations, events, reconstruct(curve))


@pytest.mark.parametrize(
    "body, message",
    [
        ("a,b\n", "header must be"),
        ("S,p,os,all,survival,1,1.4\nS,p,os,all,at_risk,0,10\n", "outside \\[0, 1\\]"),
        ("S,p,os,all,survival,0,1\nS,p,os,all,survival,2,0.9\nS,p,os,all,at_risk,0,9.5\n", "whole number"),
        ("S,p,os,all,survival,0,1\nS,p,os,all,survival,x,0.9\n", "line 3: time_months 'x'"),
        ("S,p,os,all,survival,0,1\nS,p,os,all,survival,2,0.9\n", "no numbers at risk"),
        ("S,p,os,all,curve,0,1\n", "series 'curve'"),
    ],
)
def test_bad_curve_files_name_file_line_and_problem(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    header = "" if body.startswith("a,b") else ",".join(CURVE_COLUMNS) + "\n"
    path.write_text(header + body, encoding="utf-8")
    with pytest.raises(CurveError, match=message) as err:
        read_curves(path)
    assert str(path) in str(err.value)


if __name__ == "__main__":
    DEMO.parent.mkdir(parents=True, exist_ok=True)
    DEMO.write_text(demo_text(), encoding="utf-8")
    print(f"wrote {DEMO}")
