"""Part 3 claims: quantisation, pruning, what each buys on the roofline, and fleet sizing.
(Shared ids from earlier parts: "context", "precision", "hw.H100.capacity", "hw.Gaudi3.*".)"""
import mlsysim
from mlsysim import Q
from mlsysim_deck import Claims, Erratum
from mlsysim_deck.workload import bytes_per_weight, context
from mlsysim.core import _derived_compression as fc
from mlsysim.registry import assumption, precision_bytes

claims = Claims(__file__)
Cloud = mlsysim.Hardware.Cloud
H100 = Cloud.H100
llama = mlsysim.Models.Language.Llama3_8B
llama70 = mlsysim.Models.Language.Llama3_70B
comp = mlsysim.CompressionModel()

SPARSITY = 0.5  # the pruning examples' sparsity
PRECISIONS = ("fp32", "fp16", "int8", "int4")  # the precision ladder (bits from specs/precisions.toml)


def bits(precision):
    return precision_bytes(precision) * 8


ROWS = {  # the fidelity table: id -> solve() arguments
    "int8": dict(method="quantization", target_precision="int8"),
    "int4": dict(method="quantization", target_precision="int4"),
    "unstructured": dict(method="pruning", sparsity=SPARSITY, sparsity_type="unstructured"),
    "structured": dict(method="pruning", sparsity=SPARSITY, sparsity_type="structured"),
    "n_m": dict(method="pruning", sparsity=SPARSITY, sparsity_type="n_m"),
}


def base_bits():
    return bytes_per_weight() * 8


DECODE_BATCH = 1  # the fidelity table and the exercise decode one request at a time


def solve(hw=H100, target_precision=None, **kw):
    if target_precision is not None:
        kw["target_bitwidth"] = bits(target_precision)
    return comp.solve(llama, hw, **{"batch_size": DECODE_BATCH, **kw})


claims.number("comp.sparsity", lambda: SPARSITY, fmt=".0f", scale=100, suffix="%")
# The original's ratio, 32 / bits, counts from FP32; the model is served in FP16, so FP16 -> INT4 is
# 16 / 4 (its own table says 4x, while its formula gives 8x).  The equation (quantization_ratio) shows it.
claims.number("comp.int4_shrink", lambda: fc.quantization_ratio(base_bits(), bits("int4")), fmt=".0f", suffix="×")
claims.number("comp.prune_ratio", lambda: fc.pruning_ratio(SPARSITY), fmt=".0f", suffix="×")

# --- the fidelity table ------------------------------------------------------------------------
WEIGHT_ONLY = ("weight-only quantisation: the matmuls still run in FP16, and prefill is compute-bound; the "
               "speedup is decode's")
GROUPS = "a scale for each group of weights, and the embeddings and output head stay FP16"
ERRATA = {  # where the original printed another value, and why
    "comp.int4.decode": Erratum(reference="4×", reason="INT4 layers carry " + GROUPS + " ({comp.int4.weights}); "
                                "the KV cache does not shrink"),
    "comp.int8.prefill": Erratum(reference="1.5–2×", reason=WEIGHT_ONLY + " ({comp.int8.decode})"),
    "comp.int4.prefill": Erratum(reference="2–3×", reason=WEIGHT_ONLY + " ({comp.int4.decode})"),
    "comp.int8.weights": Erratum(reference="8 GB", reason="{llama.params_b} parameters; INT8 layers carry " + GROUPS),
    "comp.int4.weights": Erratum(reference="4 GB", reason="{llama.params_b} parameters; INT4 layers carry " + GROUPS),
    "fleet.fp16.weights": Erratum(reference="140 GB", reason="Llama-3 70B's parameter count, with its untied "
                                  "embeddings, not the rounded name"),
    "fleet.int8.weights": Erratum(reference="70 GB", reason="the layers carry " + GROUPS),
    "fleet.int4.weights": Erratum(reference="35 GB", reason="the layers carry " + GROUPS),
    "fleet.fp16.cost": Erratum(reference="$480K", reason="{fleet.fp16.gpus} H100s all year at {fleet.price}, the "
                               "cited on-demand list price; the original's figure implies several times that price"),
    "fleet.int8.cost": Erratum(reference="$240K", reason="{fleet.int8.gpus} H100s all year at {fleet.price}"),
    "fleet.int4.cost": Erratum(reference="$120K", reason="{fleet.int4.gpus} H100 all year at {fleet.price}"),
}
claims.number("comp.batch", lambda: DECODE_BATCH, fmt="d")
for row, kw in ROWS.items():
    claims.number(f"comp.{row}.storage", lambda kw=kw: solve(**kw).compression_ratio, fmt=".2f", suffix="×")
    claims.number(f"comp.{row}.decode", lambda kw=kw: solve(**kw).inference_speedup, fmt=".2f", suffix="×",
                  erratum=ERRATA.get(f"comp.{row}.decode"))
    claims.number(f"comp.{row}.prefill", lambda kw=kw: solve(phase="prefill", **kw).inference_speedup, fmt=".2f",
                  suffix="×", erratum=ERRATA.get(f"comp.{row}.prefill"))
    claims.number(f"comp.{row}.accuracy", lambda kw=kw: 0.0 - solve(**kw).accuracy_delta, fmt=".1f", scale=100,
                  suffix=" pts")
    claims.text(f"comp.{row}.study",
                lambda kw=kw: mlsysim.spec.entry("compression", solve(**kw).accuracy_entry).si("evaluated_on"))
