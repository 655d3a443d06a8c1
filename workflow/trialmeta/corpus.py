"""Finding the papers of a corpus: one paper per file, named by its file stem."""

from __future__ import annotations

from pathlib import Path

PAPER_SUFFIXES = (".pdf", ".txt", ".md")


class CorpusError(ValueError):
    """The papers folder cannot be used as it is; the message says why."""


def find_papers(papers_dir: str | Path) -> dict[str, str]:
    """Map each paper name (file stem) to its path, sorted by name.

    Two files with the same stem (``a.pdf`` and ``a.txt``) would write the same
    outputs, so they are refused rather than one silently winning.
    """
    folder = Path(papers_dir)
    if not folder.is_dir():
        raise CorpusError(f"papers_dir {str(folder)!r} is not a folder")
    papers: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in PAPER_SUFFIXES:
            continue
        if path.name.startswith("."):
            continue
        if path.stem in papers:
            raise CorpusError(
                f"two papers in {str(folder)!r} share the name {path.stem!r}: "
                f"{Path(papers[path.stem]).name} and {path.name}; rename one"
            )
        papers[path.stem] = str(path)
    return dict(sorted(papers.items()))
