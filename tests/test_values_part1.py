"""Part 1 (roofline): every slide value worked out by hand from the datasheets and stated assumptions.

Decode of Llama-3 8B (tests/values_support.py: P, P_mm, KV per token), FP16, context S = 4096:
  FLOPs per sequence F(S) = 2 P_mm + 4 L H d_head S = 15,009,849,344 + 4*32*32*128*S
  bytes  = 2 P_mm + B * S * 131,072 (weights once, every sequence its KV cache)
  F(4096) = 15,009,849,344 + 2,147,483,648 = 17,157,332,992
Time = max(FLOPs / (eta * peak), bytes / bandwidth), eta = 0.5, bandwidth efficiency 1.0.
ResNet-50: 25,557,032 parameters, 8.18 GFLOP per image, 150,528 input elements (224x224x3).
"""
import math

import pytest

from values_support import BW, CAPACITY, CONTEXT, ETA, FP16, KV8, P8, P8_MM, PEAK, ROOT, check


def flops(batch, seq):
    return batch * (2 * P8_MM + 4 * 32 * 32 * 128 * seq)


def moved(batch, seq):
    return FP16 * P8_MM + batch * seq * KV8


def step(hw, batch=1, seq=CONTEXT):
    """(compute s, memory s) of one decode step."""
    return flops(batch, seq) / (ETA * PEAK[hw]), moved(batch, seq) / BW[hw]


F1 = flops(1, CONTEXT)  # 17,157,332,992 FLOP
B1 = moved(1, CONTEXT)  # 15,009,849,344 + 536,870,912 = 15,546,720,256 B
MEM_S = B1 / 3.35e12  # 4.6408 ms
COMP_S = F1 / (0.5 * 989.4e12)  # 0.034682 ms

RESNET_FLOPS = 8.18e9 * 256  # 2.09408e12
RESNET_BYTES = 25_557_032 * 2 + 256 * 150_528 * 2  # 51,114,064 + 77,070,336 = 128,184,400 B


def first_compute_bound_batch(hw, seq):
    """Smallest B with B F(S) / (eta peak) >= (2 P_mm + B S KV) / BW:
    B (F(S)/(eta peak) - S KV/BW) >= 2 P_mm / BW."""
    per_seq = flops(1, seq) / (ETA * PEAK[hw]) - seq * KV8 / BW[hw]
    return math.ceil(FP16 * P8_MM / BW[hw] / per_seq)


