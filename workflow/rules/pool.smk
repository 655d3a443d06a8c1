# Stage 3: pooled estimates for every configured endpoint and analysis.
# A checkpoint: besides results.json it writes one result file per endpoint,
# landmark and the Kaplan-Meier curves (pooled/parts/), each only when its content
# changed. Snakemake re-reads the figure jobs' inputs after the checkpoint, so a new
# paper redraws the figures of the endpoints whose result it changed and no others.
# (The parts are no declared outputs: Snakemake deletes outputs before a job runs,
# which would reset every part's time.)


checkpoint pool:
    input:
        endpoints=results("tables", "endpoints.csv"),
        studies=results("tables", "studies.csv"),
        patients=results("tables", "patients.csv"),
        km_curves=results("tables", "km_curves.json"),
    output:
        pooled=report(
            results("tables", "pooled.csv"),
            caption="../report/pooled.rst",
            category="Tables",
        ),
        km_pooled=report(
            results("tables", "km_pooled.csv"),
            caption="../report/km_pooled.rst",
            category="Tables",
        ),
        details=results("pooled", "results.json"),
    log:
        results("logs", "pool.log"),
    # seconds and memory of each job (Snakemake's benchmark TSV); beside the logs as they hold times
    benchmark:
        results("logs", "benchmarks", "pool.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        endpoints=config["endpoints"],
        pooling=config["pooling"],
        survival=config["survival"],
        landmark_keys=LANDMARK_KEYS,
        parts=results("pooled", "parts"),
    script:
        "../scripts/pool.py"
