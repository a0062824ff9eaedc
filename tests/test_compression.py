"""Part 3 solvers against values worked out by hand (the arithmetic is in the comments).

Llama-3 8B: P = 8,030,261,248; P_mm = 7,504,924,672 (P minus the input embedding table);
decoder-layer weights = P - 2*128256*4096 - 4096 = 6,979,584,000; output head = 525,336,576 (+ the
final norm's 4096, streamed with it: P_mm - layers = 525,340,672).  Decode at 4096 tokens, batch 1,
FP16: 15,009,849,344 B of weights + 536,870,912 B of KV cache = 15,546,720,256 B per step.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

import mlsysim  # noqa: E402

L = mlsysim.Models.Language
C = mlsysim.Hardware.Cloud
BASE_STEP = 15_546_720_256  # B
comp = mlsysim.CompressionModel()


def test_int4_stores_layers_with_group_scales_and_keeps_embeddings_in_fp16():
    r = comp.solve(L.Llama3_8B, C.H100, method="quantization", target_bitwidth=4)
    # GPTQ/AWQ INT4: layer weights at 4 bits + 20 bits (FP16 scale, 4-bit zero) per group of 128:
    #   6,979,584,000 * (4 + 20/128)/8 B = 6,979,584,000 * 0.51953125 = 3,626,112,000 B
    # embedding table + output head + final norm stay FP16: 1,050,677,248 * 2 = 2,101,354,496 B
    # size: 3,626,112,000 + 2,101,354,496 = 5,727,466,496 B (5.7 GB, not 8.03e9/2 = 4.0 GB)
    assert r.compressed_bytes == 5_727_466_496
    # step: head 525,340,672*2 = 1,050,681,344 + layers 3,626,112,000 + KV 536,870,912 (FP16)
    #   = 5,213,664,256 B; 15,546,720,256 / 5,213,664,256 = 2.98192
    assert r.inference_speedup == pytest.approx(2.98192, abs=1e-5)
    assert r.bottleneck == "Memory"


def test_int8_and_no_op_quantization():
    r8 = comp.solve(L.Llama3_8B, C.H100, method="quantization", target_bitwidth=8)
    # layers at 1 B (per-channel scales negligible), head at 2 B:
    # 15,546,720,256 / (1,050,681,344 + 6,979,584,000 + 536,870,912) = 15,546,720,256 / 8,567,136,256 = 1.81469
    assert r8.inference_speedup == pytest.approx(1.81469, abs=1e-5)
    # stored: 6,979,584,000 + 2,101,354,496 = 9,080,938,496 B
    assert r8.compressed_bytes == 9_080_938_496
    r16 = comp.solve(L.Llama3_8B, C.H100, method="quantization", target_bitwidth=16)
    assert r16.inference_speedup == 1.0 and r16.accuracy_delta == 0.0


def test_quantization_does_not_speed_up_compute_bound_prefill():
    r = comp.solve(L.Llama3_8B, C.H100, method="quantization", target_bitwidth=4, phase="prefill")
    # prefill of 4096 tokens is compute-bound (133 ms of FLOPs vs 4.6 ms of bytes); weight-only
    # quantisation changes only the bytes
    assert r.baseline.bottleneck == "Compute"
    assert r.inference_speedup == pytest.approx(1.0)


def test_unstructured_sparsity_stores_less_but_runs_no_faster():
    r = comp.solve(L.Llama3_8B, C.H100, method="pruning", sparsity=0.5, sparsity_type="unstructured")
    assert r.inference_speedup == 1.0
    # stored: outside layers 1,050,677,248*2 B + layers 6,979,584,000 * (0.5*2 + 1/8) B
    #       = 2,101,354,496 + 7,852,032,000 = 9,953,386,496 B
    assert r.compressed_bytes == pytest.approx(9_953_386_496)


def test_structured_pruning_shrinks_bytes_of_the_layers():
    r = comp.solve(L.Llama3_8B, C.H100, method="pruning", sparsity=0.5, sparsity_type="structured")
    # step: head 525,340,672*2 + layers 6,979,584,000*1 + KV 536,870,912 = 8,567,136,256 B
    # 15,546,720,256 / 8,567,136,256 = 1.81470
    assert r.inference_speedup == pytest.approx(1.81470, abs=1e-5)


def test_two_four_needs_sparse_tensor_cores():
    h100 = comp.solve(L.Llama3_8B, C.H100, method="pruning", sparsity=0.5, sparsity_type="n_m")
    # 2:4 stores half the values plus 2 index bits each: 0.5*(2 + 2/8) = 1.125 B per weight
    # step: 1,050,681,344 + 6,979,584,000*1.125 + 536,870,912 = 9,439,584,256 B -> 1.64697
    assert h100.inference_speedup == pytest.approx(15_546_720_256 / 9_439_584_256)
    gaudi = comp.solve(L.Llama3_8B, C.Gaudi3, method="pruning", sparsity=0.5, sparsity_type="n_m")
    assert gaudi.inference_speedup == 1.0  # no sparse tensor cores in its spec: a dense kernel


def test_accuracy_deltas_are_the_cited_inputs():
    r = comp.solve(L.Llama3_8B, C.H100, method="pruning", sparsity=0.5, sparsity_type="unstructured")
    # Wanda, LLaMA-7B: 59.99 -> 54.21 mean zero-shot accuracy: a drop of 5.78 points ~ 0.058
    assert r.accuracy_delta == pytest.approx(-0.058)
    with pytest.raises(LookupError):
        comp.solve(L.Llama3_8B, C.H100, method="pruning", sparsity=0.3).accuracy_delta


def test_fleet_replica_for_llama3_70b():
    # P(70B) = 2*128256*8192 + 80*(2*8192*64*128 + 2*8192*8*128 + 3*8192*28672 + 2*8192) + 8192
    #        = 2,101,346,304 + 80*855,654,400 + 8192 = 70,553,706,496
    # KV headroom: 16 requests * 2*80*8*128*4096*2 B = 16 * 1,342,177,280 = 21,474,836,480 B
    fp16 = comp.replica(L.Llama3_70B, C.H100, target_bitwidth=16)
    # (141,107,412,992 + 21,474,836,480) / 80e9 = 2.03 -> 3 by memory -> 4 (TP divides the 8 KV heads)
    assert (fp16.memory_minimum, fp16.accelerators) == (3, 4)
    # layers 80*855,654,400 = 68,452,352,000; embeddings + head + norm 2,101,354,496 stay FP16 (4,202,708,992 B)
    int8 = comp.replica(L.Llama3_70B, C.H100, target_bitwidth=8)
    # 68,452,352,000 + 4,202,708,992 = 72,655,060,992 B; (72.66 + 21.47) GB / 80 GB = 1.18 -> 2
    assert int8.weight_bytes == 72_655_060_992 and int8.accelerators == 2
    int4 = comp.replica(L.Llama3_70B, C.H100, target_bitwidth=4)
    # 68,452,352,000 * (4 + 20/128) / 8 = 68,452,352,000 * 0.51953125 = 35,563,136,000;
    # + 4,202,708,992 = 39,765,844,992 B; (39.77 + 21.47) GB = 61.24 GB fits in 80 GB
    assert int4.weight_bytes == 39_765_844_992 and int4.accelerators == 1
    # one H100 all year: 2.99 USD/h * 365.25*24 h = 26,210.34 USD
    assert int4.annual_cost.to("USD").magnitude == pytest.approx(26_210.34, abs=0.01)
