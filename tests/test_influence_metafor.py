"""Influence diagnostics against metafor's influence() (tests/reference/influence_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metafor_reference import CI_METHOD, ITERATIVE_TOL, assert_close, dataset
from trialmeta.pool.effects import proportion_effects
from trialmeta.pool.sensitivity import influence_diagnostics

CASES = json.loads((Path(__file__).parent / "reference" / "influence_reference.json").read_text())["cases"]
FIELDS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat", "weight", "dfbetas")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['dataset']}-{c['measure']}-{c['method']}-{c['test']}")
def test_influence_matches_metafor(case):
    events, total = dataset(case["dataset"])
    result = influence_diagnostics(proportion_effects(events, total, case["measure"]), case["method"], CI_METHOD[case["test"]])
    for field in FIELDS:
        assert_close(getattr(result, field), case[field], ITERATIVE_TOL, field)
    assert list(result.influential) == case["influential"]
