"""The development corpus of real trial reports: split, merge of annotators' gold, checks.

The texts live in the git-ignored dev/corpus/ (never committed: the sources forbid copying them);
docs/devcorpus.md says how a new machine collects them again. What is committed:

  tests/gold/devcorpus.csv          facts-only gold, one row per paper x endpoint x landmark x cohort
  tests/gold/devcorpus_sources.csv  the reports added beyond ../shared/devcorpus/index.csv
  tests/gold/devcorpus_heldout.txt  the set-aside third, looked at only to measure

Usage:
  python tools/devcorpus.py split     # (re)write the held-out list from the papers in the gold
  python tools/devcorpus.py merge     # annotators' tests/gold/devcorpus/gold_*.csv -> tests/gold/devcorpus.csv
  python tools/devcorpus.py check     # gold numbers that do not appear in the paper's text
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests/gold/devcorpus.csv"
HELDOUT = ROOT / "tests/gold/devcorpus_heldout.txt"
CORPUS = ROOT / "dev/corpus"
# The split is a fixed function of the paper id (a seeded hash, a third held out): adding papers
# never moves an existing paper between the parts, and nobody chooses which papers are held out.
SPLIT_SEED = "trialmeta-devcorpus-2026-12-02"
HELD_OUT_ONE_IN = 3


def held_out(short_id: str) -> bool:
    digest = hashlib.sha256(f"{SPLIT_SEED}:{short_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % HELD_OUT_ONE_IN == 0


def gold_papers(path: Path = GOLD) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return sorted({row["paper"] for row in csv.DictReader(handle)})


def split() -> None:
    papers = gold_papers()
    out = [p for p in papers if held_out(p)]
    HELDOUT.write_text("".join(f"{p}\n" for p in out), encoding="utf-8")
    print(f"{len(out)} of {len(papers)} papers held out -> {HELDOUT.relative_to(ROOT)}")


def merge() -> None:
    rows, header = [], None
    for part in sorted((ROOT / "tests/gold/devcorpus").glob("gold_*.csv")):
        with open(part, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = header or reader.fieldnames
            rows += list(reader)
    rows.sort(key=lambda r: (r["paper"], r["endpoint"], r["timepoint_months"], r["population"]))
    with open(GOLD, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {GOLD.relative_to(ROOT)}")


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", text.replace(",", "")))


def check() -> int:
    missing = 0
    with open(GOLD, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            path = CORPUS / f"{row['paper']}.txt"
            if not path.exists():
                print(f"{row['paper']}: no text in dev/corpus")
                continue
            found = _numbers(path.read_text(encoding="utf-8"))
            for field in ("events", "total", "estimate", "ci_low", "ci_high"):
                value = row[field]
                if value and value not in found and f"{float(value):g}" not in found and "implied" not in row["notes"]:
                    missing += 1
                    print(f"{row['paper']} {row['endpoint']} {field}={value}: not in the text ({row['notes']})")
    return 1 if missing else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("split", "merge", "check"))
    args = parser.parse_args(argv)
    if args.command == "split":
        split()
    elif args.command == "merge":
        merge()
    else:
        return check()
    return 0


if __name__ == "__main__":
    sys.exit(main())
