"""Rule extract: one paper -> extracted/{paper}.json."""

import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.extraction import extract_paper  # noqa: E402
from trialmeta.io import write_json  # noqa: E402
from trialmeta.lexicon import load_lexicon  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
record = extract_paper(snakemake.input.paper, load_lexicon(snakemake.input.lexicon))  # noqa: F821
if record["status"] == "ok":
    log.info("%s: %d candidates, %d chosen", record["file"], len(record["candidates"]), len(record["chosen"]))
else:
    log.warning("%s: %s", record["file"], record["error"]["message"])
write_json(snakemake.output[0], record)  # noqa: F821
