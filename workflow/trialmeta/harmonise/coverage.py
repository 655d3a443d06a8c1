"""tables/coverage.csv: for every paper and endpoint, whether a value was found, and if not, what there was.

A reviewer asks "why is there no CRS value for this paper?": the answer is one
row, read from the extraction record (its `candidates` and `chosen`) and the
harmonised table. Status, in this order:

- ``verified`` / ``curated`` / ``found``: the endpoint has a row in endpoints.csv,
  whose source is a reviewer's verification, a curation decision, or the extractor;
- ``candidates only``: the extractor saw numbers for the endpoint but none is in
  the table (all about a subgroup or another trial, or rejected by curation);
- ``not found``: the paper gave the extractor nothing for the endpoint;
- ``paper not read``: the paper failed before extraction (see failures.csv).
"""

from __future__ import annotations

import pandas as pd

from trialmeta.harmonise.rows import ENDPOINTS

COVERAGE_COLUMNS = ["paper", "study", "endpoint", "status", "landmarks", "candidates", "chosen"]
SOURCE_STATUS = {"verified": "verified", "curated": "curated"}


def _landmarks(rows: pd.DataFrame) -> str:
    months = sorted({float(m) for m in rows["landmark_months"] if not pd.isna(m)})
    return ";".join(f"{m:g}" for m in months)


def coverage(records: list[dict], endpoints: pd.DataFrame) -> pd.DataFrame:
    """One row per paper x endpoint of `ENDPOINTS` (papers sorted by name)."""
    out = []
    for record in sorted(records, key=lambda r: r["paper"]):
        paper = record["paper"]
        table = endpoints[endpoints["paper"] == paper]
        study = table["study"].iloc[0] if len(table) else (record.get("study") or paper)
        candidates = record.get("candidates") or []
        chosen = [candidates[c["candidate"]]["endpoint"] for c in record.get("chosen") or []
                  if 0 <= c.get("candidate", -1) < len(candidates)]
        for endpoint in ENDPOINTS:
            rows = table[table["endpoint"] == endpoint]
            seen = sum(c.get("endpoint") == endpoint for c in candidates)
            if record.get("status") != "ok":
                status = "paper not read"
            elif len(rows):
                sources = set(rows["source"].fillna("extracted"))
                status = next((SOURCE_STATUS[s] for s in ("verified", "curated") if s in sources), "found")
            else:
                status = "candidates only" if seen else "not found"
            out.append({"paper": paper, "study": study, "endpoint": endpoint, "status": status,
                        "landmarks": _landmarks(rows) if len(rows) else "", "candidates": seen,
                        "chosen": chosen.count(endpoint)})
    return pd.DataFrame(out, columns=COVERAGE_COLUMNS)
