"""Cluster MTBF against GPU count: failures of independent GPUs add up."""
import mlsysim

from _style import FIGSIZE, LABEL_BOX, SEQUENCE, save, subplots

GPUS = [2 ** k for k in range(3, 18)]


def main(out_path):
    frontier = mlsysim.Systems.Clusters.Frontier_8K
    per_gpu = frontier.spec.si("gpu_mtbf")
    hours = [mlsysim.core.formulas.cluster_mtbf(per_gpu, n) / 3600 for n in GPUS]
    fig, ax = subplots(figsize=FIGSIZE["cluster_mtbf"])
    ax.loglog(GPUS, hours, "-o", color=SEQUENCE[0], ms=3)
    for label, h, color in (("1 week", 168, SEQUENCE[2]), ("1 day", 24, SEQUENCE[1]), ("1 hour", 1, SEQUENCE[3])):
        ax.axhline(h, color=color, lw=0.8, ls="--")
        ax.text(GPUS[0], h * 1.4, label, color=color, bbox=LABEL_BOX)
    for cluster in mlsysim.Systems.Clusters:
        n = cluster.gpus
        ax.plot(n, mlsysim.core.formulas.cluster_mtbf(cluster.spec.si("gpu_mtbf"), n) / 3600, "s",
                color=SEQUENCE[4], ms=5)
        ax.annotate(cluster.key.replace("_", " "), (n, mlsysim.core.formulas.cluster_mtbf(
            cluster.spec.si("gpu_mtbf"), n) / 3600), textcoords="offset points", xytext=(6, 2), bbox=LABEL_BOX)
    ax.set_xlabel("GPUs")
    ax.set_ylabel("Mean time between failures (hours)")
    save(fig, out_path)
