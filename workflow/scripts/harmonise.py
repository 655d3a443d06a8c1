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
from trialmeta.core.io import read_json, write_csv, write_json  # noqa: E402
from trialmeta.harmonise.patient_level import PATIENT_COLUMNS, patient_level  # noqa: E402
from trialmeta.harmonise.reconstructed import reconstructed_level  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
if params.endpoints_table:
    records = records_from_table(load_endpoints_table(params.endpoints_table))
else:
    records = [read_json(path) for path in snakemake.input.sources]  # noqa: F821
tables = harmonise(records, params.curation_dir or None, params.settings)
# per-patient tables (none in a user's sheet) -> patient-level data and Kaplan-Meier checks of reported landmarks
tables["patients"], km_checks, km_curves = patient_level(
    records, params.curation_dir or None, tables["endpoints"], tables["studies"], params.level
)
# digitised curves -> reconstructed patients, their checks, and landmarks the papers do not report
rebuilt, rebuilt_checks, rebuilt_landmarks, rebuilt_failures, rebuilt_curves = reconstructed_level(
    [read_json(path) for path in snakemake.input.reconstructed],  # noqa: F821
    tables["endpoints"], tables["studies"], params.landmark_months, params.level,
)
km_curves.update(rebuilt_curves)
tables["patients"] = pd.concat([tables["patients"], pd.DataFrame(rebuilt, columns=PATIENT_COLUMNS)], ignore_index=True)
if rebuilt_landmarks:
    added = pd.DataFrame(rebuilt_landmarks, columns=tables["endpoints"].columns).astype(tables["endpoints"].dtypes)
    tables["endpoints"] = pd.concat([tables["endpoints"], added], ignore_index=True).sort_values(
        ["study", "endpoint", "landmark_months"], na_position="first", kind="mergesort").reset_index(drop=True)
if rebuilt_failures:
    tables["failures"] = pd.concat([tables["failures"], pd.DataFrame(rebuilt_failures, columns=tables["failures"].columns)],
                                   ignore_index=True)
if km_checks or rebuilt_checks:
    new_checks = pd.DataFrame(km_checks + rebuilt_checks, columns=tables["checks"].columns)
    checks = pd.concat([tables["checks"], new_checks], ignore_index=True)
    tables["checks"] = checks.sort_values(["paper", "endpoint", "landmark_months", "check"], kind="mergesort", na_position="first")
tables["coverage"] = coverage(records, tables["endpoints"])
for name, frame in tables.items():
    write_csv(snakemake.output[name], frame)  # noqa: F821
    log.info("%s: %d rows", name, len(frame))
write_json(snakemake.output.km_curves, km_curves)  # noqa: F821
