# Stage 5: a self-contained HTML report that reads results only.


rule report_html:
    input:
        endpoints=results("tables", "endpoints.csv"),
        studies=results("tables", "studies.csv"),
        checks=results("tables", "checks.csv"),
        failures=results("tables", "failures.csv"),
        pooled=results("tables", "pooled.csv"),
        details=results("pooled", "results.json"),
        figures=forest_plots("png"),
    output:
        report(
            results("report.html"),
            caption="../report/report.rst",
            category="Report",
        ),
    params:
        config=config,
    conda:
        CONDA_ENV
    log:
        results("logs", "report.log"),
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/report.py"
