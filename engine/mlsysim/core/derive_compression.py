"""Part 3's formulas: stored size under quantisation and pruning, and fleet sizing.

Printed to `_derived_compression.py` by `python -m mlsysim.core.generate`; run by
mlsysim.compression.
"""
from __future__ import annotations

import sympy as sp

from .derivations import bytes_per_element, formula, params, sym

sparsity = sym("sparsity", "s")
index_bits = sym("index_bits", r"\log_2 M")  # N:M sparsity keeps N of every M weights
bits = sym("bits", r"\text{bits}")

formula("quantized_bytes", r"W_{\text{quant}}", params * bits / 8, (params, bits),
        "bytes of P weights stored at `bits` bits each")

#: The ideal compression ratios, every weight shrunk and nothing stored beside it: quantisation divides
#: the bits a weight is served in by the bits it is stored in; pruning keeps a fraction 1 - s of them.
#: (What a model file really shrinks by is smaller: the formulas below add the parts that stay.)
served_bits = sym("served_bits", r"\text{bits}_{\text{served}}")
formula("quantization_ratio", r"\text{Compression}_{\text{quant}}", served_bits / bits, (served_bits, bits),
        "ideal storage ratio of quantisation: bits per weight served over bits per weight stored")
formula("pruning_ratio", r"\text{Compression}_{\text{prune}}", 1 / (1 - sparsity), (sparsity,),
        "ideal storage ratio of pruning a fraction s of the weights: all weights over the kept ones")

#: Weight-only quantisation as GPTQ and AWQ store it: the decoder layers' P_layers weights at `bits`
#: each, plus, for every group of g consecutive weights, its scale and zero point (g_bits bits); the
#: embedding table and output head (P - P_layers) stay in the serving precision (b bytes each).
layer_params = sym("layer_params", r"P_{\text{layers}}")
group_size = sym("group_size", "g")
group_bits = sym("group_bits", r"b_{\text{group}}")
formula("quantized_model_bytes", r"W_{\text{quant}}",
        layer_params * (bits + group_bits / group_size) / 8 + (params - layer_params) * bytes_per_element,
        (params, layer_params, bits, group_size, group_bits, bytes_per_element),
        "bytes of a weight-only quantised model: layers at bits plus a scale and zero per group, the rest at b")

#: Unstructured sparsity: the surviving values plus a bitmask of one bit per original weight that
#: says which ones survive (a dense kernel still needs the full matrix back).
formula("unstructured_bytes_per_weight", r"b_{\text{unstructured}}", (1 - sparsity) * bytes_per_element + sp.Rational(1, 8),
        (sparsity, bytes_per_element), "stored bytes per original weight: kept values + 1-bit mask")

#: N:M sparsity (2:4 on NVIDIA sparse tensor cores): each kept value carries its position in its
#: group of M, log2(M) bits of metadata.
formula("nm_bytes_per_weight", r"b_{N:M}", (1 - sparsity) * (bytes_per_element + index_bits / 8),
        (sparsity, bytes_per_element, index_bits), "stored bytes per original weight: kept values + index bits")

#: Structured sparsity removes whole rows, columns or heads: the matrices are simply smaller.
formula("structured_bytes_per_weight", r"b_{\text{structured}}", (1 - sparsity) * bytes_per_element,
        (sparsity, bytes_per_element), "stored bytes per original weight when whole rows are removed")

# --- Fleet sizing ---------------------------------------------------------------------------------

capacity = sym("capacity", r"C_{\text{HBM}}")
weight_bytes = sym("weight_bytes", "W")
requests = sym("requests", r"N_{\text{req}}")
kv_request = sym("kv_request", r"\text{KV}_{\text{request}}")
formula("accelerators_for_memory", r"N_{\text{acc}}", (weight_bytes + requests * kv_request) / capacity,
        (weight_bytes, requests, kv_request, capacity),
        "accelerators whose memory holds the weights and the KV cache of N_req requests (take the ceiling)")

price = sym("price", r"\text{price}")
hours = sym("hours", r"\text{hours}")
n_acc = sym("n_acc", r"N_{\text{acc}}", integer=True)
formula("annual_cost", r"\text{Cost}", n_acc * price * hours, (n_acc, price, hours),
        "accelerators x price per accelerator-hour x hours")
