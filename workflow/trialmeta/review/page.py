"""The review page of one paper: self-contained HTML (inline CSS, script and images; no network).

Everything taken from a paper (quotes, labels, numbers, file names) reaches the page through
`html.escape` or, for the script's data, through JSON with ``<``, ``>`` and ``&`` escaped; the
script writes it back with ``textContent`` only. A Content-Security-Policy allows exactly the
page's own script (by its SHA-256), so markup a paper smuggled in could not run even if it got
past the escaping.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from pathlib import Path

from trialmeta.review.crops import PdfCrops, paragraph_of, value_spans
from trialmeta.review.items import CURATION_SCHEMA, REVIEWED_ENDPOINTS, Item, load_existing_curation, review_items

ASSETS = Path(__file__).resolve().parent
TEXT_SUFFIXES = (".txt", ".md")
METADATA_CHOICES = {
    name: spec["enum"]
    for name, spec in CURATION_SCHEMA["properties"].items()
    if name in ("target", "construct", "population", "age_group") and "enum" in spec
}


def escape(value) -> str:
    """Text (or None) as HTML text or an attribute value."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(data) -> str:
    """JSON that is safe inside <script>: no '</script>', no '<!--', no HTML entity."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _number(value, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def value_text(candidate: dict | None) -> str:
    """A candidate's value as a reviewer reads it: '12/14 (85.7%)', '61.2% ± 14', '78% (55-99)'."""
    if candidate is None:
        return "no value chosen"
    events, total, estimate = candidate.get("events"), candidate.get("total"), candidate.get("estimate")
    percent = candidate.get("percent_printed")
    if candidate.get("endpoint") == "followup_median_months":
        return "no value" if estimate is None else f"{estimate:.1f} months"
    parts = []
    if events is not None and total is not None:
        parts.append(f"{events}/{total}")
    elif events is not None:
        parts.append(f"{events} patients")
    elif total is not None:
        parts.append(f"n = {total}")
    if percent is not None:
        parts.append(f"{_number(percent, 4)}%")
    elif estimate is not None:
        parts.append(f"{_number(100 * estimate, 4)}%")
    text = " ".join(parts[:1]) + (f" ({parts[1]})" if len(parts) > 1 else "")
    if candidate.get("ci_low") is not None and candidate.get("ci_high") is not None:
        text += f" (95% CI {_number(100 * candidate['ci_low'], 4)}-{_number(100 * candidate['ci_high'], 4)}%)"
    if candidate.get("se") is not None:
        text += f" ± {_number(100 * candidate['se'], 4)}%"
    return text or "no number"


def _where(candidate: dict) -> str:
    bits = []
    if candidate.get("page") is not None:
        bits.append(f"page {candidate['page']}")
    if candidate.get("line") is not None:
        bits.append(f"line {candidate['line']}")
    if candidate.get("rule"):
        bits.append(f"rule {candidate['rule']}")
    if isinstance(candidate.get("confidence"), (int, float)):
        bits.append(f"confidence {candidate['confidence']:.2f}")
    return " · ".join(bits)


def _marked_quote(candidate: dict) -> str:
    """The quote with the value's printed numbers in <mark>, every part escaped."""
    quote, out, at = candidate["quote"], [], 0
    for start, end in value_spans(candidate):
        out += [escape(quote[at:start]), "<mark>", escape(quote[start:end]), "</mark>"]
        at = end
    out.append(escape(quote[at:]))
    return "".join(out)


def _evidence(candidate: dict, crops: PdfCrops | None, text: str | None) -> str:
    """The crop of the page (PDF) or the paragraph (text paper) where the value was read."""
    if crops is not None:
        crop = crops.crop(candidate)
        if crop is None:
            return '<p class="note">No position on the page was recorded for this value.</p>'
        alt = f"page {candidate.get('page')} of the paper around the value, the quote highlighted"
        found = "" if crop.numbers_found else '<p class="note">The numbers were not located in the page text: the box marks the region read.</p>'
        return f'<img class="crop" src="{crop.uri}" width="{crop.width}" height="{crop.height}" alt="{escape(alt)}">{found}'
    if text is not None:
        found = paragraph_of(text, candidate["quote"])
        if found is None:
            return '<p class="note">The quote was not found in the paper text.</p>'
        paragraph, start, end = found
        return (f'<div class="paragraph">{escape(paragraph[:start])}<mark>{escape(paragraph[start:end])}</mark>'
                f'{escape(paragraph[end:])}</div>')
    return ""


