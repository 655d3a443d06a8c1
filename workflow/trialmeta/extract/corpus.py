"""Finding the papers of a corpus: one paper per file, named by its file stem.

The name becomes part of output paths ({results_dir}/extracted/{paper}.json)
and a Snakemake wildcard, so names that could do harm there are refused before
anything runs, all in one message: braces (Snakemake reads them as wildcards)
and control characters (a newline in a file name breaks logs and tables).
A file name holds no path separator, and hidden files (a leading dot, which
also rules out "." and "..") are skipped, so an output path built from a paper
name always stays inside its folder under results_dir.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

PAPER_SUFFIXES = (".pdf", ".txt", ".md")
_UNSAFE = re.compile(r"[{}\x00-\x1f\x7f]")


class CorpusError(ValueError):
    """The papers folder cannot be used as it is; the message says why."""


def _same_name_key(stem: str) -> str:
    # Case-insensitive file systems (macOS, Windows) and macOS's Unicode
    # normalisation would make these two names write the same outputs.
    return unicodedata.normalize("NFC", stem).casefold()


def find_papers(papers_dir: str | Path) -> dict[str, str]:
    """Map each paper name (file stem) to its path, sorted by name.

    Two files whose stems are the same up to case or Unicode normalisation
    (``a.pdf`` and ``A.txt``) would write the same outputs, so they are refused
    rather than one silently winning; so are names Snakemake cannot carry.
    """
    folder = Path(papers_dir)
    if not folder.is_dir():
        raise CorpusError(f"papers_dir {str(folder)!r} is not a folder")
    papers: dict[str, str] = {}
    seen: dict[str, str] = {}
    unsafe: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in PAPER_SUFFIXES or not path.is_file():
            continue
        if _UNSAFE.search(path.name):
            unsafe.append(repr(path.name))
            continue
        key = _same_name_key(path.stem)
        if key in seen:
            raise CorpusError(
                f"two papers in {str(folder)!r} share the name {path.stem!r}: "
                f"{Path(seen[key]).name} and {path.name}; rename one"
            )
        seen[key] = str(path)
        papers[path.stem] = str(path)
    if unsafe:
        raise CorpusError(
            f"papers in {str(folder)!r} have names with braces or control characters, which cannot name "
            f"outputs: {', '.join(unsafe)}; rename them (letters, digits, spaces, - _ ( ) are safe)"
        )
    return dict(sorted(papers.items()))
