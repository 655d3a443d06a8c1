#!/usr/bin/env python3
"""What the review pages add to a full run: one run, the share of its wall time.

    .venv/bin/python tools/bench_review.py [--papers resources/papers] [--cores 1]

Runs the whole pipeline (every output of `rule all`) from scratch in a scratch folder, then reads
Snakemake's benchmark TSVs: the seconds of the review jobs (one per paper and the index) over the
run's wall time. With one core the jobs run one after another, so their seconds are the time the
review pages add; the page sizes are listed too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", default=str(ROOT / "resources/papers"))
    parser.add_argument("--curation", default=str(ROOT / "resources/curation"))
    parser.add_argument("--cores", default="1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_review_") as scratch:
        results = Path(scratch) / "results"
        command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", scratch,
                   "--cores", args.cores, "--configfile", str(ROOT / "config.yaml"), "--config",
                   f"papers_dir={args.papers}", f"curation_dir={args.curation}", f"lexicon={ROOT / 'resources/lexicon.yaml'}",
                   f"results_dir={results}"]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - start
        benchmarks = results / "logs" / "benchmarks"
        review = sum(float(pd.read_csv(p, sep="\t")["s"].iloc[0]) for p in (benchmarks / "review").glob("*.tsv"))
        jobs = sum(float(pd.read_csv(p, sep="\t")["s"].iloc[0]) for p in benchmarks.rglob("*.tsv"))
        sizes = sorted((p.stat().st_size, p.name) for p in (results / "review").glob("*.html"))
    print(f"full run wall time {wall:.1f} s (all jobs {jobs:.1f} s); review jobs {review:.1f} s = "
          f"{100 * review / wall:.1f}% of the wall time")
    for size, name in sizes:
        print(f"  {name}: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