def _candidate_html(candidate: dict) -> str:
    return (f'<li data-candidate="{candidate["index"]}"><button type="button" class="choose" data-candidate="{candidate["index"]}">'
            f'Choose</button> <span class="value">{escape(value_text(candidate))}</span> <span class="where">{escape(_where(candidate))}</span>'
            f'<blockquote>{_marked_quote(candidate)}</blockquote></li>')


def _label(item: Item) -> str:
    return item.endpoint + (f" at {item.landmark}" if item.landmark else "")


def _item_html(number: int, item: Item, by_index: dict, crops: PdfCrops | None, text: str | None) -> str:
    chosen = by_index.get(item.chosen)
    if chosen is not None:
        body = (f'<p class="value">{escape(value_text(chosen))}</p><p class="where">{escape(_where(chosen))}</p>'
                f'<blockquote>{_marked_quote(chosen)}</blockquote>{_evidence(chosen, crops, text)}')
    else:
        # the page of the likeliest candidate, so even an unchosen value is checked against the paper
        likeliest = max((by_index[i] for i in item.others), default=None,
                        key=lambda c: c["confidence"] if isinstance(c.get("confidence"), (int, float)) else 0.0)
        body = '<p class="value">The extractor chose no value here: choose a candidate below, or correct.</p>'
        if likeliest is not None:
            body += (f'<p class="where">Likeliest candidate: {escape(value_text(likeliest))}, {escape(_where(likeliest))}</p>'
                     f'{_evidence(likeliest, crops, text)}')
    others = "".join(_candidate_html(by_index[i]) for i in item.others)
    others_html = (f'<details class="others"{" open" if chosen is None else ""}><summary>{len(item.others)} other '
                   f'candidate{"s" if len(item.others) != 1 else ""} (o)</summary><ol>{others}</ol></details>') if item.others else ""
    return f"""<section class="item" id="item-{number}" data-key="{escape(item.key)}" tabindex="-1">
<header><h2><span class="n">{number + 1}.</span> {escape(_label(item))}</h2><span class="status" data-status>not reviewed</span></header>
<div class="chosen">{body}</div>
{others_html}
<div class="actions"><label>Reason <input type="text" class="reason" placeholder="why (checked against page …)"></label>
<button type="button" data-act="accept">Accept (a)</button><button type="button" data-act="reject">Reject (r)</button>
<button type="button" data-act="correct">Correct (c)</button><button type="button" data-act="undo">Undo (u)</button></div>
<form class="correct" hidden><fieldset><legend>Correct the value (as printed)</legend>
<label>events <input name="events" inputmode="numeric"></label><label>total <input name="total" inputmode="numeric"></label>
<label>percent <input name="percent" inputmode="decimal"></label><label>CI low % <input name="ci_low" inputmode="decimal"></label>
<label>CI high % <input name="ci_high" inputmode="decimal"></label>{'<label>landmark <input name="landmark" placeholder="12 months"></label>' if item.endpoint in ("relapse_cuminc", "rfs", "lfs", "efs", "os") else ''}
<label class="wide">reason <input name="reason"></label><button type="submit">Save correction (Enter)</button></fieldset></form>
</section>"""


def _select(name: str, options, label: str) -> str:
    opts = "".join(f'<option value="{escape(o)}">{escape(o)}</option>' for o in options)
    return f'<label>{escape(label)} <select name="{escape(name)}"><option value="">(unchanged)</option>{opts}</select></label>'


def _metadata_form(record: dict, curation: dict) -> str:
    extracted = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    now = {**{k: v for k, v in extracted.items() if k != "evidence"}, **{k: v for k, v in curation.items() if k != "decisions"}}
    shown = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in sorted(now.items())
                      if k in ("study", "trial_ids", "target", "construct", "population", "age_group", "year", "report") and v not in (None, ""))
    selects = "".join(_select(name, options, name.replace("_", " ")) for name, options in METADATA_CHOICES.items())
    return f"""<section id="metadata" tabindex="-1"><h2>Study metadata (m)</h2><p class="where">Now: {escape(shown) or 'nothing recorded'}</p>
<form class="metadata"><label>label <input name="study"></label><label>registry ids <input name="trial_ids" placeholder="NCT01234567, ChiCTR…"></label>
{selects}<label>year <input name="year" inputmode="numeric"></label><label>reason <input name="reason"></label>
<button type="submit">Save metadata</button></form></section>"""


