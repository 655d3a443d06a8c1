"""Rule extract: one paper -> extracted/{paper}.json, within the per-paper limits."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.core.io import write_json  # noqa: E402
from trialmeta.extract.limits import PaperLimits, extract_within_limits  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
record, reader_messages = extract_within_limits(
    snakemake.input.paper, snakemake.input.lexicon, PaperLimits(**snakemake.params.limits),  # noqa: F821
    dict(snakemake.params.reading),  # noqa: F821
)
if reader_messages.strip():
    log.info("reader output:\n%s", reader_messages.rstrip())
if record["status"] == "ok":
    log.info("%s: %d candidates, %d chosen", record["file"], len(record["candidates"]), len(record["chosen"]))
else:
    log.warning("%s", record["error"]["message"])
write_json(snakemake.output[0], record)  # noqa: F821
