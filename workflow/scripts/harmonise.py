"""Rule harmonise: extraction records (or the endpoints_table sheet) + curation -> the harmonised tables."""

import sys
from pathlib import Path

import pandas as pd

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.harmonise.coverage import coverage  # noqa: E402
from trialmeta.harmonise.endpoints_table import load_endpoints_table, records_from_table  # noqa: E402
from trialmeta.harmonise.table import harmonise  # noqa: E402
from trialmeta.core.io import read_json, write_csv  # noqa: E402
from trialmeta.harmonise.patient_level import patient_level  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
if snakemake.params.endpoints_table:  # noqa: F821
    records = records_from_table(load_endpoints_table(snakemake.params.endpoints_table))  # noqa: F821
else:
    records = [read_json(path) for path in snakemake.input.sources]  # noqa: F821
tables = harmonise(records, snakemake.params.curation_dir or None, snakemake.params.settings)  # noqa: F821
# per-patient tables (none in a user's sheet) -> patient-level data and Kaplan-Meier checks of reported landmarks
tables["patients"], km_checks = patient_level(
    records, snakemake.params.curation_dir or None, tables["endpoints"], tables["studies"], snakemake.params.level  # noqa: F821
)
if km_checks:
    checks = pd.concat([tables["checks"], pd.DataFrame(km_checks, columns=tables["checks"].columns)], ignore_index=True)
    tables["checks"] = checks.sort_values(["paper", "endpoint", "landmark_months", "check"], kind="mergesort", na_position="first")
tables["coverage"] = coverage(records, tables["endpoints"])
for name, frame in tables.items():
    write_csv(snakemake.output[name], frame)  # noqa: F821
    log.info("%s: %d rows", name, len(frame))
