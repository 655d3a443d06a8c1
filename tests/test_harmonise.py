"""Harmonise: derived counts, named flags and the failure table, on hand-built records."""

from pathlib import Path

import pandas as pd
import pytest

from trialmeta.harmonise.table import CurationError, harmonise, load_curation, poolable, rounding_tolerance


def candidate(endpoint, events=None, total=None, estimate=None, ci=(None, None), se=None, percent=None,
              landmark=None, context=()):
    return {
        "endpoint": endpoint, "landmark_months": landmark, "events": events, "total": total,
        "estimate": estimate, "ci_low": ci[0], "ci_high": ci[1], "se": se, "percent_printed": percent,
        "page": 1, "line": None, "bbox": None, "quote": f"quote for {endpoint}", "rule": "test",
        "confidence": 0.9, "context": list(context), "order": 0,
    }


def record(paper, candidates, metadata=None):
    return {
        "paper": paper, "status": "ok", "error": None,
        "metadata": {"trial_ids": ["NCT00000001"], "target": "CD19", "construct": "single",
                     "population": "mrd_positive", "age_group": "adult", "year": 2020, **(metadata or {})},
        "candidates": candidates,
        "chosen": [{"candidate": i, "reason": "test", "alternatives": 0} for i in range(len(candidates))],
    }


def checks_of(tables, endpoint):
    checks = tables["checks"]
    return set(checks[checks["endpoint"] == endpoint]["check"])


def test_percent_that_disagrees_with_its_counts_is_flagged():
    # 14/15 = 93.33%, printed as 93.9%: beyond the 0.05 rounding of one decimal.
    tables = harmonise([record("p", [candidate("n_treated", total=15),
                                     candidate("mrd_neg", 14, 15, 14 / 15, percent=93.9)])], None)
    assert "percent_count_mismatch" in checks_of(tables, "mrd_neg")


def test_percent_within_rounding_is_not_flagged():
    # 12/14 = 85.714%, printed 85.7%.
    tables = harmonise([record("p", [candidate("mrd_neg", 12, 14, 12 / 14, percent=85.7)])], None)
    assert checks_of(tables, "mrd_neg") == set()


def test_ci_beyond_one_is_flagged_and_kept():
    tables = harmonise([record("p", [candidate("os", estimate=0.86, ci=(0.68, 1.04), landmark=12)])], None)
    row = tables["endpoints"].iloc[0]
    assert "ci_outside_0_1" in row["flags"]
    assert row["ci_high"] == pytest.approx(1.04)


def test_impossible_count_is_flagged_and_never_pooled():
    tables = harmonise([record("p", [candidate("relapse", 16, 15, None)])], None)
    assert "events_exceed_total" in checks_of(tables, "relapse")
    assert pd.isna(tables["endpoints"].iloc[0]["estimate"])  # 16/15 is not a proportion
    rows, excluded = poolable(tables["endpoints"], "relapse")
    assert rows.empty and "events_exceed_total" in excluded[0]["reason"]


def test_count_derived_from_percent_only_when_it_is_a_whole_number():
    # 26.7% of 15 = 4.005 -> 4 (within the 0.05-point rounding); 30% of 15 = 4.5 -> not derivable.
    tables = harmonise([record("p", [candidate("n_treated", total=15),
                                     candidate("crs_any", estimate=0.267, percent=26.7),
                                     candidate("relapse", estimate=0.30, percent=30.0)])], None)
    rows = tables["endpoints"].set_index("endpoint")
    assert (rows.loc["crs_any", "events"], rows.loc["crs_any", "total"]) == (4, 15)
    assert "derived_count" in rows.loc["crs_any", "flags"]
    assert pd.isna(rows.loc["relapse", "events"]) and "no_count" in rows.loc["relapse", "flags"]


def test_landmark_only_kept_for_time_to_event_endpoints():
    tables = harmonise([record("p", [candidate("crs_any", 3, 10, 0.3, landmark=12)])], None)
    assert pd.isna(tables["endpoints"].iloc[0]["landmark_months"])


