"""Review pages: crops, escaping, size, the exported file's contract, the verified source and agreement."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pandas as pd
import pdfplumber
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from test_harmonise import candidate, record

from trialmeta.extract.extraction import extract_paper
from trialmeta.extract.lexicon import load_lexicon
from trialmeta.harmonise.curation import CurationError, load_curation
from trialmeta.harmonise.table import harmonise, poolable
from trialmeta.review import agreement
from trialmeta.review.crops import VALUE_COLOUR, PdfCrops, value_spans
from trialmeta.review.index import build_index, paper_progress
from trialmeta.review.items import review_items
from trialmeta.review.page import build_review_page, script_json

ROOT = Path(__file__).resolve().parents[1]
DEMO = "tandem_cd19cd22_rr_all"
MARKUP = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


def demo_record(tmp_path) -> dict:
    lexicon = load_lexicon(ROOT / "resources/lexicon.yaml")
    return extract_paper(str(ROOT / "resources/papers" / f"{DEMO}.pdf"), lexicon)


# ------------------------------------------------------------ crops


def test_crop_highlights_the_printed_numbers_where_pdfplumber_places_them(tmp_path):
    rec = demo_record(tmp_path)
    candidates, items = review_items(rec)
    crs = next(c for c in candidates if c["index"] == next(i.chosen for i in items if i.key == "crs_any"))
    dpi = 100
    with PdfCrops(ROOT / "resources/papers" / f"{DEMO}.pdf", dpi) as crops:
        crop = crops.crop(crs)
    assert crop is not None and crop.numbers_found
    image = Image.open(io.BytesIO(base64.b64decode(crop.uri.split(",", 1)[1]))).convert("RGB")
    # where the quote's "20 of 22" sits on the page, found independently by pdfplumber's word search
    assert "20 of 22" in crs["quote"]
    with pdfplumber.open(ROOT / "resources/papers" / f"{DEMO}.pdf") as pdf:
        words = pdf.pages[crs["page"] - 1].extract_words()
    texts = [w["text"] for w in words]
    starts = [i for i in range(len(texts) - 2) if texts[i:i + 3] == ["20", "of", "22"]
              and crs["bbox"][1] - 2 <= words[i]["top"] <= crs["bbox"][3] + 2]
    assert len(starts) == 1, texts
    word = words[starts[0]]
    x0, top = max(0.0, crs["bbox"][0] - 48.0), max(0.0, crs["bbox"][1] - 36.0)  # the crop's margins
    scale = dpi / 72
    x = round(((word["x0"] + word["x1"]) / 2 - x0) * scale)
    y = round(((word["top"] + word["bottom"]) / 2 - top) * scale)
    region = [image.getpixel((x + dx, y + dy)) for dx in range(-3, 4) for dy in range(-2, 3)]
    # orange over white stays red-heavy and blue-poor; black text under it is darker but no bluer
    assert any(r > 200 and b < 150 and r - b > 100 for r, g, b in region), region
    assert VALUE_COLOUR[:3] == (255, 120, 0)


SENTENCES = [  # one value of a different endpoint per page, written for this test
    "Complete remission was reached by {a} of 24 patients.",
    "MRD-negative remission was seen in {a} of 24 patients.",
    "Relapse occurred in {b} of 24 patients during follow-up.",
    "Cytokine release syndrome occurred in {a} of 24 patients.",
    "Grade 3 or higher cytokine release syndrome occurred in {b} of 24 patients.",
    "Neurotoxicity of any grade was seen in {b} of 24 patients.",
    "Grade 3 or higher neurotoxicity was seen in {b} of 24 patients.",
    "The overall survival at 12 months was {p}% (95% CI, 40-80).",
    "The relapse-free survival at 12 months was {p}%.",
    "The median follow-up was {b} months (range, 2-30).",
]


def ten_page_pdf(path: Path) -> None:
    """Ten pages of running text, each with two value sentences among filler lines."""
    c = canvas.Canvas(str(path), pagesize=A4)
    filler = "The fixture cohort was followed at the reading centre and its notes are set here as plain prose."
    for number in range(1, 11):
        c.setFont("Times-Roman", 10)
        y = A4[1] - 60
        for line in range(58):
            text = filler
            if number == 1 and line == 2:
                text = "Twenty-four patients were enrolled and all 24 were infused with the fixture cells."
            elif line in (12, 40):
                sentence = SENTENCES[(number - 1 + (line == 40) * 5) % len(SENTENCES)]
                text = sentence.format(a=10 + number, b=number, p=50 + number)
            c.drawString(50, y, text)
            y -= 12.5
        c.showPage()
    c.save()


def test_review_page_of_a_ten_page_pdf_stays_under_two_megabytes(tmp_path):
    paper = tmp_path / "ten_pages.pdf"
    ten_page_pdf(paper)
    rec = extract_paper(str(paper), load_lexicon(ROOT / "resources/lexicon.yaml"))
    assert rec["status"] == "ok" and rec["n_pages"] == 10
    page = build_review_page(rec, paper, None, dpi=110)
    crops = page.count('class="crop"')
    assert crops >= 8
    size = len(page.encode("utf-8"))
    print(f"10-page PDF: {size} bytes, {crops} crops")
    assert size < 2_000_000


# ------------------------------------------------------------ escaping


def markup_record(paper: Path) -> dict:
    quote = f"Complete remission was reached by 12 of 15 patients {MARKUP} after one infusion."
    paper.write_text(f"A made-up note for the escaping test.\n\n{quote}\n", encoding="utf-8")
    cand = {**candidate("cr_cri", 12, 15, 0.8), "quote": quote, "page": None, "rule": f"text:{MARKUP}"}
    rec = record(paper.stem, [cand, {**cand, "events": 11, "quote": MARKUP + "</script>"}], metadata={"year": None})
    rec["chosen"] = rec["chosen"][:1]
    rec["file"] = paper.name
    return rec


def test_markup_in_a_paper_is_escaped_everywhere_in_the_page(tmp_path):
    paper = tmp_path / "x<b>y.txt"
    page = build_review_page(markup_record(paper), paper, None, dpi=110)
    assert page.count("<script") == 2  # the data block and the page's own script, nothing else
    assert "<img src=x" not in page and "</script></script>" not in page
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in page  # shown as text
    assert "&lt;b&gt;" in page  # the file name too
    assert '<mark>' in page  # the paragraph of the text paper with the quote marked
    data = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in data and ">" not in data


def test_script_json_cannot_close_its_script_element():
    assert script_json({"q": "</script><!-- & "}) == '{"q": "\\u003c/script\\u003e\\u003c!-- \\u0026 "}'


def test_markup_does_not_run_in_the_browser(tmp_path):
    from browser import chromium
    from selenium.webdriver.common.by import By

    paper = tmp_path / "markup.txt"
    (tmp_path / "markup.html").write_text(build_review_page(markup_record(paper), paper, None, dpi=110), encoding="utf-8")
    with chromium(str(tmp_path)) as driver:
        driver.get((tmp_path / "markup.html").as_uri())
        assert driver.execute_script("return window.pwned === undefined")
        quote = driver.find_element(By.CSS_SELECTOR, "section.item blockquote").text
        assert MARKUP in quote
        assert driver.find_elements(By.CSS_SELECTOR, "img") == []
        assert driver.find_element(By.ID, "progress").text.startswith("0 of 1 values reviewed")


# ------------------------------------------------------------ the exported file's contract


EXPORTED = """# Curation of p, exported from its review page
paper_sha256: "{sha}"
study: "Trial P"
reason: "label (reviewer: A)"
decisions:
  - endpoint: "cr_cri"
    decision: "accept"
    reason: "value and quote checked against page 1 (reviewer: A)"
  - endpoint: "relapse"
    decision: "override"
    values: {{"events":3,"total":15}}
    reason: "table 2 (reviewer: A)"
