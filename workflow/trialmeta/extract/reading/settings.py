"""Every threshold the reader uses, in one validated place.

Lengths are in PDF points unless the name says `ratio` (then they are relative
to the font size of the text concerned, or to the page where noted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

OCR_MODES = ("auto", "off")
# Tesseract language codes ("eng", "chi_sim", "deu") joined by "+"
_OCR_LANGUAGE = re.compile(r"^[a-z]{3}(_[a-z]+)?(\+[a-z]{3}(_[a-z]+)?)*$")


@dataclass(frozen=True)
class ReadSettings:
    # --- whole document ---------------------------------------------------
    max_pages: int = 300  # more pages than this -> DocumentError("too_many_pages")
    # Decoded drawing instructions of one page beyond this -> DocumentError("too_large");
    # journal pages hold tens of kilobytes, pages with detailed vector figures a few megabytes.
    max_page_content_bytes: int = 20_000_000
    drop_references: bool = True  # move the reference list to Document.removed
    # The glyph map for symbol fonts without a right Unicode map (pdf_fonts);
    # "" is the one shipped beside the reader (glyph_map.yaml).
    glyph_map: str = ""
    # A PDF without a text layer: "auto" reads it by OCR (OCRmyPDF over
    # Tesseract, language `ocr_language`, Tesseract's code such as "eng" or
    # "eng+fra"); "off" refuses it as image_only.
    ocr: str = "auto"
    ocr_language: str = "eng"

    # --- glyphs, rows and words ------------------------------------------
    # Glyph bottoms within this share of the font size sit on the same row.
    row_tolerance_ratio: float = 0.2
    # A horizontal gap wider than this share of the font size breaks a word even
    # where the PDF has no space glyph.
    word_gap_ratio: float = 0.2
    # A glyph smaller than this share of its neighbour's size may be a
    # superscript or subscript ...
    script_size_ratio: float = 0.85
    # ... and is one when its baseline is raised (or lowered) by more than this
    # share of the neighbour's size; otherwise it is just smaller text.
    script_shift_ratio: float = 0.1
    # A smaller run attaches to a neighbour that ends or starts within this
    # share of the run's own size.
    script_reach_ratio: float = 0.6
    # Horizontal lines and boxes thinner than this are rules (separators).
    rule_max_thickness: float = 1.5

    # --- running headers and footers -------------------------------------
    # Headers are looked for in this top share of the page height, footers in
    # this bottom share. Text there is removed when it repeats on
    # `running_min_pages` pages (digits ignored), when it is a page number, or
    # (headers) when a horizontal rule follows it within `header_rule_gap_ratio`
    # times its font size.
    header_band: float = 0.075
    footer_band: float = 0.075
    running_min_pages: int = 2
    header_rule_gap_ratio: float = 1.0
    # ... a rule at least this share of the header's width.
    header_rule_min_ratio: float = 0.5
    # A line at the same place on at least this share of the pages (and on
    # `running_min_pages`), outside the bands, is a watermark or banner.
    watermark_page_share: float = 0.5
    # This many single letters in a row, each a word of its own, are
    # letter-spaced (a running head, a box title, a figure's axis letters).
    letter_spaced_min_letters: int = 4
    # Up to three bold or capitalised words at the start of a row, followed by
    # a gap of this many font sizes and text starting at the page's text edge,
    # are a structured abstract's section label set beside the text.
    side_label_gap_ratio: float = 1.5

    # --- columns ------------------------------------------------------------
    # A column gutter is an empty vertical strip at least this wide ...
    min_gutter_width: float = 6.0
    # ... between line pieces no wider than this share of the text width
    # (wider pieces are full-width lines such as titles and abstracts) ...
    full_width_ratio: float = 0.7
    # ... that at least this many rows have text on both sides of ...
    min_column_rows: int = 3
    # ... with a quarter of the lines on each side filling at least this share
    # of their column and holding at least `column_min_words` words (which
    # tells columns of text from lists of terms and from tables).
    column_fill_ratio: float = 0.6
    column_min_words: int = 4
    # A gutter lies at least this share of the text width from its edges.
    gutter_margin_ratio: float = 0.15
    # A candidate gutter may be crossed by line pieces (titles, author lines,
    # centred lines) up to this share of the pieces covering the most covered
    # place of the page (a column), and at least two.
    gutter_crossing_share: float = 0.25
    # A short horizontal rule (less than this share of its column's width) in
    # the lower half of a page, starting within `rule_alignment_tolerance` of
    # the column's left edge, separates footnotes from the column above.
    footnote_rule_max_ratio: float = 0.5
    rule_alignment_tolerance: float = 2.0
    # Small print in the footer band, set apart from the text above it by
    # more than this many body font sizes, is read after the main text too.
    footer_gap_ratio: float = 2.5

    # --- paragraphs and headings -------------------------------------------
    # A baseline step larger than this times the usual step of that font size
    # starts a new paragraph.
    paragraph_gap_ratio: float = 1.1
    # ... plus this share of the font size when the lower line holds a
    # superscript (some writers add leading for it).
    raised_line_allowance_ratio: float = 0.35
    # The step assumed for a font size never seen on two stacked lines.
    default_leading_ratio: float = 1.2
    # Font sizes closer than this share are the same size.
    size_tolerance_ratio: float = 0.05
    # A line ends its paragraph when the next line's first word, after a word
    # space of this share of the font size, would have fitted at its end.
    word_space_ratio: float = 0.3
    # A first line indented by more than this share of the font size starts a
    # paragraph.
    indent_ratio: float = 0.8
    # A short passage whose font is at least this times the body size (or
    # whose every glyph is bold) is a heading; longer ones stay body text.
    heading_size_ratio: float = 1.08
    heading_max_chars: int = 150
    # The first passage this many times larger than the body size is the title.
    title_size_ratio: float = 1.4
    # A "Table 1"/"Fig. 1" line opens a caption when its label is bold or its
    # font is smaller than this share of the body size.
    caption_size_ratio: float = 0.95
    # Notes under a table (in a smaller font) start within this many font
    # sizes below it and go with the table's caption.
    table_note_gap_ratio: float = 2.0

    # --- tables ----------------------------------------------------------------
    # Tables are looked for only on pages drawing this many lines or boxes.
    ruling_min_edges: int = 4
    # Ruled tables need at least this many rows and columns (a table in the
    # top `continued_table_top_ratio` of a page may have one row: it can
    # continue the table of the page before).
    table_min_rows: int = 2
    table_min_columns: int = 2
    continued_table_top_ratio: float = 0.25
    # A caption is looked for within this many times its font size above a table.
    table_caption_gap_ratio: float = 3.0
    # Column borders of a table continued on the next page agree within this.
    table_continuation_tolerance: float = 3.0
    # A table ruled only across (booktabs): three rules whose ends agree within
    # `rule_extent_tolerance`, at most `rule_table_max_header_lines` lines of
    # header between the first two; its columns are parted by gutters at least
    # `rule_table_column_gap_ratio` of the font size wide that no line of two
    # cells or more crosses (a word space is about a quarter of the size, the
    # padding between cells more than half).
    rule_extent_tolerance: float = 2.0
    rule_table_max_header_lines: int = 4
    rule_table_column_gap_ratio: float = 0.5
    # In a narrow cell, a line that the next line's first letter would not
    # have fitted after (to within this share of the font size) may end in a
    # word broken for lack of room; a line of at most
    # `wrapped_exponent_max_chars` small characters under a number is its
    # wrapped exponent.
    cell_fill_tolerance_ratio: float = 0.1
    wrapped_exponent_max_chars: int = 4
    # Rows of an unruled list (term, definition) are split into cells at gaps
    # wider than this share of the font size, need this many rows whose cells
    # start at the same places (within `aligned_start_tolerance`), and a first
    # column no wider than this share of the list.
    aligned_cell_gap_ratio: float = 2.0
    aligned_min_rows: int = 3
    aligned_start_tolerance: float = 3.0
    aligned_first_column_max_ratio: float = 0.4

    # --- plain text -------------------------------------------------------------
    # Without fonts, a heading is one line of at most this many characters
    # and words, without final punctuation.
    text_heading_max_chars: int = 80
    text_heading_max_words: int = 10
    # More control bytes than this in the first 64 KiB: binary, not text.
    binary_control_bytes: int = 8

    def __post_init__(self) -> None:
        if self.ocr not in OCR_MODES:
            raise ValueError(f"ReadSettings.ocr must be one of {', '.join(OCR_MODES)}, not {self.ocr!r}")
        if not isinstance(self.ocr_language, str) or not _OCR_LANGUAGE.match(self.ocr_language):
            raise ValueError(
                f"ReadSettings.ocr_language must be Tesseract language codes joined by '+' (eng, eng+deu), "
                f"not {self.ocr_language!r}"
            )
        if not isinstance(self.glyph_map, str):
            raise ValueError(f"ReadSettings.glyph_map must be a file path or '', not {self.glyph_map!r}")
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type in ("str", str):
                continue
            if field.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise ValueError(f"ReadSettings.{field.name} must be True or False, not {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"ReadSettings.{field.name} must be a number, not {value!r}")
            if field.type in ("int", int) and not isinstance(value, int):
                raise ValueError(f"ReadSettings.{field.name} must be a whole number, not {value!r}")
            if not value > 0 or value != value or value == float("inf"):
                raise ValueError(f"ReadSettings.{field.name} must be a positive finite number, not {value!r}")
        for name in ("header_band", "footer_band", "gutter_margin_ratio"):
            if getattr(self, name) >= 0.5:
                raise ValueError(f"ReadSettings.{name} is a share of the page height and must be below 0.5")
        for name in (
            "script_size_ratio", "full_width_ratio", "column_fill_ratio", "footnote_rule_max_ratio",
            "caption_size_ratio", "gutter_crossing_share", "header_rule_min_ratio", "continued_table_top_ratio",
            "aligned_first_column_max_ratio", "watermark_page_share",
        ):
            if getattr(self, name) > 1:
                raise ValueError(f"ReadSettings.{name} is a share and must be at most 1")
        for name in ("paragraph_gap_ratio", "heading_size_ratio", "title_size_ratio"):
            if getattr(self, name) <= 1:
                raise ValueError(f"ReadSettings.{name} compares with the usual size and must be above 1")
