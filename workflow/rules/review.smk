# Review workbench: one offline HTML page per paper to verify its values against
# the page (results/review/{paper}.html, a job per paper) and an index with the
# progress of each. With review.reviewer_dirs, the agreement of two reviewers.


rule review_page:
    input:
        record=results("extracted", "{paper}.json"),
        paper=paper_file,
        curation=paper_curation_file,
    output:
        results("review", "{paper}.html"),
    log:
        results("logs", "review", "{paper}.log"),
    benchmark:
        results("logs", "benchmarks", "review", "{paper}.tsv")
    # review/index.html is review_index's; without this, every DAG build also tried it as the
    # page of a paper named "index" and printed the failed lookup (common.smk refuses that name)
    wildcard_constraints:
        paper=r"(?!index\.html$)[^/]+",
    conda:
        CONDA_ENV
    resources:
        mem_mb=600,
        runtime=5,
    params:
        dpi=config["review"]["crop_dpi"],
    script:
        "../scripts/review.py"


rule review_index:
    input:
        records=extracted_files,
        curation=curation_files,
    output:
        results("review", "index.html"),
    log:
        results("logs", "review", "index.log"),
    benchmark:
        results("logs", "benchmarks", "review", "index.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=600,
        runtime=5,
    params:
        curation_dir=CURATION_DIR,
    script:
        "../scripts/review.py"


rule agreement:
    input:
        sources=harmonise_sources,
        curation=reviewer_files,
        curation_schema=os.path.join(
            workflow.basedir, "workflow", "schemas", "curation.schema.yaml"
        ),
    output:
        agreement=results("tables", "agreement.csv"),
        summary=results("tables", "agreement_summary.csv"),
    log:
        results("logs", "agreement.log"),
    benchmark:
        results("logs", "benchmarks", "agreement.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        reviewer_dirs=REVIEWER_DIRS,
        endpoints_table=ENDPOINTS_TABLE,
        settings=config["harmonise"],
    script:
        "../scripts/agreement.py"
