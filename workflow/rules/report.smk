# Stage 5: a self-contained HTML report that reads results only.


rule report_html:
    input:
        endpoints=results("tables", "endpoints.csv"),
        studies=results("tables", "studies.csv"),
        checks=results("tables", "checks.csv"),
        failures=results("tables", "failures.csv"),
        pooled=results("tables", "pooled.csv"),
        details=results("pooled", "results.json"),
        figures=figure_files("svg"),
        audit=results("tables", "audit.csv"),
        # tables/agreement.csv and agreement_summary.csv when review.reviewer_dirs is set (rules/review.smk)
        agreement=lambda wildcards: agreement_outputs(),
    output:
        html=report(
            results("report.html"),
            caption="../report/report.rst",
            category="Report",
        ),
        # PRISMA-style counts (also the report's "This run" block)
        flow=report(
            results("tables", "flow.csv"),
            caption="../report/flow.rst",
            category="Tables",
        ),
        # Also writes a snapshot of this run to {results_dir}/history/ (snapshots/, runs.json),
        # which is deliberately not an output: Snakemake deletes outputs before a job, and the
        # history must outlive every run.
        changes=report(
            results("history", "changes.json"),
            caption="../report/changes.rst",
            category="Report",
        ),
    log:
        results("logs", "report.log"),
    # seconds and memory of each job (Snakemake's benchmark TSV); beside the logs as they hold times
    benchmark:
        results("logs", "benchmarks", "report_html.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        config=config,
        # the history folder beside changes.json
        history=lambda wildcards, output: os.path.dirname(output.changes),
    script:
        "../scripts/report.py"


# results/r/: an escalc-ready CSV per endpoint (the studies pooled) and reproduce.R, which refits
# every configured analysis with metafor and writes r_pooled.csv beside it (README "To R").
rule r_export:
    input:
        details=results("pooled", "results.json"),
    output:
        tables=[results("r", f"{endpoint}.csv") for endpoint in config["endpoints"]],
        script=results("r", "reproduce.R"),
    log:
        results("logs", "r_export.log"),
    benchmark:
        results("logs", "benchmarks", "r_export.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=500,
        runtime=5,
    params:
        endpoints=config["endpoints"],
        pooling=config["pooling"],
    script:
        "../scripts/r_export.py"
