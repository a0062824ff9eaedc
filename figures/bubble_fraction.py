"""Pipeline bubble (P-1)/(M+P-1) against the number of microbatches, for several stage counts."""
from mlsysim.core import formulas

from _style import FIGSIZE, SEQUENCE, save, subplots

STAGES = [2, 4, 8, 16]
MICROBATCHES = list(range(1, 65))


def main(out_path):
    fig, ax = subplots(figsize=FIGSIZE["bubble_fraction"])
    for color, p in zip(SEQUENCE, STAGES):
        ax.plot(MICROBATCHES, [100 * formulas.bubble_fraction(p, m) for m in MICROBATCHES], "-", color=color,
                label=f"P = {p} stages")
    ax.set_xlabel("Microbatches per step, M")
    ax.set_ylabel("Bubble (% of the step idle)")
    ax.set_xlim(1, MICROBATCHES[-1])
    ax.set_ylim(0, 100)
    ax.legend()
    save(fig, out_path)