EXPECTED = {
    # --- assumptions shown where used
    "eta": 0.5, "eta.percent": 0.5, "eta_bw.percent": 1.0, "context": 4096, "precision": "FP16",
    # --- Wall 1: ResNet-50 at batch 256
    "resnet.batch": 256,
    # the same batch with activations through HBM: every layer's output written and read back,
    # 28,404,712 elements per image (He et al. Table 1, summed in tests/test_engine.py), 2 B each:
    # 51,114,064 + 256 x 28,404,712 x 2 = 14,594,326,608 B
    "resnet.activation_elements": 28.404712,  # million
    "resnet.ai_activations": RESNET_FLOPS / (25_557_032 * 2 + 256 * 28_404_712 * 2),  # 143.5 FLOP/B
    "resnet.memory_time_activations": (25_557_032 * 2 + 256 * 28_404_712 * 2) / 3.35e12 * 1e3,  # 4.357 ms
    "resnet.regime_activations": "memory",  # 4.357 ms of bytes against 4.233 ms of FLOPs
    "decode.batch": 1,  # the decode examples serve one request at a time
    # the accelerators as their datasheets name them, and who makes them
    "hw.H100.name": "H100 SXM", "hw.H100.vendor": "NVIDIA", "hw.A100.name": "A100 80GB SXM",
    "hw.A100.vendor": "NVIDIA", "hw.B200.name": "B200", "hw.B200.vendor": "NVIDIA",
    "hw.MI300X.name": "MI300X", "hw.MI300X.vendor": "AMD", "hw.Gaudi3.name": "Gaudi 3", "hw.Gaudi3.vendor": "Intel",
    "compare.flagships.keys": '"H100", "MI300X", "Gaudi3"',  # one flagship per vendor, in hardware.toml order
    "resnet.flops_per_image": 8.18,  # GFLOP
    "resnet.batch_flops": RESNET_FLOPS / 1e12,  # 2.094 TFLOP
    "resnet.compute_time": RESNET_FLOPS / (0.5 * 989.4e12) * 1e3,  # 4.233 ms
    "resnet.weights": 25_557_032 * 2 / 1e6,  # 51.1 MB
    "resnet.ai": RESNET_FLOPS / RESNET_BYTES,  # 16,336 FLOP/B
    "resnet.regime": "Compute",  # 4.233 ms of FLOPs against 38 us of bytes
    "mfu.resnet": 0.5,  # compute-bound: MFU = eta
    # --- Wall 2: Llama-3 8B decode, batch 1
    "llama.params_b": P8 / 1e9,  # 8.03
    "llama.weights": P8 * 2 / 1e9,  # 16.06 GB
    "llama.weight_load": P8 * 2 / 3.35e12 * 1e3,  # 16.06e9 B / 3.35e12 B/s = 4.79 ms, the slide's "4.8 ms"
    "llama.streamed": P8_MM * 2 / 1e9,  # 15.01 GB
    "llama.kv_context": KV8 * 4096 / 1e9,  # 0.537 GB
    "llama.step_flops": F1 / 1e9,  # 17.16 GFLOP
    "llama.memory_time": MEM_S * 1e3,  # 4.641 ms
    "llama.compute_time": COMP_S * 1e3,  # 0.0347 ms
    "llama.memory_over_compute": MEM_S / COMP_S,  # 133.8
    "llama.ai_b1": F1 / B1,  # 1.104 FLOP/B
    "llama.regime": "Memory",
    "llama.memory_bound": True,
    # --- three vendors, one workload: the same 15,546,720,256 B per step over each bandwidth
    # the mental maths: every weight once at the datasheet bandwidth, 2 P = 16,060,522,496 B
    "three.H100.weight_load": P8 * 2 / 3.35e12 * 1e3,  # 16.06e9 / 3.35e12 = 4.79 ms, the reference's 4.8 ms
    "three.MI300X.weight_load": P8 * 2 / 5.3e12 * 1e3,  # 16.06e9 / 5.3e12 = 3.03 ms (reference 3.0 ms)
    "three.Gaudi3.weight_load": P8 * 2 / 3.7e12 * 1e3,  # 16.06e9 / 3.7e12 = 4.34 ms (reference 4.3 ms)
    "three.H100.latency": B1 / 3.35e12 * 1e3,  # 4.641 ms
    "three.MI300X.latency": B1 / 5.3e12 * 1e3,  # 2.933 ms
    "three.Gaudi3.latency": B1 / 3.7e12 * 1e3,  # 4.202 ms
    "three.H100.speedup": 1.0,
    "three.MI300X.speedup": 5.3 / 3.35,  # 1.58 (memory-bound: the bandwidth ratio)
    "three.Gaudi3.speedup": 3.7 / 3.35,  # 1.10
    "three.H100.bottleneck": "Memory", "three.MI300X.bottleneck": "Memory", "three.Gaudi3.bottleneck": "Memory",
    "three.all_memory_bound": True,
    "three.fastest": "MI300X",  # highest bandwidth of the three (5.3 TB/s)
    "three.most_flops": "Gaudi 3",  # 1,835 TFLOP/s against 1,307.4 and 989.4
    "three.follows_bandwidth": True,
    # --- MFU
    "mfu.decode_b1": F1 / MEM_S / 989.4e12,  # 17.157e9 / 4.6408e-3 / 989.4e12 = 0.374%
    # batch 64: 64 * 17.157e9 FLOP (2.22 ms) against 15.01e9 + 64 * 0.537e9 = 49.37e9 B (14.74 ms)
    "mfu.decode_b64": flops(64, 4096) / (moved(64, 4096) / 3.35e12) / 989.4e12,  # 7.5%
    # batch 256 at S = 512: 3.911e12 FLOP (7.91 ms) against 15.01e9 + 256*512*131072 = 32.19e9 B (9.61 ms)
    "mfu.decode_b256_short": flops(256, 512) / (moved(256, 512) / 3.35e12) / 989.4e12,  # 41%
    # batch 32 at S = 4096: 32 * 17.157e9 = 549.03e9 FLOP (1.110 ms) against 15.01e9 + 32 * 0.5369e9
    # = 32.19e9 B (9.609 ms): memory-bound, 549.03e9 / 9.609e-3 / 989.4e12 = 5.77%
    "mfu.decode_b32": flops(32, 4096) / (moved(32, 4096) / 3.35e12) / 989.4e12,
    # prefill of a 4,096-token prompt: 2 P_mm S + causal attention, about 66 TFLOP (133 ms at eta peak)
    # against 15 GB of weights (4.5 ms): compute-bound, so MFU = eta = 0.5
    "mfu.prefill": 0.5,
    # eta as published: Megatron-LM SC'21 Table 1, 137 / 312 = 43.9% -> 44% up to 163 / 312 = 52.2% -> 52%;
    # Llama 3 section 3.3.2 and Table 4: 380 / 989.4 = 38.4% -> 38% up to 430 / 989.4 = 43.5% -> 43%
    "eta.typical.megatron.low": 0.44, "eta.typical.megatron.high": 0.52,
    "eta.typical.llama3.low": 0.38, "eta.typical.llama3.high": 0.43,
    "batch.b64": 64, "batch.b256": 256, "short_context": 512,
    "peak_used_b1": F1 / MEM_S / 1e12,  # 3.70 TFLOP/s of 989.4
    # --- the batch knob
    "ai.batch.1": 1, "ai.batch.32": 32, "ai.batch.256": 256,
    "ai.b1": F1 / B1,  # 1.10
    "ai.b32": 32 * F1 / moved(32, 4096),  # 549.0e9 / 32.19e9 = 17.06
    "ai.b256": 256 * F1 / moved(256, 4096),  # 4.392e12 / 152.4e9 = 28.81
    "ai.ceiling": F1 / (4096 * KV8),  # B -> infinity: 17.157e9 / 536.9e6 = 31.96
    "ridge.H100.effective": 989.4 / 3.35 * 0.5,  # 147.7 FLOP/B
    "ai.never_flips_at_context": True,  # 31.96 < 147.7 at any batch
    # --- the crossover
    "crossover.weights_only": 148,  # S = 0: AI = B; first B above 147.67
    "crossover.short": 413,  # S = 512 (tests/test_engine.py works the same 412.9)
    # beyond S* no batch flips: ceiling (2 P_mm + 4 L H d_head S) / (S KV) = eta ridge
    #   S* = 2 P_mm / (eta ridge KV - 4 L H d_head) = 15.0098e9 / (147.67*131072 - 524,288) = 797.1
    "crossover.context_limit": 2 * P8_MM / (0.5 * 989.4e12 / 3.35e12 * KV8 - 4 * 32 * 32 * 128),
    "crossover.A100.short": first_compute_bound_batch("A100", 512),  # 114
    "crossover.A100_earlier": True,
    # --- generations
    "gen.flops_growth": 2250 / 312,  # 7.2 (B200 over A100)
    "gen.bw_growth": 8 / 2.039,  # 3.9
    "gen.flops_outgrow_bw": True,
    "gen.highest_ridge": "Gaudi 3",  # 1835/3.7 = 496 against 295, 153, 281, 247
    # --- the Iron Law's terms and the walls of part.toml that act on them (read off the taxonomy:
    # 1 Compute: Peak; 2-6 Memory..Streaming: MFU; 7 Tail Latency: Goodput; 8-10 data: MFU;
    # 11-13 Complexity, Reasoning, Fidelity: FLOPs; 14 Communication, 16 Multi-Tenant: eta_scaling;
    # 15 Fragility, 19 Checkpoint, 20 Safety: Goodput; 17 Capital, 18 Sustainability: N)
    "ironlaw.walls.Peak": "1", "ironlaw.walls.MFU": "2–6, 8–10", "ironlaw.walls.Goodput": "7, 15, 19–20",
    "ironlaw.walls.FLOPs": "11–13", "ironlaw.walls.eta_scaling": "14, 16", "ironlaw.walls.N": "17–18",
}

