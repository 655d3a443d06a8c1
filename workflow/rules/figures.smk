# Stage 4: figures drawn from the pooled results (never refitted here).
# Every file name is fixed by the configuration; an analysis that turns out
# impossible is drawn as a "not estimable: <reason>" panel rather than left out.
# One job per endpoint, per landmark and for the Kaplan-Meier curves, each reading
# only its own result file (pooled/parts/), so that a job reruns only when its
# endpoint's result changed.


rule endpoint_figures:
    input:
        part=pooled_part("endpoint_{endpoint}"),
    output:
        forest=report(
            _figure("forest_{endpoint}", "png"),
            caption="../report/forest.rst",
            category="Forest plots",
            subcategory="{endpoint}",
        ),
        subgroups=report(
            [
                _figure(f"forest_{{endpoint}}_by_{column}", "png")
                for column in SUBGROUP_COLUMNS
            ],
            caption="../report/forest_subgroup.rst",
            category="Subgroups",
            subcategory="{endpoint}",
        ),
        leave_one_out=report(
            _figure("leave_one_out_{endpoint}", "png"),
            caption="../report/leave_one_out.rst",
            category="Sensitivity analyses",
            subcategory="{endpoint}",
        ),
        cumulative=report(
            _figure("cumulative_{endpoint}", "png"),
            caption="../report/cumulative.rst",
            category="Sensitivity analyses",
            subcategory="{endpoint}",
        ),
        funnel=report(
            _figure("funnel_{endpoint}", "png"),
            caption="../report/funnel.rst",
            category="Small-study effects",
            subcategory="{endpoint}",
        ),
        bubbles=report(
            [
                _figure(f"bubble_{{endpoint}}_{moderator}", "png")
                for moderator in MODERATORS
            ],
            caption="../report/bubble.rst",
            category="Meta-regression",
            subcategory="{endpoint}",
        ),
        svg=[_figure(name, "svg") for name in endpoint_figure_names("{endpoint}")],
    log:
        results("logs", "figures", "{endpoint}.log"),
    benchmark:
        results("logs", "benchmarks", "figures", "{endpoint}.tsv")
    wildcard_constraints:
        endpoint="|".join(config["endpoints"]),
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        subgroup_columns=SUBGROUP_COLUMNS,
        moderators=MODERATORS,
        level=config["pooling"]["level"],
    script:
        "../scripts/figures.py"


rule landmark_figure:
    input:
        part=pooled_part("landmark_{landmark}"),
    output:
        forest=report(
            _figure("forest_{landmark}", "png"),
            caption="../report/forest_landmarks.rst",
            category="Survival",
        ),
        svg=_figure("forest_{landmark}", "svg"),
    log:
        results("logs", "figures", "landmark_{landmark}.log"),
    benchmark:
        results("logs", "benchmarks", "figures", "landmark_{landmark}.tsv")
    wildcard_constraints:
        landmark="|".join(re.escape(key) for key in LANDMARK_KEYS) or "^$",
    conda:
        CONDA_ENV
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figures.py"


rule km_figures:
    input:
        part=pooled_part("km"),
    output:
        km=report(
            _figure("km_curves", "png"),
            caption="../report/km_curves.rst",
            category="Survival",
        ),
        km_pooled=report(
            _figure("km_pooled", "png"),
            caption="../report/km_pooled.rst",
            category="Survival",
        ),
        svg=[_figure(name, "svg") for name in KM_FIGURES],
    log:
        results("logs", "figures", "km.log"),
    benchmark:
        results("logs", "benchmarks", "figures", "km.tsv")
    conda:
        CONDA_ENV
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figures.py"
