"""Rules review_page and review_index: extraction records (+ paper files, curation files) -> review pages."""

import os
import sys
from pathlib import Path

# the adapters' helper and the library beside them, also under --use-conda
sys.path[:0] = [str(Path(snakemake.scriptdir)), str(Path(snakemake.scriptdir).parent)]  # noqa: F821
import _log  # noqa: E402

from trialmeta.core.io import atomic_write_text, read_json  # noqa: E402
from trialmeta.review.index import build_index, paper_progress  # noqa: E402
from trialmeta.review.page import build_review_page  # noqa: E402

log = _log.setup(snakemake.log[0])  # noqa: F821
if snakemake.rule == "review_page":  # noqa: F821
    record = read_json(snakemake.input.record)  # noqa: F821
    curation = snakemake.input.curation[0] if snakemake.input.curation else None  # noqa: F821
    page = build_review_page(record, snakemake.input.paper, curation, snakemake.params.dpi)  # noqa: F821
    atomic_write_text(snakemake.output[0], page)  # noqa: F821
    log.info("%s: %d bytes", snakemake.output[0], len(page.encode("utf-8")))  # noqa: F821
else:
    folder = snakemake.params.curation_dir  # noqa: F821
    progress = []
    for path in snakemake.input.records:  # noqa: F821
        record = read_json(path)
        progress.append(paper_progress(record, os.path.join(folder, f"{record['paper']}.yaml") if folder else None))
    atomic_write_text(snakemake.output[0], build_index(progress))  # noqa: F821
    log.info("index of %d papers", len(progress))
