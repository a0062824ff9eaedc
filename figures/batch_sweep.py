"""Llama-3 8B decode on H100: throughput and bottleneck against batch size, for several contexts."""
import numpy as np

import mlsysim
from mlsysim import Engine
from mlsysim_deck.workload import SHORT_CONTEXT, context

from _style import FIGSIZE, SEQUENCE, save, subplots

BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]


def main(out_path):
    llama, hw = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100
    CONTEXTS = [0, SHORT_CONTEXT, context()]  # no KV cache, a short context, the serving context
    fig, ax = subplots(figsize=FIGSIZE["batch_sweep"])
    sweep = Engine.sweep(llama, hw, batch_size=np.array(BATCHES)[None, :], seq_len=np.array(CONTEXTS)[:, None])
    for color, ctx, tput, bound in zip(SEQUENCE, CONTEXTS, sweep.throughput, sweep.compute_bound):
        ax.loglog(BATCHES, tput, "-", color=color, label=f"context {ctx:,d} tokens")
        for b, t, compute in zip(BATCHES, tput, bound):
            ax.plot(b, t, "s" if compute else "o", color=color, ms=4, mfc=color if compute else "white")
    ax.set_xlabel("Batch size")
    ax.set_ylabel("Decode throughput (tokens/s)")
    ax.set_title("open: memory-bound\nfilled: compute-bound")
    ax.legend(loc="upper left")
    save(fig, out_path)
