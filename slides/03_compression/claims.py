"""Part 3 claims: quantisation, pruning, what each buys on the roofline, and fleet sizing.
(Shared ids from earlier parts: "context", "precision", "hw.H100.capacity", "hw.Gaudi3.*".)"""
import mlsysim
from mlsysim import Q
from mlsysim_deck import Claims
from mlsysim_deck.workload import bytes_per_weight, context
from mlsysim.registry import assumption

claims = Claims(__file__)
Cloud = mlsysim.Hardware.Cloud
H100 = Cloud.H100
llama = mlsysim.Models.Language.Llama3_8B
llama70 = mlsysim.Models.Language.Llama3_70B
comp = mlsysim.CompressionModel()

SPARSITY = 0.5  # the pruning examples' sparsity
PRECISIONS = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}
ROWS = {  # the fidelity table: id -> solve() arguments
    "int8": dict(method="quantization", target_bitwidth=8),
    "int4": dict(method="quantization", target_bitwidth=4),
    "unstructured": dict(method="pruning", sparsity=SPARSITY, sparsity_type="unstructured"),
    "structured": dict(method="pruning", sparsity=SPARSITY, sparsity_type="structured"),
    "n_m": dict(method="pruning", sparsity=SPARSITY, sparsity_type="n_m"),
}


def base_bits():
    return bytes_per_weight() * 8


def solve(hw=H100, **kw):
    return comp.solve(llama, hw, **kw)


claims.number("comp.sparsity", lambda: SPARSITY, fmt=".0f", scale=100, suffix="%")
claims.number("comp.int4_shrink", lambda: base_bits() / 4, fmt=".0f", suffix="×")

# --- the fidelity table ------------------------------------------------------------------------
for row, kw in ROWS.items():
    claims.number(f"comp.{row}.storage", lambda kw=kw: solve(**kw).compression_ratio, fmt=".2f", suffix="×")
    claims.number(f"comp.{row}.decode", lambda kw=kw: solve(**kw).inference_speedup, fmt=".2f", suffix="×")
    claims.number(f"comp.{row}.prefill", lambda kw=kw: solve(phase="prefill", **kw).inference_speedup, fmt=".2f",
                  suffix="×")
    claims.number(f"comp.{row}.accuracy", lambda kw=kw: 0.0 - solve(**kw).accuracy_delta, fmt=".1f", scale=100,
                  suffix=" pts")
    claims.text(f"comp.{row}.study",
                lambda kw=kw: mlsysim.spec.entry("compression", solve(**kw).accuracy_entry).si("evaluated_on"))
claims.statement("comp.unstructured_no_speedup", "no speedup at all",
                 lambda: solve(**ROWS["unstructured"]).inference_speedup == 1.0
                 and solve(phase="prefill", **ROWS["unstructured"]).inference_speedup == 1.0)
claims.statement("comp.quant_no_prefill_gain", "nothing for compute-bound prefill",
                 lambda: abs(solve(phase="prefill", **ROWS["int4"]).inference_speedup - 1) < 1e-9)
claims.number("comp.n_m.gaudi", lambda: solve(Cloud.Gaudi3, **ROWS["n_m"]).inference_speedup, fmt=".2f",
              suffix="×")
claims.statement("comp.gaudi_no_sparse", "no 2:4 sparse tensor cores in its spec",
                 lambda: Cloud.Gaudi3.spec.get("sparse_peak_flops") is None)
claims.number("comp.h100_sparse_gain", lambda: H100.si("sparse_peak_flops") / H100.si("peak_flops"), fmt=".0f",
              suffix="×")

# --- the precision ladder ----------------------------------------------------------------------
for name, bits in PRECISIONS.items():
    claims.quantity(f"comp.{name}.weights",
                    lambda bits=bits: solve(method="quantization", target_bitwidth=bits).compressed_size,
                    unit="GB", fmt=".1f")
    claims.quantity(f"comp.{name}.itl",
                    lambda bits=bits: solve(method="quantization", target_bitwidth=bits).latency, unit="ms",
                    fmt=".2f")

