"""Rule r_export: pooled results -> results/r/{endpoint}.csv (escalc-ready) and reproduce.R (metafor)."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.core.io import atomic_write_text, read_json  # noqa: E402
from trialmeta.report.r_export import escalc_table, r_script  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
details = read_json(snakemake.input.details)  # noqa: F821
for endpoint, path in zip(params.endpoints, snakemake.output.tables, strict=True):  # noqa: F821
    atomic_write_text(path, escalc_table(details["endpoints"].get(endpoint, {})))
    log.info("%s", Path(path).name)
atomic_write_text(snakemake.output.script, r_script(list(params.endpoints), params.pooling))  # noqa: F821