"""


def test_a_hand_edited_export_is_refused_naming_file_and_key(tmp_path):
    good = tmp_path / "p.yaml"
    good.write_text(EXPORTED.format(sha="a" * 64))
    assert [d.decision for d in load_curation(good).decisions] == ["accept", "override"]
    # a bad decision is refused alone, naming file and key; the others still apply
    good.write_text(EXPORTED.format(sha="a" * 64).replace('"events":3', '"events":30'))
    curation = load_curation(good)
    assert [d.endpoint for d in curation.decisions] == ["cr_cri"]
    assert any(re.search(r"decisions/1/values: 30 events is more than the total of 15", problem)
               for _, problem in curation.refused), curation.refused
    # a file the schema refuses as a whole names file and key
    for broken, where in [
        (EXPORTED.format(sha="not-a-hash"), r"p\.yaml: paper_sha256: 'not-a-hash' does not match"),
        (EXPORTED.format(sha="a" * 64).replace('study: "Trial P"', 'study: ""'), r"p\.yaml: study: '' should be non-empty"),
    ]:
        good.write_text(broken)
        with pytest.raises(CurationError, match=where):
            load_curation(good)
    good.write_text(EXPORTED.format(sha="not-a-hash"))
    # the review page names the refusal too, and so does harmonise (failures.csv), while the paper still finishes
    rec = record("p", [candidate("n_treated", total=15), candidate("cr_cri", 12, 15, 0.8), candidate("relapse", 2, 15)])
    page = build_review_page(rec, None, good, dpi=110)
    assert "The curation file was refused" in page and "paper_sha256: &#x27;not-a-hash&#x27; does not match" in page
    tables = harmonise([rec], str(tmp_path))
    failure = tables["failures"].iloc[0]
    assert failure["error_kind"] == "invalid_curation" and "p.yaml: paper_sha256" in failure["message"]
    assert len(tables["endpoints"]) == 3


def test_values_accepted_as_extracted_are_verified_and_the_switch_pools_only_checked_values(tmp_path):
    (tmp_path / "p.yaml").write_text(EXPORTED.format(sha="a" * 64))
    rec = record("p", [candidate("n_treated", total=15), candidate("cr_cri", 12, 15, 0.8), candidate("relapse", 2, 15),
                       candidate("mrd_neg", 10, 15)])
    rows = harmonise([rec], str(tmp_path))["endpoints"].set_index("endpoint")
    assert rows["source"].to_dict() == {"cr_cri": "verified", "mrd_neg": "extracted", "n_treated": "extracted", "relapse": "curated"}
    assert not rows["flags"].str.contains("not_verified").any()
    only = harmonise([rec], str(tmp_path), {"pool_only_verified": True})["endpoints"]
    flagged = only.set_index("endpoint")["flags"].str.contains("not_verified")
    assert flagged.to_dict() == {"cr_cri": False, "mrd_neg": True, "n_treated": True, "relapse": False}
    kept, excluded = poolable(only, "mrd_neg")
    assert kept.empty and excluded == [{"study": "Trial P", "reason": "not verified by a reviewer (harmonise.pool_only_verified)"}]
    assert len(poolable(only, "cr_cri")[0]) == 1


# ------------------------------------------------------------ index


def test_index_counts_the_values_each_curation_file_decides(tmp_path):
    (tmp_path / "p.yaml").write_text(EXPORTED.format(sha="a" * 64))
    rec = record("p", [candidate("n_treated", total=15), candidate("cr_cri", 12, 15, 0.8), candidate("relapse", 2, 15)])
    progress = paper_progress(rec, tmp_path / "p.yaml")
    assert (progress["values"], progress["in_file"]) == (3, 2)
    page = build_index([progress])
    assert "2 of 3 values reviewed" in page and 'href="p.html"' in page


# ------------------------------------------------------------ agreement


def test_cohens_kappa_by_hand():
    # 10 items, categories a/b. Reviewer 1: a a a a a a b b b b; reviewer 2: a a a a b b b b b a.
    # Observed agreement p_o = (4 + 3) / 10 = 0.7. Marginals: reviewer 1 a 0.6, b 0.4; reviewer 2 a 0.5, b 0.5.
    # Expected p_e = 0.6 * 0.5 + 0.4 * 0.5 = 0.5. kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    first = list("aaaaaabbbb")
    second = list("aaaabbbbba")
    assert agreement.kappa(first, second) == pytest.approx(0.4)
    assert agreement.kappa(list("aaa"), list("aaa")) is None  # one category only: undefined


def test_two_reviewers_compared_value_by_value(tmp_path):
    rec = record("p", [candidate("n_treated", total=15), candidate("cr_cri", 12, 15, 0.8), candidate("relapse", 2, 15)])
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "p.yaml").write_text("decisions:\n  - {endpoint: cr_cri, decision: accept, reason: r}\n"
                                "  - {endpoint: relapse, decision: override, values: {events: 3}, reason: r}\n")
    (two / "p.yaml").write_text("decisions:\n  - {endpoint: cr_cri, decision: accept, reason: r}\n"
                                "  - {endpoint: relapse, decision: reject, reason: r}\n")
    table = agreement.compare(harmonise([rec], str(one)), harmonise([rec], str(two)))
    got = {(r.endpoint, r.field): (r.first, r.second, r.agree) for r in table.itertuples()}
    assert got[("cr_cri", "decision")] == ("accept", "accept", "yes")
    assert got[("relapse", "decision")] == ("override", "reject", "no")
    assert got[("relapse", "events")] == ("3", agreement.ABSENT, "no")
    assert got[("n_treated", "decision")] == ("none", "none", "yes")
    summary = agreement.summary(table).set_index("field")
    # decisions: n_treated none/none, cr_cri accept/accept, relapse override/reject -> 2 of 3 agree
    assert summary.loc["decision", ["items", "agreed"]].tolist() == [3, 2]
    assert summary.loc["decision", "percent_agreement"] == pytest.approx(200 / 3)
    # categories none, accept, override, reject: p_o = 2/3; p_e = (1/3)(1/3) + (1/3)(1/3) + 0 + 0 = 2/9
    assert summary.loc["decision", "kappa"] == pytest.approx((2 / 3 - 2 / 9) / (1 - 2 / 9))


@pytest.mark.slow
def test_agreement_rule_on_the_demo_lists_the_one_disagreement(tmp_path):
    import shutil
    import subprocess
    import sys

    import yaml

    one, two = tmp_path / "reviewer_one", tmp_path / "reviewer_two"
    shutil.copytree(ROOT / "resources/papers/curation", one)
    shutil.copytree(ROOT / "resources/papers/curation", two)
    paper = "cd19_mrd_positive_b_all"
    changed = yaml.safe_load((two / f"{paper}.yaml").read_text())
    changed["decisions"][0]["values"] = {"events": 1, "total": 14}  # icans_any: 1 of 14 instead of 0 of 14
    (two / f"{paper}.yaml").write_text(yaml.safe_dump(changed))
    extra = tmp_path / "double.yaml"
    extra.write_text(yaml.safe_dump({"review": {"crop_dpi": 110, "reviewer_dirs": [str(one), str(two)]}}))
    results = tmp_path / "results"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
               "--cores", "2", "--configfile", str(ROOT / "config.yaml"), str(extra), "--config",
               f"papers_dir={ROOT / 'resources/papers'}", f"lexicon={ROOT / 'resources/lexicon.yaml'}",
               f"curation_dir={one}", f"results_dir={results}", "--", str(results / "tables/agreement_summary.csv")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(results / "tables/agreement.csv", keep_default_na=False)
    disagree = table[table["agree"] == "no"]
    assert disagree[["paper", "endpoint", "field", "first", "second"]].values.tolist() == [
        [paper, "icans_any", "events", "0", "1"], [paper, "icans_any", "estimate", "0", "0.0714286"]]
    summary = pd.read_csv(results / "tables/agreement_summary.csv").set_index("field")
    events = summary.loc["events"]
    assert events["agreed"] == events["items"] - 1 and events["percent_agreement"] == pytest.approx(100 * (events["items"] - 1) / events["items"])
    assert summary.loc["decision", "percent_agreement"] == 100


def test_a_pdf_pdfium_cannot_open_still_gets_its_page_naming_the_file(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really a PDF")
    rec = record("broken", [candidate("cr_cri", 12, 15, 0.8)])
    page = build_review_page(rec, broken, None, dpi=110)
    assert "broken.pdf: pypdfium2 cannot open it" in page and "quote for cr_cri" in page


def test_landmarks_are_keyed_as_harmonise_snaps_them():
    from trialmeta.review.items import curation_landmark_key, landmark_key

    assert landmark_key(365 / 30.4375) == "12 months" == curation_landmark_key("1 year") == curation_landmark_key("365 days")
    assert landmark_key(18.5) == "18.5 months" and landmark_key(None) == ""


def test_the_report_shows_the_agreement_summary_and_the_disagreements():
    from test_report import CONFIG, details, endpoint_table, pooled_table

    from trialmeta.report.page import build_report

    summary = pd.DataFrame([{"field": "decision", "items": 3, "agreed": 2, "percent_agreement": 200 / 3, "kappa": 0.5714},
                            {"field": "target", "items": 1, "agreed": 1, "percent_agreement": 100.0, "kappa": None}])
    values = pd.DataFrame([["p", "relapse", "", "decision", "override", "reject", "no"],
                           ["p", "cr_cri", "", "decision", "accept", "accept", "yes"]], columns=agreement.AGREEMENT_COLUMNS)
    empty = pd.DataFrame(columns=["paper", "stage", "error_kind", "message"])
    page = build_report(endpoint_table(), pd.DataFrame({"study": ["Alpha", "Beta"], "year": [2019, 2020]}), pooled_table(),
                        pd.DataFrame(columns=["paper", "check"]), empty, details(), {}, CONFIG, agreement=(summary, values))
    section = page[page.index("<h2 id='agreement'>"):page.index("<h2 id='failures'>")]
    assert "66.7%" in section and "0.571" in section and "Disagreements to settle (1)" in section
    assert "<td>relapse</td>" in section and "<td>cr_cri</td>" not in section
    assert "href='#agreement'" in page


def test_a_cohort_size_is_marked_in_its_quote():
    # n_treated carries its count as total (no events, no estimate): the quote's count is its number
    quote = "Over two years we infused 31 adults with the product."
    spans = value_spans({"quote": quote, "total": 31, "events": None, "estimate": None, "endpoint": "n_treated"})
    assert [quote[a:b].split()[0] for a, b in spans] == ["31"]
