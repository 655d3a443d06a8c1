#!/usr/bin/env python3
"""The scale benchmark: one table of figures, each measured in this one run.

    /work/venv/bin/python tools/benchmark.py            # N = 200 / 1,000 papers, k = 200 / 10,000
    /work/venv/bin/python tools/benchmark.py --quick    # small sizes, about a minute (used by a test)

Everything runs in a scratch folder (default: a new folder under /tmp), never in results/:
  1. a synthetic corpus of --n-dry papers (tools/make_synthetic_corpus.py); its first --n-full
     papers are the corpus of the full run (paper i depends only on the seed and i);
  2. extraction (`extract_paper`: reading + extraction) against bare pdfplumber
     `page.extract_text()` on the same PDFs, alternating, best of --repeats;
  3. Snakemake (the repository's Snakefile, config and default profile, 2 cores): dry run for
     --n-dry papers, full run for --n-full, a rerun with nothing changed, and the rerun after
     adding one paper, as a share of the full run;
  4. pooling: every measure x method with z and Knapp-Hartung intervals, the GLMM and the
     sensitivity analyses for k = --k, and REML for k = --k-reml (bench_pooling's simulation);
  5. extractor precision/recall/F1 on the corpus of the full run, from the pipeline's
     endpoints.csv, by trialmeta.extract.evaluation (the code tools/evaluate_extraction.py runs);
  6. peak memory (RSS) of this process and of the largest Snakemake process or job.
Timings depend on the machine and its load: compare the ratios, which are measured in one run.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "workflow")]

import bench_pooling  # noqa: E402
import bench_reading  # noqa: E402
import make_synthetic_corpus  # noqa: E402
from trialmeta.pool.effects import MEASURES, proportion_effects  # noqa: E402
from trialmeta.extract.evaluation import evaluate, evaluate_metadata, load_gold  # noqa: E402
from trialmeta.extract.extraction import extract_paper  # noqa: E402
from trialmeta.extract.lexicon import load_lexicon  # noqa: E402
from trialmeta.pool.glmm import fit_glmm  # noqa: E402
from trialmeta.pool.models import METHODS, fit_meta  # noqa: E402
from trialmeta.pool.sensitivity import cumulative, egger_test, leave_one_out, trim_and_fill  # noqa: E402

TARGETS = {
    "extraction_ratio": 1.5,  # x bare pdfplumber
    "dry_run_seconds": 10.0,
    "add_one_share": 0.05,
    "pooling_seconds": 5.0,
    "figures_share": 0.25,  # of the full run's job-seconds
    "report_mb": 10.0,
}
# A paper that reports one endpoint (CRS, any grade) and nothing else: adding it must redraw
# only that endpoint's figures. Written in the project's own words.
ONE_ENDPOINT_PAPER = (
    "A single-centre phase 1 study of CD19-directed CAR T cells in adults with relapsed B-cell acute "
    "lymphoblastic leukaemia.\n\nMethods: Twenty-two patients received one infusion of CAR T cells.\n\n"
    "Results: Cytokine release syndrome of any grade was seen in 13 of 22 patients (59%).\n"
)
FIGURE_RULES = ("figures",)  # the folder of logs/benchmarks holding every figure job
FULL = {"n_full": 200, "n_dry": 1000, "k": 200, "k_reml": 10_000, "extraction_pdfs": 60}
QUICK = {"n_full": 5, "n_dry": 20, "k": 20, "k_reml": 1000, "extraction_pdfs": 3}


# ---------------------------------------------------------------------------------------------
def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def extraction_times(pdfs: list[Path], repeats: int) -> dict:
    """Best-of-`repeats` seconds of bare extract_text, read_document and extract_paper, alternating."""
    lexicon = load_lexicon(ROOT / "resources/lexicon.yaml")
    best = {"plain": float("inf"), "read": float("inf"), "extract": float("inf")}
    for _ in range(repeats):
        best["plain"] = min(best["plain"], timed(bench_reading.plain_extraction, pdfs)[0])
        best["read"] = min(best["read"], timed(bench_reading.reader, pdfs)[0])
        best["extract"] = min(best["extract"], timed(lambda: [extract_paper(str(p), lexicon) for p in pdfs])[0])
    return best


def pooling_times(k: int, k_reml: int) -> dict:
    """Seconds of every analysis for k studies, and of one REML fit for k_reml studies."""
    events, total = bench_pooling.simulate(k)
    effects = {measure: proportion_effects(events, total, measure) for measure in MEASURES}
    fits = sum(bench_pooling.timed(fit_meta, effects[measure], method, ci_method)
               for measure in MEASURES for method in METHODS for ci_method in ("z", "hk"))
    glmm = bench_pooling.timed(fit_glmm, events, total)
    logit = effects["PLO"]
    sensitivity = sum(bench_pooling.timed(analysis, logit, "REML")
                      for analysis in (leave_one_out, cumulative, egger_test, trim_and_fill))
    events, total = bench_pooling.simulate(k_reml)
    reml = bench_pooling.timed(fit_meta, proportion_effects(events, total, "PLO"), "REML")
    return {"fits": fits, "glmm": glmm, "sensitivity": sensitivity, "all": fits + glmm + sensitivity,
            "reml_large": reml, "n_fits": 2 * len(MEASURES) * len(METHODS)}


def snapshot_workflow(target: Path) -> Path:
    """A copy of the workflow as it is now, so edits made during the benchmark do not rerun jobs."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("workflow", "profiles/default"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in ("Snakefile", "config.yaml", "environment.yml", "resources/lexicon.yaml"):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def child_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process's finished children: unlike wall time, barely
    inflated when other processes share the cores."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