# --- Predict: INT4 Llama-3 8B on H100 ----------------------------------------------------------


def quant(bits):
    return solve(method="quantization", target_bitwidth=bits)


claims.quantity("comp.fp16.memory_time", lambda: Q(quant(16).compressed.memory_s * 1e3, "ms"), unit="ms", fmt=".2f")
claims.quantity("comp.int4.memory_time", lambda: Q(quant(4).compressed.memory_s * 1e3, "ms"), unit="ms", fmt=".2f")
claims.quantity("comp.fp16.compute_time", lambda: Q(quant(16).compressed.compute_s * 1e3, "ms"), unit="ms", fmt=".3f")
claims.quantity("comp.int4.compute_time", lambda: Q(quant(4).compressed.compute_s * 1e3, "ms"), unit="ms", fmt=".3f")
claims.text("comp.fp16.bottleneck", lambda: quant(16).bottleneck)
claims.text("comp.int4.bottleneck", lambda: quant(4).bottleneck)
claims.statement("comp.int4_still_memory_bound", "still memory-bound", lambda: quant(4).bottleneck == "Memory")
claims.quantity("comp.kv", lambda: Q(llama.kv_bytes_per_token(bytes_per_weight()) * context(), "B"), unit="GB",
                fmt=".2f")

# --- Exercise 3 ----------------------------------------------------------------------------------
claims.statement("comp.int8_wins", "INT8 quantisation is the better deal",
                 lambda: solve(**ROWS["int8"]).inference_speedup >= solve(**ROWS["structured"]).inference_speedup
                 and -solve(**ROWS["int8"]).accuracy_delta < -solve(**ROWS["structured"]).accuracy_delta)

# --- Fleet sizing: Llama-3 70B -------------------------------------------------------------------


def replica(bits):
    return comp.replica(llama70, H100, target_bitwidth=bits)


FLEET = {"fp16": 16, "int8": 8, "int4": 4}
for name, bits in FLEET.items():
    claims.quantity(f"fleet.{name}.weights", lambda bits=bits: replica(bits).weights, unit="GB", fmt=".0f")
    claims.quantity(f"fleet.{name}.kv", lambda bits=bits: Q(replica(bits).kv_bytes, "B"), unit="GB", fmt=".0f")
    claims.number(f"fleet.{name}.minimum", lambda bits=bits: replica(bits).memory_minimum, fmt="d")
    claims.number(f"fleet.{name}.gpus", lambda bits=bits: replica(bits).accelerators, fmt="d")
    claims.quantity(f"fleet.{name}.cost", lambda bits=bits: replica(bits).annual_cost, unit="USD", fmt=",.0f")
claims.number("fleet.requests", lambda: replica(16).concurrent_requests, fmt="d")
claims.number("fleet.kv_heads", lambda: llama70.spec.si("num_kv_heads"), fmt="d")
claims.number("fleet.gpu_ratio", lambda: replica(16).accelerators / replica(4).accelerators, fmt=".0f", suffix="×")


def fraction_words():
    """How the INT4 replica's GPU count compares with FP16's, in words."""
    ratio = replica(16).accelerators / replica(4).accelerators
    words = {1: "the same number of", 2: "half as many", 3: "a third as many", 4: "a quarter as many"}
    return words.get(ratio, f"{replica(4).accelerators} for every {replica(16).accelerators}")


claims.text("fleet.fraction", fraction_words)
claims.quantity("fleet.price", lambda: mlsysim.spec.entry("costs", "H100").quantity("price_per_hour"),
                unit="USD/h", fmt=".2f")
claims.number("fleet.replicas", lambda: assumption("fleet", "fleet_replicas"), fmt=".0f")
claims.number("fleet.gpus_saved",
              lambda: assumption("fleet", "fleet_replicas") * (replica(16).accelerators - replica(4).accelerators),
              fmt=",.0f")
claims.quantity("fleet.cost_saved",
                lambda: assumption("fleet", "fleet_replicas") * (replica(16).annual_cost - replica(4).annual_cost),
                unit="MUSD", fmt=".1f")
