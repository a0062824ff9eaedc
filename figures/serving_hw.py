"""TTFT (prefill) and ITL (one decode step) of Llama-3 8B across the five accelerators."""
import mlsysim
from mlsysim.registry import assumption

from _style import COLORS, plt, save

KEYS = ["A100", "H100", "B200", "MI300X", "Gaudi3"]


def main(out_path):
    llama, cloud = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud
    context = int(assumption("serving", "context_tokens"))
    serving = mlsysim.ServingModel()
    results = [serving.solve(llama, getattr(cloud, k), seq_len=context, batch_size=1) for k in KEYS]
    names = [getattr(cloud, k).name for k in KEYS]
    colors = [COLORS[k] for k in KEYS]
    fig, (a, b) = plt.subplots(1, 2, figsize=(6.4, 3.0))
    a.bar(range(len(KEYS)), [r.ttft_s * 1e3 for r in results], color=colors)
    a.set_title("TTFT: prefill (compute-bound)", fontsize=9)
    a.set_ylabel("ms")
    b.bar(range(len(KEYS)), [r.itl_s * 1e3 for r in results], color=colors)
    b.set_title("ITL: one decode step (memory-bound)", fontsize=9)  # lint: allow one: a single step
    for ax in (a, b):
        ax.set_xticks(range(len(KEYS)), names, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="x", visible=False)
    fig.suptitle(f"Llama-3 8B, one request, {context}-token prompt", fontsize=9)  # lint: allow one: a single request
    save(fig, out_path)
