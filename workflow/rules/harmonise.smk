# Stage 2: every paper's extraction (or the user's endpoints_table sheet) plus
# curation -> the harmonised tables and the audit trail of every curated change.


rule harmonise:
    input:
        sources=harmonise_sources,
        curation=curation_files,
        curation_schema=os.path.join(workflow.basedir, "workflow", "schemas", "curation.schema.yaml"),
    output:
        endpoints=report(results("tables", "endpoints.csv"), caption="../report/endpoints.rst", category="Tables"),
        studies=report(results("tables", "studies.csv"), caption="../report/studies.rst", category="Tables"),
        checks=report(results("tables", "checks.csv"), caption="../report/checks.rst", category="Tables"),
        failures=report(results("tables", "failures.csv"), caption="../report/failures.rst", category="Tables"),
        audit=report(results("tables", "audit.csv"), caption="../report/audit.rst", category="Tables"),
        patients=report(results("tables", "patients.csv"), caption="../report/patients.rst", category="Tables"),
        coverage=report(results("tables", "coverage.csv"), caption="../report/coverage.rst", category="Tables"),
    params:
        curation_dir=CURATION_DIR,
        endpoints_table=ENDPOINTS_TABLE,
        settings=config["harmonise"],
        level=config["pooling"]["level"],
    conda:
        CONDA_ENV
    log:
        results("logs", "harmonise.log"),
    # seconds and memory of each job (Snakemake's benchmark TSV); beside the logs as they hold times
    benchmark:
        results("logs", "benchmarks", "harmonise.tsv"),
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/harmonise.py"
