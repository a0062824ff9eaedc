"""Llama-3 8B decode on H100: throughput and bottleneck against batch size, for several contexts."""
import mlsysim
from mlsysim import Engine

from _style import SEQUENCE, plt, save

CONTEXTS = [0, 512, 4096]
BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]


def main(out_path):
    llama, hw = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    for color, ctx in zip(SEQUENCE, CONTEXTS):
        profiles = [Engine.solve(llama, hw, batch_size=b, seq_len=ctx) for b in BATCHES]
        tput = [p.batch_size / p.latency_s for p in profiles]
        ax.loglog(BATCHES, tput, "-", color=color, label=f"context {ctx} tokens")
        for b, t, p in zip(BATCHES, tput, profiles):
            ax.plot(b, t, "o" if p.bottleneck == "Memory" else "s", color=color, ms=4,
                    mfc="white" if p.bottleneck == "Memory" else color)
    ax.set_xlabel("Batch size")
    ax.set_ylabel("Decode throughput (tokens/s)")
    ax.set_title("open: memory-bound, filled: compute-bound", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    save(fig, out_path)
