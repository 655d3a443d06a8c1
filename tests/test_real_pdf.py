"""The reader on publisher PDFs (../shared/papers/real-pdf, openly licensed,
never copied into the repository), and on the defects real files have.

The artefact patterns are written from what the broken files showed before
the fixes (see ../shared/papers/real-pdf/README.md): "≥" read as "$" before a
grade, "=" read as "¼" between a name and a number, capitals set apart
letter by letter. The glyph-map expectations were checked by eye on the page
pictures (the glyph drawn at code 136 of TeX_CM_Bold_Maths_Symbols is "=").
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.make_fixture_pdfs import plain_pdf
from trialmeta.extract.reading import ReadSettings, read_document
from trialmeta.extract.reading.pdf_fonts import GlyphMapError, load_glyph_map
from trialmeta.extract.reading.text_rules import drop_soft_hyphens

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "papers" / "real-pdf"
REAL_PDFS = sorted(REAL.glob("*.pdf")) if REAL.is_dir() else []
needs_real = pytest.mark.skipif(not REAL_PDFS, reason=f"real PDFs not found at {REAL} (they sit next to the repository in CI)")

ARTEFACTS = {
    "sign after a grade word": re.compile(r"\bgrades?\s*[$#]\s*\d|[$#]\s*grade\b", re.IGNORECASE),
    "¼ between a name and a number": re.compile(r"[A-Za-z)]\s*¼\s*[-−]?\d|¼\s*[A-Za-z]"),
    "spaced capitals": re.compile(r"\b(?:[A-Z] ){3,}[A-Z]\b"),
    "soft hyphen": re.compile("\u00ad"),
}


def searched_text(document) -> str:
    cells = (" | ".join(row) for table in document.tables for row in table.rows)
    return "\n".join([p.text for p in document.passages] + list(cells))


@pytest.fixture(scope="module")
def real_documents():
    return {path.name: read_document(path, ReadSettings(ocr="off")) for path in REAL_PDFS}


@needs_real
@pytest.mark.parametrize("name", [p.name for p in REAL_PDFS])
def test_real_pdf_reads_without_glyph_artefacts(real_documents, name):
    document = real_documents[name]
    assert document.passages and document.n_pages >= 8
    text = searched_text(document)
    found = {what: pattern.findall(text) for what, pattern in ARTEFACTS.items() if pattern.search(text)}
    assert not found, found


@needs_real
def test_symbol_font_equals_sign_is_re_read_and_recorded():
    path = REAL / "onc_IntImmunopharmacol2022_Banna_Spinnaker_NSCLC_chemoIO_RWE.pdf"
    document = read_document(path, ReadSettings(ocr="off"))
    text = searched_text(document)
    assert "p = 0.031" in text and "¼" not in text
    assert {source for _, _, source in document.reread} == {"glyph_map:TeX_CM_Bold_Maths_Symbols"}
    assert any("glyph_map:TeX_CM_Bold_Maths_Symbols" in w for w in document.warnings)


@needs_real
def test_letter_spaced_box_title_is_left_out_of_the_searched_text():
    path = REAL / "onc_IntImmunopharmacol2022_Banna_Spinnaker_NSCLC_chemoIO_RWE.pdf"
    document = read_document(path, ReadSettings(ocr="off"))
    spaced = [p.text for p in document.removed if p.kind == "letter_spaced"]
    assert any(text.startswith("A R T I C L E") for text in spaced)
    assert "A R T I C L E" not in searched_text(document)


def test_glyph_map_entries_name_what_they_were_learnt_from():
    entries = load_glyph_map()
    assert entries["AdvPS7DA6"].codes == {35: "≤", 36: "≥"}
    assert all(entry.learnt_from for entry in entries.values())


def test_a_glyph_map_without_its_source_is_refused(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("fonts:\n  - font: SomeSymbols\n    codes: {36: '≥'}\n", encoding="utf-8")
    with pytest.raises(GlyphMapError, match="learnt_from"):
        load_glyph_map(path)


def test_soft_hyphens_inside_words_go_and_a_line_end_one_stays_for_joining():
    assert drop_soft_hyphens("trans\u00adplan\u00adta\u00ad") == "transplanta\u00ad"
    text = "Patients had haemato\u00adlogical recovery.\n\nA second para\u00adgraph with a break\u00ad\nhere.\n"
    paper = read_document_text(text)
    assert [p.text for p in paper.passages] == ["Patients had haematological recovery.", "A second paragraph with a breakhere."]


def read_document_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "paper.txt")
        path.write_text(text, encoding="utf-8")
        return read_document(path)


@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_a_text_paper_mentioning_the_pdf_header_is_read_as_text(tmp_path, suffix):
    path = tmp_path / f"formats{suffix}"
    path.write_text("PDF files start with %PDF-1.7 and end with %%EOF.\n\n12 of 20 patients responded.\n", encoding="utf-8")
    document = read_document(path)
    assert document.kind == ("markdown" if suffix == ".md" else "text")
    assert "12 of 20 patients responded." in [p.text for p in document.passages]


def test_a_pdf_saved_under_a_text_name_is_still_read_as_a_pdf(tmp_path):
    path = tmp_path / "paper.txt"
    plain_pdf(path, pages=1)
    assert read_document(path).kind == "pdf"


def test_reader_command_prints_blocks_and_json(tmp_path):
    path = tmp_path / "paper.pdf"
    plain_pdf(path, pages=2)
    command = [sys.executable, "-m", "trialmeta.extract.reading", str(path)]
    text = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "======== page 1 ========" in text and "======== page 2 (block 1 goes on) ========" in text and "--- block 1:" in text
    data = json.loads(subprocess.run(command + ["--json"], capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    document = read_document(path)
    assert [b["text"] for b in data["blocks"]] == [p.text for p in document.passages]
    assert all(span["bbox"] and span["page"] for block in data["blocks"] for span in block["spans"])
    assert data["fonts"] and all({"font", "tounicode", "glyph_map"} <= set(row) for row in data["fonts"])


def test_reader_command_names_the_problem_of_an_unreadable_file(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "trialmeta.extract.reading", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1 and "empty" in done.stderr and str(path) in done.stderr


def _abstract_page(path: Path, side_labels: bool) -> None:
    """Structured abstracts as congress prints and some journals set them.

    side_labels: one abstract whose section labels stand in a strip left of
    the text, level with a line of it. Otherwise: two numbered abstracts on
    one page, the second starting mid-page right under the first's last line.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    y = 780.0

    def line(text, x=150.0, font="Helvetica", size=9.0):
        nonlocal y
        c.setFont(font, size)
        c.drawString(x, y, text)
        y -= 11.0

    if side_labels:
        sections = [
            ("BACKGROUND", ["Relapse after CAR T cells is frequent and its timing is poorly", "described in adults with leukemia treated at one centre and"]),
            ("METHODS", ["we followed every infused patient for two years and counted each", "relapse and death in the whole treated cohort of the study and"]),
            ("RESULTS", ["complete remission was reached by 18 of 20 patients (90%) at", "day 28 and grade 3 or higher CRS occurred in 2 of 20 patients."]),
        ]
        for label, texts in sections:
            c.setFont("Helvetica-Bold", 9.0)
            c.drawString(60.0, y, label)
            for text in texts:
                line(text)
    else:
        for number, title, texts in (
            ("1234", "First trial of a CD19 product", ["In this study 12 of 15 patients (80%) reached complete", "remission after one infusion of the product given here."]),
            ("1235", "Second trial of a CD22 product", ["Of 30 treated patients, 21 (70%) reached complete", "remission by day 28 in the second trial reported here."]),
        ):
            line(f"{number} {title}", x=60.0, font="Helvetica-Bold")
            for text in texts:
                line(text, x=60.0)
    c.showPage()
    c.save()


def test_side_labels_of_a_structured_abstract_stay_section_labels(tmp_path):
    path = tmp_path / "labels.pdf"
    _abstract_page(path, side_labels=True)
    passages = read_document(path).passages
    labels = [p.text for p in passages if p.kind == "heading"]
    assert labels == ["BACKGROUND", "METHODS", "RESULTS"]
    for passage in passages:  # no label read into a sentence
        if passage.kind != "heading":
            assert not re.search(r"BACKGROUND|METHODS|RESULTS", passage.text), passage.text
    assert any(p.text.startswith("complete remission was reached by 18 of 20 patients") for p in passages)


def test_two_abstracts_on_one_page_are_separate_blocks(tmp_path):
    path = tmp_path / "two.pdf"
    _abstract_page(path, side_labels=False)
    passages = [p.text for p in read_document(path).passages]
    assert not any("12 of 15" in text and "30 treated" in text for text in passages), passages
    assert "1235 Second trial of a CD22 product" in passages
