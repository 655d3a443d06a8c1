"""Extraction accuracy per endpoint on the real papers (PDF and text) and the demo corpus.

Runs the extractor and the harmonise stage with curation off (extracted values
only) and compares with the gold files in tests/gold/. Usage:

    python tools/evaluate_extraction.py [--corpus NAME=FOLDER:GOLD ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from trialmeta.extract.corpus import find_papers  # noqa: E402
from trialmeta.extract.evaluation import evaluate, evaluate_metadata, load_gold  # noqa: E402
from trialmeta.extract.extraction import extract_paper  # noqa: E402
from trialmeta.harmonise.table import harmonise  # noqa: E402
from trialmeta.extract.lexicon import load_lexicon  # noqa: E402

SHARED = ROOT.parent / "shared" / "papers"
DEFAULT_CORPORA = {
    "real-pdf": (SHARED / "pdf", ROOT / "tests/gold/real.yaml"),
    "real-text": (SHARED / "text", ROOT / "tests/gold/real.yaml"),
    "demo": (ROOT / "resources/papers", ROOT / "tests/gold/demo.yaml"),
}


def run(folder: Path, gold_path: Path, lexicon_path: Path):
    lexicon = load_lexicon(lexicon_path)
    records = [extract_paper(path, lexicon) for path in find_papers(folder).values()]
    tables = harmonise(records, curation_dir=None)
    gold = load_gold(gold_path)
    return evaluate(tables["endpoints"], gold), evaluate_metadata(tables["studies"], gold), tables


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", default=[], help="NAME=FOLDER:GOLD (repeatable)")
    parser.add_argument("--lexicon", default=str(ROOT / "resources/lexicon.yaml"))
    parser.add_argument("--details", action="store_true", help="print every extracted row")
    args = parser.parse_args(argv)
    corpora = dict(DEFAULT_CORPORA)
    for spec in args.corpus:
        name, rest = spec.split("=", 1)
        folder, gold = rest.rsplit(":", 1)
        corpora[name] = (Path(folder), Path(gold))
    pd.set_option("display.width", 160)
    for name, (folder, gold) in corpora.items():
        if not folder.is_dir() or not gold.exists():
            print(f"== {name}: skipped ({folder} or {gold} missing)\n")
            continue
        scores, metadata, tables = run(folder, gold, Path(args.lexicon))
        print(f"== {name} ({folder})")
        print(scores.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(f"metadata fields correct: {int(metadata['correct'].sum())}/{len(metadata)}")
        wrong = metadata[~metadata["correct"]]
        if not wrong.empty:
            print(wrong.to_string(index=False))
        if args.details:
            print(tables["endpoints"].drop(columns=["quote", "trial_ids"]).to_string(index=False))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
