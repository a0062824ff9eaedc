"""Shared look and reproducible output for the deck's figures (imported by each figure script)."""
import matplotlib
from matplotlib.figure import Figure

# Figures are made as matplotlib.figure.Figure objects, saved and dropped: no pyplot (its import and
# its figure manager cost each build worker 0.2 s) and no GUI backend.

COLORS = {"H100": "#A51C30", "A100": "#8C8C8C", "B200": "#2E7D32", "MI300X": "#1565C0", "Gaudi3": "#EF6C00"}
SEQUENCE = ["#A51C30", "#1565C0", "#2E7D32", "#EF6C00", "#6A1B9A", "#8C8C8C"]
# Colours for accelerators COLORS does not name (a new entry of specs/hardware.toml): handed out in
# hardware.toml order, so a new accelerator gets the same colour on every figure, every build.
PALETTE = ["#6A1B9A", "#00838F", "#AD1457", "#5D4037", "#9E9D24", "#283593", "#00695C", "#D84315"]

# One look for every figure.  Each figure is drawn at the size the slide places it (FIGSIZE, in inches,
# read off the \includegraphics width/height in slides/*/slides.tex.j2), so LaTeX does not scale it and a
# 7 pt label here is 7 pt on the page (the page-geometry checker wants at least 6 pt).
FONT_PT = 7
matplotlib.rcParams.update({
    "font.family": "DejaVu Sans", "font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT,
    "figure.titlesize": FONT_PT, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "pdf.fonttype": 42, "svg.hashsalt": "mlsysim",
    "figure.dpi": 100, "savefig.bbox": None, "figure.constrained_layout.use": True,
    "figure.constrained_layout.h_pad": 0.02, "figure.constrained_layout.w_pad": 0.02,
    # legends sit on an opaque box, so no gridline runs through a label
    "legend.frameon": True, "legend.framealpha": 1.0, "legend.edgecolor": "none", "legend.fancybox": False,
    "legend.borderpad": 0.3, "legend.handlelength": 1.6, "legend.labelspacing": 0.3,
    "lines.markersize": 3, "axes.labelpad": 2, "xtick.major.pad": 2, "ytick.major.pad": 2,
})

# Saving embeds the part of DejaVu Sans a figure uses, cut out by fontTools.  A PDF draws glyphs by
# number and never reads a font's OpenType layout tables (GSUB, GPOS, GDEF), yet cutting them down took
# 0.07 s of the 0.11 s each font took, 0.6 s of the ten figures: they are left out, and the figures
# render the same pixels.  (fontTools' list of tables to drop is the one setting matplotlib's call
# leaves reachable; tests/test_pdf.py checks that a figure's font has none of them.)
from fontTools import subset as _subset  # noqa: E402

if "GSUB" not in _subset.Options._drop_tables_default:
    _subset.Options._drop_tables_default = [*_subset.Options._drop_tables_default, "GSUB", "GPOS", "GDEF"]

# The cut itself is the same for the same font and glyphs on every build, so it is kept in the user's
# cache (mlsysim_deck.build.kept, kind "fonts"), keyed on the font file, the glyphs and the
# matplotlib and fontTools versions: 0.45 s of the ten figures' 2.1 s.  Only where matplotlib cuts
# fonts as 3.11 does (get_glyphs_subset giving SubsetResults); tests/test_pdf.py checks that a figure
# is the same bytes whether its fonts came from the cache or were cut afresh.
import matplotlib.backends._backend_pdf_ps as _pdf_ps  # noqa: E402

#: Font cuts kept in the user's cache: two fonts (regular and bold) for each of a few dozen figures.
FONT_CUTS_KEPT = 200


