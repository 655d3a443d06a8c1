"""Reading speed on real PDFs: the reader beside bare pdfplumber, in one run.

For each PDF, seconds per page of `read_document` and of pdfplumber's
`page.extract_text()` over every page (both parse the file from scratch), run
alternately so machine load falls on both alike. Usage:

    python tools/reader_speed.py [FOLDER ...]     (default: ../shared/papers/real-pdf)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pdfplumber

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from trialmeta.extract.reading import ReadSettings, read_document  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "papers" / "real-pdf"


def bare_pdfplumber(path: Path) -> int:
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_text()
        return len(pdf.pages)


def measure(paths: list[Path], rounds: int = 2) -> list[tuple[str, int, float, float]]:
    rows = []
    for path in paths:
        reader, bare, pages = [], [], 0
        for _ in range(rounds):
            start = time.perf_counter()
            pages = bare_pdfplumber(path)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            read_document(path, ReadSettings(ocr="off"))
            reader.append(time.perf_counter() - start)
        rows.append((path.name, pages, min(reader) / pages, min(bare) / pages))
    return rows


def main(argv: list[str]) -> int:
    folders = [Path(a) for a in argv] or [DEFAULT]
    paths = sorted(p for folder in folders for p in folder.glob("*.pdf"))
    rows = measure(paths)
    print("| file | pages | reader s/page | pdfplumber extract_text s/page | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, pages, reader, bare in rows:
        print(f"| {name} | {pages} | {reader:.3f} | {bare:.3f} | {reader / bare:.2f} |")
    total_pages = sum(r[1] for r in rows)
    reader = sum(r[1] * r[2] for r in rows) / total_pages
    bare = sum(r[1] * r[3] for r in rows) / total_pages
    print(f"| all | {total_pages} | {reader:.3f} | {bare:.3f} | {reader / bare:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
