"""Time the pooling engine: every measure x method for k = 200, REML for k = 10,000.

    /work/venv/bin/python tools/bench_pooling.py

The studies are simulated with a fixed seed (sizes 10-80, logit response
rates N(0.2, 0.8^2)); the target is all k = 200 analyses under 5 s. The
GLMM (exact binomial likelihood, 7-point quadrature) is timed for k = 200 too.
"""

from __future__ import annotations

import time

import numpy as np

from trialmeta.pool.effects import MEASURES, proportion_effects
from trialmeta.pool.glmm import fit_glmm
from trialmeta.pool.models import METHODS, fit_meta


def simulate(k: int, seed: int = 20240611) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    total = rng.integers(10, 81, size=k)
    events = rng.binomial(total, 1 / (1 + np.exp(-rng.normal(0.2, 0.8, size=k))))
    return events, total


def timed(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    events, total = simulate(200)
    print(f"k = 200: seconds per fit (z; Q-profile tau2 CI included)\n{'method':>8}" + "".join(
        f"{measure:>9}" for measure in MEASURES
    ))
    effects = {measure: proportion_effects(events, total, measure) for measure in MEASURES}
    grand_total = 0.0
    for method in METHODS:
        row = [timed(fit_meta, effects[measure], method) for measure in MEASURES]
        grand_total += sum(row)
        print(f"{method:>8}" + "".join(f"{seconds:9.4f}" for seconds in row))
    knapp_hartung = sum(
        timed(fit_meta, effects[measure], method, "hk") for measure in MEASURES for method in METHODS
    )
    glmm = timed(fit_glmm, events, total)
    print(f"all {len(METHODS) * len(MEASURES)} z fits: {grand_total:.3f} s; "
          f"the same with Knapp-Hartung: {knapp_hartung:.3f} s; GLMM: {glmm:.3f} s; "
          f"everything: {grand_total + knapp_hartung + glmm:.3f} s (target < 5 s)")

    events, total = simulate(10_000)
    reml = timed(fit_meta, proportion_effects(events, total, "PLO"), "REML")
    print(f"k = 10,000: REML (PLO) {reml:.3f} s")


if __name__ == "__main__":
    main()
