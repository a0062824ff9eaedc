"""Scaling efficiency against cluster size: DistributedModel on a fixed global batch."""
import mlsysim
from mlsysim_deck.workload import SCALE_BATCH as BATCH, SCALE_MICRO as MICRO, SCALE_SEQ as SEQ  # as the slide's table

from _style import FIGSIZE, SEQUENCE, save, subplots

GPUS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]


def main(out_path):
    c = mlsysim.Systems.Clusters.Frontier_8K
    dm = mlsysim.DistributedModel()
    configs = ((mlsysim.Models.Language.Llama3_8B, 1, 1, SEQUENCE[1]),
               (mlsysim.Models.Language.Llama3_70B, 8, 1, SEQUENCE[0]),
               (mlsysim.Models.Language.Llama3_70B, 8, 4, SEQUENCE[3]))
    fig, ax = subplots(figsize=FIGSIZE["scaling_efficiency"])
    for model, tp, pp, color in configs:
        points = [(n, dm.solve(model, c.subset(n), batch_size=BATCH, tp_size=tp, pp_size=pp,
                               microbatch_count=MICRO, seq_len=SEQ)) for n in GPUS]
        xs = [n for n, r in points if r.feasible]
        ax.semilogx(xs, [100 * r.scaling_efficiency for _, r in points if r.feasible], "-o", ms=3, color=color,
                    base=2, label=f"{model.name}, TP={tp} PP={pp}")
    ax.set_xlabel("GPUs")
    ax.set_ylabel("Scaling efficiency (%)")
    ax.set_ylim(0, 100)
    ax.legend(loc="lower left")
    ax.set_title(f"global batch {BATCH:,d} x {SEQ:,d} tokens;\npoints only where it fits")
    save(fig, out_path)
