"""Rules endpoint_figures and survival_figures: pooled results -> PNG (300 dpi) and SVG figures."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.figures import plots  # noqa: E402
from trialmeta.core.io import read_json  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
out = snakemake.output  # noqa: F821
details = plots.with_level(read_json(snakemake.input.details))  # headers say the configured level ('90% CI')  # noqa: F821
if snakemake.rule == "survival_figures":  # noqa: F821
    landmarks = details.get("landmarks") or {}
    # the order of SURVIVAL_FIGURES in rules/common.smk, which orders the SVGs
    pngs = [*out.landmarks, out.km]
    figures = [
        *(plots.landmark_figure(landmarks.get(key), key) for key in snakemake.params.landmark_keys),  # noqa: F821
        plots.km_figure(details.get("km"), details.get("km_note")),
    ]
else:
    params = snakemake.params  # noqa: F821
    entry = details["endpoints"][snakemake.wildcards.endpoint]  # noqa: F821
    # the order of endpoint_figure_names() in rules/figures.smk, which orders the SVGs
    pngs = [out.forest, *out.subgroups, out.leave_one_out, out.cumulative, out.funnel, *out.bubbles]
    figures = [
        plots.forest_figure(entry),
        *(plots.subgroup_forest_figure(entry, column) for column in params.subgroup_columns),
        plots.leave_one_out_figure(entry),
        plots.cumulative_figure(entry),
        plots.funnel_figure(entry, params.level),
        *(plots.bubble_figure(entry, moderator) for moderator in params.moderators),
    ]
for png, svg, figure in zip(pngs, out.svg, figures, strict=True):
    plots.save_figure(figure, png, svg)
    log.info("%s", Path(png).name)
