"""The glyph map: right characters for symbol fonts that a PDF maps wrongly.

The map (glyph_map.yaml beside this file, or another file of the same form)
is chosen by the font's base name and the character code. pdfplumber gives a
character's text, not its code, so the code is recovered from the font the
page uses: its ToUnicode map, or (without one) the encoding pdfminer read the
text from, run backwards. Substitutions happen on the characters, before any
line, word or number is built, and each substituted glyph keeps the name of
the map entry (`GlyphFix.source`) for the candidate's provenance.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pdfminer.pdftypes import PDFObjRef, resolve1

DEFAULT_GLYPH_MAP = Path(__file__).with_name("glyph_map.yaml")

# "ABCDEF+AdvPS7DA6" -> "AdvPS7DA6": subset fonts carry a six-letter tag
_SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")
_WHEN = ("no_tounicode", "always")
# Form XObjects may hold their own fonts (a box, a table set as a form); nested this deep
_FORM_DEPTH = 3


@dataclass(frozen=True)
class FontEntry:
    font: str
    when: str
    codes: dict[int, str]
    learnt_from: tuple[str, ...]


@dataclass(frozen=True)
class GlyphFix:
    text: str  # the character the glyph shows
    source: str  # "glyph_map:<font>", for provenance


def base_font_name(fontname: str) -> str:
    return _SUBSET_PREFIX.sub("", fontname)


class GlyphMapError(ValueError):
    """A glyph map file that cannot be used; the message names the file and the entry."""


@functools.lru_cache(maxsize=8)
def load_glyph_map(path: str | Path = DEFAULT_GLYPH_MAP) -> dict[str, FontEntry]:
    """{base font name: entry}, checked: codes are whole numbers, each maps to one character."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise GlyphMapError(f"{path}: cannot be read as YAML ({err})") from err
    entries: dict[str, FontEntry] = {}
    for number, item in enumerate((data or {}).get("fonts") or [], start=1):
        where = f"{path}: fonts entry {number}"
        if not isinstance(item, dict) or not isinstance(item.get("font"), str):
            raise GlyphMapError(f"{where} needs a font name")
        when = item.get("when", "no_tounicode")
        if when not in _WHEN:
            raise GlyphMapError(f"{where} ({item['font']}): when must be one of {', '.join(_WHEN)}, not {when!r}")
        codes = item.get("codes") or {}
        if not codes or not all(isinstance(c, int) and isinstance(t, str) and len(t) == 1 for c, t in codes.items()):
            raise GlyphMapError(f"{where} ({item['font']}): codes must map whole numbers to one character each")
        learnt = item.get("learnt_from") or []
        if not learnt:
            raise GlyphMapError(f"{where} ({item['font']}): learnt_from must name the files the codes were checked on")
        if item["font"] in entries:
            raise GlyphMapError(f"{where}: font {item['font']} is listed twice")
        entries[item["font"]] = FontEntry(item["font"], when, dict(codes), tuple(str(x) for x in learnt))
    return entries


def fonts_of(resources, seen: set, depth: int = 0):
    """(object id, font dict) of the fonts a page or form uses."""
    resources = resolve1(resources) or {}
    if not isinstance(resources, dict):
        return
    fonts = resolve1(resources.get("Font")) or {}
    if isinstance(fonts, dict):
        for ref in fonts.values():
            objid = ref.objid if isinstance(ref, PDFObjRef) else None
            spec = resolve1(ref)
            if isinstance(spec, dict) and (objid is None or objid not in seen):
                seen.add(objid)
                yield objid, spec
    if depth >= _FORM_DEPTH:
        return
    xobjects = resolve1(resources.get("XObject")) or {}
    if isinstance(xobjects, dict):
        for ref in xobjects.values():
            xobject = resolve1(ref)
            attrs = getattr(xobject, "attrs", None)
            if attrs and resolve1(attrs.get("Resources")) is not None:
                yield from fonts_of(attrs.get("Resources"), seen, depth + 1)


def _text_to_code(font) -> dict[str, int]:
    """What pdfminer writes for each code of `font`, run backwards."""
    if font.unicode_map is not None:
        mapping = font.unicode_map.cid2unichr
    else:
        mapping = getattr(font, "cid2unicode", None) or {}
    backwards: dict[str, int] = {}
    for code, text in mapping.items():
        backwards.setdefault(text, code)  # the first code wins where two share a text
    return backwards


def page_fixes(pdf, page, glyph_map: dict[str, FontEntry]) -> dict[str, dict[str, GlyphFix]]:
    """{font name as pdfplumber reports it: {text pdfminer read: fix}} for the
    fonts of this page that the glyph map has entries for."""
    if not glyph_map:
        return {}
    fixes: dict[str, dict[str, GlyphFix]] = {}
    for objid, spec in fonts_of(page.page_obj.resources, set()):
        base = resolve1(spec.get("BaseFont"))
        name = getattr(base, "name", base)
        if not isinstance(name, str) or base_font_name(name) not in glyph_map:
            continue
        entry = glyph_map[base_font_name(name)]
        try:
            font = pdf.rsrcmgr.get_font(objid, spec)  # the object the page's text was read with (cached)
        except Exception:  # a damaged font dict: its text stays as read
            continue
        if entry.when == "no_tounicode" and font.unicode_map is not None:
            continue
        backwards = _text_to_code(font)
        by_text = {}
        for text, code in backwards.items():
            if code in entry.codes:
                by_text[text] = GlyphFix(entry.codes[code], f"glyph_map:{entry.font}")
        for code, right in entry.codes.items():  # CID fonts without a map read "(cid:N)"
            by_text.setdefault(f"(cid:{code})", GlyphFix(right, f"glyph_map:{entry.font}"))
        fixes[font.fontname] = by_text
    return fixes
