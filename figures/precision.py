"""Llama-3 8B on an H100: weight size and decode ITL (batch 1) per weight precision."""
import mlsysim
from mlsysim_deck.workload import context, serving_precision

from _style import SEQUENCE, plt, save

BITS = [32, 16, 8, 4]


def main(out_path):
    llama, hw = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100
    comp = mlsysim.CompressionModel()
    runs = [comp.solve(llama, hw, method="quantization", target_bitwidth=b) for b in BITS]
    labels = ["FP32", "FP16", "INT8", "INT4"]
    fig, (a, c) = plt.subplots(1, 2, figsize=(6.4, 2.8))
    a.bar(labels, [r.compressed_bytes / 1e9 for r in runs], color=SEQUENCE[:4])
    a.set_ylabel("Weights (GB)")
    a.axhline(hw.si("memory_capacity") / 1e9, color="black", lw=0.8, ls=":")
    a.text(3.4, hw.si("memory_capacity") / 1e9, f"{hw.name} HBM", fontsize=7, ha="right", va="bottom")
    c.bar(labels, [r.compressed.latency_s * 1e3 for r in runs], color=SEQUENCE[:4])
    c.set_ylabel("Decode step, batch 1 (ms)")
    c.set_title(f"KV cache at {serving_precision().upper()}, {context():,d} tokens", fontsize=8)
    for ax in (a, c):
        ax.grid(axis="x", visible=False)
    save(fig, out_path)
