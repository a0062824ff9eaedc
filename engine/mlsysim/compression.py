"""Part 3: compression.  Storage always shrinks; speed follows the bottleneck.

    comp = mlsysim.CompressionModel()
    r = comp.solve(llama, hw, method="quantization", target_bitwidth=4)
    r.compressed_size, r.inference_speedup, r.accuracy_delta

The speedup is the ratio of two roofline steps (`Engine.solve`'s decode step by default, or a
prefill), before and after:

* Quantisation here is weight-only (GPTQ/AWQ-style W8A16, W4A16 kernels): the decoder layers'
  weights are stored and streamed at `target_bitwidth` bits plus a scale and zero point per group
  (specs/precisions.toml), dequantised on chip, multiplied in the serving precision; the embedding
  table, the output head and the KV cache stay in the serving precision.  It helps memory-bound work, not compute-bound work.
* Pruning removes weights of the decoder layers (embedding and output head stay dense):
  unstructured zeros are kept in a dense layout by dense kernels (no speedup; the stored file
  shrinks), structured pruning makes the matrices smaller (fewer bytes and FLOPs), and 2:4 (N:M)
  sparsity halves the bytes read and doubles the FLOP rate, where the hardware has sparse tensor cores.
* The accuracy cost is not computed: it is the cited measurement in specs/compression.toml.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .core import _derived as f
from .core import _derived_compression as fc
from .core import _derived_serving as fs
from .roofline import PerformanceProfile, working_assumptions
from .models import TransformerModel
from .registry import assumption, precision_bytes
from . import spec as _spec

SPARSITY_TYPES = ("unstructured", "structured", "n_m")
#: N:M structured sparsity as sparse tensor cores run it: N nonzeros kept in every group of M weights
#: (2:4 on NVIDIA Ampere and later, Mishra et al. 2021, arXiv 2104.08378), each kept weight
#: carrying its position in the group (log2 M bits).
N_M = (2, 4)


def _Q(value, unit):
    from .units import Q

    return Q(value, unit)


def _layer_parameters(model: TransformerModel) -> float:
    """Weights of the decoder layers: all parameters but the embedding table(s) (and the final norm)."""
    s = model.spec.si
    copies = 1 if s("tied_embeddings") else 2
    return model.parameters - copies * s("vocab_size") * s("hidden_size") - s("hidden_size")


def _step(model, hw, phase, batch, seq_len, precision, b_kv, eta, eta_bw, dense_weight_bytes, layer_weight_bytes,
          layer_flop_fraction=1.0, sparse_speedup=1.0) -> PerformanceProfile:
    """One decode step or prefill with the layer weights stored/streamed as given.

    dense_weight_bytes: bytes of the streamed weights outside the decoder layers (output head);
    layer_weight_bytes: bytes of the decoder layers' weights as stored;
    layer_flop_fraction: share of the layers' weight FLOPs still done (structured pruning: 1 - s);
    sparse_speedup: FLOP-rate gain on the layers' matmuls (2:4 on sparse tensor cores).
    """
    s = model.spec.si
    p_mm = model.matmul_parameters
    p_layers = _layer_parameters(model)
    kv_token = model.kv_bytes_per_token(b_kv)
    if phase == "decode":
        tokens = batch
        attn = f.decode_flops(batch, 0, s("layers"), s("num_heads"), s("head_dim"), seq_len)
        kv_bytes = batch * kv_token * seq_len
    elif phase == "prefill":
        tokens = batch * seq_len
        attn = fs.prefill_flops(batch, 0, s("layers"), s("num_heads"), s("head_dim"), seq_len)
        kv_bytes = batch * kv_token * seq_len
    else:
        raise ValueError(f"phase must be 'decode' or 'prefill', got {phase!r}")
    peak = hw.si("peak_flops")
    # the weights' FLOPs: a decode step's formula with no attention (context 0), per token processed
    head_flops = f.decode_flops(tokens, p_mm - p_layers, s("layers"), s("num_heads"), s("head_dim"), 0)
    layer_flops = f.decode_flops(tokens, p_layers, s("layers"), s("num_heads"), s("head_dim"), 0) * layer_flop_fraction
    flops = attn + head_flops + layer_flops
    compute_s = (f.compute_time(attn + head_flops, peak, eta)
                 + f.compute_time(layer_flops, peak * sparse_speedup, eta))
    moved = dense_weight_bytes + layer_weight_bytes + kv_bytes
    return PerformanceProfile(model.name, hw.name, batch, seq_len, precision, flops, moved, compute_s,
                              f.memory_time(moved, hw.si("memory_bandwidth"), eta_bw), peak, "token", tokens)


def _format_of(bits: float) -> "_spec.Spec | None":
    """The integer format of specs/precisions.toml stored at `bits` bits (int8, int4), if any."""
    for name, entry in _spec.load("precisions").items():
        if name.startswith("int") and entry.si("bits") == bits:
            return entry
    return None


def stored_weight_bytes(model: TransformerModel, bits: float, bytes_per_element: float) -> tuple[float, float]:
    """(bytes of the whole model, bytes per decoder-layer weight) with the weights at `bits` bits.

    Below the serving precision this is weight-only quantisation as GPTQ/AWQ store it: the decoder
    layers at `bits` plus each group's scale and zero point (specs/precisions.toml), the embedding
    table and output head left in the serving precision.  At or above it, every weight at `bits`."""
    if bits >= bytes_per_element * 8:
        return fc.quantized_bytes(model.parameters, bits), bits / 8
    fmt = _format_of(bits)
    group_size = fmt.get("group_size", 1) if fmt is not None else 1
    group_bits = fmt.get("group_bits", 0) if fmt is not None else 0
    p_layers = _layer_parameters(model)
    total = fc.quantized_model_bytes(model.parameters, p_layers, bits, group_size, group_bits, bytes_per_element)
    return total, (bits + group_bits / group_size) / 8


def _cited_accuracy(method: str, bits=None, sparsity=None, sparsity_type=None):
    """(drop, entry) from specs/compression.toml for this method and level, or (None, None)."""
    for name, entry in _spec.load("compression").items():
        if entry.si("method") != method:
            continue
        if method == "quantization" and entry.get("bits") == bits:
            return entry.si("accuracy_drop"), name
        if (method == "pruning" and entry.get("sparsity_type") == sparsity_type
                and entry.get("sparsity") == sparsity):
            return entry.si("accuracy_drop"), name
    return None, None


@dataclass(frozen=True, slots=True)
class CompressionResult:
    model_name: str
    hardware_name: str
    method: str
    level: str  # "INT4", "50% structured", ...
    phase: str
    original_bytes: float
    compressed_bytes: float
    baseline: PerformanceProfile
    compressed: PerformanceProfile
    accuracy_drop: float | None
    accuracy_entry: str | None

    @property
    def compressed_size(self):
        return _Q(self.compressed_bytes, "B").to("GB")

    @property
    def original_size(self):
        return _Q(self.original_bytes, "B").to("GB")

    @property
    def compression_ratio(self) -> float:
        return self.original_bytes / self.compressed_bytes

    @property
    def inference_speedup(self) -> float:
        """Baseline step time over compressed step time (the roofline decides which term shrinks)."""
        return self.baseline.latency_s / self.compressed.latency_s

    @property
    def latency(self):
        return _Q(self.compressed.latency_s * 1e3, "ms")

    @property
    def bottleneck(self) -> str:
        return self.compressed.bottleneck

    @property
    def accuracy_delta(self) -> float:
        """Change in mean zero-shot accuracy (a fraction; negative is a loss), as cited in the specs."""
        if self.accuracy_drop is None:
            raise LookupError(f"no cited accuracy for {self.method} at {self.level}: add an entry to "
                              f"specs/compression.toml with its source")
        return 0.0 - self.accuracy_drop  # (not -0.0 for a zero drop)


class CompressionModel:
    """Quantisation and pruning: what they store, what they speed up, what they cost (Part 3)."""

    def solve(self, model, hw, method: str = "quantization", target_bitwidth: int | None = None,
              sparsity: float | None = None, sparsity_type: str = "unstructured", batch_size: int = 1,
              seq_len: int | None = None, precision: str | None = None, phase: str = "decode",
              efficiency: float | None = None, bandwidth_efficiency: float | None = None) -> CompressionResult:
        if not isinstance(model, TransformerModel):
            raise TypeError(f"CompressionModel needs a transformer, got {model!r}")
        seq_len = int(assumption("serving", "context_tokens")) if seq_len is None else int(seq_len)
        precision, b, eta, eta_bw = working_assumptions(precision, efficiency, bandwidth_efficiency)
        p_mm, p_layers = model.matmul_parameters, _layer_parameters(model)
        head = (p_mm - p_layers) * b  # streamed weights outside the decoder layers
        args = (model, hw, phase, batch_size, seq_len, precision, b, eta, eta_bw)
        baseline = _step(*args, head, p_layers * b)
        original = model.weight_bytes(b)
        if method == "quantization":
            if target_bitwidth is None:
                raise ValueError("quantization needs target_bitwidth (16, 8, 4)")
            bits = float(target_bitwidth)
            compressed_bytes, bq = stored_weight_bytes(model, bits, b)
            head_b = b if bits < b * 8 else bits / 8  # weight-only quantisation leaves the head in b
            step = _step(*args, (p_mm - p_layers) * head_b, p_layers * bq)
            base_bits = b * 8
            drop, entry = (0.0, None) if bits >= base_bits else _cited_accuracy("quantization", bits=bits)
            level = f"{int(bits)}-bit"
        elif method == "pruning":
            if sparsity is None or not 0 <= sparsity < 1:
                raise ValueError(f"pruning needs 0 <= sparsity < 1, got {sparsity}")
            if sparsity_type not in SPARSITY_TYPES:
                raise ValueError(f"sparsity_type must be one of {SPARSITY_TYPES}, got {sparsity_type!r}")
            outside = original - p_layers * b
            if sparsity_type == "unstructured":
                # stored compressed (values + bitmask); run dense: the zeros are multiplied like any weight
                compressed_bytes = outside + p_layers * fc.unstructured_bytes_per_weight(sparsity, b)
                step = _step(*args, head, p_layers * b)
            elif sparsity_type == "structured":
                per = fc.structured_bytes_per_weight(sparsity, b)
                compressed_bytes = outside + p_layers * per
                step = _step(*args, head, p_layers * per, layer_flop_fraction=1 - sparsity)
            else:
                kept, group = N_M
                if not math.isclose(sparsity, 1 - kept / group):
                    raise ValueError(f"n_m sparsity is modelled as {kept}:{group} (sparsity {1 - kept / group})")
                per = fc.nm_bytes_per_weight(sparsity, b, math.log2(group))
                compressed_bytes = outside + p_layers * per
                sparse_peak = hw.spec.get("sparse_peak_flops")
                if sparse_peak is None:  # no sparse tensor cores: a dense kernel on the expanded matrix
                    step = _step(*args, head, p_layers * b)
                else:
                    step = _step(*args, head, p_layers * per, sparse_speedup=sparse_peak / hw.si("peak_flops"))
            drop, entry = _cited_accuracy("pruning", sparsity=sparsity, sparsity_type=sparsity_type)
            level = f"{sparsity:.0%} {sparsity_type}"
        else:
            raise ValueError(f"method must be 'quantization' or 'pruning', got {method!r}")
        return CompressionResult(model.name, hw.name, method, level, phase, original, compressed_bytes,
                                 baseline, step, drop, entry)

    @staticmethod
    def replica(model, hw, target_bitwidth: int | None = None, concurrent_requests: int | None = None,
                seq_len: int | None = None, precision: str | None = None) -> "Replica":
        """Accelerators one serving replica needs: weights (at `target_bitwidth`) plus the KV cache of
        `concurrent_requests` requests of `seq_len` tokens (serving precision), rounded up to a
        tensor-parallel degree that divides the model's KV heads."""
        seq_len = int(assumption("serving", "context_tokens")) if seq_len is None else int(seq_len)
        precision = precision or assumption("serving", "precision")
        b = precision_bytes(precision)
        n_req = (int(assumption("fleet", "fleet_concurrent_requests")) if concurrent_requests is None
                 else int(concurrent_requests))
        bits = b * 8 if target_bitwidth is None else float(target_bitwidth)
        weights = stored_weight_bytes(model, bits, b)[0]
        kv = fs.kv_cache_per_request(model.spec.si("layers"), model.spec.si("num_kv_heads"),
                                                  model.spec.si("head_dim"), seq_len, b)
        need = math.ceil(fc.accelerators_for_memory(weights, n_req, kv, hw.si("memory_capacity")))
        # tensor parallelism shards attention by KV heads: the degree divides them (or is a multiple)
        kv_heads = model.spec.si("num_kv_heads")
        tp = next(d for d in range(need, kv_heads * need + 1) if kv_heads % d == 0 or d % kv_heads == 0)
        return Replica(model.name, hw.name, hw.key, bits, n_req, seq_len, weights, n_req * kv, need, tp)


@dataclass(frozen=True, slots=True)
class Replica:
    model_name: str
    hardware_name: str
    hardware_key: str
    bits: float
    concurrent_requests: int
    seq_len: int
    weight_bytes: float
    kv_bytes: float
    memory_minimum: int  # accelerators whose memory holds it all
    accelerators: int  # rounded up to a tensor-parallel degree that divides the KV heads

    @property
    def weights(self):
        return _Q(self.weight_bytes, "B").to("GB")

    @property
    def annual_cost(self):
        """Accelerators x price per accelerator-hour (specs/costs.toml) x hours in a year, always on."""
        price = _spec.entry("costs", self.hardware_key).si("price_per_hour")  # USD/h
        hours = _Q(1, "year").to("h").magnitude  # a Julian year, 365.25 days
        return _Q(fc.annual_cost(self.accelerators, price, hours), "USD")
