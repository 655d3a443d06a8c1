"""A text layer for a PDF without one: OCRmyPDF over Tesseract.

Called by the reader for a PDF none of whose pages has text (a scan, a
photographed page) when `ReadSettings.ocr` is "auto". It runs in the process
that reads the paper, so the per-paper time and memory limits
(extract/limits.py) hold for Tesseract too (a child process inherits the
memory limit; the parent's wall clock stops the whole group of processes).
The result is an ordinary PDF with invisible text over the page images,
read by the same code as any other PDF.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .model import DocumentError
from .settings import ReadSettings

# Rendering for Tesseract: pdfium (a pdfplumber dependency) instead of Ghostscript,
# and a plain PDF out (PDF/A conversion would need Ghostscript and changes nothing read).
_OCRMYPDF_OPTIONS = {"output_type": "pdf", "rasterizer": "pypdfium", "optimize": 0, "jobs": 1, "progress_bar": False}
def _package(language: str) -> str:
    """Debian's package of a Tesseract language ("chi_sim" -> "tesseract-ocr-chi-sim")."""
    return "tesseract-ocr-" + language.replace("_", "-").lower()


def _installed_languages(tesseract: str) -> set[str]:
    done = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True, timeout=60)
    # the first line is a heading ("List of available languages in ...")
    return {line.strip() for line in done.stdout.splitlines()[1:] if line.strip()}


def tesseract_version(tesseract: str) -> str:
    done = subprocess.run([tesseract, "--version"], capture_output=True, text=True, timeout=60)
    match = re.search(r"tesseract\s+v?(\S+)", done.stdout + done.stderr, re.IGNORECASE)
    return match.group(1) if match else "unknown version"


def _check_tesseract(path: str, settings: ReadSettings) -> str:
    """The Tesseract program, or a DocumentError naming the packages to install."""
    languages = settings.ocr_language.split("+")
    packages = " ".join(["tesseract-ocr"] + [_package(lang) for lang in languages])
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise DocumentError(
            "ocr_unavailable", path,
            "has no text layer and reading it needs OCR, but Tesseract is not installed: install the "
            f"system packages {packages} (Debian/Ubuntu: apt-get install -y {packages}; conda: "
            "conda install -c conda-forge tesseract), or set ocr: off to leave scanned papers out",
        )
    missing = [lang for lang in languages if lang not in _installed_languages(tesseract)]
    if missing:
        wanted = " ".join(_package(lang) for lang in missing)
        raise DocumentError(
            "ocr_unavailable", path,
            f"has no text layer and OCR in ocr_language={settings.ocr_language!r} needs Tesseract's language data "
            f"for {', '.join(missing)}, which is not installed: install {wanted} (apt-get install -y {wanted})",
        )
    return tesseract


# Signs outside the character set of Tesseract's English model (the tessdata
# "eng" of Debian has no ≥, ≤ or ±) come out as the nearest sign it has.
# Measured on text set in Vera at 300 dpi: "grade ≥3" -> "grade =3",
# "(≥5% blasts)" -> "(=5% blasts)", "61.2% ± 14.0%" -> "61.2% + 14.0%",
# "grade 1" -> "grade |"; "≤2" comes out as "S2" or "s2", which no number
# reading takes for a sign, so it is left as it is. Each repair keeps the
# text's length, so the passages' spans stay right. A true "=" is set with a
# space on both sides ("n = 14") or none ("n=14"), never only after it; a
# true "+" between two numbers with spaces is a sum, which results text does
# not print between a percentage and a spread.
OCR_SIGN_REPAIRS = (
    (re.compile(r"(?<![^\s(\[])=(?=\d)"), "≥"),
    (re.compile(r"(?<=\d%) \+ (?=\d)|(?<=\d) \+ (?=\d+(?:\.\d+)?%)|(?<=\d\.\d) \+ (?=\d+\.\d)"), " ± "),
    (re.compile(r"(?<=\bgrade )\|(?=[\s,.;:)])", re.IGNORECASE), "1"),
)


def repair_signs(text: str) -> str:
    """OCR text with the signs Tesseract's model cannot write put back (see OCR_SIGN_REPAIRS)."""
    for pattern, sign in OCR_SIGN_REPAIRS:
        text = pattern.sub(sign, text)
    return text


def ocr_pdf(path: str, data: bytes, settings: ReadSettings) -> tuple[bytes, str]:
    """(the PDF with a Tesseract text layer, what read it: "Tesseract 5.3.0 (eng) via OCRmyPDF 17.13.0")."""
    tesseract = _check_tesseract(path, settings)
    import ocrmypdf  # imported here: only scanned papers need it, and it takes a moment to load

    # One thread per Tesseract: the per-paper child already shares the cores with the other jobs.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    with tempfile.TemporaryDirectory(prefix="trialmeta-ocr-") as scratch:
        source, target = Path(scratch, "scan.pdf"), Path(scratch, "ocr.pdf")
        source.write_bytes(data)
        try:
            ocrmypdf.ocr(source, target, language=settings.ocr_language.split("+"), **_OCRMYPDF_OPTIONS)
        except ocrmypdf.exceptions.MissingDependencyError as err:
            raise DocumentError(
                "ocr_unavailable", path, f"has no text layer and OCR cannot run: {err}; install tesseract-ocr"
            ) from err
        except ocrmypdf.exceptions.ExitCodeException as err:
            raise DocumentError(
                "unreadable", path, f"has no text layer and OCR failed on it ({type(err).__name__}: {err}); "
                "re-scan or re-save the file",
            ) from err
        result = target.read_bytes()
    return result, f"Tesseract {tesseract_version(tesseract)} ({settings.ocr_language}) via OCRmyPDF {ocrmypdf.__version__}"