claims.statement("comp.unstructured_no_speedup", "no speedup at all",
                 lambda: solve(**ROWS["unstructured"]).inference_speedup == 1.0
                 and solve(phase="prefill", **ROWS["unstructured"]).inference_speedup == 1.0)
claims.statement("comp.quant_no_prefill_gain", "nothing for compute-bound prefill",  # "faster decode, nothing for..."
                 lambda: all(solve(phase="prefill", **ROWS[q]).baseline.bottleneck == "Compute"
                             and abs(solve(phase="prefill", **ROWS[q]).inference_speedup - 1) < 1e-9
                             and solve(**ROWS[q]).inference_speedup > 1 for q in ("int8", "int4")))
claims.number("comp.n_m.gaudi", lambda: solve(Cloud.Gaudi3, **ROWS["n_m"]).inference_speedup, fmt=".2f",
              suffix="×")
claims.statement("comp.gaudi_no_sparse", "no 2:4 sparse tensor cores in its spec",
                 lambda: Cloud.Gaudi3.spec.get("sparse_peak_flops") is None)
claims.number("comp.h100_sparse_gain", lambda: H100.si("sparse_peak_flops") / H100.si("peak_flops"), fmt=".0f",
              suffix="×")

# --- the precision ladder ----------------------------------------------------------------------
for name in PRECISIONS:
    claims.quantity(f"comp.{name}.weights",
                    lambda name=name: solve(method="quantization", target_precision=name).compressed_size,
                    unit="GB", fmt=".1f", erratum=ERRATA.get(f"comp.{name}.weights"))
    claims.quantity(f"comp.{name}.itl",
                    lambda name=name: solve(method="quantization", target_precision=name).latency, unit="ms",
                    fmt=".2f")


# --- the laptop GPU: which precision fits in its memory ---------------------------------------------
def laptop_memory():
    return assumption("laptop_gpu", "gpu_memory")


def weights(precision):
    return solve(method="quantization", target_precision=precision).compressed_size.to("B").magnitude


