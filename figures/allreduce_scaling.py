"""AllReduce of 1 GB against GPU count, over NVLink and over the network (ring, alpha-beta)."""
import mlsysim
from mlsysim_deck.workload import AR_MESSAGE as MESSAGE  # the slide's example: 1 GB of gradients

from _style import FIGSIZE, SEQUENCE, save, subplots

GPUS = [2 ** k for k in range(1, 14)]


def main(out_path):
    c = mlsysim.Systems.Clusters.Research_256  # the cluster of the slide's AllReduce claims
    f = mlsysim.core.formulas
    fig, ax = subplots(figsize=FIGSIZE["allreduce_scaling"])
    links = ((f"NVLink ({c.scaleup_bw / 1e9:.0f} GB/s each way)", c.scaleup_bw, c.scaleup_latency, SEQUENCE[2]),
             (f"{c.link.si('name')} ({c.scaleout_bw / 1e9:.0f} GB/s each way)", c.scaleout_bw,
              c.scaleout_latency, SEQUENCE[0]))
    for label, bw, lat, color in links:
        ax.semilogx(GPUS, [1e3 * f.ring_allreduce_time(MESSAGE, n, bw, lat) for n in GPUS], "-o", ms=3,
                    color=color, label=label, base=2)
    ax.set_xlabel("GPUs in the ring")
    ax.set_ylabel("ms")
    ax.set_ylim(bottom=0)
    fig.legend(loc="outside upper center", title=f"Ring AllReduce of {MESSAGE / 1e9:.0f} GB")
    save(fig, out_path)
