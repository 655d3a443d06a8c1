"""Rule pool: endpoints.csv -> pooled.csv and the per-study detail for figures and report."""

import sys
from pathlib import Path

import pandas as pd

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.core.io import read_json, write_csv, write_json, write_json_if_changed  # noqa: E402
from trialmeta.pool.km_pool import km_pooled_table  # noqa: E402
from trialmeta.pool.pooling import pool_all  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
endpoints = pd.read_csv(snakemake.input.endpoints, dtype={"events": "Int64", "total": "Int64", "page": "Int64"})  # noqa: F821
studies = pd.read_csv(snakemake.input.studies, dtype={"year": "Int64", "n_treated": "Int64", "n_enrolled": "Int64"})  # noqa: F821
pooled, details = pool_all(
    endpoints, studies, snakemake.params.endpoints, snakemake.params.pooling, snakemake.params.survival,  # noqa: F821
    km_curves=read_json(snakemake.input.km_curves), patients=pd.read_csv(snakemake.input.patients),  # noqa: F821
)
write_csv(snakemake.output.pooled, pooled)  # noqa: F821
write_csv(snakemake.output.km_pooled, km_pooled_table(details["km_pooled"]))  # noqa: F821
write_json(snakemake.output.details, details)  # noqa: F821
# one file per figure job, rewritten only when its content changed (rules/pool.smk)
parts = Path(snakemake.params.parts)  # noqa: F821
changed = [name for name, data in (
    *((f"endpoint_{name}", entry) for name, entry in details["endpoints"].items()),
    *((f"landmark_{key}", details["landmarks"].get(key)) for key in snakemake.params.landmark_keys),  # noqa: F821
    ("km", {key: details.get(key) for key in ("km", "km_note", "km_pooled")}),
) if write_json_if_changed(parts / f"{name}.json", data)]
log.info("pooled %d rows; result files changed: %s", len(pooled), ", ".join(changed) or "none")
