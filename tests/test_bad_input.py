"""Bad input: a corpus of broken and awkward files, run through the pipeline
next to a good demo paper; per-paper limits; impossible values before pooling.

The corpus is built by tests/fixtures/bad_corpus.py. Every expected outcome
comes from how the file was built (a zero-byte file is "empty", ...) or, for
the good paper, from the hand-made gold facts in tests/gold/demo.yaml.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fixtures.bad_corpus import AWKWARD_NAMES, SHELL_MARKER, build_bad_corpus, form_bomb_pdf, huge_page_pdf
from trialmeta.extract.corpus import CorpusError, find_papers
from trialmeta.harmonise.curation import CurationError, load_curation
from trialmeta.extract.extraction import extract_paper
from trialmeta.harmonise.table import harmonise, poolable
from trialmeta.extract.lexicon import LexiconError, load_lexicon
from trialmeta.extract.limits import PaperLimits, extract_within_limits

ROOT = Path(__file__).resolve().parents[1]
LEXICON = ROOT / "resources/lexicon.yaml"
GOOD = "tandem_cd19cd22_rr_all"  # run beside the bad files; its counts must match the gold facts
COPIED = "cd19_mrd_positive_b_all"  # copied under two names


def snakemake(workdir: Path, target: str, *args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "snakemake", target, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", "--configfile", str(ROOT / "config.yaml"), *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=workdir)


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    """The pipeline up to the pooled table; success means no job failed (with
    the profile's keep-going too), so no bad file may fail its job."""
    workdir = tmp_path_factory.mktemp("bad run")
    papers = workdir / "papers"
    corpus = build_bad_corpus(papers, ROOT / "resources/papers" / f"{COPIED}.pdf")
    shutil.copyfile(ROOT / "resources/papers" / f"{GOOD}.pdf", papers / f"{GOOD}.pdf")
    done = snakemake(
        workdir, "results/tables/pooled.csv", "--config", f"papers_dir={papers}", "results_dir=results",
        f"lexicon={LEXICON}", f"curation_dir={ROOT / 'resources/papers/curation'}",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return workdir, papers, workdir / "results", corpus


def _table(results: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(results / "tables" / f"{name}.csv", keep_default_na=False, na_values=[""])


def test_every_bad_file_has_one_failure_row_naming_it_and_what_to_do(bad_run):
    _, papers, results, corpus = bad_run
    failures = _table(results, "failures")
    extract_failures = failures[failures["stage"] == "extract"]
    expected = {bad.paper: bad for bad in corpus if bad.error_kind}
    assert sorted(extract_failures["paper"]) == sorted(expected)
    for row in extract_failures.itertuples():
        bad = expected[row.paper]
        assert row.error_kind == bad.error_kind, row
        assert str(papers / bad.file_name) in row.message, row  # names the file by its full path
        assert bad.says in row.message, row


def test_readable_awkward_files_are_extracted(bad_run):
    _, _, results, corpus = bad_run
    for bad in corpus:
        record = json.loads((results / "extracted" / f"{bad.paper}.json").read_text(encoding="utf-8"))
        assert record["status"] == ("failed" if bad.error_kind else "ok"), bad
        assert record["file"] == bad.file_name


def test_the_good_paper_beside_them_matches_its_gold_counts(bad_run):
    _, _, results, _ = bad_run
    gold = yaml.safe_load((ROOT / "tests/gold/demo.yaml").read_text(encoding="utf-8"))["papers"][GOOD]
    endpoints = _table(results, "endpoints")
    rows = endpoints[endpoints["paper"] == GOOD].set_index("endpoint")
    counted = [fact for fact in gold["endpoints"] if "events" in fact or fact["endpoint"] == "n_treated"]
    assert len(counted) >= 5
    for fact in counted:
        row = rows.loc[fact["endpoint"]]
        assert row["total"] == fact["total"], fact
        if "events" in fact:
            assert row["events"] == fact["events"], fact
    pooled = _table(results, "pooled")
    assert GOOD in set(_table(results, "studies")["paper"])
    assert (pooled["endpoint"] == "mrd_neg").any()


def test_awkward_file_names_are_read_and_never_reach_a_shell(bad_run):
    workdir, _, results, _ = bad_run
    endpoints = _table(results, "endpoints")
    for name in AWKWARD_NAMES:
        paper = Path(name).stem
        response = endpoints[(endpoints["paper"] == paper) & (endpoints["endpoint"] == "cr_cri")]
        # the text says "9 of 12 patients (75%)"
        assert response[["events", "total"]].values.tolist() == [[9, 12]], paper
        assert (results / "extracted" / f"{paper}.json").is_file()
    assert not list(workdir.rglob(SHELL_MARKER)) and not (ROOT / SHELL_MARKER).exists()


def test_every_output_stays_inside_results_dir(bad_run):
    workdir, papers, results, _ = bad_run
    outside = [
        path for path in workdir.rglob("*")
        if path.is_file() and not path.is_relative_to(results) and not path.is_relative_to(papers)
        and ".snakemake" not in path.relative_to(workdir).parts
    ]
    assert outside == []


def test_the_same_file_under_two_names_is_extracted_twice_alike(bad_run):
    _, _, results, _ = bad_run
    first, second = (
        json.loads((results / "extracted" / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("first copy", "second copy")
    )
    assert first["sha256"] == second["sha256"]
    assert first["candidates"] == second["candidates"] and first["chosen"] == second["chosen"]
    assert {"first copy", "second copy"} <= set(_table(results, "studies")["paper"])


def test_a_paper_without_numbers_is_read_and_gives_no_values(bad_run):
    _, _, results, _ = bad_run
    record = json.loads((results / "extracted" / "no_numbers.json").read_text(encoding="utf-8"))
    assert record["status"] == "ok" and record["chosen"] == []
    assert "no_numbers" not in set(_table(results, "endpoints")["paper"])


def test_a_paper_without_numbers_gets_a_failure_row(bad_run):
    _, _, results, _ = bad_run
    failures = _table(results, "failures")
    row = failures[failures["paper"] == "no_numbers"]
    assert row["error_kind"].tolist() == ["no_values"]
    assert "no_numbers.txt" in row["message"].iloc[0]


# --- per-paper limits, without Snakemake ------------------------------------------------


def test_a_slow_page_stops_at_the_time_limit(tmp_path):
    path = tmp_path / "slow page.pdf"
    huge_page_pdf(path, operations=32768 * 12)  # about 12 MB of drawing: under the size check, minutes to lay out
    record, _ = extract_within_limits(str(path), str(LEXICON), PaperLimits(seconds=2))
    assert record["status"] == "failed" and record["error"]["kind"] == "time_limit"
    assert str(path) in record["error"]["message"] and "paper_limits.seconds" in record["error"]["message"]


def test_a_stream_inflating_past_the_memory_limit_stops_there(tmp_path):
    path = tmp_path / "form bomb.pdf"
    form_bomb_pdf(path, megabytes=600)  # a form XObject the page draws: not caught by the page size check
    record, _ = extract_within_limits(str(path), str(LEXICON), PaperLimits(memory_mb=200, seconds=60))
    assert record["status"] == "failed" and record["error"]["kind"] == "memory_limit"
    assert str(path) in record["error"]["message"] and "paper_limits.memory_mb" in record["error"]["message"]


def test_within_the_limits_the_record_is_the_one_extraction_gives(tmp_path):
    path = tmp_path / "paper.txt"
    path.write_text("Twelve adults were infused. Complete remission was reached by 9 of 12 patients (75%).\n")
    record, _ = extract_within_limits(str(path), str(LEXICON), PaperLimits(max_pages=5))
    direct = extract_paper(str(path), load_lexicon(LEXICON))
    assert record == json.loads(json.dumps(direct))


@pytest.mark.parametrize("field, value", [("seconds", 0), ("memory_mb", -1), ("memory_mb", 1.5), ("max_pages", True)])
def test_bad_limits_name_the_config_key(field, value):
    with pytest.raises(ValueError, match=f"paper_limits.{field}"):
        PaperLimits(**{field: value})


# --- paper names ---------------------------------------------------------------------------


def test_names_that_cannot_name_outputs_are_refused_together(tmp_path):
    for name in ("a{paper}.txt", "line\nbreak.txt", "fine name.txt"):
        (tmp_path / name).write_text("text")
    with pytest.raises(CorpusError) as caught:
        find_papers(tmp_path)
    message = str(caught.value)
    assert "'a{paper}.txt'" in message and "'line\\nbreak.txt'" in message and "fine name" not in message


@pytest.mark.parametrize("names", [("Trial.pdf", "trial.txt"), ("caf\u00e9.txt", "cafe\u0301.md")])
def test_names_equal_up_to_case_or_unicode_form_are_refused(tmp_path, names):
    for name in names:
        (tmp_path / name).write_text("text")
    with pytest.raises(CorpusError, match="share the name"):
        find_papers(tmp_path)


def test_hidden_files_and_other_suffixes_are_not_papers(tmp_path):
    for name in (".hidden.pdf", "..pdf", "notes.docx", "paper.PDF"):
        (tmp_path / name).write_text("text")
    (tmp_path / "folder.pdf").mkdir()
    assert find_papers(tmp_path) == {"paper": str(tmp_path / "paper.PDF")}


# --- nothing in a data file runs as code ------------------------------------------------


@pytest.mark.parametrize("load, error", [(load_lexicon, LexiconError), (load_curation, CurationError)])
def test_yaml_tags_that_would_run_code_are_refused_naming_the_file(tmp_path, load, error):
    marker = tmp_path / "was_run"
    path = tmp_path / "user file.yaml"
    path.write_text(f'study: !!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8")
    with pytest.raises(error, match=str(path)):
        load(path)
    assert not marker.exists()


# --- impossible values ----------------------------------------------------------------------

IMPOSSIBLE = (
    "A phase I study of CD19 CAR-T cells in adults with relapsed B-ALL.\n\n"
    "Twelve patients were infused. Complete remission was achieved in 15 of 12 patients. "
    "MRD-negative remission was reached in 105% of the patients. Any-grade CRS occurred in 7 of 12 patients. "
    "The 12-month overall survival was 104% and the median follow-up was 14 months.\n"
)
POSSIBLE = (
    "A phase I study of CD19 CAR-T cells in children with relapsed B-ALL.\n\n"
    "Ten patients were infused. Complete remission was achieved in 8 of 10 patients. "
    "MRD-negative remission was reached in 7 of 10 patients. Any-grade CRS occurred in 6 of 10 patients.\n"
)


@pytest.fixture
def impossible_tables(tmp_path):
    lexicon = load_lexicon(LEXICON)
    records = []
    for name, text in (("impossible", IMPOSSIBLE), ("possible", POSSIBLE)):
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
        records.append(extract_paper(str(tmp_path / f"{name}.txt"), lexicon))
    # no sentence gives a negative count; a damaged record (or a future rule) could
    crs = next(c for c in records[0]["candidates"] if c["endpoint"] == "crs_any")
    crs["events"] = -7
    return harmonise(records, None)


def _row(endpoints: pd.DataFrame, paper: str, endpoint: str) -> pd.Series:
    rows = endpoints[(endpoints["paper"] == paper) & (endpoints["endpoint"] == endpoint)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.mark.parametrize("endpoint, flag", [("cr_cri", "events_exceed_total"), ("crs_any", "negative_count")])
def test_impossible_counts_are_flagged_and_kept_out_of_pooling(impossible_tables, endpoint, flag):
    endpoints = impossible_tables["endpoints"]
    row = _row(endpoints, "impossible", endpoint)
    assert flag in row["flags"].split(";")
    assert pd.isna(row["estimate"])  # never a "proportion" outside [0, 1]
    assert flag in set(impossible_tables["checks"]["check"])
    kept, excluded = poolable(endpoints, endpoint)
    assert kept["paper"].tolist() == ["possible"]
    assert [e["reason"] for e in excluded] == [f"impossible value: {flag}"]


def test_a_percentage_above_100_is_never_pooled(impossible_tables):
    endpoints = impossible_tables["endpoints"]
    kept, excluded = poolable(endpoints, "mrd_neg")
    assert kept["paper"].tolist() == ["possible"]
    assert len(excluded) == 1
    assert "no_count" in _row(endpoints, "impossible", "mrd_neg")["flags"].split(";")


def test_every_estimate_outside_0_1_is_flagged(impossible_tables):
    endpoints = impossible_tables["endpoints"]
    proportions = endpoints[endpoints["endpoint"] != "followup_median_months"]
    outside = proportions[(proportions["estimate"] < 0) | (proportions["estimate"] > 1)]
    assert len(outside) >= 2
    assert all(flags for flags in outside["flags"]), outside[["endpoint", "estimate", "flags"]]
