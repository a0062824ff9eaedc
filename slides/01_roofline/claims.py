"""Part 1 claims: roofline, ridge point, the compute and memory walls, MFU, the Iron Law."""
import tomllib
from pathlib import Path

import mlsysim
from mlsysim import Engine, Q
from mlsysim_deck import Claims, Erratum
from mlsysim_deck.workload import (DECODE_BATCH, RESNET_BATCH, SHORT_CONTEXT, accelerators, bytes_per_weight, context, decode,
                                   number_word, one_request)
from mlsysim.registry import assumption

claims = Claims(__file__)
Cloud = mlsysim.Hardware.Cloud
H100 = Cloud.H100
llama = mlsysim.Models.Language.Llama3_8B
resnet = mlsysim.Models.Vision.ResNet50

SWEEP_BATCHES = (1, 32, 256)  # the workload choices of this part's examples (and RESNET_BATCH, SHORT_CONTEXT)
# which accelerators each comparison shows: the `comparisons` field of specs/hardware.toml
FLAGSHIPS = [hw.key for hw in accelerators("flagships")]  # the Predict table, the Three Vendors demo
# ("lineup", every accelerator side by side: the ridge-point table, the roofline figure)


def forward(hw=H100):
    return Engine.solve(resnet, hw, batch_size=RESNET_BATCH)


# --- assumptions, shown where used --------------------------------------------------------------
claims.number("eta", lambda: assumption("efficiency", "compute_efficiency"), fmt=".2f")
claims.number("eta.percent", lambda: assumption("efficiency", "compute_efficiency"), fmt=".0f", scale=100,
              suffix="%")
claims.number("eta_bw.percent", lambda: assumption("efficiency", "bandwidth_efficiency"), fmt=".0f",
              scale=100, suffix="%")
claims.number("context", context, fmt=",d")
claims.text("precision", lambda: mlsysim.spec.entry("precisions", assumption("serving", "precision")).si("name"))

# --- hardware facts (every accelerator of specs/hardware.toml) -----------------------------------
for hw in Cloud:
    key = hw.key
    claims.text(f"hw.{key}.name", lambda hw=hw: hw.name)
    claims.text(f"hw.{key}.vendor", lambda hw=hw: hw.vendor)
    claims.quantity(f"hw.{key}.peak", lambda hw=hw: hw.peak_flops, unit="TFLOP/s", fmt=",.0f")
    claims.quantity(f"hw.{key}.bw", lambda hw=hw: hw.memory_bandwidth, unit="TB/s", fmt=".2f")
    claims.quantity(f"hw.{key}.capacity", lambda hw=hw: hw.memory_capacity, unit="GB", fmt=".0f")
    claims.quantity(f"ridge.{key}", lambda hw=hw: Engine.ridge_point(hw), unit="FLOP/B", fmt=".0f")

# --- eta as published: the typical-values table ([typical_<run>] of specs/assumptions.toml) -----------
MEGATRON_RANGE = Erratum(reference="0.40–0.55", reason="the fractions of peak Megatron-LM's paper prints in its first table; "
                        "the original's range cites no table")
for run in ("megatron", "llama3"):
    claims.number(f"eta.typical.{run}.low", lambda run=run: assumption(f"typical_{run}", "mfu_low"), fmt=".0f",
                  scale=100, erratum=MEGATRON_RANGE if run == "megatron" else None)
    claims.number(f"eta.typical.{run}.high", lambda run=run: assumption(f"typical_{run}", "mfu_high"), fmt=".0f",
                  scale=100, suffix="%")

# --- Wall 1: compute (ResNet-50, batch 256) ---------------------------------------------------
claims.number("resnet.batch", lambda: RESNET_BATCH, fmt="d")
claims.number("decode.batch", lambda: DECODE_BATCH, fmt="d")
claims.quantity("resnet.flops_per_image", lambda: resnet.flops_per_sample, unit="GFLOP", fmt=".2f")
claims.quantity("resnet.batch_flops", lambda: Q(forward().flops, "FLOP"), unit="TFLOP", fmt=".2f")
claims.quantity("resnet.compute_time", lambda: forward().compute_time, unit="ms", fmt=".2f",
                erratum=Erratum(reference="≈ 4.1 ms", reason="ResNet-50 does {resnet.flops_per_image} per image "
                                "(He et al.); the original rounded the FLOPs down"))
claims.quantity("resnet.weights", lambda: Q(resnet.weight_bytes(bytes_per_weight()), "B"), unit="MB", fmt=".0f",
                erratum=Erratum(reference="50 MB", reason="ResNet-50's parameter count at FP16, not rounded down"))
claims.quantity("resnet.ai", lambda: forward().arithmetic_intensity, unit="FLOP/B", fmt=",.0f")
claims.text("resnet.regime", lambda: forward().bottleneck)


def forward_with_activations(hw=H100):
    """The same forward pass with every layer's activations written to HBM and read back."""
    return Engine.solve(resnet, hw, batch_size=RESNET_BATCH, activation_traffic=True)


claims.number("resnet.activation_elements", lambda: resnet.spec.si("activation_elements") / 1e6, fmt=".1f",
              suffix=" million")