def _add_form() -> str:
    options = "".join(f'<option value="{e}">{e}</option>' for e in REVIEWED_ENDPOINTS)
    return f"""<section id="add" tabindex="-1"><h2>Add a value the extractor missed (n)</h2>
<form class="add"><label>endpoint <select name="endpoint">{options}</select></label><label>landmark <input name="landmark" placeholder="12 months"></label>
<label>events <input name="events" inputmode="numeric"></label><label>total <input name="total" inputmode="numeric"></label>
<label>percent <input name="percent" inputmode="decimal"></label><label>CI low % <input name="ci_low" inputmode="decimal"></label>
<label>CI high % <input name="ci_high" inputmode="decimal"></label><label>page <input name="page" inputmode="numeric"></label>
<label class="wide">quote <input name="quote" placeholder="the sentence as printed (select it in a paragraph and press q)"></label>
<label class="wide">reason <input name="reason"></label><button type="submit">Add value</button></form>
<ol id="added"></ol></section>"""


def build_review_page(record: dict, paper_path: str | Path | None, curation_path: str | Path | None, dpi: float) -> str:
    """The review page of one paper from its extraction record, its file and its curation file (if any)."""
    paper = str(record.get("paper") or Path(str(paper_path)).stem)
    candidates, items = review_items(record)
    by_index = {c["index"]: c for c in candidates}
    curation, curation_error = load_existing_curation(curation_path)
    crops, text = None, None
    suffix = Path(str(paper_path)).suffix.lower() if paper_path else ""
    unrendered = ""
    if paper_path and suffix == ".pdf" and record.get("status") == "ok":
        import pypdfium2  # for PDFs only (see crops.py)

        try:
            crops = PdfCrops(paper_path, dpi)
        except pypdfium2.PdfiumError as err:  # the page still lists every value and quote, without crops
            unrendered = f"{Path(paper_path).name}: pypdfium2 cannot open it ({err}); the values are listed without page crops"
    elif paper_path and suffix in TEXT_SUFFIXES:
        text = Path(paper_path).read_text(encoding="utf-8", errors="replace")
    try:
        cards = "\n".join(_item_html(n, item, by_index, crops, text) for n, item in enumerate(items))
    finally:
        if crops is not None:
            crops.close()
    data = {
        "paper": paper, "sha256": record.get("sha256"), "file": record.get("file"),
        "items": [{"key": it.key, "endpoint": it.endpoint, "landmark": it.landmark, "chosen": it.chosen} for it in items],
        "candidates": {str(c["index"]): {k: c[k] for k in ("endpoint", "events", "total", "estimate", "percent_printed",
                                                             "ci_low", "ci_high", "page", "landmark_months", "quote")}
                       for c in candidates if c["endpoint"] in REVIEWED_ENDPOINTS},
        "curation": curation,
    }
    script = (ASSETS / "review.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    css = (ASSETS / "review.css").read_text(encoding="utf-8")
    problem = ""
    if record.get("status") != "ok":
        error = record.get("error") or {}
        problem = f'<p class="problem">Extraction failed ({escape(error.get("kind"))}): {escape(error.get("message"))}. Add values below.</p>'
    if unrendered:
        problem += f'<p class="problem">{escape(unrendered)}</p>'
    if curation_error:
        problem += (f'<p class="problem">The curation file was refused, so its decisions are not shown here and an export '
                    f'would not keep them: {escape(curation_error)}</p>')
    title = f"Review: {paper}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title><style>{css}</style></head>
<body data-paper="{escape(paper)}">
<header id="top"><h1>{escape(title)}</h1><p class="where">{escape(record.get("file"))} · {len(items)} values · <a href="index.html">all papers</a></p>
<p id="progress" aria-live="polite"></p>
<label>Reviewer <input id="reviewer" autocomplete="name" placeholder="your name"></label>
<button type="button" id="export">Export {escape(paper)}.yaml (e)</button> <button type="button" id="clear">Clear this page's stored decisions</button>
<p class="keys">Keys: j / k next / previous value · a accept · r reject · c correct · o other candidates · u undo · n add a value · m metadata · e export. Decisions stay in this browser until exported.</p>
{problem}</header>
<main>
{_metadata_form(record, curation)}
{cards or '<p class="note">No value was extracted from this paper: add the values below.</p>'}
{_add_form()}
<section id="exported"><h2>Exported curation file</h2><p id="export-problems" class="problem" hidden></p><pre id="yaml"></pre></section>
</main>
<script type="application/json" id="review-data">{script_json(data)}</script>
<script>{script}</script>
</body></html>
"""
