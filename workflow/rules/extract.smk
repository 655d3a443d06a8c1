# Stage 1: one job per paper, numbers with provenance -> extracted/{paper}.json.
# A paper that cannot be read (encrypted, image-only, not UTF-8, ...) or that
# exceeds the per-paper time or memory limit (config `paper_limits`) still gets
# its JSON, holding an error record instead of candidates, so one bad file
# never stops the others and the failure reaches failures.csv.

from dataclasses import asdict

from trialmeta.extract.limits import PaperLimits

# checked here, so a bad value stops the run before any job starts
PAPER_LIMITS = PaperLimits(**config.get("paper_limits", {}))
# how scanned PDFs are read; YAML and --config read a bare `off` as false. The schema checks
# both values as ReadSettings does (tests/test_config.py keeps the two equal): importing the
# reader here would load pdfplumber and numpy at every start, a third of a second per dry run.
READING = {
    "ocr": "off" if config.get("ocr", "auto") in (False, "off") else "auto",
    "ocr_language": config.get("ocr_language", "eng"),
}


rule extract:
    input:
        paper=paper_file,
        lexicon=config["lexicon"],
    output:
        results("extracted", "{paper}.json"),
    log:
        results("logs", "extract", "{paper}.log"),
    # seconds and memory of each job (Snakemake's benchmark TSV); beside the logs as they hold times
    benchmark:
        results("logs", "benchmarks", "extract", "{paper}.tsv")
    conda:
        CONDA_ENV
    resources:
        # the reader's own start-up memory plus its per-paper allowance; a little over its time limit
        mem_mb=300 + PAPER_LIMITS.memory_mb,
        runtime=1 + int(PAPER_LIMITS.seconds) // 60,
    params:
        limits=asdict(PAPER_LIMITS),
        reading=READING,
    script:
        "../scripts/extract.py"
