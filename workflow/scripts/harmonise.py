"""Rule harmonise: extraction records (or the endpoints_table sheet) + curation -> the harmonised tables."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.endpoints_table import load_endpoints_table, records_from_table  # noqa: E402
from trialmeta.harmonise import harmonise  # noqa: E402
from trialmeta.io import read_json, write_csv  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
if snakemake.params.endpoints_table:  # noqa: F821
    records = records_from_table(load_endpoints_table(snakemake.params.endpoints_table))  # noqa: F821
else:
    records = [read_json(path) for path in snakemake.input.sources]  # noqa: F821
tables = harmonise(records, snakemake.params.curation_dir or None, snakemake.params.settings)  # noqa: F821
for name, frame in tables.items():
    write_csv(snakemake.output[name], frame)  # noqa: F821
    log.info("%s: %d rows", name, len(frame))
