"""TTFT (prefill) and ITL (one decode step) of Llama-3 8B across the accelerator line-up (specs/hardware.toml)."""
from mlsysim_deck.workload import accelerators, context, one_request

from _style import FIGSIZE, accelerator_colors, save, subplots


def main(out_path):
    lineup = accelerators("lineup")
    KEYS = [hw.key for hw in lineup]
    results = [one_request(hw) for hw in lineup]
    names = [hw.name for hw in lineup]
    colors = list(accelerator_colors(KEYS).values())
    fig, (a, b) = subplots(1, 2, figsize=FIGSIZE["serving_hw"])
    a.bar(range(len(KEYS)), [r.ttft_s * 1e3 for r in results], color=colors)
    a.set_title("TTFT: prefill\n(compute-bound)")
    a.set_ylabel("ms")
    b.bar(range(len(KEYS)), [r.itl_s * 1e3 for r in results], color=colors)
    b.set_title("ITL: one decode step\n(memory-bound)")  # lint: allow one: a single step
    for ax in (a, b):
        ax.set_xticks(range(len(KEYS)), names, rotation=30, ha="right")
        ax.grid(axis="x", visible=False)
    fig.suptitle(f"Llama-3 8B, one request, {context():,d}-token prompt")  # lint: allow one: a single request
    save(fig, out_path)
