#!/usr/bin/env python3
"""Time `read_document` against bare pdfplumber `page.extract_text()`.

Both read every page of the same PDFs (default: the typeset papers in
../shared/papers/pdf and pdf-alt), `--repeats` times each, alternating so
that caches and CPU frequency treat them alike; the best (minimum) total of
each is compared. Not a test: timings depend on the machine.

Usage: python tools/bench_reading.py [PDF ...] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pdfplumber

from trialmeta.extract.reading import read_document

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT.parent / "shared" / "papers"


def plain_extraction(paths: list[Path]) -> int:
    characters = 0
    for path in paths:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                characters += len(page.extract_text() or "")
    return characters


def reader(paths: list[Path]) -> int:
    return sum(sum(len(p.text) for p in read_document(path).passages) for path in paths)


def timed(function, paths: list[Path]) -> float:
    start = time.perf_counter()
    function(paths)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    paths = args.pdfs or sorted((PAPERS / "pdf").glob("*.pdf")) + sorted((PAPERS / "pdf-alt").glob("*.pdf"))
    if not paths:
        print("no PDFs given or found", file=sys.stderr)
        return 1
    plain_times, reader_times = [], []
    for _ in range(args.repeats):
        plain_times.append(timed(plain_extraction, paths))
        reader_times.append(timed(reader, paths))
    plain, read = min(plain_times), min(reader_times)
    n_pages = 0
    for path in paths:
        with pdfplumber.open(path) as pdf:
            n_pages += len(pdf.pages)
    print(f"{len(paths)} PDFs, {n_pages} pages, best of {args.repeats} runs")
    print(f"  page.extract_text(): {plain:7.3f} s  ({1000 * plain / n_pages:6.1f} ms/page)")
    print(f"  read_document():     {read:7.3f} s  ({1000 * read / n_pages:6.1f} ms/page)")
    print(f"  ratio:               {read / plain:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
