"""Llama-3 8B on an H100: weight size and decode ITL (batch 1) per weight precision."""
import mlsysim
from mlsysim import spec
from mlsysim.registry import precision_bytes
from mlsysim_deck.workload import context, serving_precision

from _style import FIGSIZE, SEQUENCE, save, subplots

PRECISIONS = ["fp32", "fp16", "int8", "int4"]  # tables of specs/precisions.toml (their bits and names)
BATCH = 1  # decode one request at a time, as the compression table does


def main(out_path):
    llama, hw = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100
    comp = mlsysim.CompressionModel()
    runs = [comp.solve(llama, hw, method="quantization", target_bitwidth=precision_bytes(p) * 8,
                       batch_size=BATCH) for p in PRECISIONS]
    labels = [spec.entry("precisions", p).si("name") for p in PRECISIONS]
    fig, (a, c) = subplots(1, 2, figsize=FIGSIZE["precision"])
    a.bar(labels, [r.compressed_bytes / 1e9 for r in runs], color=SEQUENCE[:4])
    a.set_ylabel("Weights (GB)")
    a.axhline(hw.si("memory_capacity") / 1e9, color="black", lw=0.8, ls=":")
    a.text(3.4, hw.si("memory_capacity") / 1e9, f"{hw.name} HBM", ha="right", va="bottom")
    c.bar(labels, [r.compressed.latency_s * 1e3 for r in runs], color=SEQUENCE[:4])
    c.set_ylabel(f"Decode step, batch {BATCH} (ms)")
    c.set_title(f"KV cache at {serving_precision().upper()},\n{context():,d} tokens")
    for ax in (a, c):
        ax.grid(axis="x", visible=False)
    save(fig, out_path)
