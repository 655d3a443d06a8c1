"""Rule figures: pooled results -> one forest plot (PNG and SVG) per endpoint."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.io import read_json  # noqa: E402
from trialmeta.plots import forest_figure, save_figure  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
details = read_json(snakemake.input.details)["endpoints"]  # noqa: F821
for png, svg in zip(snakemake.output.png, snakemake.output.svg):  # noqa: F821
    endpoint = Path(png).stem.removeprefix("forest_")
    save_figure(forest_figure(details[endpoint]), png, svg)
    log.info("forest plot of %s: %d studies", endpoint, len(details[endpoint]["studies"]))