def test_failed_paper_goes_to_failures_and_others_finish():
    bad = {"paper": "broken", "status": "failed", "error": {"kind": "encrypted", "message": "broken.pdf: encrypted"}}
    tables = harmonise([bad, record("good", [candidate("mrd_neg", 12, 14, 12 / 14)])], None)
    assert tables["failures"].to_dict("records") == [
        {"paper": "broken", "stage": "extract", "error_kind": "encrypted", "message": "broken.pdf: encrypted"}
    ]
    assert list(tables["studies"]["paper"]) == ["good"]


def test_curation_overrides_metadata_and_bad_curation_names_file_and_key(tmp_path):
    (tmp_path / "p.yaml").write_text("study: Trial A\ntarget: CD19/CD22\nconstruct: tandem\nreason: as printed\n")
    tables = harmonise([record("p", [candidate("mrd_neg", 12, 14, 12 / 14)])], str(tmp_path))
    study = tables["studies"].iloc[0]
    assert (study["study"], study["target"], study["construct"]) == ("Trial A", "CD19/CD22", "tandem")
    (tmp_path / "q.yaml").write_text("target: CD20\n")
    with pytest.raises(CurationError, match=r"q\.yaml: target: 'CD20' is not one of"):
        load_curation(tmp_path / "q.yaml")


def test_rounding_tolerance_follows_printed_decimals():
    assert rounding_tolerance(93.9) == pytest.approx(0.05)
    assert rounding_tolerance(90.0) == pytest.approx(0.5)
    assert rounding_tolerance(26.67) == pytest.approx(0.005)


def test_more_relapses_than_responders_is_flagged_on_the_row_too():
    tables = harmonise([record("p", [candidate("cr_cri", 5, 10, 0.5), candidate("relapse", 7, 10, 0.7)])], None)
    row = tables["endpoints"].set_index("endpoint").loc["relapse"]
    assert "more_relapses_than_responders" in row["flags"]
    assert "more_relapses_than_responders" in checks_of(tables, "relapse")


def test_papers_sharing_a_study_label_get_distinct_labels_and_still_pool():
    # Two reports by one first author in one year: both labelled "Wang 2021" by the extractor.
    # Before, pool stopped with "truth value of a Series is ambiguous" (a label indexing two rows).
    from trialmeta.pool.pooling import pool_all

    def report(paper, nct, events):
        return {**record(paper, [candidate("n_treated", total=20), candidate("cr_cri", events, 20, events / 20)],
                         {"trial_ids": [nct]}), "study": "Wang 2021"}

    tables = harmonise([report("wang_b", "NCT00000002", 15), report("wang_a", "NCT00000001", 18)], None)
    studies = tables["studies"].set_index("paper")["study"]
    assert (studies["wang_a"], studies["wang_b"]) == ("Wang 2021a", "Wang 2021b")  # letters in paper order
    assert set(tables["endpoints"]["study"]) == {"Wang 2021a", "Wang 2021b"}
    shared = tables["checks"][tables["checks"]["check"] == "study_label_shared"]
    assert len(shared) == 2 and shared["detail"].str.contains("wang_a, wang_b").all()
    assert (tables["audit"]["decision"] == "distinct_label").sum() == 2
    import yaml
    pooling = yaml.safe_load(Path(__file__).parents[1].joinpath("config.yaml").read_text())["pooling"]
    pooled, _results = pool_all(tables["endpoints"], tables["studies"], ["cr_cri"], pooling)
    assert int(pooled.iloc[0]["k"]) == 2


def test_a_label_without_a_year_gets_the_suffix_in_brackets():
    tables = harmonise([{**record(p, [candidate("cr_cri", 9, 10, 0.9)]), "study": "ELIANA"} for p in ("x", "y")], None)
    assert sorted(tables["studies"]["study"]) == ["ELIANA (a)", "ELIANA (b)"]
