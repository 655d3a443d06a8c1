"""OCR of PDFs without a text layer: the demo papers printed to pictures
(pypdfium2, at a scanner's 300 dpi) must be read back by OCRmyPDF/Tesseract
about as well as the typeset PDFs are read from their text layer.

The reference is the hand-made gold file (tests/gold/demo.yaml), scored by the
same functions as tools/evaluate_extraction.py; the text-layer F1 is computed
in the same run, so the test compares OCR with the reader's own best.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pypdfium2
import pytest

from trialmeta.extract.evaluation import evaluate, load_gold
from trialmeta.extract.extraction import extract_paper
from trialmeta.extract.lexicon import load_lexicon
from trialmeta.extract.limits import PaperLimits, extract_within_limits
from trialmeta.extract.reading import DocumentError, ReadSettings, read_document
from trialmeta.extract.reading import ocr as ocr_module
from trialmeta.harmonise.table import harmonise

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources/papers"
LEXICON = ROOT / "resources/lexicon.yaml"
DPI = 300

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="Tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng; .ci/run installs it in CI)",
)


def scan_of(pdf: Path, out: Path) -> Path:
    """`pdf` as a scanner would give it: one greyscale picture per page, no text layer."""
    document = pypdfium2.PdfDocument(str(pdf))
    pictures = [document[i].render(scale=DPI / 72).to_pil().convert("L") for i in range(len(document))]
    pictures[0].save(out, "PDF", save_all=True, append_images=pictures[1:], resolution=DPI)
    return out


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> Path:
    """The demo papers as scans, under their own file names (so the gold file applies)."""
    folder = tmp_path_factory.mktemp("scans")
    for pdf in sorted(DEMO.glob("*.pdf")):
        scan_of(pdf, folder / pdf.name)
    return folder


def _f1(records: list[dict]) -> float:
    scores = evaluate(harmonise(records, curation_dir=None)["endpoints"], load_gold(ROOT / "tests/gold/demo.yaml"))
    return float(scores.set_index("endpoint").loc["all", "f1"])


@needs_tesseract
def test_scans_have_no_text_layer(scans):
    for scan in scans.glob("*.pdf"):
        with pytest.raises(DocumentError) as error:
            read_document(scan, ReadSettings(ocr="off"))
        assert error.value.kind == "image_only"


@needs_tesseract
def test_ocr_read_demo_papers_score_within_0_05_of_the_text_layer(scans, capsys):
    lexicon = load_lexicon(LEXICON)
    typeset = [extract_paper(str(pdf), lexicon) for pdf in sorted(DEMO.glob("*.pdf"))]
    start = time.perf_counter()
    scanned = [extract_paper(str(pdf), lexicon) for pdf in sorted(scans.glob("*.pdf"))]
    seconds = time.perf_counter() - start
    pages = sum(record["n_pages"] for record in scanned)
    text_f1, ocr_f1 = _f1(typeset), _f1(scanned)
    with capsys.disabled():
        print(f"\nF1 text layer {text_f1:.3f}, OCR {ocr_f1:.3f}; OCR read {pages} pages in {seconds:.1f} s "
              f"({seconds / pages:.1f} s/page, reading and extraction included)")
    assert all(record["status"] == "ok" for record in scanned)
    assert text_f1 > 0.5  # the comparison means something only if the typeset papers are read well
    assert ocr_f1 >= text_f1 - 0.05


@needs_tesseract
def test_values_from_ocr_text_are_flagged_and_ranked_lower(scans):
    lexicon = load_lexicon(LEXICON)
    name = "tandem_cd19cd22_rr_all.pdf"
    typeset, scanned = extract_paper(str(DEMO / name), lexicon), extract_paper(str(scans / name), lexicon)
    assert any("read by OCR (Tesseract" in w for w in scanned["warnings"])
    assert scanned["candidates"] and all("ocr" in c["context"] for c in scanned["candidates"])
    assert not any("ocr" in c["context"] for c in typeset["candidates"])
    def key(c):  # one value of one sentence
        return c["endpoint"], c["landmark_months"], c["events"], c["total"], c["estimate"], c["rule"], c["quote"]

    text_layer = {key(c): c["confidence"] for c in typeset["candidates"]}
    same = [(text_layer[key(c)], c["confidence"]) for c in scanned["candidates"] if key(c) in text_layer]
    assert same, "OCR should read some sentences exactly as the text layer has them"
    # lower, except where the text-layer value is already at the floor of 0.01
    assert all(ocr < text or ocr == text == 0.01 for text, ocr in same)


@needs_tesseract
def test_ocr_runs_in_the_per_paper_child_within_its_limits(scans, tmp_path):
    scan = scans / "tandem_cd19cd22_rr_all.pdf"
    record, _ = extract_within_limits(str(scan), str(LEXICON), PaperLimits(seconds=300), {"ocr": "auto", "ocr_language": "eng"})
    assert record["status"] == "ok" and any("OCR" in w for w in record["warnings"])
    refused, _ = extract_within_limits(str(scan), str(LEXICON), PaperLimits(seconds=300), {"ocr": "off", "ocr_language": "eng"})
    assert refused["status"] == "failed" and refused["error"]["kind"] == "image_only"
    slow, _ = extract_within_limits(str(scan), str(LEXICON), PaperLimits(seconds=1), {"ocr": "auto", "ocr_language": "eng"})
    assert slow["status"] == "failed" and slow["error"]["kind"] == "time_limit"


def test_without_tesseract_the_error_names_the_package(tmp_path, monkeypatch):
    scan = scan_of(DEMO / "tandem_cd19cd22_rr_all.pdf", tmp_path / "scan.pdf")
    monkeypatch.setattr(ocr_module.shutil, "which", lambda name: None)
    with pytest.raises(DocumentError) as error:
        read_document(scan)
    assert error.value.kind == "ocr_unavailable"
    assert "apt-get install -y tesseract-ocr tesseract-ocr-eng" in str(error.value) and str(scan) in str(error.value)


@needs_tesseract
def test_a_missing_language_names_its_package(tmp_path):
    scan = scan_of(DEMO / "tandem_cd19cd22_rr_all.pdf", tmp_path / "scan.pdf")
    with pytest.raises(DocumentError) as error:
        read_document(scan, ReadSettings(ocr_language="eng+zzz"))
    assert error.value.kind == "ocr_unavailable" and "tesseract-ocr-zzz" in str(error.value)


@pytest.mark.parametrize("field, value", [("ocr", "sometimes"), ("ocr_language", "English"), ("ocr_language", "")])
def test_bad_ocr_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        ReadSettings(**{field: value})
