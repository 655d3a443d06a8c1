"""Extraction accuracy per endpoint on the shared papers (PDF and text), the demo corpus and both
parts of the development corpus of real reports.

Runs the extractor and the harmonise stage with curation off (extracted values only) and
compares with the gold files in tests/gold/. The development corpus (dev/corpus/, git-ignored)
is scored in two parts: the tuned part, which the extractor's rules were developed on, and the
held-out part (tests/gold/devcorpus_heldout.txt), looked at only to measure; where dev/corpus/ is
absent (CI, a fresh clone) both are skipped, saying so. Usage:

    python tools/evaluate_extraction.py [--only NAME ...] [--corpus NAME=FOLDER:GOLD ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from trialmeta.extract.corpus import find_papers  # noqa: E402
from trialmeta.extract.evaluation import evaluate, evaluate_metadata, load_gold, load_gold_csv, match  # noqa: E402
from trialmeta.extract.extraction import extract_paper  # noqa: E402
from trialmeta.harmonise.table import harmonise  # noqa: E402
from trialmeta.extract.lexicon import load_lexicon  # noqa: E402

SHARED = ROOT.parent / "shared" / "papers"
DEFAULT_CORPORA = {
    "real-pdf": (SHARED / "pdf", ROOT / "tests/gold/real.yaml"),
    "real-text": (SHARED / "text", ROOT / "tests/gold/real.yaml"),
    "demo": (ROOT / "resources/papers", ROOT / "tests/gold/demo.yaml"),
    "devcorpus-tuned": (ROOT / "dev/corpus", ROOT / "tests/gold/devcorpus.csv"),
    "devcorpus-heldout": (ROOT / "dev/corpus", ROOT / "tests/gold/devcorpus.csv"),
}
HELDOUT = ROOT / "tests/gold/devcorpus_heldout.txt"


def papers_of(name: str, folder: Path) -> list[Path]:
    """The corpus's paper files; the development corpus split into its tuned and held-out parts."""
    papers = find_papers(folder)
    if not name.startswith("devcorpus-"):
        return list(papers.values())
    heldout = set(HELDOUT.read_text(encoding="utf-8").split())
    keep = (lambda p: p in heldout) if name == "devcorpus-heldout" else (lambda p: p not in heldout)
    return [path for paper, path in papers.items() if keep(paper)]


def run(paths: list[Path], gold_path: Path, lexicon_path: Path):
    lexicon = load_lexicon(lexicon_path)
    records = [extract_paper(path, lexicon) for path in paths]
    tables = harmonise(records, curation_dir=None)
    if gold_path.suffix == ".csv":
        gold = load_gold_csv(gold_path, {Path(path).stem for path in paths})
    else:
        gold = load_gold(gold_path)
    return evaluate(tables["endpoints"], gold), evaluate_metadata(tables["studies"], gold), tables


def print_errors(endpoints: pd.DataFrame, gold_path: Path) -> None:
    """Per paper: extracted rows that match no gold entry (wrong) and gold entries nothing matched (missed)."""
    papers = set(endpoints["paper"])
    gold = load_gold_csv(gold_path, papers) if gold_path.suffix == ".csv" else load_gold(gold_path)
    for paper, facts in sorted(gold.items()):
        rows = endpoints[endpoints["paper"] == paper]
        wrong = [r for _, r in rows.iterrows() if not any(match(e, r) for e in facts["endpoints"])]
        missed = [e for e in facts["endpoints"] if not any(match(e, r) for _, r in rows.iterrows())]
        if not wrong and not missed:
            continue
        print(f"-- {paper}")
        for r in wrong:
            values = {k: r[k] for k in ("landmark_months", "events", "total", "estimate", "ci_low", "ci_high") if not pd.isna(r[k])}
            print(f"   WRONG  {r['endpoint']} {values} <- {str(r['quote'])[:160]!r}")
        for e in missed:
            print(f"   MISSED {e}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", default=[], help="NAME=FOLDER:GOLD (repeatable)")
    parser.add_argument("--lexicon", default=str(ROOT / "resources/lexicon.yaml"))
    parser.add_argument("--details", action="store_true", help="print every extracted row")
    parser.add_argument("--errors", action="store_true", help="print every wrong and every missed value")
    parser.add_argument("--only", action="append", default=[], help="score only this corpus (repeatable)")
    args = parser.parse_args(argv)
    corpora = dict(DEFAULT_CORPORA)
    for spec in args.corpus:
        name, rest = spec.split("=", 1)
        folder, gold = rest.rsplit(":", 1)
        corpora[name] = (Path(folder), Path(gold))
    pd.set_option("display.width", 160)
    summary = []
    for name, (folder, gold) in corpora.items():
        if args.only and name not in args.only:
            continue
        if not folder.is_dir() or not gold.exists():
            print(f"== {name}: skipped ({folder} or {gold} missing)\n")
            continue
        paths = papers_of(name, folder)
        scores, metadata, tables = run(paths, gold, Path(args.lexicon))
        overall = scores[scores["endpoint"] == "all"].iloc[0]
        summary.append((name, len(paths), int(overall["gold"]), overall["precision"], overall["recall"], overall["f1"]))
        print(f"== {name} ({folder})")
        print(scores.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if gold.suffix == ".csv":
            print("metadata: not scored (the development-corpus gold holds endpoint values only)")
        else:
            print(f"metadata fields correct: {int(metadata['correct'].sum())}/{len(metadata)}")
            wrong = metadata[~metadata["correct"]]
            if not wrong.empty:
                print(wrong.to_string(index=False))
        if args.errors:
            print_errors(tables["endpoints"], gold)
        if args.details:
            print(tables["endpoints"].drop(columns=["quote", "trial_ids"]).to_string(index=False))
        print()
    if summary:
        print("| corpus | papers | values | precision | recall | F1 |\n|---|---|---|---|---|---|")
        for name, papers, values, precision, recall, f1 in summary:
            print(f"| {name} | {papers} | {values} | {precision:.3f} | {recall:.3f} | {f1:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