def _font_cut(fontfile, glyphs):
    """matplotlib's get_glyphs_subset, remembered: (the cut font, old glyph index -> new)."""
    import hashlib
    import io
    import os

    import fontTools
    from fontTools.ttLib import TTFont

    from mlsysim_deck.build import keep, kept

    glyphs = sorted(glyphs)
    stat = os.stat(fontfile)
    key = hashlib.sha256(repr((str(fontfile), getattr(fontfile, "face_index", 0), stat.st_size, stat.st_mtime_ns,
                               glyphs, matplotlib.__version__, fontTools.version,
                               sorted(_subset.Options._drop_tables_default))).encode()).hexdigest()[:32]
    saved = kept("fonts", key)
    if isinstance(saved, dict) and isinstance(saved.get("font"), str) and isinstance(saved.get("map"), list):
        data, mapping = saved["font"].encode("latin-1"), {int(a): int(b) for a, b in saved["map"]}
    else:
        with _pdf_ps._mlsysim_cut_afresh(fontfile, glyphs) as cut:
            data, mapping = _pdf_ps.font_as_file(cut.font).getvalue(), dict(cut.glyph_index_map)
        keep("fonts", key, {"font": data.decode("latin-1"), "map": sorted(mapping.items())}, FONT_CUTS_KEPT)
    # (read back as saved: no new timestamp or bounds, so matplotlib writes the same bytes out)
    return _pdf_ps.SubsetResults(TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False), mapping)._as_cm()


if hasattr(_pdf_ps, "SubsetResults") and not hasattr(_pdf_ps, "_mlsysim_cut_afresh"):
    _pdf_ps._mlsysim_cut_afresh = _pdf_ps.get_glyphs_subset
    _pdf_ps.get_glyphs_subset = _font_cut

# Placed size of each figure on its slide, in inches (the slide is 160 mm x 90 mm, \textwidth 5.67 in).
FIGSIZE = {
    "roofline": (3.73, 2.27),            # height=0.7\textheight
    "batch_sweep": (2.19, 1.83),         # width=0.92\linewidth of a 0.42 column
    "serving_hw": (3.40, 2.03),          # width=\linewidth of its column
    "kv_concurrency": (3.96, 2.01),      # height=0.62\textheight
    "precision": (3.23, 1.59),           # width=\linewidth of its column
    "allreduce_scaling": (2.11, 1.56),   # height=0.48\textheight
    "bubble_fraction": (2.72, 1.98),     # width=\textwidth of its column
    "cluster_mtbf": (2.72, 2.02),        # width=\textwidth of its column
    "scaling_efficiency": (2.34, 1.62),  # height=0.5\textheight
    "speedup_curve": (2.38, 1.75),       # width=\linewidth of a 0.42 column
}


def subplots(nrows=1, ncols=1, *, figsize, **kwargs):
    """A figure of `figsize` inches and its axes, as pyplot.subplots makes them (the slide's size)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save(fig, out_path):
    """Save as PDF with no timestamps, so two builds give the same bytes."""
    plain_log_ticks(fig)
    fig.savefig(out_path, format="pdf", metadata={"CreationDate": None, "ModDate": None,
                                                  "Producer": "mlsysim", "Creator": "mlsysim"})


def accelerator_colors(keys):
    """hardware.toml name -> colour for the accelerators a figure draws: COLORS where it names one,
    else the next PALETTE colour (in the order given, which is hardware.toml's).  Edit COLORS here to
    give an accelerator a colour of its own."""
    spare = [c for c in PALETTE if c not in COLORS.values()]
    colors = {}
    for key in keys:
        if key in COLORS:
            colors[key] = COLORS[key]
        else:
            if not spare:
                raise LookupError(f"figures/_style.py: PALETTE has no colour left for accelerator {key!r}; "
                                  f"add one to PALETTE or give it one in COLORS")
            colors[key] = spare.pop(0)
    return colors


# A white box under text drawn inside the axes, so no gridline runs through it.
LABEL_BOX = {"boxstyle": "square,pad=0.2", "fc": "white", "ec": "none"}


def _plain_number(value, _pos=None):
    """Tick label for a log axis as a plain number (1, 10, 1,000, 10k), not 10 with a superscript:
    a superscript is set at 70 % of the label size, below the 6 pt a slide can show."""
    if value >= 1e4:
        return f"{value / 1e3:,.0f}k"
    if value >= 1:
        return f"{value:,.0f}"
    return f"{value:g}"


def plain_log_ticks(fig):
    """Every log axis of the figure labelled with plain numbers, major ticks only."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                axis.set_major_formatter(FuncFormatter(_plain_number))
                axis.set_minor_formatter(NullFormatter())
