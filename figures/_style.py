"""Shared look and reproducible output for the deck's figures (imported by each figure script)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"H100": "#A51C30", "A100": "#8C8C8C", "B200": "#2E7D32", "MI300X": "#1565C0", "Gaudi3": "#EF6C00"}
SEQUENCE = ["#A51C30", "#1565C0", "#2E7D32", "#EF6C00", "#6A1B9A", "#8C8C8C"]

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
