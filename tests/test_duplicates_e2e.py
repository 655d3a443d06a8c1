"""End to end: a trial reported twice is pooled once in every analysis (issue 21).

The four shared trial texts, run once as they are and once with a second copy of
the tandem CD19/CD22 abstract under another name. Same-trial detection flags the
copy (duplicate_of); every pooled row (proportions, relapse over each
denominator, landmark survival) must then have the same k and the same
estimates as the run without the copy, and no pool may list the copy's study.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from test_curation_e2e import ROOT, snakemake

SHARED_TEXT = ROOT.parent / "shared" / "papers" / "text"
TANDEM = "003_996df01dbac1893b"
COPY = "zz_second_copy_of_tandem"
COPY_LABEL = "Tandem CD19/CD22 (second copy)"  # the study label its curation file gives the copy
pytestmark = pytest.mark.slow


def run(workdir, with_copy: bool):
    papers = workdir / "papers"
    shutil.copytree(SHARED_TEXT, papers)
    # the project's curation of the shared papers, and for the copy the same decisions (its text,
    # hence its SHA-256, is the original's): the two reports then carry the same values
    curation = workdir / "curation"
    shutil.copytree(ROOT / "resources" / "curation", curation)
    if with_copy:
        shutil.copy(papers / f"{TANDEM}.txt", papers / f"{COPY}.txt")
        # under its own study label: two papers with one label is another problem (see the note)
        text = (curation / f"{TANDEM}.yaml").read_text(encoding="utf-8")
        (curation / f"{COPY}.yaml").write_text(
            # and not called an abstract, so the duplicate rule (full reports first) keeps the copy
            "".join(line for line in text.replace("study: Tandem CD19/CD22 (abstract)", f"study: {COPY_LABEL}")
                    .splitlines(keepends=True) if not line.startswith("report:")),
            encoding="utf-8")
    results = workdir / "results"
    snakemake(workdir, f"papers_dir={papers}", f"results_dir={results}", f"curation_dir={curation}", "--",
              str(results / "tables/pooled.csv"), str(results / "pooled/results.json"))
    return pd.read_csv(results / "tables/pooled.csv"), json.loads((results / "pooled/results.json").read_text()), \
        pd.read_csv(results / "tables/endpoints.csv")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not SHARED_TEXT.is_dir():
        pytest.skip("../shared/papers/text is not on this machine")
    return run(tmp_path_factory.mktemp("once"), False), run(tmp_path_factory.mktemp("twice"), True)


def test_one_of_the_two_reports_is_flagged_as_the_same_trial(runs):
    _, (_, details, endpoints) = runs
    # harmonise.duplicate_rule latest_full_report keeps the copy: the original's curation file calls it an abstract
    assert list(details["dropped_reports"]) == [TANDEM]
    dropped = endpoints[endpoints["paper"] == TANDEM]
    assert len(dropped) > 0 and dropped["flags"].str.contains(f"duplicate_of:{COPY_LABEL}", regex=False).all()


def test_every_pooled_row_has_the_same_k_and_estimates_with_and_without_the_copy(runs):
    (once, _, _), (twice, _, _) = runs
    assert len(once) > 0
    # landmark pools included (their k rose by one before the fix). relapse_cuminc is not among them since
    # landmark values without a CI or SE are excluded by default (survival.without_precision: exclude)
    assert {"os", "rfs+lfs+efs"} <= set(once["endpoint"])
    pd.testing.assert_frame_equal(once, twice)


def test_no_pool_holds_both_reports_and_the_dropped_one_is_named(runs):
    (_, once, _), (_, twice, _) = runs
    named = 0
    for group in ("endpoints", "landmarks"):
        for name, entry in twice[group].items():
            papers = [s["paper"] for s in entry["studies"]]
            assert TANDEM not in papers, f"{group}/{name} pools the dropped report"
            # the same trial, under the kept report's name
            before = [s["paper"] for s in once[group][name]["studies"]]
            assert sorted(p.replace(TANDEM, COPY) for p in before) == sorted(papers), name
            for excluded in entry["excluded"]:
                if excluded.get("paper") == TANDEM:
                    named += 1
                    assert excluded["reason"] == f"same trial as {COPY_LABEL}"
    assert named > 0  # the dropped report is listed among the exclusions, not silently gone
