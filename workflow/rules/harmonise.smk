# Stage 2: every paper's extraction (or the user's endpoints_table sheet) plus
# curation -> the harmonised tables and the audit trail of every curated change.


rule harmonise:
    input:
        sources=harmonise_sources,
        curation=curation_files,
        curation_schema=os.path.join(workflow.basedir, "workflow", "schemas", "curation.schema.yaml"),
    output:
        endpoints=results("tables", "endpoints.csv"),
        studies=results("tables", "studies.csv"),
        checks=results("tables", "checks.csv"),
        failures=results("tables", "failures.csv"),
        audit=results("tables", "audit.csv"),
    params:
        curation_dir=CURATION_DIR,
        endpoints_table=ENDPOINTS_TABLE,
        settings=config["harmonise"],
    conda:
        CONDA_ENV
    log:
        results("logs", "harmonise.log"),
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/harmonise.py"
