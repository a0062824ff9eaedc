"""Why Distribute?: the speedup N GPUs give (N x scaling efficiency, DistributedModel) against the ideal N."""
import mlsysim
from mlsysim_deck.workload import SCALE_BATCH as BATCH, SCALE_MICRO as MICRO, SCALE_SEQ as SEQ  # as the scaling table

from _style import FIGSIZE, LABEL_BOX, SEQUENCE, save, subplots

GPUS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]


def main(out_path):
    cluster = mlsysim.Systems.Clusters.Frontier_8K
    dm = mlsysim.DistributedModel()
    fig, ax = subplots(figsize=FIGSIZE["speedup_curve"])
    ax.plot([0, GPUS[-1]], [0, GPUS[-1]], "--", color="#8C8C8C", lw=1, label="ideal: N")
    # (model, TP degree, colour, where its end label sits: offset in points and alignment)
    for model, tp, color, offset, align in ((mlsysim.Models.Language.Llama3_70B, 8, SEQUENCE[0], (-4, -11), "right"),
                                            (mlsysim.Models.Language.Llama3_8B, 1, SEQUENCE[1], (5, -9), "left")):
        runs = [(n, dm.solve(model, cluster.subset(n), batch_size=BATCH, tp_size=tp, pp_size=1,
                             microbatch_count=MICRO, seq_len=SEQ)) for n in GPUS]
        points = [(n, n * r.scaling_efficiency) for n, r in runs if r.feasible]
        ax.plot(*zip(*points), "-o", color=color, ms=3, label=f"{model.name}, TP={tp}")
        n, speedup = points[-1]
        ax.annotate(f"{speedup:,.0f}×", (n, speedup), textcoords="offset points", xytext=offset, ha=align,
                    color=color, bbox=LABEL_BOX)
    ax.set_xlabel("GPUs (N)")
    ax.set_ylabel("Speedup")
    ax.set_xlim(0, GPUS[-1] * 1.05)
    ax.set_ylim(0, GPUS[-1] * 1.05)
    ax.legend(loc="upper left")
    save(fig, out_path)
