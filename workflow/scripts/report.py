"""Rule report_html: results -> a self-contained report.html, and what changed since the last run."""

import datetime
import sys
from pathlib import Path

import pandas as pd

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.report import history  # noqa: E402
from trialmeta.core.io import atomic_write_text, read_json, write_csv, write_json  # noqa: E402
from trialmeta.figures.forest import with_level  # noqa: E402
from trialmeta.report.page import build_report  # noqa: E402
from trialmeta.report.summary import flow_table, summarise  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
inputs = snakemake.input  # noqa: F821
tables = {name: pd.read_csv(getattr(inputs, name)) for name in ("endpoints", "studies", "pooled", "checks", "failures")}
for name in ("events", "total", "page"):
    tables["endpoints"][name] = tables["endpoints"][name].astype("Int64")
audit = pd.read_csv(inputs.audit)
figures = {Path(path).stem: path for path in inputs.figures}
details = with_level(read_json(inputs.details))  # headers say the configured level ('90% CI')

snapshot = history.snapshot(tables["pooled"], tables["studies"], tables["endpoints"])
changes = history.changes(history.previous_snapshot(snakemake.params.history, history.snapshot_id(snapshot)), snapshot)  # noqa: F821
html = build_report(
    tables["endpoints"], tables["studies"], tables["pooled"], tables["checks"], tables["failures"],
    details, figures, snakemake.params.config,  # noqa: F821
    audit=audit, changes=changes, run_date=datetime.date.today().isoformat(),
    report_dir=str(Path(snakemake.output.html).parent),  # noqa: F821
    # review.reviewer_dirs set: the two reviewers' agreement (agreement.csv, agreement_summary.csv)
    agreement=(pd.read_csv(inputs.agreement[1]), pd.read_csv(inputs.agreement[0], keep_default_na=False))
    if inputs.agreement else None,
)
atomic_write_text(snakemake.output.html, html)  # noqa: F821
write_json(snakemake.output.changes, changes)  # noqa: F821
write_csv(snakemake.output.flow, flow_table(summarise(tables, details, snakemake.params.config)))  # noqa: F821
# recorded last: a run that failed above leaves the history as it was
history.record(snakemake.params.history, snapshot)  # noqa: F821
log.info("report written; snapshot %s, previous %s", changes["current_id"], changes["previous_id"])