claims.text("comp.laptop.name", lambda: assumption("laptop_gpu", "gpu_name"))
claims.quantity("comp.laptop.memory", lambda: Q(laptop_memory(), "B"), unit="GB", fmt=".0f")
claims.text("comp.laptop.precision", lambda: next(p.upper() for p in PRECISIONS if weights(p) < laptop_memory()))
claims.quantity("comp.laptop.left", lambda: Q(laptop_memory() - weights("int4"), "B"), unit="GB", fmt=".2f")
claims.quantity("comp.laptop.kv_tokens",
                lambda: Q((laptop_memory() - weights("int4")) // llama.kv_bytes_per_token(bytes_per_weight()), "token"),
                unit="token", fmt=",.0f", label="tokens")

# --- Predict: INT4 Llama-3 8B on H100 ----------------------------------------------------------


def quant(precision):
    return solve(method="quantization", target_precision=precision)


claims.quantity("comp.fp16.memory_time", lambda: Q(quant("fp16").compressed.memory_s * 1e3, "ms"), unit="ms", fmt=".2f",
                erratum=Erratum(reference="4.8 ms", reason="the decode step reads the layers, the output head and the "
                                "KV cache ({comp.kv}), not the embedding table: not the weight-load time"))
claims.quantity("comp.int4.memory_time", lambda: Q(quant("int4").compressed.memory_s * 1e3, "ms"), unit="ms", fmt=".2f",
                erratum=Erratum(reference="1.2 ms", reason="INT4 layers carry " + GROUPS + ", and the KV cache "
                                "({comp.kv}) stays FP16"))
claims.quantity("comp.fp16.compute_time", lambda: Q(quant("fp16").compressed.compute_s * 1e3, "ms"), unit="ms",
                fmt=".3f")
claims.quantity("comp.int4.compute_time", lambda: Q(quant("int4").compressed.compute_s * 1e3, "ms"), unit="ms",
                fmt=".3f")
claims.text("comp.fp16.bottleneck", lambda: quant("fp16").bottleneck)
claims.text("comp.int4.bottleneck", lambda: quant("int4").bottleneck)
claims.statement("comp.int4_still_memory_bound", "still memory-bound", lambda: quant("int4").bottleneck == "Memory")
claims.quantity("comp.kv", lambda: Q(llama.kv_bytes_per_token(bytes_per_weight()) * context(), "B"), unit="GB",
                fmt=".2f")

# --- Exercise 3 ----------------------------------------------------------------------------------
claims.statement("comp.int8_wins", "INT8 quantisation is the better deal",
                 lambda: solve(**ROWS["int8"]).inference_speedup >= solve(**ROWS["structured"]).inference_speedup
                 and -solve(**ROWS["int8"]).accuracy_delta < -solve(**ROWS["structured"]).accuracy_delta)

# --- Fleet sizing: Llama-3 70B -------------------------------------------------------------------


def replica(precision):
    return comp.replica(llama70, H100, target_bitwidth=bits(precision))


FLEET = ("fp16", "int8", "int4")
for name in FLEET:
    claims.quantity(f"fleet.{name}.weights", lambda name=name: replica(name).weights, unit="GB", fmt=".0f",
                    erratum=ERRATA.get(f"fleet.{name}.weights"))
    claims.quantity(f"fleet.{name}.kv", lambda name=name: Q(replica(name).kv_bytes, "B"), unit="GB", fmt=".0f")
    claims.number(f"fleet.{name}.minimum", lambda name=name: replica(name).memory_minimum, fmt="d")
    claims.number(f"fleet.{name}.gpus", lambda name=name: replica(name).accelerators, fmt="d")
    claims.quantity(f"fleet.{name}.cost", lambda name=name: replica(name).annual_cost, unit="USD", fmt=",.0f",
                    erratum=ERRATA.get(f"fleet.{name}.cost"))
claims.number("fleet.requests", lambda: replica("fp16").concurrent_requests, fmt="d")
claims.number("fleet.kv_heads", lambda: llama70.spec.si("num_kv_heads"), fmt="d")
claims.number("fleet.gpu_ratio", lambda: replica("fp16").accelerators / replica("int4").accelerators, fmt=".0f", suffix="×")


def fraction_words():
    """How the INT4 replica's GPU count compares with FP16's, in words."""
    ratio = replica("fp16").accelerators / replica("int4").accelerators
    words = {1: "the same number of", 2: "half as many", 3: "a third as many", 4: "a quarter as many"}
    return words.get(ratio, f"{replica('int4').accelerators} for every {replica('fp16').accelerators}")


claims.text("fleet.fraction", fraction_words)
claims.quantity("fleet.price", lambda: mlsysim.spec.entry("costs", "H100").quantity("price_per_hour"),
                unit="USD/h", fmt=".2f")
claims.number("fleet.replicas", lambda: assumption("fleet", "fleet_replicas"), fmt=".0f")
claims.number("fleet.gpus_saved",
              lambda: assumption("fleet", "fleet_replicas") * (replica("fp16").accelerators - replica("int4").accelerators),
              fmt=",.0f")
claims.quantity("fleet.cost_saved",
                lambda: assumption("fleet", "fleet_replicas") * (replica("fp16").annual_cost - replica("int4").annual_cost),
                unit="MUSD", fmt=".1f",
                erratum=Erratum(reference="$36M", reason="{fleet.gpus_saved} H100s all year at {fleet.price}, the "
                                "cited on-demand list price"))
