"""Report content, methods text, history of runs and the rendered page (headless Chromium)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from test_figures import glmm_entry, km, landmarks

from trialmeta.figures import forest, km as km_figures, style
from trialmeta.report import history
from trialmeta.report.methods import methods
from trialmeta.report.page import build_report

ROOT = Path(__file__).resolve().parents[1]
POOLING = {
    "level": 0.95, "continuity_correction": {"add": 0.5, "to": "only0"},
    "analyses": [{"measure": "PLO", "method": "GLMM", "ci_method": "z"}, {"measure": "PLO", "method": "REML", "ci_method": "hk"}],
    "glmm_fallback": {"measure": "PLO", "method": "REML", "ci_method": "hk"},
}
CONFIG = {"papers_dir": "papers", "pooling": POOLING}


def endpoint_table() -> pd.DataFrame:
    rows = [("Alpha", 9, 12, 3, "extracted"), ("Beta", 3, 20, None, "curated")]
    frame = pd.DataFrame([
        {"study": s, "paper": s.lower(), "trial_ids": "", "endpoint": "relapse", "landmark_months": None, "events": e,
         "total": n, "estimate": e / n, "ci_low": None, "ci_high": None, "se": None, "source": source, "page": page,
         "quote": f"{s}: {e} of {n} relapsed", "flags": ""}
        for s, e, n, page, source in rows
    ])
    for column in ("events", "total", "page"):
        frame[column] = frame[column].astype("Int64")
    return frame


def pooled_table(estimate: float = 0.3) -> pd.DataFrame:
    return pd.DataFrame([{"endpoint": "relapse", "landmark_months": None, "subgroup": "all", "measure": "PLO",
                          "method": "GLMM", "ci_method": "z", "k": 5, "n_total": 85, "estimate": estimate,
                          "ci_low": estimate - 0.1, "ci_high": estimate + 0.1, "pi_low": 0.05, "pi_high": 0.75,
                          "tau2": 0.5, "i2": None, "q": 8.4, "q_p": 0.078}])


def details() -> dict:
    return {"endpoints": {"relapse": glmm_entry()}, "landmarks": landmarks(), "km": km(), "pooling": POOLING}


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures")
    drawn = {"forest_relapse": forest.forest_figure(glmm_entry()),
             "forest_relapse_by_target": forest.subgroup_forest_figure(glmm_entry(), "target"),
             **{f"forest_{key}": forest.landmark_figure(entry, key) for key, entry in landmarks().items()},
             "km_curves": km_figures.km_figure(km())}
    paths = {}
    for name, figure in drawn.items():
        paths[name] = folder / f"{name}.svg"
        style.save_figure(figure, str(folder / f"{name}.png"), str(paths[name]))
    return paths


def report_html(figures, changes=None, audit=None) -> str:
    empty = pd.DataFrame(columns=["paper", "stage", "error_kind", "message"])
    studies = pd.DataFrame({"study": ["Alpha", "Beta"], "year": [2019, 2020]})
    return build_report(endpoint_table(), studies, pooled_table(), pd.DataFrame(columns=["paper", "check"]), empty,
                        details(), figures, CONFIG, audit=audit, changes=changes, run_date="2026-01-02")


def test_methods_state_the_model_estimator_ci_and_the_analyses_present_with_numbered_references():
    text = methods(CONFIG, details())
    body = " ".join(text.paragraphs)
    assert "binomial-normal generalised linear mixed model" in body and "Wald-type" in body
    # glmm_entry has no primary_note: the fallback sentence appears only when it was used
    assert "took its place" not in body
    assert "they used PLO-REML-hk" in body and "Subgroups by target were pooled" in body
    assert "Mixed-effects meta-regression on year" in body and "Egger's regression test" in body
    assert "complementary log-log scale" in body and "lifelines" in body
    # the landmark pools say the model they used, not the GLMM primary they cannot use
    assert "log(-log S), with Random effects (REML" in body and "the GLMM needs events and totals" in body
    # references are numbered in the order they are first cited: metafor [1], then the GLMM [2]
    assert body.index("[1]") < body.index("[2]")
    assert text.references[0].startswith("Viechtbauer W (2010)") and text.references[1].startswith("Stijnen T")
    assert len(text.references) == len(set(text.references))
    # every cited number has its reference
    assert f"[{len(text.references)}]" in body and f"[{len(text.references) + 1}]" not in body


def test_methods_name_the_fallback_where_it_replaced_the_primary_model():
    used = details()
    relapse = used["endpoints"]["relapse"]
    relapse["primary_note"] = "PLO-GLMM-z could not be fitted (the between-study SD ran off)"
    # as the pool stage writes it then: the GLMM row is gone and the fallback's (REML) row is primary
    relapse["analyses"] = [{**a, "primary": True} for a in relapse["analyses"] if a["method"] == "REML"]
    body = " ".join(methods(CONFIG, used).paragraphs)
    assert "Where the primary model could not be fitted (Relapse), the logit transformation using restricted" in body
    assert "Knapp-Hartung" in body


def test_report_sections_link_values_to_quotes_and_embed_every_figure(figures):
    html = report_html(figures)
    # a value from a page carries it; a curated one without a page still shows its quote
    assert "data-page='3'><summary>9/12</summary>" in html and "page 3: Alpha: 9 of 12 relapsed" in html
    assert "<summary>3/20</summary><blockquote>Beta: 3 of 20 relapsed" in html
    assert html.count("data:image/svg+xml;base64,") == len(figures)  # forest, subgroup, two landmarks, KM
    assert "Test for subgroup differences: Q = 0.31 (df = 1), p = 0.580" in html
    assert "By population: not estimable: needs at least 2 subgroups" in html
    assert "Relapse-free survival at 12 months" in html and "Overall survival at 24 months" in html
    assert "censored at median follow-up" in html
    assert "No curation audit table in this run." in html and "Run date 2026-01-02" in html
    assert "http://" not in html and "https://" not in html  # opens offline


def test_report_lists_the_audit_and_what_changed(figures):
    audit = pd.DataFrame([{"paper": "beta", "study": "Beta", "endpoint": "relapse", "landmark_months": None,
                           "field": "events", "old_value": 4, "new_value": 3, "decision": "corrected",
                           "reason": "table 2 counts 3", "file": "beta.yaml"}])
    before = history.snapshot(pooled_table(0.3), pd.DataFrame({"study": ["Alpha", "Gamma"]}), endpoint_table())
    now = history.snapshot(pooled_table(0.25), pd.DataFrame({"study": ["Alpha", "Beta"]}), endpoint_table())
    html = report_html(figures, history.changes(("abc", before), now), audit)
    assert "table 2 counts 3" in html
    assert "Studies added: Beta. Studies removed: Gamma." in html
    # 30.0% [20.0%, 40.0%] -> 25.0% [15.0%, 35.0%]: 5 percentage points down
    assert "30.0% [20.0%, 40.0%]" in html and "25.0% [15.0%, 35.0%]" in html and "-5.0 points" in html


def test_history_records_a_run_once_and_compares_with_the_last_different_one(tmp_path):
    studies = pd.DataFrame({"study": ["Alpha", "Beta"]})
    first = history.snapshot(pooled_table(0.3), studies, endpoint_table())
    assert history.changes(history.previous_snapshot(tmp_path, history.snapshot_id(first)), first)["previous_id"] is None
    first_id = history.record(tmp_path, first)
    assert history.record(tmp_path, history.snapshot(pooled_table(0.3), studies, endpoint_table())) == first_id
    assert len(list((tmp_path / "snapshots").iterdir())) == 1  # a rerun with no change adds nothing

    recurated = endpoint_table()
    recurated.loc[1, ["events", "source"]] = [4, "curated"]
    second = history.snapshot(pooled_table(0.31), studies, recurated)
    previous = history.previous_snapshot(tmp_path, history.snapshot_id(second))
    assert previous[0] == first_id
    changes = history.changes(previous, second)
    assert changes["studies_added"] == [] and changes["studies_removed"] == []
    assert changes["recurated"] == [{"study": "Beta", "changes": [{
        "value": "relapse", "old": {"events": 3, "total": 20, "estimate": 0.15, "ci_low": None, "ci_high": None, "source": "curated"},
        "new": {"events": 4, "total": 20, "estimate": 0.15, "ci_low": None, "ci_high": None, "source": "curated"}}]}]
    assert changes["pooled"][0]["estimate_shift"] == pytest.approx(0.01)
    second_id = history.record(tmp_path, second)
    # rerunning the second state still compares with the first, not with itself
    assert history.previous_snapshot(tmp_path, second_id)[0] == first_id


def test_snapshot_id_is_a_content_hash_independent_of_row_order():
    table = endpoint_table()
    studies = pd.DataFrame({"study": ["Alpha", "Beta"]})
    a = history.snapshot(pooled_table(), studies, table)
    b = history.snapshot(pooled_table(), studies.iloc[::-1], table.iloc[::-1])
    assert history.snapshot_id(a) == history.snapshot_id(b)
    assert history.snapshot_id(a) != history.snapshot_id(history.snapshot(pooled_table(0.2), studies, table))


# CI (.ci/run) installs Chromium and sets TRIALMETA_REQUIRE_BROWSER=1: there a missing browser fails the test
@pytest.mark.skipif(not any(map(shutil.which, ("chromium", "chromium-browser", "google-chrome")))
                    and os.environ.get("TRIALMETA_REQUIRE_BROWSER") != "1",
                    reason="no Chromium installed (Debian: apt-get install chromium); the rendered report is not checked")
def test_report_renders_offline_in_chromium_and_a_click_shows_the_quote(figures, tmp_path):
    report = tmp_path / "report.html"
    report.write_text(report_html(figures), encoding="utf-8")
    done = subprocess.run([sys.executable, str(ROOT / "tools/check_report.py"), str(report), "--out", str(tmp_path / "shots")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"broken": 0' in done.stdout and '"opened": true' in done.stdout and "page 3: Alpha: 9 of 12" in done.stdout
    for name in ("report_top.png", "report_quote.png"):
        assert (tmp_path / "shots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_figure_is_embedded_as_svg_at_its_printed_size(tmp_path):
    from trialmeta.report.page import _img

    figure = plt.figure(figsize=(5, 2))
    style.save_figure(figure, str(tmp_path / "f.png"), str(tmp_path / "f.svg"))
    tag = _img(tmp_path / "f.svg", "a 5-inch figure")
    assert "width='480'" in tag  # 5 inches at CSS's 96 px per inch
    assert tag.startswith("<img alt='a 5-inch figure'") and "data:image/svg+xml;base64," in tag
    assert "Figure not available" in _img(tmp_path / "missing.svg", "gone")


def test_figures_of_an_endpoint_above_the_embedding_limit_are_linked_not_embedded(figures):
    from trialmeta.report.page import EMBED_MAX_STUDIES

    large = details()
    entry = large["endpoints"]["relapse"]
    entry["studies"] = [{**entry["studies"][0], "study": f"S{i}"} for i in range(EMBED_MAX_STUDIES + 1)]
    config = {**CONFIG, "pooling": {**POOLING, "subgroups": ["target"], "moderators": []}}
    report_dir = figures["forest_relapse"].parent.parent
    empty = pd.DataFrame(columns=["paper", "stage", "error_kind", "message"])
    studies = pd.DataFrame({"study": ["Alpha", "Beta"], "year": [2019, 2020]})
    html = build_report(endpoint_table(), studies, pooled_table(), pd.DataFrame(columns=["paper", "check"]), empty,
                        large, figures, config, report_dir=str(report_dir))
    folder = figures["forest_relapse"].parent.name
    assert f"src='{folder}/forest_relapse.svg'" in html and f"src='{folder}/forest_relapse_by_target.svg'" in html
    # the small entries (landmarks, KM) stay embedded
    assert html.count("data:image/svg+xml;base64,") == len(figures) - 2


def test_a_study_renamed_in_its_curation_file_is_one_study_renamed_not_one_removed_and_one_added(figures):
    # Same paper "alpha", new label: before, the change log read "added: Alpha 2020, removed: Alpha".
    before = history.snapshot(pooled_table(0.3), pd.DataFrame({"study": ["Alpha", "Beta"], "paper": ["alpha", "beta"]}),
                              endpoint_table())
    renamed = endpoint_table().replace({"study": {"Alpha": "Alpha 2020"}})
    now = history.snapshot(pooled_table(0.3), pd.DataFrame({"study": ["Alpha 2020", "Beta"], "paper": ["alpha", "beta"]}),
                           renamed)
    changes = history.changes(("abc", before), now)
    assert changes["studies_renamed"] == [{"paper": "alpha", "old": "Alpha", "new": "Alpha 2020"}]
    assert changes["studies_added"] == [] and changes["studies_removed"] == []
    assert changes["recurated"] == []  # its values are compared under the two labels and did not change
    assert "Studies renamed: Alpha → Alpha 2020 (alpha)." in report_html(figures, changes)


def test_methods_do_not_credit_the_fallback_for_an_exact_row_and_say_the_glmm_used_t():
    # shared PDFs' CR/CRi (20/20, 23/23): the GLMM fails, the row is the exact interval of 43/43; the
    # Methods said the REML fallback 'took its place' while the summary named the exact interval
    used = details()
    relapse = used["endpoints"]["relapse"]
    relapse["primary_note"] = "PLO-GLMM-z could not be fitted (all at 100%)"
    relapse["analyses"] = [{**relapse["analyses"][0], "method": "exact", "measure": "PR", "ci_method": "CP",
                            "primary": True, "model": "exact Clopper-Pearson of summed counts"}]
    config = {**CONFIG, "pooling": {**CONFIG["pooling"], "glmm_t_below_k": 10}}
    body = " ".join(methods(config, used).paragraphs)
    assert "Where the primary model could not be fitted" not in body
    assert "exact Clopper-Pearson of summed counts" in body
    assert "With fewer than 10 studies (pooling.glmm_t_below_k) the GLMM's intervals used the t distribution" in body


def test_an_svg_too_large_to_embed_is_linked_whatever_the_study_count(figures, monkeypatch):
    # a landmark forest of 19 studies listing 170 excluded ones was a 1.1 MB SVG: the report
    # embedding eight such figures reached 11.8 MB at 200 studies
    from trialmeta.report import page

    monkeypatch.setattr(page, "EMBED_MAX_BYTES", min(Path(p).stat().st_size for p in figures.values()) - 1)
    empty = pd.DataFrame(columns=["paper", "stage", "error_kind", "message"])
    studies = pd.DataFrame({"study": ["Alpha", "Beta"], "year": [2019, 2020]})
    report_dir = str(next(iter(figures.values())).parent.parent)

    def report_html(figures):
        return build_report(endpoint_table(), studies, pooled_table(), pd.DataFrame(columns=["paper", "check"]), empty,
                            details(), figures, CONFIG, report_dir=report_dir)

    html = report_html(figures)
    assert "data:image/svg+xml;base64," not in html
    assert html.count("(not embedded: its SVG is") == len(figures)
    monkeypatch.setattr(page, "EMBED_MAX_BYTES", 10**9)
    monkeypatch.setattr(page, "EMBED_BUDGET_BYTES", 0)
    assert report_html(figures).count("(not embedded: the figures embedded above reach") == len(figures)
