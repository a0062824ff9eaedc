"""The roofline of the accelerator line-up (specs/hardware.toml), with Llama-3 8B decode (batch 1..256)
and ResNet-50 (at the compute wall's batch)."""
import numpy as np

import mlsysim
from mlsysim import Engine
from mlsysim_deck.workload import RESNET_BATCH, accelerators, context

from _style import FIGSIZE, LABEL_BOX, accelerator_colors, save, subplots

BATCHES = [1, 4, 16, 64, 256]


def main(out_path):
    cloud = mlsysim.Hardware.Cloud
    llama, resnet = mlsysim.Models.Language.Llama3_8B, mlsysim.Models.Vision.ResNet50
    fig, ax = subplots(figsize=FIGSIZE["roofline"])
    ai = np.logspace(-1, 5, 400)
    lineup = accelerators("lineup")
    colors = accelerator_colors([hw.key for hw in lineup])
    for hw in lineup:
        peak, bw = hw.si("peak_flops"), hw.si("memory_bandwidth")
        ax.loglog(ai, np.minimum(peak, bw * ai) / 1e12, color=colors[hw.key], lw=1.8, label=hw.name)
        ridge = Engine.ridge_point(hw).magnitude
        ax.plot([ridge], [peak / 1e12], "o", color=colors[hw.key], ms=4)
    h100 = cloud.H100
    for b in BATCHES:
        p = Engine.solve(llama, h100, batch_size=b)
        achieved = p.flops / p.latency_s / 1e12
        ax.plot(p.arithmetic_intensity.magnitude, achieved, "s", color="black", ms=4)
        if b != BATCHES[-2]:  # B=64 sits on top of B=256: the text under the squares names every batch
            ax.annotate(f"B={b}", (p.arithmetic_intensity.magnitude, achieved), textcoords="offset points",
                        xytext=(4, -9), bbox=LABEL_BOX)
    r = Engine.solve(resnet, h100, batch_size=RESNET_BATCH)
    ax.plot(r.arithmetic_intensity.magnitude, r.flops / r.latency_s / 1e12, "^", color="black", ms=6)
    ax.annotate(f"{resnet.name}\nB={r.batch_size}, {h100.name}",
                (r.arithmetic_intensity.magnitude, r.flops / r.latency_s / 1e12),
                textcoords="offset points", xytext=(4, -13), ha="right", va="top", bbox=LABEL_BOX)
    ax.text(9e4, 0.14, f"Llama-3 8B decode on {h100.key}, {context():,d}-token context\n"
            f"(squares, B = {', '.join(map(str, BATCHES))}; attained FLOP/s)", ha="right", va="bottom", bbox=LABEL_BOX)
    ax.set_xlabel("Arithmetic intensity (FLOP/B)")
    ax.set_ylabel("Attainable TFLOP/s")
    ax.set_ylim(0.1, 5000)
    ax.legend(loc="upper left")
    save(fig, out_path)
