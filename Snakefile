# trialmeta: meta-analysis of single-arm trials from their published reports.
# This file only wires the stages together; each stage lives in workflow/rules/.


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/harmonise.smk"
include: "workflow/rules/pool.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/review.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
