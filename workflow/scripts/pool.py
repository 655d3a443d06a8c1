"""Rule pool: endpoints.csv -> pooled.csv and the per-study detail for figures and report."""

import sys
from pathlib import Path

import pandas as pd

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.core.io import read_json, write_csv, write_json  # noqa: E402
from trialmeta.pool.km_pool import km_pooled_table  # noqa: E402
from trialmeta.pool.pooling import pool_all  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
endpoints = pd.read_csv(snakemake.input.endpoints, dtype={"events": "Int64", "total": "Int64", "page": "Int64"})  # noqa: F821
studies = pd.read_csv(snakemake.input.studies, dtype={"year": "Int64", "n_treated": "Int64"})  # noqa: F821
pooled, details = pool_all(
    endpoints, studies, snakemake.params.endpoints, snakemake.params.pooling, snakemake.params.survival,  # noqa: F821
    km_curves=read_json(snakemake.input.km_curves), patients=pd.read_csv(snakemake.input.patients),  # noqa: F821
)
write_csv(snakemake.output.pooled, pooled)  # noqa: F821
write_csv(snakemake.output.km_pooled, km_pooled_table(details["km_pooled"]))  # noqa: F821
write_json(snakemake.output.details, details)  # noqa: F821
log.info("pooled %d rows", len(pooled))
