"""Shared look and reproducible output for the deck's figures (imported by each figure script)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"H100": "#A51C30", "A100": "#8C8C8C", "B200": "#2E7D32", "MI300X": "#1565C0", "Gaudi3": "#EF6C00"}
SEQUENCE = ["#A51C30", "#1565C0", "#2E7D32", "#EF6C00", "#6A1B9A", "#8C8C8C"]
# Colours for accelerators COLORS does not name (a new entry of specs/hardware.toml): handed out in
# hardware.toml order, so a new accelerator gets the same colour on every figure, every build.
PALETTE = ["#6A1B9A", "#00838F", "#AD1457", "#5D4037", "#9E9D24", "#283593", "#00695C", "#D84315"]

plt.rcParams.update({
    "font.family": "DejaVu Sans", "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "pdf.fonttype": 42, "svg.hashsalt": "mlsysim",
    "figure.dpi": 100, "savefig.bbox": "tight",
})


def save(fig, out_path):
    """Save as PDF with no timestamps, so two builds give the same bytes."""
    fig.savefig(out_path, format="pdf", metadata={"CreationDate": None, "ModDate": None,
                                                  "Producer": "mlsysim", "Creator": "mlsysim"})
    plt.close(fig)


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
