# Stage 2: every paper's extraction plus curation -> the harmonised tables.


rule harmonise:
    input:
        extracted=extracted_files,
        curation=curation_files,
    output:
        endpoints=results("tables", "endpoints.csv"),
        studies=results("tables", "studies.csv"),
        checks=results("tables", "checks.csv"),
        failures=results("tables", "failures.csv"),
    params:
        curation_dir=CURATION_DIR,
    conda:
        CONDA_ENV
    log:
        results("logs", "harmonise.log"),
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/harmonise.py"
