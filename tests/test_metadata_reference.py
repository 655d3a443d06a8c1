"""The paper's own reference (DOI, journal, first author) read from its text only when unambiguous.

Texts written for the test; DOIs and names are invented in the shapes journals print them.
"""

from pathlib import Path

from trialmeta.extract.lexicon import load_lexicon
from trialmeta.extract.metadata import extract_metadata
from trialmeta.extract.reading import read_document


LEXICON = load_lexicon(Path(__file__).resolve().parents[1] / "resources/lexicon.yaml")


def reference(tmp_path, text):
    path = tmp_path / "paper.txt"
    path.write_text(text, encoding="utf-8")
    metadata = extract_metadata(read_document(str(path)), LEXICON)
    return {k: metadata[k] for k in ("doi", "journal", "first_author")}


def test_running_head_and_author_line_give_journal_doi_and_first_author(tmp_path):
    text = ("Journal of Cell Therapy Research https://doi.org/10.9999/jctr-2024-0101\n\n"
            "A made-up CD19 CAR-T trial in adults\n\n"
            "Anna Berg^1,2 · Tomas Holm^1 · Li Wei^3\n\n"
            "Fourteen of 16 treated patients reached complete remission.\n")
    assert reference(tmp_path, text) == {"doi": "10.9999/jctr-2024-0101", "journal": "Journal of Cell Therapy Research",
                                         "first_author": "Berg"}


def test_a_pubmed_style_citation_line_gives_the_journal_abbreviation(tmp_path):
    text = ("Cell Ther Rep. 2023 Mar 2;12(4):101-109. doi: 10.9999/ctr.2023.12. Epub 2023 Jan 5.\n\n"
            "In this invented study 20 patients were infused and 18 reached remission.\n")
    found = reference(tmp_path, text)
    assert (found["doi"], found["journal"], found["first_author"]) == ("10.9999/ctr.2023.12", "Cell Ther Rep", None)


def test_two_different_dois_in_the_text_give_none(tmp_path):
    # a cited trial's DOI in the body: which one is the paper's cannot be told, so none is taken
    text = ("See doi: 10.9999/one.1 for the protocol and doi: 10.9999/two.2 for the earlier report.\n\n"
            "Eighteen of 20 patients responded.\n")
    assert reference(tmp_path, text)["doi"] is None


def test_a_doi_only_in_the_reference_list_is_not_the_papers(tmp_path):
    text = ("An invented report of 12 infused patients; 10 reached remission.\n\n"
            "References\n\n"
            "1. Doe J (2019) An earlier trial. Some Journal 1:1-2. https://doi.org/10.9999/earlier.7\n")
    assert reference(tmp_path, text) == {"doi": None, "journal": None, "first_author": None}


def test_a_paper_with_first_author_and_year_is_labelled_by_them_unless_curated():
    from test_harmonise import candidate, record

    from trialmeta.harmonise.table import harmonise

    printed = record("p1", [candidate("cr_cri", 9, 10, 0.9)], {"first_author": "Berg", "year": 2024})
    bare = record("p2", [candidate("cr_cri", 8, 10, 0.8)], {"first_author": None, "year": 2024})
    studies = harmonise([printed, bare], None)["studies"].set_index("paper")
    assert (studies.loc["p1", "study"], studies.loc["p2", "study"]) == ("Berg 2024", "p2")
    assert studies.loc["p1", "first_author"] == "Berg"
