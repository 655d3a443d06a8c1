"""results/review/index.html: every paper's review page with its progress.

Progress counts the paper's values that its curation file already decides; the page's script adds
what this browser holds (the review pages' localStorage) and has not yet been exported.
"""

from __future__ import annotations

import base64
import hashlib

from trialmeta.review.items import load_existing_curation, review_items
from trialmeta.review.page import ASSETS, escape, script_json


def paper_progress(record: dict, curation_path) -> dict:
    """Values to verify in one paper and how many its curation file decides."""
    _, items = review_items(record)
    curation, error = load_existing_curation(curation_path)
    decided = {d["key"] for d in curation.get("decisions", [])}
    return {
        "paper": str(record.get("paper")), "sha256": record.get("sha256"), "values": len(items),
        "in_file": sum(1 for item in items if item.key in decided), "status": record.get("status"), "error": error,
        "keys": [item.key for item in items],
    }


INDEX_SCRIPT = """(() => {
  'use strict';
  const papers = JSON.parse(document.getElementById('index-data').textContent);
  let storage = null;
  try { storage = window.localStorage; } catch (e) { storage = null; }
  for (const p of papers) {
    const cell = document.querySelector('td[data-browser="' + CSS.escape(p.paper) + '"]');
    let state = null;
    try { state = JSON.parse(storage && storage.getItem('trialmeta-review:' + p.paper + ':' + (p.sha256 || ''))); } catch (e) { state = null; }
    if (!cell) continue;
    const done = state ? p.keys.filter(k => state.decisions && state.decisions[k]).length : 0;
    const added = state && state.added ? state.added.length : 0;
    cell.textContent = state ? done + ' decided, ' + added + ' added, not yet exported' : 'nothing stored';
  }
})();"""


def build_index(progress: list[dict]) -> str:
    """The index page: one row per paper, linking its review page."""
    rows = []
    for p in progress:
        note = " (extraction failed: add its values on the page)" if p["status"] != "ok" else ""
        if p["error"]:
            note += f" (curation file refused: {p['error']})"
        rows.append(f'<tr><td><a href="{escape(p["paper"])}.html">{escape(p["paper"])}</a>{escape(note)}</td>'
                    f'<td>{p["in_file"]} of {p["values"]} values reviewed</td><td data-browser="{escape(p["paper"])}"></td></tr>')
    total, done = sum(p["values"] for p in progress), sum(p["in_file"] for p in progress)
    digest = base64.b64encode(hashlib.sha256(INDEX_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    css = (ASSETS / "review.css").read_text(encoding="utf-8")
    data = [{k: p[k] for k in ("paper", "sha256", "keys")} for p in progress]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'">
<title>Review: all papers</title><style>{css}</style></head><body><main>
<h1>Review: all papers</h1>
<p id="total">{done} of {total} values reviewed in the curation files (curated or verified: a decision on the value).</p>
<p class="where">Open a paper, verify its values, export its curation file into curation_dir and rerun snakemake.</p>
<table><thead><tr><th>paper</th><th>curation file</th><th>this browser</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table></main>
<script type="application/json" id="index-data">{script_json(data)}</script>
<script>{INDEX_SCRIPT}</script></body></html>
"""
