"""Part 2's formulas: prefill, the KV cache, continuous batching, speculative decoding, disaggregation.

Each is derived here from first principles in sympy and printed to `_derived_serving.py` by
`python -m mlsysim.core.generate`; the engine (mlsysim.serving) runs the printed functions.
"""
from __future__ import annotations

import sympy as sp

from .derivations import (
    batch, bandwidth, bytes_per_element, context, decode_bytes, decode_flops, eta, eta_bw, formula,
    head_dim, heads, kv_bytes_token, kv_heads, layers, matmul_params, peak_flops, position, sym,
)

# --- Prefill: the whole prompt in one pass --------------------------------------------------------

#: Prompt token s (1..S) multiplies by every weight (2 FLOP each) and attends to the s tokens up to
#: and including itself (causal mask): Q.K^T and A.V are 2*s*d_head FLOP each, per head, per layer.
_per_position = 2 * matmul_params + 4 * layers * heads * head_dim * position
prefill_flops = formula("prefill_flops", r"\text{FLOPs}_{\text{prefill}}",
                        batch * sp.Sum(_per_position, (position, 1, context)).doit(),
                        (batch, matmul_params, layers, heads, head_dim, context),
                        "FLOPs of prefilling B prompts of S tokens (causal attention included)")

#: Bytes of a prefill: the weights once, and the K and V of every prompt token written to the cache.
formula("prefill_bytes", r"\text{Bytes}_{\text{prefill}}",
        matmul_params * bytes_per_element + batch * kv_bytes_token * context,
        (matmul_params, bytes_per_element, batch, kv_bytes_token, context),
        "bytes a prefill moves: weights read once, KV cache written")

# --- The KV cache of one request ----------------------------------------------------------------

formula("kv_cache_per_request", r"\text{KV}_{\text{request}}",
        2 * layers * kv_heads * head_dim * context * bytes_per_element,
        (layers, kv_heads, head_dim, context, bytes_per_element),
        "K and V of every layer and KV head for S tokens (grouped-query attention: H_KV heads)")

formula("kv_cache_per_request_mha", r"\text{KV}^{\text{MHA}}_{\text{request}}",
        2 * layers * heads * head_dim * context * bytes_per_element,
        (layers, heads, head_dim, context, bytes_per_element),
        "the same with one KV head per query head (multi-head attention), for contrast")

# --- Memory: how many requests fit -------------------------------------------------------------

capacity = sym("capacity", r"C_{\text{HBM}}")
weight_bytes = sym("weight_bytes", "W")
reserved = sym("reserved", r"R_{\text{request}}")
page = sym("page", "p", integer=True)
max_context = sym("max_context", r"S_{\max}", integer=True)

formula("requests_fitting", r"N_{\text{memory}}", (capacity - weight_bytes) / reserved,
        (capacity, weight_bytes, reserved),
        "requests whose KV reservations fit beside the weights (take the floor)")

#: Static allocation reserves the model's whole context window for every request; paging reserves
#: whole pages of p tokens as the request grows (ceil(S/p) of them), so it wastes less than one page.
pages = sym("pages", r"\lceil S/p \rceil", integer=True)
formula("static_reservation", r"R_{\text{static}}", max_context * kv_bytes_token,
        (max_context, kv_bytes_token), "KV bytes reserved per request when allocating the maximum length")
formula("paged_reservation", r"R_{\text{paged}}", pages * page * kv_bytes_token,
        (pages, page, kv_bytes_token), "KV bytes reserved per request in ceil(S/p) pages of p tokens")

# --- Latency: how many requests an ITL target allows -------------------------------------------

itl_target = sym("itl_target", r"T_{\text{ITL}}")
#: The decode step is the slower of its compute and memory terms; each grows linearly with B,
#: so each gives a largest batch that still meets the target.  The smaller of the two binds.
_b_mem = sp.solve(sp.Eq(decode_bytes / (bandwidth * eta_bw), itl_target), batch)[0]
_b_comp = sp.solve(sp.Eq(decode_flops / (peak_flops * eta), itl_target), batch)[0]
formula("itl_batch_limit_memory", r"B_{\text{ITL}}^{\text{mem}}", _b_mem,
        (itl_target, bandwidth, eta_bw, matmul_params, bytes_per_element, kv_bytes_token, context),
        "largest batch whose decode step reads its bytes within the ITL target (take the floor)")
formula("itl_batch_limit_compute", r"B_{\text{ITL}}^{\text{comp}}", _b_comp,
        (itl_target, peak_flops, eta, matmul_params, layers, heads, head_dim, context),
        "largest batch whose decode step does its FLOPs within the ITL target (take the floor)")

# --- Speculative decoding (Leviathan, Kalman, Matias, ICML 2023) -------------------------------

alpha = sym("alpha", r"\alpha")
gamma = sym("gamma", r"\gamma", integer=True)
accepted = sp.Symbol("n", integer=True, nonnegative=True)
cost_ratio = sym("cost_ratio", "c")
verify_ratio = sym("verify_ratio", "v")

#: The target checks gamma drafted tokens in one pass.  Draft token i is accepted with probability
#: alpha if all before it were, so n tokens are accepted with P = alpha^n (1 - alpha) for n < gamma
#: and alpha^gamma for n = gamma; the pass always adds one token of its own (a correction or a
#: bonus).  Expected tokens per pass = E[n + 1]: the sum of a geometric series.
_expected = (sp.Sum((accepted + 1) * alpha**accepted * (1 - alpha), (accepted, 0, gamma - 1)).doit()
             + (gamma + 1) * alpha**gamma)
_expected = sp.simplify(_expected)
if isinstance(_expected, sp.Piecewise):  # the alpha = 1 branch (gamma + 1) is handled by the engine
    _expected = next(e for e, cond in _expected.args if cond == sp.true)
expected_tokens = formula("speculative_expected_tokens", r"\mathbb{E}[\text{tokens per pass}]",
                          _expected, (alpha, gamma),
                          "expected tokens per target pass with gamma drafted tokens, acceptance alpha < 1")

#: One round costs gamma draft steps (c target steps each) and one verification pass (v target steps;
#: v = 1 while the pass is memory-bound, as checking gamma + 1 tokens reads the same bytes as one).
formula("speculative_speedup", r"\text{Speedup}", expected_tokens / (gamma * cost_ratio + verify_ratio),
        (alpha, gamma, cost_ratio, verify_ratio),
        "tokens per unit of target-step time, relative to plain decoding")

# --- Disaggregated serving ---------------------------------------------------------------------

link_bandwidth = sym("link_bandwidth", r"\text{BW}_{\text{link}}")
formula("kv_transfer_time", r"T_{\text{KV transfer}}", batch * kv_bytes_token * context / link_bandwidth,
        (batch, kv_bytes_token, context, link_bandwidth),
        "time to move the prompts' KV cache from the prefill to the decode accelerator")
