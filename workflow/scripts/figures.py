"""Rules endpoint_figures and survival_figures: pooled results -> PNG (300 dpi) and SVG figures."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.figures import diagnostics, forest, km, style  # noqa: E402
from trialmeta.core.io import read_json  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
out = snakemake.output  # noqa: F821
details = read_json(snakemake.input.details)  # noqa: F821
if snakemake.rule == "survival_figures":  # noqa: F821
    landmarks = details.get("landmarks") or {}
    # the order of SURVIVAL_FIGURES in rules/common.smk, which orders the SVGs
    pngs = [*out.landmarks, out.km, out.km_pooled]
    figures = [
        *(forest.landmark_figure(landmarks.get(key), key) for key in snakemake.params.landmark_keys),  # noqa: F821
        km.km_figure(details.get("km"), details.get("km_note")),
        km.km_pooled_figure(details.get("km_pooled"), details.get("km")),
    ]
else:
    params = snakemake.params  # noqa: F821
    entry = details["endpoints"][snakemake.wildcards.endpoint]  # noqa: F821
    # the order of endpoint_figure_names() in rules/figures.smk, which orders the SVGs
    pngs = [out.forest, *out.subgroups, out.leave_one_out, out.cumulative, out.funnel, *out.bubbles]
    figures = [
        forest.forest_figure(entry),
        *(forest.subgroup_forest_figure(entry, column) for column in params.subgroup_columns),
        forest.influence_figure(entry, "leave_one_out"),
        forest.influence_figure(entry, "cumulative"),
        diagnostics.funnel_figure(entry, params.level),
        *(diagnostics.bubble_figure(entry, moderator) for moderator in params.moderators),
    ]
for png, svg, figure in zip(pngs, out.svg, figures, strict=True):
    style.save_figure(figure, png, svg)
    log.info("%s", Path(png).name)
