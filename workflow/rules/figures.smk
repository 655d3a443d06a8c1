# Stage 4: figures drawn from the pooled results (never refitted here).
# Every file name is fixed by the configuration, so the DAG is known before the
# pool stage runs; an analysis that turns out impossible is drawn as a
# "not estimable: <reason>" panel rather than left out.

rule endpoint_figures:
    input:
        details=results("pooled", "results.json"),
    output:
        forest=report(_figure("forest_{endpoint}", "png"), caption="../report/forest.rst",
                      category="Forest plots", subcategory="{endpoint}"),
        subgroups=report([_figure(f"forest_{{endpoint}}_by_{column}", "png") for column in SUBGROUP_COLUMNS],
                         caption="../report/forest_subgroup.rst", category="Subgroups", subcategory="{endpoint}"),
        leave_one_out=report(_figure("leave_one_out_{endpoint}", "png"), caption="../report/leave_one_out.rst",
                             category="Sensitivity analyses", subcategory="{endpoint}"),
        cumulative=report(_figure("cumulative_{endpoint}", "png"), caption="../report/cumulative.rst",
                          category="Sensitivity analyses", subcategory="{endpoint}"),
        funnel=report(_figure("funnel_{endpoint}", "png"), caption="../report/funnel.rst",
                      category="Small-study effects", subcategory="{endpoint}"),
        bubbles=report([_figure(f"bubble_{{endpoint}}_{moderator}", "png") for moderator in MODERATORS],
                       caption="../report/bubble.rst", category="Meta-regression", subcategory="{endpoint}"),
        svg=[_figure(name, "svg") for name in endpoint_figure_names("{endpoint}")],
    params:
        subgroup_columns=SUBGROUP_COLUMNS,
        moderators=MODERATORS,
        level=config["pooling"]["level"],
    wildcard_constraints:
        endpoint="|".join(config["endpoints"]),
    conda:
        CONDA_ENV
    log:
        results("logs", "figures", "{endpoint}.log"),
    benchmark:
        results("logs", "benchmarks", "figures", "{endpoint}.tsv"),
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/figures.py"


rule survival_figures:
    input:
        details=results("pooled", "results.json"),
    output:
        landmarks=report([_figure(f"forest_{key}", "png") for key in LANDMARK_KEYS],
                         caption="../report/forest_landmarks.rst", category="Survival"),
        km=report(_figure("km_curves", "png"), caption="../report/km_curves.rst", category="Survival"),
        km_pooled=report(_figure("km_pooled", "png"), caption="../report/km_pooled.rst", category="Survival"),
        svg=[_figure(name, "svg") for name in SURVIVAL_FIGURES],
    params:
        landmark_keys=LANDMARK_KEYS,
    conda:
        CONDA_ENV
    log:
        results("logs", "figures", "survival.log"),
    benchmark:
        results("logs", "benchmarks", "figures", "survival.tsv"),
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/figures.py"
