"""The project's own curation files carry the SHA-256 of the papers they were written for.

A regenerated demo PDF (tools/make_demo_papers.py) or a new version of a shared paper changes its
hash, and the run would then refuse the curation (as it should for someone else's file): this test
names the file to stamp again with tools/stamp_curation.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from trialmeta.harmonise.curation import load_curation

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from stamp_curation import sha256_of  # noqa: E402
SHARED = ROOT.parent / "shared" / "papers"
CASES = [(path, [ROOT / "resources/papers" / f"{path.stem}.pdf"])
         for path in sorted((ROOT / "resources/papers/curation").glob("*.yaml"))]
CASES += [(path, [SHARED / "text" / f"{path.stem}.txt", SHARED / "pdf" / f"{path.stem}.pdf"])
          for path in sorted((ROOT / "resources/curation").glob("*.yaml"))]


@pytest.mark.parametrize("curation, papers", CASES, ids=[c.name for c, _ in CASES])
def test_project_curation_matches_its_papers(curation, papers):
    present = [p for p in papers if p.exists()]
    if not present:
        pytest.skip(f"{papers[0].parent} is not on this machine")
    recorded = load_curation(curation).paper_sha256
    for paper in present:
        assert sha256_of(paper) in recorded, (
            f"{curation} was written for another version of {paper.name}: check its decisions still hold, then "
            f"python tools/stamp_curation.py {curation.relative_to(ROOT)} {' '.join(str(p) for p in present)}")
