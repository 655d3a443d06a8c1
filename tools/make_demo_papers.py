#!/usr/bin/env python3
"""Build the demo corpus PDFs in resources/papers/ from resources/demo_sources/*.md.

The demo corpus is four short reports of published CAR-T trials in B-ALL, retold in this
project's own words (facts and figures carried from the sources, sentences not). Each source is
a Markdown file with a YAML front matter; this script typesets it like a journal page with
reportlab: full-width title block, two-column body (BaseDocTemplate with two Frames), running
header, page-number footer, ruled tables, superscript exponents and a few hyphenated line breaks.

The output is deterministic: the same sources give byte-identical PDFs on every run and machine
(reportlab invariant mode, fixed metadata, only fonts that ship with reportlab).

Source format (see resources/demo_sources/README.md):
  front matter keys: stem, page_size (A4|letter), journal, banner, volume_line, running_head,
    title, authors, affiliation, dates (optional), summary_heading, keywords, tables (optional)
  body: "## Heading" sections; blank-line separated paragraphs; "[[table:name]]" places an
    in-column table; the section named like summary_heading goes into the full-width title
    block; the "References" section holds "N. text" entries.
  inline markup: **bold**, *italic*, 10^6^ (superscript), C~max~ (subscript).
  tables: caption, style (grid|rules), col_widths (fractions), header, rows, note, and
    float_page (N) to draw the table full width at the top of page N instead of in a column.
    A row [{span: text}] is a group label spanning all columns.

Usage: python tools/make_demo_papers.py [--out DIR] [--sources DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import html
import pathlib
import re
import sys

import yaml
from reportlab import rl_config

rl_config.invariant = 1  # fixed creation date and document id: byte-identical output

from reportlab.lib import colors  # noqa: E402
from reportlab.lib.enums import TA_JUSTIFY, TA_LEFT  # noqa: E402
from reportlab.lib.pagesizes import A4, letter  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.platypus import (  # noqa: E402
    BaseDocTemplate,
    Frame,
    FrameBreak,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import HRFlowable  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = ROOT / "resources" / "demo_sources"
DEFAULT_OUT = ROOT / "resources" / "papers"
STEM_RE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")

# Vera ships inside reportlab, so the embedded subset is the same everywhere. It supplies the
# few characters the standard Times/Helvetica encoding lacks (>=, <=, minus sign).
pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))

# ---------------------------------------------------------------------------------------------
# hyphenation: a fixed list of generic long words with their break points. Words the pipeline's
# lexicon looks for (therapy names, populations, endpoints) are deliberately not listed.
_HYPHENATED = """
trans-plan-ta-tion trans-plant-ed con-sol-i-da-tion con-sol-i-dat-ed lym-pho-de-ple-tion
lym-pho-de-plet-ing chemo-ther-a-py im-mu-no-glob-u-lin im-mu-no-glob-u-lins trans-duc-tion
trans-duced cere-bro-spi-nal sig-nif-i-cant-ly in-ter-leu-kin down-reg-u-la-tion sur-veil-lance
per-sis-tence rec-om-mend-ed com-par-i-son there-after toci-li-zu-mab cor-ti-co-ster-oids
dexa-meth-a-sone en-ceph-a-lop-a-thy au-tol-o-gous al-lo-ge-ne-ic hema-to-poi-et-ic ex-pan-sion
ef-fi-cien-cy prog-nos-tic du-ra-bil-i-ty con-sid-er-a-tions par-tic-u-lar-ly extra-med-ul-lary
cy-clo-phos-pha-mide flu-dar-a-bine mor-pho-log-ic mor-pho-log-i-cal-ly anal-y-sis es-ti-mat-ed
es-ti-mates in-fu-sion in-fu-sions in-fused trans-fused se-lec-tion pro-spec-tive ret-ro-spec-tive
re-cog-niz-ing rec-og-nizes treat-ment treat-ments co-stim-u-la-to-ry cor-re-lat-ed
im-mu-no-ther-a-py as-sess-ment as-sessed ex-am-ined re-sis-tant re-sis-tance sub-se-quent
di-rect-ed prob-a-bly ex-press-ing dem-on-stra-tion in-ter-val in-ter-vals thir-ty mea-sured
un-changed leu-ke-mic
"""
HYPHENATION: dict[str, list[str]] = {
    w.replace("-", ""): w.split("-") for w in _HYPHENATED.split()
}


def hyphenator(word: str):
    """reportlab hyphenation callable: word -> (head, tail) pairs, longest head first."""
    parts = HYPHENATION.get(word.lower())
    if not parts:
        return []
    pairs = []
    cut = 0
    cuts = []
    for part in parts[:-1]:
        cut += len(part)
        cuts.append(cut)
    for cut in reversed(cuts):
        if cut >= 2 and len(word) - cut >= 3:
            pairs.append((word[:cut], word[cut:]))
    return pairs


# ---------------------------------------------------------------------------------------------
# inline markup
def _encodable(ch: str) -> bool:
    try:
        ch.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


def markup(text: str) -> str:
    """Markdown-ish inline markup -> reportlab paragraph markup."""
    s = html.escape(" ".join(text.split()), quote=False)
    s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
    s = re.sub(r"\*(.+?)\*", r"<i>\1</i>", s)
    s = re.sub(r"\^([^\^\s]+)\^", r"<super>\1</super>", s)
    s = re.sub(r"~([^~\s]+)~", r"<sub>\1</sub>", s)
    return "".join(c if c.isascii() or _encodable(c) else f'<font name="Vera">{c}</font>' for c in s)


def plain(text: str) -> str:
    """Front-matter text for metadata and canvas strings: no markup."""
    return " ".join(re.sub(r"[\^~*]", "", text).split())


# ---------------------------------------------------------------------------------------------
# styles
def styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "body", fontName="Times-Roman", fontSize=9.4, leading=11.4, alignment=TA_JUSTIFY,
        hyphenationLang=hyphenator, hyphenationMinWordLength=6, embeddedHyphenation=0,
        uriWasteReduce=0, spaceAfter=0,
    )
    return {
        "body": body,
        "body_indent": ParagraphStyle("body_indent", parent=body, firstLineIndent=10),
        "h1": ParagraphStyle("h1", fontName="Helvetica-Bold", fontSize=10, leading=12,
                             spaceBefore=9, spaceAfter=3, keepWithNext=1),
        "banner": ParagraphStyle("banner", fontName="Helvetica-Bold", fontSize=8, leading=10,
                                 textColor=colors.HexColor("#7a1f1f"), spaceAfter=6),
        "title": ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=15.5, leading=19,
                                spaceAfter=8, alignment=TA_LEFT),
        "authors": ParagraphStyle("authors", fontName="Helvetica", fontSize=9.5, leading=12,
                                  spaceAfter=3),
        "affil": ParagraphStyle("affil", fontName="Helvetica-Oblique", fontSize=7.3,
                                leading=9, spaceAfter=2),
        "dates": ParagraphStyle("dates", fontName="Helvetica", fontSize=7.3, leading=9,
                                spaceAfter=2),
        "summary_h": ParagraphStyle("summary_h", fontName="Helvetica-Bold", fontSize=9.5,
                                    leading=12, spaceBefore=8, spaceAfter=2),
        "summary": ParagraphStyle("summary", parent=body, fontSize=9, leading=11),
        "keywords": ParagraphStyle("keywords", fontName="Helvetica", fontSize=7.6, leading=9.5,
                                   spaceBefore=5, spaceAfter=6),
        "ref": ParagraphStyle("ref", fontName="Times-Roman", fontSize=7.8, leading=9.2,
                              leftIndent=11, firstLineIndent=-11, spaceAfter=1.5),
        "caption": ParagraphStyle("caption", fontName="Helvetica-Bold", fontSize=7.5,
                                  leading=9, spaceAfter=3),
        "note": ParagraphStyle("note", fontName="Helvetica", fontSize=6.6, leading=8,
                               spaceBefore=2),
        "cell": ParagraphStyle("cell", fontName="Helvetica", fontSize=7, leading=8.2),
        "cell_h": ParagraphStyle("cell_h", fontName="Helvetica-Bold", fontSize=7, leading=8.2),
    }


# ---------------------------------------------------------------------------------------------
# source parsing
def read_source(path: pathlib.Path) -> tuple[dict, list[tuple[str, list[str]]]]:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise SystemExit(f"{path}: missing YAML front matter")
    end = text.index("\n---\n", 4)
    meta = yaml.safe_load(text[4:end])
    sections: list[tuple[str, list[str]]] = []
    for line in text[end + 5:].splitlines():
        if line.startswith("## "):
            sections.append((line[3:].strip(), [""]))
        elif sections:
            blocks = sections[-1][1]
            if line.strip():
                blocks[-1] = (blocks[-1] + "\n" + line).strip("\n")
            elif blocks[-1]:
                blocks.append("")
    sections = [(h, [b for b in bl if b.strip()]) for h, bl in sections]
    stem = meta.get("stem", "")
    if not STEM_RE.match(stem) or stem != path.stem:
        raise SystemExit(f"{path}: stem {stem!r} must be snake_case and equal the file name")
    return meta, sections


# ---------------------------------------------------------------------------------------------
# tables
def build_table(spec: dict, width: float, st: dict) -> list:
    fr = [float(x) for x in spec["col_widths"]]
    widths = [width * f / sum(fr) for f in fr]
    ncol = len(widths)
    data = [[Paragraph(markup(h), st["cell_h"]) for h in spec["header"]]]
    cmds = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.8),
    ]
    for r, row in enumerate(spec["rows"], start=1):
        if len(row) == 1 and isinstance(row[0], dict):
            data.append([Paragraph(markup(row[0]["span"]), st["cell_h"])] + [""] * (ncol - 1))
            cmds.append(("SPAN", (0, r), (-1, r)))
            cmds.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f2f2f2")))
            continue
        if len(row) != ncol:
            raise SystemExit(f"table {spec['caption']!r}: row {r} has {len(row)} cells, not {ncol}")
        data.append([Paragraph(markup(str(c)), st["cell"]) for c in row])
    if spec.get("style", "grid") == "grid":
        cmds += [
            ("GRID", (0, 0), (-1, -1), 0.45, colors.black),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e4e4")),
        ]
    else:  # three rules, booktabs style
        cmds += [
            ("LINEABOVE", (0, 0), (-1, 0), 0.9, colors.black),
            ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
            ("LINEBELOW", (0, -1), (-1, -1), 0.9, colors.black),
        ]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(cmds))
    parts = [Paragraph(markup(spec["caption"]), st["caption"]), table]
    if spec.get("note"):
        parts.append(Paragraph(markup(spec["note"]), st["note"]))
    return parts


def stack_height(flowables: list, width: float) -> float:
    total = 0.0
    for f in flowables:
        total += f.wrap(width, 10_000)[1] + f.getSpaceBefore() + f.getSpaceAfter()
    return total


# ---------------------------------------------------------------------------------------------
# document
class DemoDoc(BaseDocTemplate):
    pass


def build_pdf(src: pathlib.Path, out_dir: pathlib.Path) -> pathlib.Path:
    meta, sections = read_source(src)
    st = styles()
    pagesize = {"A4": A4, "letter": letter}[meta.get("page_size", "A4")]
    pw, ph = pagesize
    lm = rm = 50.0
    tm, bm = 58.0, 52.0
    gap = 16.0
    full_w = pw - lm - rm
    col_w = (full_w - gap) / 2
    tables = meta.get("tables") or {}
    summary_name = meta.get("summary_heading", "Abstract")

    # ---- title block (full width on page 1)
    head = [
        Paragraph(markup(meta["banner"]), st["banner"]),
        Paragraph(markup(meta["title"]), st["title"]),
        Paragraph(markup(meta["authors"]), st["authors"]),
        Paragraph(markup(meta["affiliation"]), st["affil"]),
    ]
    if meta.get("dates"):
        head.append(Paragraph(markup(meta["dates"]), st["dates"]))
    body_sections = []
    for name, blocks in sections:
        if name == summary_name:
            head.append(Paragraph(markup(name), st["summary_h"]))
            head += [Paragraph(markup(b), st["summary"]) for b in blocks]
        else:
            body_sections.append((name, blocks))
    if meta.get("keywords"):
        head.append(Paragraph("<b>Keywords</b>  " + markup(meta["keywords"]), st["keywords"]))
    head.append(HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceBefore=0,
                           spaceAfter=2))
    head_h = stack_height(head, full_w) + 6

    # ---- body story
    story = list(head) + [FrameBreak()]
    for name, blocks in body_sections:
        story.append(Paragraph(markup(name), st["h1"]))
        first = True
        for b in blocks:
            m = re.fullmatch(r"\[\[table:([a-z0-9_]+)\]\]", b.strip())
            if m:
                spec = tables[m.group(1)]
                story.append(Spacer(1, 6))
                story.append(KeepTogether(build_table(spec, col_w, st)))
                story.append(Spacer(1, 6))
                first = True
                continue
            if name.lower() == "references":
                for line in b.splitlines():
                    story.append(Paragraph(markup(line), st["ref"]))
                continue
            story.append(Paragraph(markup(b), st["body"] if first else st["body_indent"]))
            first = False

    # ---- full-width floats drawn at the top of a given page
    floats: dict[int, list] = {}
    float_h: dict[int, float] = {}
    for spec in tables.values():
        if spec.get("float_page"):
            page = int(spec["float_page"])
            if page < 2:
                raise SystemExit(f"{src}: float_page must be 2 or later")
            floats[page] = build_table(spec, full_w, st)
            float_h[page] = stack_height(floats[page], full_w) + 14
    drawn: set[int] = set()

    def header_footer(canv, doc):
        canv.saveState()
        page = doc.page
        canv.setLineWidth(0.5)
        if page == 1:
            canv.setFont("Helvetica", 7.5)
            canv.drawString(lm, ph - tm + 22, plain(meta["volume_line"]))
            canv.line(lm, ph - tm + 17, pw - rm, ph - tm + 17)
            canv.setFont("Helvetica-Oblique", 6.3)
            canv.drawString(lm, bm - 24, "trialmeta demo corpus: a published trial retold in the "
                            "project's own words; the figures are the trial's, the prose is not "
                            "the original article's.")
        else:
            canv.setFont("Helvetica-Oblique", 7.5)
            left, right = (meta["journal"], meta["running_head"]) if page % 2 == 0 else (
                meta["running_head"], meta["journal"])
            canv.drawString(lm, ph - tm + 22, plain(left))
            canv.drawRightString(pw - rm, ph - tm + 22, plain(right))
            canv.line(lm, ph - tm + 17, pw - rm, ph - tm + 17)
        canv.setFont("Helvetica", 8)
        canv.drawCentredString(pw / 2, bm - 36, str(page))
        if page in floats:
            y = ph - tm
            for f in floats[page]:
                y -= f.getSpaceBefore()
                _, h = f.wrap(full_w, 10_000)
                f.drawOn(canv, lm, y - h)
                y -= h + f.getSpaceAfter()
            canv.line(lm, y - 6, pw - rm, y - 6)
            drawn.add(page)
        canv.restoreState()

    def columns(top: float, suffix: str) -> list[Frame]:
        h = top - bm
        kw = dict(leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        return [Frame(lm, bm, col_w, h, id=f"left{suffix}", **kw),
                Frame(lm + col_w + gap, bm, col_w, h, id=f"right{suffix}", **kw)]

    kw0 = dict(leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    title_frame = Frame(lm, ph - tm - head_h, full_w, head_h, id="title", **kw0)
    last_special = max(floats) if floats else 1
    templates = []
    for page in range(1, last_special + 1):
        nxt = f"p{page + 1}" if page < last_special else "body"
        if page == 1:
            frames = [title_frame] + columns(ph - tm - head_h - 4, "1")
        else:
            frames = columns(ph - tm - float_h.get(page, 0.0), str(page))
        templates.append(PageTemplate(id=f"p{page}", frames=frames, onPage=header_footer,
                                      autoNextPageTemplate=nxt, pagesize=pagesize))
    templates.append(PageTemplate(id="body", frames=columns(ph - tm, ""), onPage=header_footer,
                                  pagesize=pagesize))

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{meta['stem']}.pdf"
    doc = DemoDoc(
        str(out), pagesize=pagesize, leftMargin=lm, rightMargin=rm, topMargin=tm,
        bottomMargin=bm, title=plain(meta["title"]), author=plain(meta["authors"]),
        subject=f"trialmeta demo corpus: {plain(meta['journal'])}",
        creator="trialmeta tools/make_demo_papers.py", keywords=plain(meta.get("keywords", "")),
        invariant=1,
    )
    doc.addPageTemplates(templates)
    doc.build(story)
    missing = set(floats) - drawn
    if missing:
        raise SystemExit(f"{src}: document too short for floats on page(s) {sorted(missing)}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT,
                    help="output directory (default: resources/papers)")
    ap.add_argument("--sources", type=pathlib.Path, default=DEFAULT_SOURCES,
                    help="directory of Markdown sources (default: resources/demo_sources)")
    args = ap.parse_args(argv)
    srcs = sorted(p for p in args.sources.glob("*.md") if p.name.lower() != "readme.md")
    if not srcs:
        print(f"no sources in {args.sources}", file=sys.stderr)
        return 1
    for src in srcs:
        out = build_pdf(src, args.out)
        digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
        print(f"{out}  sha256:{digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
