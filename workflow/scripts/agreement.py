"""Rule agreement: the same extraction curated by two reviewers' folders -> agreement.csv and its summary."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.core.io import read_json, write_csv  # noqa: E402
from trialmeta.harmonise.endpoints_table import load_endpoints_table, records_from_table  # noqa: E402
from trialmeta.harmonise.table import harmonise  # noqa: E402
from trialmeta.review.agreement import compare, summary  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
if snakemake.params.endpoints_table:  # noqa: F821
    records = records_from_table(load_endpoints_table(snakemake.params.endpoints_table))  # noqa: F821
else:
    records = [read_json(path) for path in snakemake.input.sources]  # noqa: F821
first, second = (harmonise(records, folder, snakemake.params.settings) for folder in snakemake.params.reviewer_dirs)  # noqa: F821
for name, tables in zip(snakemake.params.reviewer_dirs, (first, second)):  # noqa: F821
    for _, failure in tables["failures"][tables["failures"]["stage"] == "curate"].iterrows():
        log.error("%s: %s", name, failure["message"])
table = compare(first, second)
write_csv(snakemake.output.agreement, table)  # noqa: F821
write_csv(snakemake.output.summary, summary(table))  # noqa: F821
disagreements = table[table["agree"] == "no"]
log.info("%d of %d compared fields disagree", len(disagreements), len(table))
for _, row in disagreements.iterrows():
    log.info("disagree: %s %s %s %s: %r vs %r", row["paper"], row["endpoint"], row["landmark_months"], row["field"],
             row["first"], row["second"])
