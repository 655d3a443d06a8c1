"""The extraction record of a paper that gave no result, in one place.

Light on purpose (no reader imports): the per-paper job's parent process
writes these records when the child that extracts the paper goes over a limit
or crashes (`trialmeta.extract.limits`), and `trialmeta.extract.extraction.extract_paper`
writes them when the reader refuses the file.
"""

from __future__ import annotations

from pathlib import Path


def failed_record(path: str, lexicon_name: str, kind: str, message: str) -> dict:
    """A ``status: failed`` record; `message` should name the file, failures.csv shows it as is."""
    return {
        "paper": Path(path).stem, "file": Path(path).name, "lexicon": Path(lexicon_name).name,
        "status": "failed", "error": {"kind": kind, "message": message}, "tables": [], "candidates": [], "chosen": [],
    }