for key in ("H100", "A100", "B200", "MI300X", "Gaudi3"):
    EXPECTED[f"hw.{key}.peak"] = PEAK[key] / 1e12  # TFLOP/s, the datasheet's dense BF16/FP16
    EXPECTED[f"hw.{key}.bw"] = BW[key] / 1e12  # TB/s
    EXPECTED[f"hw.{key}.capacity"] = CAPACITY[key] / 1e9  # GB
    # ridge: H100 295.3, A100 153.0, B200 281.25, MI300X 246.7, Gaudi 3 495.9 FLOP/B
    EXPECTED[f"ridge.{key}"] = PEAK[key] / BW[key]


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_part1_value(claim_id):
    check(claim_id, EXPECTED[claim_id])


def test_hand_formulas_agree_with_the_worked_numbers():
    # guards the helpers above against a slip: the numbers of tests/test_engine.py
    assert F1 == 17_157_332_992 and B1 == 15_546_720_256
    assert first_compute_bound_batch("H100", 512) == 413 and first_compute_bound_batch("H100", 0) == 148
    assert step("H100")[1] * 1e3 == pytest.approx(4.6408, abs=1e-4)
    # A100, S = 512: F = 15.278e9 FLOP per sequence: 97.94 us at 156 TFLOP/s, minus 512*131072/2.039e12
    # = 32.91 us: 65.03 us per sequence against 7.362 ms of weights -> B = 113.2 -> 114
    assert first_compute_bound_batch("A100", 512) == 114


def test_the_memory_wall_follows_an_h100_bandwidth_edit(tmp_path, fresh_specs):
    # The issue's own check: with H100 at 3.9 TB/s (one edit in hardware.toml) the Memory Wall's
    # weight-load time reads 16.06e9 B / 3.9e12 B/s = 4.12 ms -> "4.1 ms" (4.8 ms at 3.35 TB/s).
    import re

    from mlsysim_deck.claims import load_claims
    from workflow_support import copy_specs, set_spec_value

    specs = copy_specs(tmp_path / "specs")
    set_spec_value(specs, "hardware", "H100", "memory_bandwidth",
                   '{ value = 3.9, unit = "TB/s", source = "what-if" }')
    fresh_specs.setenv("MLSYSIM_SPECS", str(specs))
    weight_load = load_claims(ROOT / "slides" / "01_roofline" / "claims.py").items["llama.weight_load"].evaluate()
    assert weight_load.plain == "4.1 ms"
    frame = re.search(r"\\begin\{frame\}\{Wall 2: The Memory Wall\}(.*?)\\end\{frame\}",
                      (ROOT / "slides" / "01_roofline" / "slides.tex.j2").read_text(encoding="utf-8"), re.S)
    assert frame and 'claim("llama.weight_load")' in frame.group(1)
