# Stage 4: figures drawn from the pooled results (never refitted here).


rule figures:
    input:
        details=results("pooled", "results.json"),
    output:
        png=report(
            forest_plots("png"),
            caption="../report/forest.rst",
            category="Forest plots",
        ),
        svg=forest_plots("svg"),
    conda:
        CONDA_ENV
    log:
        results("logs", "figures.log"),
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/figures.py"
