"""Rule report_html: results -> a self-contained report.html."""

import sys
from pathlib import Path

import pandas as pd

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.io import atomic_write_text, read_json  # noqa: E402
from trialmeta.report import build_report  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
inputs = snakemake.input  # noqa: F821
tables = {name: pd.read_csv(getattr(inputs, name)) for name in ("endpoints", "studies", "pooled", "checks", "failures")}
for name in ("events", "total", "page"):
    tables["endpoints"][name] = tables["endpoints"][name].astype("Int64")
figures = {Path(path).stem.removeprefix("forest_"): path for path in inputs.figures}
html = build_report(
    tables["endpoints"], tables["studies"], tables["pooled"], tables["checks"], tables["failures"],
    read_json(inputs.details), figures, snakemake.params.config,  # noqa: F821
)
atomic_write_text(snakemake.output[0], html)  # noqa: F821
log.info("report written")
