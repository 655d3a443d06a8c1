"""The paper reader: real typeset PDFs (when ../shared/papers is present),
small PDFs built here with reportlab, text and Markdown files, bad inputs."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.make_fixture_pdfs import (
    column_table_paper,
    continued_table,
    encrypted_pdf,
    image_only_pdf,
    plain_pdf,
    two_column_paper,
)
from trialmeta.extract.reading import Document, DocumentError, Passage, ReadSettings, Span, read_document
from trialmeta.extract.reading.model import REMOVED_KINDS, SEARCHED_KINDS
from trialmeta.extract.reading.text_rules import Vocabulary, keep_line_end_hyphen, normalise_chars

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT.parent / "shared" / "papers"
needs_papers = pytest.mark.skipif(
    not (PAPERS / "pdf").is_dir(), reason=f"shared papers not found at {PAPERS} (they sit next to the repository in CI)"
)

PAPER_000 = "000_aa57f9a1a12fb1cb"
PAPER_001 = "001_cc76cc72b879f4e0"
PAPER_002 = "002_f2f2049e00947f63"
PAPER_003 = "003_996df01dbac1893b"


@pytest.fixture(scope="module")
def typeset():
    """Documents of the typeset papers, read once: {stem: Document}."""
    documents = {path.stem: read_document(path) for path in sorted((PAPERS / "pdf").glob("*.pdf"))}
    documents["alt"] = read_document(PAPERS / "pdf-alt" / f"{PAPER_002}.single.pdf")
    return documents


def _all_text(document: Document) -> str:
    return "\n".join(p.text for p in document.passages)


def _flat(text: str) -> str:
    """As expected/ writes text: superscript carets gone, spaces collapsed."""
    return " ".join(text.replace("^", "").split())


# --- the typeset papers --------------------------------------------------------


@needs_papers
@pytest.mark.parametrize("stem", [PAPER_000, PAPER_001, PAPER_002, PAPER_003])
def test_every_pdf_line_is_a_run_of_the_expected_text(typeset, stem):
    """No line mixes the two columns: each PDF line the reader put into a
    passage occurs as it is in the expected text (plain extraction of these
    PDFs mixes a left and a right line in up to 238 of 577 lines)."""
    expected = _flat((PAPERS / "expected" / f"{stem}.expected.txt").read_text(encoding="utf-8"))
    document = typeset[stem]
    lines = [_flat(p.text[s.start : s.end]) for p in document.passages for s in p.spans]
    assert len(lines) > 50
    strays = [line for line in lines if line not in expected]
    assert strays == []


@needs_papers
def test_columns_are_read_left_then_right(typeset):
    text = _all_text(typeset[PAPER_000])
    # the last words of the left column of page 1 run on into the right column
    assert "the median duration was 1 (range, 1–3) day. One patient" in text
    assert text.index("Dear Editor,") < text.index("As shown in Fig. 1") < text.index("For total patients")


@needs_papers
def test_superscript_exponents_are_restored(typeset):
    text = _all_text(typeset[PAPER_000])
    assert "dose levels of 1 × 10^6 cells/kg, 2 × 10^6" in text
    assert "3 × 10^6 cells/kg, and 5 × 10^6 cells/kg" in text
    assert "5 × 10^6/kg CAR-T cell dose group" in text
    assert "1 (0.5- 2.5) ×10^7cells/kg" in _all_text(typeset[PAPER_003])
    # subscripts are flattened, signs raised after a name stay plain
    assert "(Cmax) of 10 days" in text
    assert "CD3+, CD4+, and CD8+" in text


@needs_papers
def test_citation_marks_are_marked_as_superscripts(typeset):
    text = _all_text(typeset[PAPER_001])
    assert "(r/r B-ALL).^1-4 However" in text
    assert "within 1 year.^5,6 It is critical" in text


@needs_papers
@pytest.mark.parametrize(
    "stem, joined",
    [
        (PAPER_000, "B cell acute lymphoblastic leukemia"),  # lym- / phoblastic
        (PAPER_000, "transplantation (allo-HSCT) [1, 2]"),  # allo- / HSCT: a capital follows
        (PAPER_000, "Five patients achieved MRD-negative CR"),  # MRD- / negative: an abbreviation before
        (PAPER_000, "5 Ph-positive) were with ongoing"),  # Ph- / positive: written so elsewhere in the paper
        (PAPER_002, "C-reactive protein (CRP)"),
        (PAPER_002, "However, transplantation related mortality"),  # transplanta- / tion
        (PAPER_002, "reported long-term outcomes"),  # long- / term: written so elsewhere
    ],
)
def test_line_end_hyphens(typeset, stem, joined):
    assert joined in _all_text(typeset[stem])


@needs_papers
def test_ligatures_are_expanded(typeset):
    for stem in (PAPER_001, PAPER_002):
        text = _all_text(typeset[stem])
        assert not re.search("[\ufb00-\ufb06]", text)
    assert "significant difference" in _all_text(typeset[PAPER_001])


@needs_papers
def test_running_headers_page_numbers_and_references_are_removed(typeset):
    document = typeset[PAPER_002]
    text = _all_text(document)
    assert "Lu et al." not in text
    kinds = [p.kind for p in document.removed]
    assert kinds.count("running_header") == 7  # pages 2-8; page 1 has the banner instead
    assert kinds.count("page_number") == 8
    references = [p.text for p in document.removed if p.kind == "references"]
    assert references[0] == "References"
    assert [r.split(".")[0] for r in references[1:]] == [str(n) for n in range(1, 34)]
    assert "Bassan R, Bruggemann M" not in text
    # what follows the list is kept; the footnote block of page 1 comes last
    assert any(p.text.startswith("Publisher's Note") for p in document.passages)
    assert document.passages[-1].text.startswith("4 Leukemia Center, Institute of Hematology")
    # the banner of page 1 is not a running header
    assert document.passages[0].text == "Cancer Immunology, Immunotherapy https://doi.org/10.1007/s00262-021-02941-4"


@needs_papers
def test_title_headings_and_captions(typeset):
    document = typeset[PAPER_002]
    titles = [p.text for p in document.passages if p.kind == "title"]
    assert len(titles) == 1
    assert titles[0].startswith("CD19 CAR-T cell treatment conferred") and titles[0].endswith("residual disease")
    headings = [p.text for p in document.passages if p.kind == "heading"]
    assert headings[:4] == ["ORIGINAL ARTICLE", "Abstract", "Abbreviations", "Introduction"]
    assert "Assessment of adverse events after CAR-T cell infusion" in headings
    captions = [p.text for p in document.passages if p.kind == "caption"]
    assert [c.split(" ")[0] + " " + c.split(" ")[1] for c in captions if not c.startswith("F female")] == [
        "Table 1", "Table 2", "Fig. 1", "Table 3", "Fig. 2", "Fig. 3",
    ]


@needs_papers
def test_table_2_of_paper_002(typeset):
    tables = {t.caption.split(" ")[1]: t for t in typeset[PAPER_002].tables if t.caption}
    table = tables["2"]
    assert table.caption.startswith("Table 2 Characteristics of MRD-positive") and table.caption.endswith("cells")
    assert table.page == 4
    header, *patients = table.rows
    assert header[:3] == ("Patient", "Age, years", "Sex")
    assert header[-2:] == ("CRS grade", "Clinical outcomes")
    assert [row[0] for row in patients] == [str(n) for n in range(1, 15)]
    assert patients[0][:8] == ("1", "46", "M", "B-ALL Ph+", "FCM, BCR/ABL", "Relapse", "8", "VDCLP")
    assert patients[0][8:] == ("5.84×10^6", "1", "MR", "Son/Haplo-HSCT(5/10)", "1", "MR")
    assert patients[9][3] == "B-ALL Ph+, TP53+, C-kit+"
    # text inside the table is not also in the passages
    text = _all_text(typeset[PAPER_002])
    assert "VDCP+Dasatinib" not in text and "Febrile neutropenia" not in text


@needs_papers
def test_tables_1_and_3_of_paper_002(typeset):
    tables = {t.caption.split(" ")[1]: t for t in typeset[PAPER_002].tables if t.caption}
    assert tables["1"].rows[0] == ("Age (Median, range)-yr", "29 (13–66)")
    assert len(tables["1"].rows) == 10
    assert tables["3"].rows[0] == ("Adverse event", "Grade 1, %", "Grade 2, %", "Grade 3, %", "Grade 4, %")
    assert tables["3"].rows[3] == ("Febrile neutropenia", "", "", "57.1", "")


@needs_papers
def test_list_of_abbreviations_is_a_table(typeset):
    lists = [t for t in typeset[PAPER_002].tables if t.caption is None]
    assert len(lists) == 1
    assert lists[0].rows[0] == ("allo-HSCT", "Allogeneic hematopoietic stem cell transplantation")
    assert lists[0].rows[2] == ("CD19 CAR-T", "CD19-directed chimeric antigen receptor T")
    assert len(lists[0].rows) == 12


@needs_papers
def test_table_continued_on_the_next_page(typeset):
    document = typeset["alt"]
    table = next(t for t in document.tables if t.caption and t.caption.startswith("Table 2"))
    assert table.page == 6
    assert [row[0] for row in table.rows[1:]] == [str(n) for n in range(1, 15)]
    assert table.rows[14][:3] == ("14", "37", "F")
    # narrow cells: an exponent wrapped onto its own line, words broken without a hyphen
    assert table.rows[1][8] == "5.84×10^6"
    assert table.rows[12][7] == "VTCD+Dasatinib"
    assert table.rows[0][1] == "Age, years"
    assert document.warnings == ("page 2 has no text",)


@needs_papers
def test_locate_gives_page_and_box(typeset):
    document = typeset[PAPER_000]
    passage = next(p for p in document.passages if "four dose levels" in p.text)
    start = passage.text.index("1 × 10^6 cells/kg")
    page, line, bbox = passage.locate(start, start + len("1 × 10^6 cells/kg"))
    assert (page, line) == (1, None)
    x0, top, x1, bottom = bbox
    assert 50 <= x0 < x1 <= 290 and 500 < top < bottom < 600  # in the left column of page 1
    # a passage running from one column into the next keeps a span per line
    spanning = next(p for p in document.passages if p.text.startswith("Fifteen out of 19 patients"))
    assert {s.page for s in spanning.spans} == {1}
    assert {round(s.bbox[0]) for s in spanning.spans} >= {50, 306}


@needs_papers
def test_kinds(typeset):
    for document in typeset.values():
        assert {p.kind for p in document.passages} <= set(SEARCHED_KINDS)
        assert {p.kind for p in document.removed} <= set(REMOVED_KINDS)
        assert all(p.text and p.spans for p in document.passages + document.removed)


@needs_papers
def test_reading_is_deterministic_and_hashes_the_bytes(typeset):
    path = PAPERS / "pdf" / f"{PAPER_002}.pdf"
    again = read_document(path)
    assert again == typeset[PAPER_002]
    assert again.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (again.kind, again.n_pages) == ("pdf", 8)


@needs_papers
def test_text_versions_of_the_papers(tmp_path):
    document = read_document(PAPERS / "text" / f"{PAPER_002}.txt")
    assert document.kind == "text" and document.n_pages is None
    captions = [t.caption for t in document.tables]
    assert captions[0] is None  # the list of abbreviations
    assert [caption[:7] for caption in captions[1:]] == ["Table 1", "Table 2", "Table 3"]
    assert document.tables[2].rows[1][8] == "5.84×10^6"  # "5.84×10 ⁶" in the file


# --- synthetic PDFs ---------------------------------------------------------------


@pytest.fixture(scope="module")
def two_column(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "two_column.pdf"
    expected = two_column_paper(path)
    return read_document(path), expected


def test_synthetic_two_columns_read_in_order(two_column):
    document, expected = two_column
    assert [(p.kind, p.text) for p in document.passages] == (
        [("title", expected.title)]
        + [("body", text) for text in expected.paragraphs]
        + [("caption", expected.table_caption), ("body", expected.closing)]
    )


def test_synthetic_rotated_text_is_left_out_with_a_warning(two_column):
    document, expected = two_column
    assert expected.margin_note not in _all_text(document)
    assert document.warnings == (f"page 1: {len(expected.margin_note.replace(' ', ''))} characters of rotated text left out",)


def test_synthetic_hyphens_and_exponent(two_column):
    document, _ = two_column
    text = _all_text(document)
    assert "the rate of transplantation stayed low" in text
    assert "became MRD-negative by day" in text and "no CD19-negative relapse" in text
    assert "2 × 10^6 cells/kg" in text


def test_synthetic_table_with_caption(two_column):
    document, expected = two_column
    assert len(document.tables) == 1
    table = document.tables[0]
    assert table.caption == expected.table_caption
    assert [list(row) for row in table.rows] == expected.table_rows
    assert table.page == 2 and table.bbox is not None
    assert "Responders" not in _all_text(document)


def test_synthetic_header_page_numbers_references_removed(two_column):
    document, expected = two_column
    removed = [(p.kind, p.text) for p in document.removed]
    assert removed.count(("running_header", expected.header)) == 2
    assert removed.count(("page_number", "1")) == 1 and removed.count(("page_number", "2")) == 1
    assert [text for kind, text in removed if kind == "references"] == ["References"] + expected.references
    assert "Fixture Journal" not in _all_text(document)


def test_synthetic_spans_point_at_lines(two_column):
    document, _ = two_column
    first = document.passages[1]
    assert len(first.spans) == 5  # five lines on page 1
    assert all(s.page == 1 and s.line is None for s in first.spans)
    start = first.text.index("transplantation")
    page, _, bbox = first.locate(start, start + len("transplantation"))
    assert page == 1
    assert bbox[1] < first.spans[-1].bbox[3]  # the box covers both halves of the broken word
    assert first.locate(start, start + 3)[2] == first.spans[3].bbox


def test_synthetic_table_continued_on_next_page(tmp_path):
    path = tmp_path / "continued.pdf"
    rows = continued_table(path)
    document = read_document(path)
    assert len(document.tables) == 1
    table = document.tables[0]
    assert (table.page, table.caption) == (1, "Table 2 Doses by site")
    assert [list(row) for row in table.rows] == rows


def test_synthetic_table_inside_a_column_and_small_print(tmp_path):
    """A table with horizontal rules only, set in the left column, is read
    as a table (not as two more columns); small print at the foot of page 1
    does not cut the paragraph running on to page 2 and is read last."""
    path = tmp_path / "column_table.pdf"
    expected = column_table_paper(path)
    document = read_document(path)
    texts = [p.text for p in document.passages]
    first, after_table, beside, running = expected.paragraphs
    assert texts == [first, expected.table_caption, expected.table_note, after_table, beside, running, expected.small_print]
    assert len(document.tables) == 1
    table = document.tables[0]
    assert table.caption == expected.table_caption
    assert [list(row) for row in table.rows] == expected.table_rows
    assert not any("Cough" in text for text in texts)


def test_synthetic_pdf_is_deterministic(tmp_path):
    path = tmp_path / "again.pdf"
    two_column_paper(path)
    assert read_document(path) == read_document(path)


# --- bad PDFs -----------------------------------------------------------------------


def _error(path: Path, settings: ReadSettings = ReadSettings()) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        read_document(path, settings)
    error = caught.value
    assert error.path == str(path)
    assert str(path) in str(error)
    return error


@pytest.mark.parametrize(
    "name, data, kind, says",
    [
        ("empty.pdf", b"", "empty", "is empty"),
        ("empty.md", b"", "empty", "is empty"),
        ("paper.pdf", b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>No access</body></html>",
         "not_pdf", "HTML page"),
        ("paper.pdf", b"PK\x03\x04 a zip archive, not a pdf", "not_pdf", "does not start with %PDF-"),
        ("latin.txt", "Remission in 9 patients, caf\xe9 au lait.".encode("latin-1"), "not_utf8", "offset 28"),
        ("data.txt", b"readable start\x00\x01\x02 and then binary", "binary", "offset 14"),
    ],
)
def test_bad_bytes(tmp_path, name, data, kind, says):
    path = tmp_path / name
    path.write_bytes(data)
    error = _error(path)
    assert error.kind == kind and says in str(error)


def test_encrypted_with_user_password(tmp_path):
    path = tmp_path / "locked.pdf"
    encrypted_pdf(path, user_password="reader-test")
    error = _error(path)
    assert error.kind == "encrypted" and "password" in str(error)


def test_owner_password_only_is_read(tmp_path):
    path = tmp_path / "owner.pdf"
    encrypted_pdf(path, user_password="")
    document = read_document(path)
    assert document.passages[0].text == "Page 1 of the plain fixture holds one sentence."


@pytest.mark.parametrize("share", [0.3, 0.6, 0.95])
def test_truncated(tmp_path, share):
    whole = tmp_path / "whole.pdf"
    plain_pdf(whole, pages=3)
    data = whole.read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: int(len(data) * share)])
    error = _error(path)
    assert error.kind == "truncated" and "ends early" in str(error)


def test_image_only_with_ocr_off(tmp_path):
    path = tmp_path / "scan.pdf"
    image_only_pdf(path)
    error = _error(path, ReadSettings(ocr="off"))
    assert error.kind == "image_only" and "OCR is needed" in str(error) and "ocr: off" in str(error)


def test_too_many_pages(tmp_path):
    path = tmp_path / "long.pdf"
    plain_pdf(path, pages=4)
    error = _error(path, ReadSettings(max_pages=3))
    assert error.kind == "too_many_pages" and "4 pages" in str(error) and "max_pages=3" in str(error)
    assert len(read_document(path, ReadSettings(max_pages=4)).passages) >= 1


def test_missing_file(tmp_path):
    assert _error(tmp_path / "absent.pdf").kind == "unreadable"


def test_errors_survive_pickling(tmp_path):
    import pickle

    error = DocumentError("empty", "x.pdf", "is empty")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.kind, copy.path, str(copy)) == ("empty", "x.pdf", "x.pdf: is empty")


# --- text and Markdown ------------------------------------------------------------

TEXT = (
    "\ufeffTrial of a made-up therapy\r\n"
    "\r\n"
    "The first paragraph runs over two lines of the file and\r\n"
    "mentions a transplanta-\r\n"
    "tion rate together with MRD-\r\n"
    "negative responses.\r\n"
    "\r\n"
    "Table 1 Responses by arm\r\n"
    "\r\n"
    "Arm\tPatients\tResponders\r\n"
    "A\t12\t9\r\n"
    "B\t10\t7\r\n"
    "\r\n"
    "Doses reached 2 × 10⁶ cells/kg in the second paragraph.\r\n"
)


def test_text_file(tmp_path):
    path = tmp_path / "paper.txt"
    path.write_bytes(TEXT.encode("utf-8"))
    document = read_document(path)
    assert (document.kind, document.n_pages, document.removed, document.warnings) == ("text", None, (), ())
    assert [(p.kind, p.text) for p in document.passages] == [
        ("heading", "Trial of a made-up therapy"),
        ("body", "The first paragraph runs over two lines of the file and mentions a transplantation rate "
                 "together with MRD-negative responses."),
        ("caption", "Table 1 Responses by arm"),
        ("body", "Doses reached 2 × 10^6 cells/kg in the second paragraph."),
    ]
    assert document.tables[0].rows == (("Arm", "Patients", "Responders"), ("A", "12", "9"), ("B", "10", "7"))
    assert (document.tables[0].caption, document.tables[0].page, document.tables[0].bbox) == (
        "Table 1 Responses by arm", None, None,
    )
    body = document.passages[1]
    start = body.text.index("transplantation")
    assert body.locate(start, start + 15) == (None, 4, None)
    assert body.locate(body.text.index("MRD-"), len(body.text)) == (None, 5, None)
    assert body.locate(body.text.index("negative"), len(body.text)) == (None, 6, None)
    assert document.sha256 == hashlib.sha256(TEXT.encode("utf-8")).hexdigest()


MARKDOWN = """# A made-up trial

