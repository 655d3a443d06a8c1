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
    cell.textContent = state ? done + ' decided, ' + added + ' added, kept in this browser' : 'nothing stored';
  }
  // Every paper's curation file as its review page keeps it (trialmeta-review-export:<paper>:<sha256>), in
  // one zip (stored, no compression: the format any unzip reads, written here without a library).
  const CRC = new Uint32Array(256).map((_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc32 = bytes => { let c = 0xFFFFFFFF; for (const b of bytes) c = CRC[(c ^ b) & 0xFF] ^ (c >>> 8); return (c ^ 0xFFFFFFFF) >>> 0; };
  function zip(files) {
    const parts = [], central = [];
    let offset = 0;
    const header = (sig, fields) => { const v = new DataView(new ArrayBuffer(4 + fields.reduce((n, [w]) => n + w, 0))); v.setUint32(0, sig, true); let at = 4; for (const [w, x] of fields) { if (w === 2) v.setUint16(at, x, true); else v.setUint32(at, x, true); at += w; } return new Uint8Array(v.buffer); };
    for (const {name, text} of files) {
      const path = new TextEncoder().encode(name), data = new TextEncoder().encode(text), crc = crc32(data);
      // version 20, flag 0x0800 (UTF-8 names), method 0 (stored), time 0, date 1980-01-01
      const common = [[2, 20], [2, 0x0800], [2, 0], [2, 0], [2, 0x21], [4, crc], [4, data.length], [4, data.length], [2, path.length], [2, 0]];
      const local = header(0x04034b50, common);
      central.push(header(0x02014b50, [[2, 20], ...common, [2, 0], [2, 0], [2, 0], [4, 0], [4, offset]]), path);
      parts.push(local, path, data);
      offset += local.length + path.length + data.length;
    }
    const size = central.reduce((n, b) => n + b.length, 0);
    const end = header(0x06054b50, [[2, 0], [2, 0], [2, files.length], [2, files.length], [4, size], [4, offset], [2, 0]]);
    return new Blob([...parts, ...central, end], {type: 'application/zip'});
  }
  document.getElementById('zip').addEventListener('click', () => {
    const files = [];
    for (const p of papers) {
      const text = storage && storage.getItem('trialmeta-review-export:' + p.paper + ':' + (p.sha256 || ''));
      if (text) files.push({name: p.paper + '.yaml', text: text});
    }
    const say = document.getElementById('zip-result');
    if (!files.length) { say.textContent = 'Nothing to export: no review page of this browser holds a decision.'; return; }
    const link = document.createElement('a');
    link.href = URL.createObjectURL(zip(files));
    link.download = 'curation.zip';
    document.body.appendChild(link);
    link.click();
    setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 2000);
    say.textContent = 'Exported curation.zip with ' + files.length + ' file(s): ' + files.map(f => f.name).join(', ')
      + '. Unzip it into the curation_dir folder and rerun snakemake.';
    document.body.dataset.zipped = String(files.length);
  });
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
<p><button type="button" id="zip">Download all as curation.zip</button> every paper this browser holds decisions
for, each file as its page exports it. <span id="zip-result" role="status"></span></p>
<table><thead><tr><th>paper</th><th>curation file</th><th>this browser</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table></main>
<script type="application/json" id="index-data">{script_json(data)}</script>
<script>{INDEX_SCRIPT}</script></body></html>
"""
