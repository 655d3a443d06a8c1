"""Rules endpoint_figures, landmark_figure and km_figures: one pooled result file -> PNG and SVG figures."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.figures import diagnostics, forest, km, style  # noqa: E402
from trialmeta.core.io import read_json  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
out = snakemake.output  # noqa: F821
# headers say the configured level ('90% CI'); the part's intervals were computed at it
part = {**read_json(snakemake.input.part), "level": snakemake.config["pooling"]["level"]}  # noqa: F821
if snakemake.rule == "landmark_figure":  # noqa: F821
    pngs = [out.forest]
    figures = [forest.landmark_figure(part, snakemake.wildcards.landmark)]  # noqa: F821
elif snakemake.rule == "km_figures":  # noqa: F821
    # the order of KM_FIGURES in rules/common.smk, which orders the SVGs
    pngs = [out.km, out.km_pooled]
    figures = [km.km_figure(part.get("km"), part.get("km_note")), km.km_pooled_figure(part.get("km_pooled"), part.get("km"))]
else:
    params = snakemake.params  # noqa: F821
    entry = part
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
for png, svg, figure in zip(pngs, [out.svg] if isinstance(out.svg, str) else out.svg, figures, strict=True):
    style.save_figure(figure, png, svg)
    log.info("%s", Path(png).name)
