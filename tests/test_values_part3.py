"""Part 3 (compression): every slide value worked out by hand from the datasheets, the cited
accuracy studies (specs/compression.toml) and the stated assumptions.

Llama-3 8B split for compression (tests/values_support.py for P and P_mm):
  decoder layers  = P - 2*128256*4096 - 4096 (norm)   = 6,979,584,000
  outside layers  = P - layers                         = 1,050,677,248 (embeddings, final norm)
  streamed head   = P_mm - layers                      = 525,340,672 (output head + final norm)
Decode at 4096 tokens, batch 1: FP16 step = 15,009,849,344 B of weights + 536,870,912 B of KV cache
(which stays FP16: weight-only quantisation) = 15,546,720,256 B, memory-bound.
Prefill FLOPs at 4096: attention 4,399,120,252,928 + head 2*4096*525,340,672 = 4,303,590,785,024
  + layers 2*4096*6,979,584,000 = 57,176,752,128,000  (sum 65,879,463,165,952), compute-bound.
Llama-3 70B fleet: 16 concurrent requests of 4096 tokens, 2*80*8*128*4096*2 B = 1,342,177,280 B each.
"""
import math

import pytest

from values_support import KV8, P70, P8, P8_MM, check, hours_per_year

LAYERS = 6_979_584_000
OUTSIDE = P8 - LAYERS  # 1,050,677,248
HEAD = P8_MM - LAYERS  # 525,340,672
KV = KV8 * 4096  # 536,870,912
BASE_STEP = 2 * P8_MM + KV  # 15,546,720,256 B

ATTN = 2 * 32 * 32 * 128 * 4096 * 4097
PREFILL_HEAD = 2 * 4096 * HEAD
PREFILL_LAYERS = 2 * 4096 * LAYERS
PREFILL = ATTN + PREFILL_HEAD + PREFILL_LAYERS


def step_bytes(bytes_per_weight_layers, bytes_per_weight_head=2):
    return HEAD * bytes_per_weight_head + LAYERS * bytes_per_weight_layers + KV


# weight-only quantisation as GPTQ/AWQ store it: the decoder layers at the format's bits, INT4 with one
# FP16 scale and one 4-bit zero point (20 bits) per group of 128 weights; embeddings, head and norms in FP16
INT4_LAYER = 4 / 8 + 20 / 128 / 8  # 0.51953125 B per layer weight
LAYER_BYTES = {"fp32": 4.0, "fp16": 2.0, "int8": 1.0, "int4": INT4_LAYER}


def itl_ms(precision):
    """Above the serving precision every streamed weight (the head too) is stored at it; below, the head stays FP16."""
    head = max(LAYER_BYTES[precision], 2.0)
    return step_bytes(LAYER_BYTES[precision], head) / 3.35e12 * 1e3  # int4: 5,213,664,256 B -> 1.556 ms


