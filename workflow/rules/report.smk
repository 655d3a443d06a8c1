# Stage 5: a self-contained HTML report that reads results only.


def audit_table(wildcards):
    """The curation audit, when a rule of this workflow writes it or it is already there."""
    path = results("tables", "audit.csv")
    written = any(path in map(str, rule.output) for rule in workflow.rules)
    return [path] if written or os.path.exists(path) else []


rule report_html:
    input:
        endpoints=results("tables", "endpoints.csv"),
        studies=results("tables", "studies.csv"),
        checks=results("tables", "checks.csv"),
        failures=results("tables", "failures.csv"),
        pooled=results("tables", "pooled.csv"),
        details=results("pooled", "results.json"),
        figures=figure_files("png"),
        audit=audit_table,
    output:
        html=report(
            results("report.html"),
            caption="../report/report.rst",
            category="Report",
        ),
        # Also writes a snapshot of this run to {results_dir}/history/ (snapshots/, runs.json),
        # which is deliberately not an output: Snakemake deletes outputs before a job, and the
        # history must outlive every run.
        changes=report(
            results("history", "changes.json"),
            caption="../report/changes.rst",
            category="Report",
        ),
    params:
        config=config,
        history=results("history"),
    conda:
        CONDA_ENV
    log:
        results("logs", "report.log"),
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/report.py"