claims.quantity("resnet.ai_activations", lambda: forward_with_activations().arithmetic_intensity, unit="FLOP/B",
                fmt=",.0f")
claims.text("resnet.regime_activations", lambda: forward_with_activations().bottleneck.lower())
claims.quantity("resnet.memory_time_activations", lambda: forward_with_activations().memory_time, unit="ms",
                fmt=".2f")

# --- Wall 2: memory (Llama-3 8B decode, batch 1) -----------------------------------------------
claims.number("llama.params_b", lambda: llama.parameters / 1e9, fmt=".2f", suffix=" billion")
claims.quantity("llama.weights", lambda: Q(llama.weight_bytes(bytes_per_weight()), "B"), unit="GB", fmt=".1f")
claims.quantity("llama.weight_load", lambda: Q(llama.weight_bytes(bytes_per_weight()), "B") / H100.memory_bandwidth,
                unit="ms", fmt=".1f")  # the mental maths: every weight read once at the datasheet bandwidth
claims.quantity("llama.streamed", lambda: Q(llama.matmul_parameters * bytes_per_weight(), "B"), unit="GB",
                fmt=".1f",
                erratum=Erratum(reference="16 GB", reason="a decode step reads the layers and the output head; the "
                                "embedding table is a lookup of a row per token, not a matmul"))
claims.quantity("llama.kv_context", lambda: Q(llama.kv_bytes_per_token(bytes_per_weight()) * context(), "B"),
                unit="GB", fmt=".2f")
claims.quantity("llama.step_flops", lambda: Q(decode().flops, "FLOP"), unit="GFLOP", fmt=".1f")
claims.quantity("llama.memory_time", lambda: decode().memory_time, unit="ms", fmt=".2f")
claims.quantity("llama.compute_time", lambda: decode().compute_time, unit="ms", fmt=".3f")
claims.number("llama.memory_over_compute", lambda: decode().memory_s / decode().compute_s, fmt=".0f",
              suffix="×",
              erratum=Erratum(reference="~160×", reason="the decode step's memory time, {llama.memory_time}, over "
                              "its compute time, {llama.compute_time}; the original divided rounded figures"))
claims.quantity("llama.ai_b1", lambda: decode().arithmetic_intensity, unit="FLOP/B", fmt=".2f")
claims.text("llama.regime", lambda: decode().bottleneck)
claims.statement("llama.memory_bound", "memory-bound", lambda: decode().bottleneck == "Memory")

# --- Predict: three vendors, one workload ------------------------------------------------------
for key in FLAGSHIPS:
    hw = getattr(Cloud, key)
    claims.text(f"three.{key}.bottleneck", lambda hw=hw: decode(hw).bottleneck)
    claims.quantity(f"three.{key}.weight_load",  # the mental maths: every weight once, at the datasheet bandwidth
                    lambda hw=hw: Q(llama.weight_bytes(bytes_per_weight()), "B") / hw.memory_bandwidth,
                    unit="ms", fmt=".1f")
    claims.quantity(f"three.{key}.latency", lambda hw=hw: decode(hw).latency, unit="ms", fmt=".2f")
    claims.number(f"three.{key}.speedup", lambda hw=hw: decode(H100).latency_s / decode(hw).latency_s,
                  fmt=".2f", suffix="×")


def _three():
    return accelerators("flagships")


claims.text("compare.flagships.keys", lambda: ", ".join(f'"{hw.key}"' for hw in _three()),
            note="the flagships' hardware.toml names as a Python list's items (the Three Vendors listing)")
claims.statement("three.all_memory_bound", f"memory-bound on all {number_word(len(FLAGSHIPS))}",
                 lambda: all(decode(hw).bottleneck == "Memory" for hw in _three()))
claims.text("three.fastest", lambda: min(_three(), key=lambda hw: decode(hw).latency_s).name)
claims.text("three.most_flops", lambda: max(_three(), key=lambda hw: hw.si("peak_flops")).name)
claims.statement(
    "three.follows_bandwidth", "the ranking follows bandwidth, not FLOP/s",
    lambda: (sorted(_three(), key=lambda hw: decode(hw).latency_s)
             == sorted(_three(), key=lambda hw: -hw.si("memory_bandwidth"))
             != sorted(_three(), key=lambda hw: -hw.si("peak_flops"))))

# --- MFU: what the engine finds -----------------------------------------------------------------
claims.number("mfu.decode_b1", lambda: decode().mfu, fmt=".2f", scale=100, suffix="%")
claims.number("mfu.decode_b64", lambda: decode(batch=64).mfu, fmt=".1f", scale=100, suffix="%")
claims.number("mfu.decode_b256_short", lambda: decode(batch=256, seq_len=SHORT_CONTEXT).mfu, fmt=".0f",
              scale=100, suffix="%")