ORIGINAL = 2 * P8  # 16,060,522,496 B
STORED = {
    "int8": 2 * OUTSIDE + LAYERS * 1.0,  # 2,101,354,496 + 6,979,584,000 = 9,080,938,496
    "int4": 2 * OUTSIDE + LAYERS * INT4_LAYER,  # 2,101,354,496 + 3,626,112,000 = 5,727,466,496
    "unstructured": 2 * OUTSIDE + LAYERS * (0.5 * 2 + 1 / 8),  # kept values + 1-bit mask: 9,953,386,496
    "structured": 2 * OUTSIDE + LAYERS * 1.0,  # half the rows: 9,080,938,496
    "n_m": 2 * OUTSIDE + LAYERS * 0.5 * (2 + 2 / 8),  # half the values + 2 index bits each: 9,953,386,496
}
DECODE = {  # baseline step over compressed step (both memory-bound)
    "int8": BASE_STEP / step_bytes(1.0),  # 15.547e9 / 8.567e9 = 1.815
    "int4": BASE_STEP / step_bytes(INT4_LAYER),  # 15.547e9 / 5.214e9 = 2.982
    "unstructured": 1.0,  # dense kernels stream the zeros too
    "structured": BASE_STEP / step_bytes(1.0),  # 15.547e9 / 8.567e9 = 1.815
    "n_m": BASE_STEP / step_bytes(1.125),  # 15.547e9 / 9.440e9 = 1.647
}
SPARSE_GAIN = 1979 / 989.4  # H100 2:4 sparse peak over dense: 2.0002
PREFILL_SPEEDUP = {  # compute-bound: only FLOPs (or the FLOP rate) matter
    "int8": 1.0, "int4": 1.0, "unstructured": 1.0,
    "structured": PREFILL / (ATTN + PREFILL_HEAD + PREFILL_LAYERS / 2),  # 65.88e12 / 37.29e12 = 1.767
    "n_m": PREFILL / (ATTN + PREFILL_HEAD + PREFILL_LAYERS / SPARSE_GAIN),  # 1.767
}
ACCURACY = {  # points lost, as cited (fractions): LLM.int8(); Huang et al. 2024; Wanda; LLM-Pruner; Wanda 2:4
    "int8": 0.0, "int4": 0.015, "unstructured": 0.058, "structured": 0.15, "n_m": 0.115,
}
STUDY = {
    "int8": "OPT/BLOOM up to 175B; LLaMA3-8B", "int4": "LLaMA3-8B", "unstructured": "LLaMA-7B (Wanda)",
    "structured": "LLaMA-7B (LLM-Pruner)", "n_m": "LLaMA-7B (Wanda)",
}

# fleet sizing, Llama-3 70B on 80 GB H100s
KV70 = 16 * 2 * 80 * 8 * 128 * 4096 * 2  # 21,474,836,480 B
OUTSIDE70 = 2 * 128256 * 8192 + 8192  # embeddings, head and final norm: 2,101,354,496 weights
LAYERS70 = P70 - OUTSIDE70  # 68,452,352,000
WEIGHTS70 = {"fp16": P70 * 2, "int8": 2 * OUTSIDE70 + LAYERS70 * 1.0,  # 141.1, 72.7 GB
             "int4": 2 * OUTSIDE70 + LAYERS70 * INT4_LAYER}  # 4.203e9 + 35.563e9 = 39.8 GB
MINIMUM = {"fp16": 3, "int8": 2, "int4": 1}  # ceil((141.1 + 21.5)/80) = 3; ceil(92.0/80) = 2; 56.7 GB fits one
GPUS = {"fp16": 4, "int8": 2, "int4": 1}  # 3 does not divide the 8 KV heads: 4
YEAR_COST = 2.99 * hours_per_year()  # 2.99 USD/h * 8,766 h = 26,210.34 USD per GPU

