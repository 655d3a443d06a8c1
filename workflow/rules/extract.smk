# Stage 1: one job per paper, numbers with provenance -> extracted/{paper}.json.
# A paper that cannot be read (encrypted, image-only, not UTF-8, ...) still gets
# its JSON, holding an error record instead of candidates, so one bad file never
# stops the others and the failure reaches failures.csv.


rule extract:
    input:
        paper=paper_file,
        lexicon=config["lexicon"],
    output:
        results("extracted", "{paper}.json"),
    conda:
        CONDA_ENV
    log:
        results("logs", "extract", "{paper}.log"),
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/extract.py"