class Pipeline:
    """The workflow (a snapshot of the repository's) run on a papers folder, results in a scratch folder."""

    def __init__(self, code: Path, workdir: Path, papers: Path, results: Path, log: Path):
        self.code, self.workdir, self.papers, self.results, self.log = code, workdir, papers, results, log
        self.cpu_seconds = 0.0  # of the last run

    def run(self, *extra: str) -> float:
        command = [
            sys.executable, "-m", "snakemake", "--snakefile", str(self.code / "Snakefile"),
            "--directory", str(self.workdir), "--configfile", str(self.code / "config.yaml"),
            "--profile", str(self.code / "profiles/default"), "--cores", "2",
            "--config", f"papers_dir={self.papers}", f"results_dir={self.results}",
            f"lexicon={self.code / 'resources/lexicon.yaml'}", f"curation_dir={ROOT / 'resources/curation'}",
            *extra,
        ]
        start, cpu = time.perf_counter(), child_cpu_seconds()
        with self.log.open("a") as log:
            log.write(f"\n$ {' '.join(command)}\n")
            log.flush()
            done = subprocess.run(command, cwd=self.code, stdout=log, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - start
        self.cpu_seconds = child_cpu_seconds() - cpu
        if done.returncode != 0:
            raise SystemExit(f"snakemake failed ({done.returncode}); see {self.log}")
        return seconds


def accuracy(results: Path, papers: Path, gold_path: Path) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Scores of the pipeline's endpoints.csv (all papers and per file format) against the gold."""
    endpoints = pd.read_csv(results / "tables/endpoints.csv", dtype={"events": "Int64", "total": "Int64"})
    studies = pd.read_csv(results / "tables/studies.csv", dtype={"year": "Int64"})
    formats = {path.stem: path.suffix.lstrip(".") for path in papers.iterdir()}
    gold = {paper: facts for paper, facts in load_gold(gold_path).items() if paper in formats}
    scores = evaluate(endpoints, gold)
    by_format = {}
    # papers without gold (the benchmark's one-endpoint paper) are not scored
    for fmt in sorted({formats[paper] for paper in gold}):
        subset = {paper: facts for paper, facts in gold.items() if formats[paper] == fmt}
        by_format[fmt] = float(evaluate(endpoints, subset).set_index("endpoint").loc["all", "f1"])
    return scores, by_format, evaluate_metadata(studies, gold)


def job_seconds(results: Path, since: float = 0.0) -> dict[str, list]:
    """[jobs, seconds] per rule from Snakemake's benchmark files (the rules' `benchmark:`) written after `since`.

    The file's folder under logs/benchmarks names the rule (figures/ holds both figure rules).
    """
    totals: dict[str, list] = {}
    for path in sorted((results / "logs" / "benchmarks").rglob("*.tsv")):
        if path.stat().st_mtime < since:
            continue
        relative = path.relative_to(results / "logs" / "benchmarks")
        rule = relative.parts[0] if len(relative.parts) > 1 else path.stem
        seconds = float(pd.read_csv(path, sep="\t")["s"].iloc[0])
        entry = totals.setdefault(rule, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds
    return totals


def _by_rule(totals: dict[str, list]) -> str:
    return ", ".join(f"{rule} {seconds:.0f} s ({jobs} job{'s' if jobs > 1 else ''})" for rule, (jobs, seconds) in totals.items())


def peak_memory_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports kB


# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, figures not meaningful")
    parser.add_argument("--scratch", type=Path, help="scratch folder (default: a new one under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--repeats", type=int, default=1, help="extraction timing repeats (best of)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    for name, value in FULL.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, help=f"default {value} ({QUICK[name]} with --quick)")
    args = parser.parse_args(argv)
    sizes = {name: getattr(args, name) or (QUICK if args.quick else FULL)[name] for name in FULL}
    if sizes["n_dry"] <= sizes["n_full"]:
        parser.error("--n-dry must exceed --n-full (the added paper comes from the larger corpus)")
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="trialmeta_bench_"))
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / "snakemake.log"
    figures: dict = {"sizes": sizes}
    try:
        say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
        say(f"scratch folder {scratch}; Snakemake output goes to {log}")

        code = snapshot_workflow(scratch / "workflow_snapshot")
        say(f"generating {sizes['n_dry']} synthetic papers ...")
        generated = scratch / "corpus"
        seconds, _ = timed(make_synthetic_corpus.write_corpus, generated, sizes["n_dry"], workers=2)
        all_papers = sorted((generated / "papers").iterdir())
        figures["generate_seconds"] = seconds
        figures["generate_pdfs"] = sum(p.suffix == ".pdf" for p in all_papers)
        full_papers = scratch / "papers_full"
        full_papers.mkdir(exist_ok=True)
        for path in all_papers[: sizes["n_full"]]:
            shutil.copy2(path, full_papers / path.name)

        pdfs = [p for p in sorted(full_papers.iterdir()) if p.suffix == ".pdf"][: sizes["extraction_pdfs"]]
        say(f"extraction vs pdfplumber on {len(pdfs)} PDFs ...")
        extraction = extraction_times(pdfs, args.repeats)
        figures["extraction"] = {**extraction, "pdfs": len(pdfs)}

        say("pooling ...")
        figures["pooling"] = pooling_times(sizes["k"], sizes["k_reml"])
        figures["peak_rss_process_mb"] = peak_memory_mb(resource.RUSAGE_SELF)

        say(f"snakemake dry run, {sizes['n_dry']} papers ...")
        # the cores are often shared: the load before and the CPU seconds beside each wall time
        figures["load_average"] = os.getloadavg()
        cpu = child_cpu_seconds()
        figures["snakemake_startup_seconds"] = timed(
            subprocess.run, [sys.executable, "-m", "snakemake", "--version"], capture_output=True)[0]
        figures["snakemake_startup_cpu_seconds"] = child_cpu_seconds() - cpu
        dry = Pipeline(code, scratch / "work_dry", generated / "papers", scratch / "results_dry", log)
        figures["dry_run_seconds"] = dry.run("--dry-run", "--quiet")
        figures["dry_run_cpu_seconds"] = dry.cpu_seconds

        say(f"snakemake full run, {sizes['n_full']} papers ...")
        full = Pipeline(code, scratch / "work_full", full_papers, scratch / "results_full", log)
        figures["dry_run_full_seconds"] = full.run("--dry-run", "--quiet")
        figures["full_run_seconds"] = full.run()
        figures["full_run_job_seconds"] = job_seconds(full.results)
        figures["nothing_to_do_seconds"] = full.run()
        say("adding one paper and rerunning ...")
        added = all_papers[sizes["n_full"]]
        shutil.copy2(added, full_papers / added.name)
        # what a reviewer runs first: the dry run over a corpus whose results exist
        figures["dry_run_add_one_seconds"] = full.run("--dry-run", "--quiet")
        figures["dry_run_add_one_cpu_seconds"] = full.cpu_seconds
        started = time.time()
        figures["add_one_seconds"] = full.run()
        figures["add_one_job_seconds"] = job_seconds(full.results, since=started)
        figures["add_one_share"] = figures["add_one_seconds"] / figures["full_run_seconds"]
        say("adding a paper that reports one endpoint ...")
        (full_papers / "zz_one_endpoint.txt").write_text(ONE_ENDPOINT_PAPER, encoding="utf-8")
        started = time.time()
        figures["one_endpoint_seconds"] = full.run()
        figures["one_endpoint_job_seconds"] = job_seconds(full.results, since=started)
        figures["one_endpoint_figure_jobs"] = sorted(
            path.stem for path in (full.results / "logs/benchmarks/figures").glob("*.tsv") if path.stat().st_mtime >= started)
        figures["one_endpoint_share"] = figures["one_endpoint_seconds"] / figures["full_run_seconds"]
        total = sum(seconds for _, seconds in figures["full_run_job_seconds"].values())
        drawn = sum(figures["full_run_job_seconds"].get(rule, [0, 0.0])[1] for rule in FIGURE_RULES)
        figures["figures_share"] = drawn / total if total else 0.0
        figures["report_mb"] = (full.results / "report.html").stat().st_size / 1e6
        figures["peak_rss_snakemake_mb"] = peak_memory_mb(resource.RUSAGE_CHILDREN)
        figures["load_average_end"] = os.getloadavg()

        scores, by_format, metadata = accuracy(full.results, full_papers, generated / "gold.yaml")
        overall = scores.set_index("endpoint").loc["all"]
        figures["f1"] = {"all": float(overall["f1"]), "precision": float(overall["precision"]),
                         "recall": float(overall["recall"]), **{f"{k}_f1": v for k, v in by_format.items()}}
        figures["metadata_correct"] = [int(metadata["correct"].sum()), len(metadata)]
        print_table(figures, scores)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=float) + "\n")
    finally:
        if not args.keep and not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def print_table(f: dict, scores: pd.DataFrame) -> None:
    s, e, p = f["sizes"], f["extraction"], f["pooling"]

    def verdict(value, target):
        return "met" if value <= target else "NOT met"

    rows = [
        (f"Extraction vs bare pdfplumber extract_text ({e['pdfs']} PDFs)",
         f"{e['extract'] / e['plain']:.2f}x ({e['extract']:.1f} s vs {e['plain']:.1f} s)",
         f"<= {TARGETS['extraction_ratio']}x", verdict(e["extract"] / e["plain"], TARGETS["extraction_ratio"])),
        ("  of which reading (read_document) vs extract_text", f"{e['read'] / e['plain']:.2f}x", "", ""),
        ("Load average (1, 5, 15 min) at the dry run / at the end",
         " / ".join(", ".join(f"{v:.1f}" for v in f[key]) for key in ("load_average", "load_average_end")), "", ""),
        (f"Snakemake dry run, {s['n_dry']:,} papers",
         f"{f['dry_run_seconds']:.1f} s (CPU {f['dry_run_cpu_seconds']:.1f} s)",
         f"<= {TARGETS['dry_run_seconds']:.0f} s", verdict(f["dry_run_seconds"], TARGETS["dry_run_seconds"])),
        (f"  dry run, {s['n_full']} papers", f"{f['dry_run_full_seconds']:.1f} s", "", ""),
        (f"  dry run, {s['n_full']} papers done + 1 added",
         f"{f['dry_run_add_one_seconds']:.1f} s (CPU {f['dry_run_add_one_cpu_seconds']:.1f} s)", "", ""),
        ("  snakemake --version (start-up alone)",
         f"{f['snakemake_startup_seconds']:.1f} s (CPU {f['snakemake_startup_cpu_seconds']:.1f} s)", "", ""),
        (f"Snakemake full run, {s['n_full']} papers", f"{f['full_run_seconds']:.1f} s", "", ""),
        ("  job-seconds by rule (2 cores)", _by_rule(f["full_run_job_seconds"]), "", ""),
        ("  rerun with nothing changed", f"{f['nothing_to_do_seconds']:.1f} s", "", ""),
        (f"Rerun after adding one paper to {s['n_full']}",
         f"{f['add_one_share']:.1%} of full ({f['add_one_seconds']:.1f} s)",
         f"<= {TARGETS['add_one_share']:.0%}", verdict(f["add_one_share"], TARGETS["add_one_share"])),
        ("  job-seconds by rule", _by_rule(f["add_one_job_seconds"]), "", ""),
        ("Rerun after adding a paper reporting one endpoint (CRS)",
         f"{f['one_endpoint_share']:.1%} of full ({f['one_endpoint_seconds']:.1f} s)", "", ""),
        ("  figure jobs rerun", ", ".join(f["one_endpoint_figure_jobs"]) or "none", "crs_any only",
         "met" if f["one_endpoint_figure_jobs"] == ["crs_any"] else "NOT met"),
        ("  job-seconds by rule", _by_rule(f["one_endpoint_job_seconds"]), "", ""),
        ("Figures' share of the full run's job-seconds", f"{f['figures_share']:.1%}",
         f"<= {TARGETS['figures_share']:.0%}", verdict(f["figures_share"], TARGETS["figures_share"])),
        (f"report.html, {s['n_full'] + 2} papers", f"{f['report_mb']:.1f} MB",
         f"<= {TARGETS['report_mb']:.0f} MB", verdict(f["report_mb"], TARGETS["report_mb"])),
        (f"All analyses, k = {s['k']} ({p['n_fits']} fits, GLMM, sensitivity)", f"{p['all']:.2f} s",
         f"<= {TARGETS['pooling_seconds']:.0f} s", verdict(p["all"], TARGETS["pooling_seconds"])),
        (f"  fits {p['fits']:.2f} s, GLMM {p['glmm']:.2f} s, sensitivity {p['sensitivity']:.2f} s", "", "", ""),
        (f"REML, k = {s['k_reml']:,}", f"{p['reml_large']:.2f} s", "", ""),
        ("Peak memory: benchmark process (extraction, pooling)", f"{f['peak_rss_process_mb']:.0f} MB", "", ""),
        ("Peak memory: largest Snakemake process or job", f"{f['peak_rss_snakemake_mb']:.0f} MB", "", ""),
        (f"Extractor F1 on the synthetic corpus ({s['n_full'] + 1} papers)",
         f"{f['f1']['all']:.3f} (P {f['f1']['precision']:.3f}, R {f['f1']['recall']:.3f})", "", ""),
        ("  F1 by format", ", ".join(f"{k[:-3]} {v:.3f}" for k, v in f["f1"].items() if k.endswith("_f1")), "", ""),
        ("  metadata fields correct", f"{f['metadata_correct'][0]}/{f['metadata_correct'][1]}", "", ""),
        (f"Synthetic corpus generation, {s['n_dry']:,} papers ({f['generate_pdfs']} PDFs, 2 processes)",
         f"{f['generate_seconds']:.1f} s", "", ""),
    ]
    header = ("measure", "figure", "target", "")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    line = lambda row: "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print()
    print("Extractor scores per endpoint (trialmeta.extract.evaluation, as tools/evaluate_extraction.py):")
    print(scores.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    sys.exit(main())