claims.number("mfu.resnet", lambda: forward().mfu, fmt=".0f", scale=100, suffix="%")
claims.number("mfu.decode_b32", lambda: decode(batch=32).mfu, fmt=".1f", scale=100, suffix="%")
# erratum (the eta table): reference says 0.15-0.35 for decode at batch 32+ because it ignores the KV cache;
# at a 4K-token context each sequence streams its own, and a batch-32 step reaches about 6%
# erratum (the eta table): reference says 0.01-0.05 for decode at batch 1 because it overstates the roofline:
# batch-1 decode does about 1 FLOP per byte, so MFU is at most intensity / ridge, about 0.4% on an H100
claims.number("mfu.prefill", lambda: one_request().prefill.mfu, fmt=".0f", scale=100, suffix="%")
claims.number("batch.b64", lambda: 64, fmt="d")
claims.number("batch.b256", lambda: 256, fmt="d")
claims.number("short_context", lambda: SHORT_CONTEXT, fmt="d")
claims.quantity("peak_used_b1", lambda: Q(decode().mfu * H100.si("peak_flops"), "FLOP/s"),
                unit="TFLOP/s", fmt=".1f")

# --- Iron Law: which walls act on which term (from Part 0's taxonomy) --------------------------
_walls = tomllib.loads((Path(__file__).parents[1] / "00_welcome" / "part.toml").read_text("utf-8"))["walls"]


def _ranges(numbers):
    out, start = [], None
    for n in numbers + [None]:
        if start is None:
            start = prev = n
        elif n is not None and n == prev + 1:
            prev = n
        else:
            out.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = n
    return ", ".join(out)


for term in ("FLOPs", "N", "Peak", "MFU", "eta_scaling", "Goodput"):
    claims.text(f"ironlaw.walls.{term}",
                lambda term=term: _ranges([i for i, w in enumerate(_walls, 1) if w["term"] == term]) or "—")

# --- Arithmetic intensity: the batch knob --------------------------------------------------------
AI_ERRATA = {  # where the original counted the weights alone
    32: Erratum(reference="≈ 32 FLOP/byte", reason="each sequence also reads its own KV cache at the "
                "{context}-token context: batching shares the weights, not those bytes"),
    256: Erratum(reference="AI far above the ridge", reason="the KV-cache reads cap intensity at {ai.ceiling}, below the "
                 "effective ridge {ridge.H100.effective}: decode stays memory-bound at this context"),
}
for b in SWEEP_BATCHES:
    claims.number(f"ai.batch.{b}", lambda b=b: b, fmt="d")
    claims.quantity(f"ai.b{b}", lambda b=b: decode(batch=b).arithmetic_intensity, unit="FLOP/B", fmt=".1f",
                    erratum=AI_ERRATA.get(b))
claims.quantity("ai.ceiling", lambda: Q(mlsysim.core.formulas.decode_intensity_ceiling(
    llama.matmul_parameters, llama.spec.si("layers"), llama.spec.si("num_heads"), llama.spec.si("head_dim"),
    context(), llama.kv_bytes_per_token(bytes_per_weight())), "FLOP/B"), unit="FLOP/B", fmt=".0f")
claims.quantity("ridge.H100.effective",
                lambda: Engine.ridge_point(H100) * assumption("efficiency", "compute_efficiency")
                / assumption("efficiency", "bandwidth_efficiency"), unit="FLOP/B", fmt=".0f")
claims.statement("ai.never_flips_at_context", "never turns compute-bound",
                 lambda: Engine.crossover_batch(llama, H100) is None)

# --- Exercise: the crossover ---------------------------------------------------------------------
claims.number("crossover.weights_only", lambda: Engine.crossover_batch(llama, H100, seq_len=0), fmt="d")
claims.number("crossover.short", lambda: Engine.crossover_batch(llama, H100, seq_len=SHORT_CONTEXT), fmt="d")
claims.quantity("crossover.context_limit", lambda: Engine.crossover_context_limit(llama, H100), unit="token",
                fmt=",.0f", label="tokens")
claims.number("crossover.A100.short", lambda: Engine.crossover_batch(llama, Cloud.A100, seq_len=SHORT_CONTEXT),
              fmt="d")
claims.statement("crossover.A100_earlier", "earlier",
                 lambda: Engine.crossover_batch(llama, Cloud.A100, seq_len=SHORT_CONTEXT)
                 < Engine.crossover_batch(llama, H100, seq_len=SHORT_CONTEXT))

# --- Ridge points across generations -----------------------------------------------------------
claims.number("gen.flops_growth", lambda: Cloud.B200.si("peak_flops") / Cloud.A100.si("peak_flops"), fmt=".1f",
              suffix="×")
claims.number("gen.bw_growth", lambda: Cloud.B200.si("memory_bandwidth") / Cloud.A100.si("memory_bandwidth"),
              fmt=".1f", suffix="×")
claims.statement("gen.flops_outgrow_bw", "FLOP/s grew faster than bandwidth",
                 lambda: Cloud.B200.si("peak_flops") / Cloud.A100.si("peak_flops")
                 > Cloud.B200.si("memory_bandwidth") / Cloud.A100.si("memory_bandwidth"))
claims.text("gen.highest_ridge", lambda: max(accelerators("lineup"),
                                             key=lambda hw: Engine.ridge_point(hw).magnitude).name)