EXPECTED = {
    "comp.sparsity": 0.5,
    "comp.batch": 1,  # the fidelity table decodes one request at a time
    "comp.int4_shrink": 16 / 4,
    "comp.prune_ratio": 1 / (1 - 0.5),  # all weights over the half kept: 2
    # the laptop GPU (GeForce RTX 4050 Laptop, 6 GB): FP16 16.06 GB and INT8 9.03 GB do not fit, INT4 5.727 GB does
    "comp.laptop.name": "GeForce RTX 4050 Laptop GPU", "comp.laptop.memory": 6, "comp.laptop.precision": "INT4",
    "comp.laptop.left": (6e9 - STORED["int4"]) / 1e9,  # 6,000,000,000 - 5,727,466,496 = 272,533,504 B
    "comp.laptop.kv_tokens": 272_533_504 // KV8,  # / 131,072 B per token (FP16 KV) = 2,079.2 -> 2,079
    "comp.n_m.gaudi": 1.0,  # no sparse tensor cores: a dense kernel on the expanded matrix
    "comp.gaudi_no_sparse": True,
    "comp.h100_sparse_gain": SPARSE_GAIN,
    "comp.unstructured_no_speedup": True, "comp.quant_no_prefill_gain": True,
    # the precision ladder: P bits/8
    "comp.fp32.weights": P8 * 4 / 1e9, "comp.fp16.weights": P8 * 2 / 1e9,  # 32.1, 16.1 GB
    "comp.int8.weights": STORED["int8"] / 1e9, "comp.int4.weights": STORED["int4"] / 1e9,  # 9.1, 5.7 GB
    # decode steps: weights at bits/8 B, the KV cache in FP16
    "comp.fp32.itl": itl_ms("fp32"),  # (30.02e9 + 0.537e9) / 3.35e12 = 9.121 ms
    "comp.fp16.itl": itl_ms("fp16"),  # 4.641 ms
    "comp.int8.itl": itl_ms("int8"),  # 8,567,136,256 B: 2.557 ms
    "comp.int4.itl": itl_ms("int4"),  # 5,213,664,256 B: 1.556 ms
    "comp.fp16.memory_time": itl_ms("fp16"), "comp.int4.memory_time": itl_ms("int4"),
    # FLOPs do not change with weight-only quantisation: 17,157,332,992 / 494.7e12 = 0.0347 ms
    "comp.fp16.compute_time": (2 * P8_MM + 4 * 32 * 32 * 128 * 4096) / (0.5 * 989.4e12) * 1e3,
    "comp.int4.compute_time": (2 * P8_MM + 4 * 32 * 32 * 128 * 4096) / (0.5 * 989.4e12) * 1e3,
    "comp.fp16.bottleneck": "Memory", "comp.int4.bottleneck": "Memory",
    "comp.int4_still_memory_bound": True,  # 1.56 ms of bytes against 0.035 ms of FLOPs
    "comp.kv": KV / 1e9,  # 0.537 GB
    "comp.int8_wins": True,  # 1.93x for 0 points against 1.81x for 15 points
    # fleet sizing
    "fleet.requests": 16, "fleet.kv_heads": 8, "fleet.replicas": 100,
    "fleet.price": 2.99,
    "fleet.gpu_ratio": 4 / 1,
    "fleet.fraction": "a quarter as many",
    "fleet.gpus_saved": 100 * (4 - 1),
    "fleet.cost_saved": 100 * (4 - 1) * YEAR_COST / 1e6,  # 7.86 MUSD
}
for row in STORED:
    EXPECTED[f"comp.{row}.storage"] = ORIGINAL / STORED[row]  # 2.00, 4.00, 1.61, 1.77, 1.61
    EXPECTED[f"comp.{row}.decode"] = DECODE[row]
    EXPECTED[f"comp.{row}.prefill"] = PREFILL_SPEEDUP[row]
    EXPECTED[f"comp.{row}.accuracy"] = ACCURACY[row]
    EXPECTED[f"comp.{row}.study"] = STUDY[row]
for name in WEIGHTS70:
    EXPECTED[f"fleet.{name}.weights"] = WEIGHTS70[name] / 1e9
    EXPECTED[f"fleet.{name}.kv"] = KV70 / 1e9  # 21.5 GB: the KV cache stays FP16
    EXPECTED[f"fleet.{name}.minimum"] = MINIMUM[name]
    EXPECTED[f"fleet.{name}.gpus"] = GPUS[name]
    EXPECTED[f"fleet.{name}.cost"] = GPUS[name] * YEAR_COST  # 104,841; 52,421; 26,210 USD


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_part3_value(claim_id):
    check(claim_id, EXPECTED[claim_id])


def test_hand_numbers_behind_the_tables():
    assert OUTSIDE == 1_050_677_248 and HEAD == 525_340_672 and PREFILL == 65_879_463_165_952
    assert STORED["unstructured"] == 9_953_386_496 and STORED["structured"] == 9_080_938_496
    for name, n in MINIMUM.items():
        assert math.ceil((WEIGHTS70[name] + KV70) / 80e9) == n
    # structured prefill stays compute-bound: 37.29e12 FLOP / 494.7e12 = 75.4 ms against 8.57e9 B / 3.35e12 = 2.6 ms
    assert (ATTN + PREFILL_HEAD + PREFILL_LAYERS / 2) / 494.7e12 > step_bytes(1.0) / 3.35e12
