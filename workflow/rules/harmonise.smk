# Stage 2: every paper's extraction (or the user's endpoints_table sheet) plus
# curation -> the harmonised tables and the audit trail of every curated change.
# Digitised curves are first reconstructed, one job per file.


rule reconstruct:
    input:
        curves=curve_file,
    output:
        results("reconstructed", "{curve}.json"),
    log:
        results("logs", "reconstruct", "{curve}.log"),
    benchmark:
        results("logs", "benchmarks", "reconstruct", "{curve}.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/reconstruct.py"


rule harmonise:
    input:
        sources=harmonise_sources,
        curation=curation_files,
        reconstructed=reconstructed_files,
        curation_schema=os.path.join(
            workflow.basedir, "workflow", "schemas", "curation.schema.yaml"
        ),
    output:
        endpoints=report(
            results("tables", "endpoints.csv"),
            caption="../report/endpoints.rst",
            category="Tables",
        ),
        studies=report(
            results("tables", "studies.csv"),
            caption="../report/studies.rst",
            category="Tables",
        ),
        checks=report(
            results("tables", "checks.csv"),
            caption="../report/checks.rst",
            category="Tables",
        ),
        failures=report(
            results("tables", "failures.csv"),
            caption="../report/failures.rst",
            category="Tables",
        ),
        audit=report(
            results("tables", "audit.csv"),
            caption="../report/audit.rst",
            category="Tables",
        ),
        patients=report(
            results("tables", "patients.csv"),
            caption="../report/patients.rst",
            category="Tables",
        ),
        coverage=report(
            results("tables", "coverage.csv"),
            caption="../report/coverage.rst",
            category="Tables",
        ),
        # the one Kaplan-Meier fit of every patient-level curve (figures and pool read it)
        km_curves=results("tables", "km_curves.json"),
    log:
        results("logs", "harmonise.log"),
    # seconds and memory of each job (Snakemake's benchmark TSV); beside the logs as they hold times
    benchmark:
        results("logs", "benchmarks", "harmonise.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        curation_dir=CURATION_DIR,
        endpoints_table=ENDPOINTS_TABLE,
        settings=config["harmonise"],
        level=config["pooling"]["level"],
        landmark_months=config["survival"]["landmark_months"],
    script:
        "../scripts/harmonise.py"
