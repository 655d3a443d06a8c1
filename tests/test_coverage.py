"""tables/coverage.csv (issue 18, newcomer review F3): paper x endpoint, why a value is or is not in the table."""

from __future__ import annotations

from trialmeta.harmonise.coverage import COVERAGE_COLUMNS, coverage
from trialmeta.harmonise.rows import ENDPOINTS
from trialmeta.harmonise.table import harmonise
from test_harmonise import candidate, record


def test_each_endpoint_of_each_paper_says_found_curated_candidates_only_or_not_found(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "decisions:\n  - {endpoint: crs_any, decision: override, values: {events: 6}, reason: table 2}\n")
    rec = record("p", [candidate("n_treated", total=15), candidate("crs_any", 5, 15),
                       candidate("os", estimate=0.8, landmark=12), candidate("os", estimate=0.6, landmark=24),
                       candidate("mrd_neg", 4, 6, context=["subgroup"])])
    rec["chosen"] = rec["chosen"][:4]  # the subgroup count is a candidate nobody chose
    failed = {"paper": "q", "status": "error", "error": {"kind": "not_pdf", "message": "q.pdf is an HTML page"},
              "candidates": [], "chosen": []}
    tables = harmonise([rec, failed], str(tmp_path))
    table = coverage([rec, failed], tables["endpoints"])
    assert list(table.columns) == COVERAGE_COLUMNS
    assert len(table) == 2 * len(ENDPOINTS)
    status = {(r.paper, r.endpoint): (r.status, r.landmarks, r.candidates, r.chosen) for r in table.itertuples()}
    assert status[("p", "n_treated")] == ("found", "", 1, 1)
    assert status[("p", "crs_any")] == ("curated", "", 1, 1)
    assert status[("p", "os")] == ("found", "12;24", 2, 2)
    assert status[("p", "mrd_neg")] == ("candidates only", "", 1, 0)
    assert status[("p", "icans_any")] == ("not found", "", 0, 0)
    assert {s for (paper, _), (s, *_) in status.items() if paper == "q"} == {"paper not read"}
