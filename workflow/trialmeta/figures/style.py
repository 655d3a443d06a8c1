"""The look every figure shares: palette, fonts, sizes, number formats, the "not estimable" panel, saving.

Colours are the Okabe-Ito palette; fonts are drawn as paths and ids salted, so
a rerun writes byte-identical SVGs.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

# Okabe-Ito palette: distinguishable with every common colour-vision deficiency.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
COLOURS = {
    "study": "#0072B2", "pooled": "#D55E00", "common": "#56B4E9", "subgroup": "#CC79A7",
    "interval": "#000000", "prediction": "#009E73", "grid": "#BBBBBB", "filled": "#E69F00", "muted": "#555555",
}
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "trialmeta",  # fixed ids inside SVGs: byte-identical reruns
    "svg.fonttype": "path",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
ROW_HEIGHT_IN = 0.28
TITLE_LINE_IN = 0.16  # one more 9 pt line of a wrapped title, with its leading
CHAR_WIDTH_IN = 0.072  # mean advance of a 9 pt DejaVu Sans character
FIXED_HEIGHT_IN = 1.2
# PNG/SVG metadata would otherwise carry a date and break byte-identical reruns.
SAVE_METADATA = {"png": {"Software": "trialmeta"}, "svg": {"Date": None, "Creator": "trialmeta"}}
MEASURE_AXIS = {
    "PLO": "Logit proportion",
    "PFT": "Freeman-Tukey double arcsine",
    "PAS": "Arcsine square-root proportion",
    "PR": "Proportion",
    "cloglog": "log(-log survival)",
}


def percent(value) -> str:
    return "NA" if value is None else f"{100 * value:.1f}"


def interval_text(estimate, low, high) -> str:
    return f"{percent(estimate)} [{percent(low)}, {percent(high)}]"


def p_text(p) -> str:
    return "p = NA" if p is None else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


def number_text(value, fmt: str = "{:.3g}") -> str:
    return "NA" if value is None else fmt.format(value)



def draw_not_estimable(ax, title: str, reason: str) -> None:
    """A panel that states why a figure could not be drawn, in place of the figure."""
    ax.text(0.5, 0.62, title, ha="center", va="center", transform=ax.transAxes, fontweight="bold")
    ax.text(0.5, 0.32, f"Not estimable: {reason}", ha="center", va="center", transform=ax.transAxes,
            wrap=True, color=COLOURS["muted"])
    ax.axis("off")


def not_estimable_figure(title: str, reason: str):
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(9, 1.6))
        draw_not_estimable(ax, title, reason)
        return fig


# PNGs are 300 dpi up to this many pixels; a taller figure (a forest of 200 studies is 9 x 58 in,
# 47 megapixels at 300 dpi, 2.6 s to write) gets the dpi that fits, never below PNG_MIN_DPI. The SVG
# is exact at any size.
PNG_DPI = 300
PNG_PIXEL_BUDGET = 8_000_000
PNG_MIN_DPI = 72
# zlib level of the PNGs: 3 writes a 200-study forest in half the time of PIL's default 6, and
# the file is no larger (figures are flat colour)
PNG_COMPRESS_LEVEL = 3


def png_dpi(fig) -> int:
    """300 dpi, or the whole dpi that keeps the PNG within PNG_PIXEL_BUDGET pixels."""
    width, height = fig.get_size_inches()
    fitting = math.floor(math.sqrt(PNG_PIXEL_BUDGET / (width * height)))
    return max(PNG_MIN_DPI, min(PNG_DPI, fitting))


def save_figure(fig, png_path: str, svg_path: str) -> None:
    with plt.rc_context(STYLE):
        fig.savefig(png_path, dpi=png_dpi(fig), metadata=SAVE_METADATA["png"], pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
        fig.savefig(svg_path, metadata=SAVE_METADATA["svg"])
    plt.close(fig)