Some *emphasised* and **bold** words with a [link](https://example.org).

## Results

| Arm | Patients | Responders |
|-----|---------:|:----------:|
| A   | 12       | 9          |
| B   | 10       | 7          |

- first item of a list
- second item of a list

```
# a comment in a code block, not a heading
```

References

1. Author AB. An invented article. Fixture J. 2019;3:4-5.

2. Writer CD. A second invented article. Fixture J. 2020;4:6-7.
"""


def test_markdown_file(tmp_path):
    path = tmp_path / "paper.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    document = read_document(path)
    assert document.kind == "markdown"
    assert [(p.kind, p.text) for p in document.passages] == [
        ("heading", "A made-up trial"),
        ("body", "Some emphasised and bold words with a link."),
        ("heading", "Results"),
        ("body", "- first item of a list"),
        ("body", "- second item of a list"),
        ("body", "# a comment in a code block, not a heading"),
    ]
    assert document.tables[0].rows == (("Arm", "Patients", "Responders"), ("A", "12", "9"), ("B", "10", "7"))
    assert [p.text[:2] for p in document.removed] == ["Re", "1.", "2."]
    assert document.passages[2].spans == (Span(0, 7, None, 5, None),)


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)


@settings(max_examples=40, deadline=None)
@given(
    paragraphs=st.lists(st.lists(_WORD, min_size=1, max_size=30), min_size=1, max_size=6),
    width=st.integers(min_value=8, max_value=70),
)
def test_wrapped_text_reads_back_as_its_paragraphs(tmp_path_factory, paragraphs, width):
    """Paragraphs wrapped at any width read back word for word."""
    blocks = []
    for words in paragraphs:
        lines, line = [], ""
        for word in words:
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
        blocks.append("\n".join(lines))
    path = tmp_path_factory.mktemp("wrap") / "wrapped.txt"
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    document = read_document(path)
    assert [p.text for p in document.passages] == [" ".join(words) for words in paragraphs]


# --- rules and settings ------------------------------------------------------------


def test_ligatures_and_special_characters():
    assert normalise_chars("\ufb01rst e\ufb03cacy \ufb02ow o\ufb00 ba\ufb04e") == "first efficacy flow off baffle"
    assert normalise_chars("a\u00a0b non\u2011breaking") == "a b non-breaking"


@pytest.mark.parametrize(
    "left, right, keep",
    [
        ("transplanta", "tion", False),
        ("MRD", "positive", True),
        ("CD19", "CAR", True),
        ("allo", "HSCT", True),
        ("lym", "phoblastic", False),
        ("IL", "6", True),
        ("follow", "up", True),  # both halves are words of the document
        ("Trans", "plantation", False),
        ("Twenty", "one", True),  # a number in words, though neither half is a word of the document
        ("seventy", "nine", True),
    ],
)
def test_line_end_hyphen_rule(left, right, keep):
    vocabulary = Vocabulary("a follow up visit".split())
    assert keep_line_end_hyphen(left, right, vocabulary) is keep


def test_line_end_hyphen_rule_follows_the_document():
    vocabulary = Vocabulary(["Ph-positive", "Ph-positive", "nonrelapse"])
    assert keep_line_end_hyphen("Ph", "positive", vocabulary) is True
    assert keep_line_end_hyphen("non", "relapse", vocabulary) is False


@pytest.mark.parametrize(
    "field, value",
    [("max_pages", 0), ("header_band", 0.6), ("script_size_ratio", 1.5), ("paragraph_gap_ratio", 0.9),
     ("min_column_rows", 2.5), ("drop_references", "yes"), ("word_gap_ratio", -1.0), ("indent_ratio", float("nan"))],
)
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        ReadSettings(**{field: value})


def test_passage_locate_edge_cases():
    passage = Passage("ab cd", "body", (Span(0, 2, 1, None, (0, 0, 10, 10)), Span(3, 5, 2, None, (0, 20, 10, 30))))
    assert passage.locate(0, 5) == (1, None, (0, 0, 10, 10))  # the box of the first page only
    assert passage.locate(3, 4) == (2, None, (0, 20, 10, 30))
    assert passage.locate(2, 2) == (1, None, (0, 0, 10, 10))


def test_inline_tex_signs_become_the_characters_a_pdf_shows():
    from trialmeta.extract.reading.text_rules import normalise_chars

    assert normalise_chars(r"EFS $48.5\% \pm 9.0\%$, blasts $\geq 5\%$") == "EFS 48.5% ± 9.0%, blasts ≥ 5%"
    assert normalise_chars("costs $5 and $6") == "costs $5 and $6"  # dollars without TeX stay


def test_line_end_hyphen_before_a_long_word_of_the_document_is_kept():
    from trialmeta.extract.reading.text_rules import Vocabulary, keep_line_end_hyphen

    vocabulary = Vocabulary("late cardiotoxicity was rare ; cardiotoxicity recovered".split())
    assert keep_line_end_hyphen("delayed", "cardiotoxicity", vocabulary)
    assert not keep_line_end_hyphen("transplanta", "tion", vocabulary)


# --- a table ruled only across (booktabs) and a short second column -------------------


@pytest.fixture(scope="module")
def booktabs(tmp_path_factory):
    from fixtures.extraction_pdfs import booktabs_paper

    paper = booktabs_paper(tmp_path_factory.mktemp("booktabs") / "booktabs_paper.pdf")
    return paper, read_document(paper.path)


def test_a_table_ruled_only_across_is_read_into_its_cells(booktabs):
    paper, document = booktabs
    (table,) = document.tables
    assert table.caption == "Table 1. Outcome of each infused patient"
    # the header word broken for lack of room is joined; the wrapped outcome stays one cell
    assert list(table.rows[0]) == paper.header
    assert [list(row) for row in table.rows[1:]] == paper.rows


def test_the_cells_of_a_booktabs_table_are_not_read_as_text(booktabs):
    _, document = booktabs
    searched = " ".join(p.text for p in document.passages)
    assert "Continuing CR" not in searched and "Died in remission" not in searched


def test_a_short_second_column_is_still_a_column(booktabs):
    paper, document = booktabs
    texts = [p.text for p in document.passages]
    assert paper.results in texts  # one paragraph, not interleaved line by line
    assert paper.short_column in texts


def test_counts_from_a_booktabs_per_patient_table(booktabs):
    from trialmeta.extract.extraction import extract_paper
    from trialmeta.extract.lexicon import load_lexicon

    record = extract_paper(str(booktabs[0].path), load_lexicon(ROOT / "resources/lexicon.yaml"))
    chosen = {record["candidates"][c["candidate"]]["endpoint"]: record["candidates"][c["candidate"]] for c in record["chosen"]}
    counted = {e: (chosen[e]["events"], chosen[e]["total"]) for e in ("relapse", "crs_any", "crs_grade3plus", "icans_any", "icans_grade3plus")}
    # by hand from fixtures.extraction_pdfs.ROWS: relapses in patients 2 and 5; CRS grades 1,3,0,2,4,1; ICANS 0,1,0,0,3,0
    assert counted == {"relapse": (2, 6), "crs_any": (5, 6), "crs_grade3plus": (2, 6), "icans_any": (2, 6), "icans_grade3plus": (1, 6)}
