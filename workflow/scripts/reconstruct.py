"""Rule reconstruct: one digitised curve file -> reconstructed/{curve}.json (Guyot et al. 2012)."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.core.io import write_json  # noqa: E402
from trialmeta.harmonise.reconstructed import reconstruct_file  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
record = reconstruct_file(snakemake.input.curves)  # noqa: F821
if record["status"] == "ok":
    for curve in record["curves"]:
        log.info("%s/%s: %d patients, %d events", curve["study"], curve["endpoint"], len(curve["durations"]), sum(curve["events"]))
else:
    # the record carries the error to failures.csv; the other curve files go on
    log.warning("%s", record["error"])
write_json(snakemake.output[0], record)  # noqa: F821
