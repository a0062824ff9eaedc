"""Part 2: serving an LLM.  Prefill and decode, the KV cache, continuous batching, speculative
decoding and disaggregated serving, all on the roofline of `Engine.solve`.

    serving = mlsysim.ServingModel()
    r = serving.solve(llama, hw, seq_len=4096, batch_size=1)
    r.ttft, r.itl, r.kv_cache_per_request

* Prefill (time to first token, TTFT) runs the whole prompt in one pass: 2 FLOP per weight per
  token plus causal attention; it reads the weights once and writes the KV cache.
* Decode (inter-token latency, ITL) is one `Engine.solve` step: every sequence reads the weights
  and its own KV cache to produce one token.
* The KV cache comes from the model's real architecture: K and V for each layer and each *KV* head.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .core import _derived as f
from .core import _derived_serving as fs
from .engine import Engine
from .roofline import PerformanceProfile, working_assumptions
from .models import TransformerModel
from .registry import assumption, precision_bytes


def _Q(value, unit):
    from .units import Q

    return Q(value, unit)


def _seconds(value) -> float:
    """A time given as a pint quantity or as seconds."""
    return float(value.to("s").magnitude) if hasattr(value, "to") else float(value)


def _bytes(value) -> float:
    return float(value.to("B").magnitude) if hasattr(value, "to") else float(value)


def _defaults(seq_len, precision, efficiency, bandwidth_efficiency):
    """(S, precision, eta, eta_BW): the caller's values, else the tutorial's stated defaults."""
    seq_len = int(assumption("serving", "context_tokens")) if seq_len is None else int(seq_len)
    precision, _, eta, eta_bw = working_assumptions(precision, efficiency, bandwidth_efficiency)
    return seq_len, precision, eta, eta_bw


def kv_bytes_per_request(model: TransformerModel, seq_len: int, bytes_per_element: float) -> float:
    """KV cache of one request of `seq_len` tokens (grouped-query attention: the model's KV heads)."""
    s = model.spec.si
    return fs.kv_cache_per_request(s("layers"), s("num_kv_heads"), s("head_dim"), seq_len, bytes_per_element)


def kv_bytes_per_request_mha(model: TransformerModel, seq_len: int, bytes_per_element: float) -> float:
    """What the multi-head formula (one KV head per query head) would give: the contrast."""
    s = model.spec.si
    return fs.kv_cache_per_request_mha(s("layers"), s("num_heads"), s("head_dim"), seq_len, bytes_per_element)


def link_bandwidth(prefill_hw, decode_hw) -> float:
    """B/s between two accelerators over the scale-out network: the slower of the two NICs, one way
    (each accelerator's scaleout_link names its table in specs/links.toml)."""
    from .spec import entry

    for hw in (prefill_hw, decode_hw):
        if hw.spec.get("scaleout_link") is None:
            raise ValueError(f"{hw.name}: specs/hardware.toml [{hw.key}] has no scaleout_link, so the "
                             f"KV-cache transfer of disaggregated serving cannot be timed")
    return min(entry("links", hw.si("scaleout_link")).si("bandwidth") for hw in (prefill_hw, decode_hw))


def prefill(model: TransformerModel, hw, seq_len: int, batch_size: int, precision: str, eta: float,
            eta_bw: float) -> PerformanceProfile:
    """The prefill pass: B prompts of S tokens in one step (it processes B x S tokens)."""
    s = model.spec.si
    b = precision_bytes(precision)
    p_mm = model.matmul_parameters
    peak = hw.si("peak_flops")
    flops = fs.prefill_flops(batch_size, p_mm, s("layers"), s("num_heads"), s("head_dim"), seq_len)
    moved = fs.prefill_bytes(p_mm, b, batch_size, model.kv_bytes_per_token(b), seq_len)
    return PerformanceProfile(model.name, hw.name, batch_size, seq_len, precision, flops, moved,
                              f.compute_time(flops, peak, eta), f.memory_time(moved, hw.si("memory_bandwidth"), eta_bw),
                              peak, "token", batch_size * seq_len)


def prefill_tensor_parallel(model: TransformerModel, hw, seq_len: int, tp_size: int, precision: str, eta: float,
                            eta_bw: float, link_latency_s: float, batch_size: int = 1) -> tuple[PerformanceProfile, float]:
    """Prefill split over `tp_size` GPUs joined by the accelerator's scale-up link (Megatron-style tensor
    parallelism): each GPU does 1/TP of the FLOPs and reads 1/TP of the weights and KV cache, and the
    partial outputs of the attention and of the FFN of every layer are AllReduced (2 per layer, ring,
    16-bit activations, not overlapped with compute).  Returns (one GPU's roofline step, AllReduce seconds)."""
    from .core import _derived_distributed as fd

    whole = prefill(model, hw, seq_len, batch_size, precision, eta, eta_bw)
    if tp_size == 1:
        return whole, 0.0
    s = model.spec.si
    if s("num_kv_heads") % tp_size and tp_size % s("num_kv_heads"):
        raise ValueError(f"TP={tp_size} does not split {model.name}'s {s('num_kv_heads')} KV heads")
    one = dataclasses.replace(whole, flops=whole.flops / tp_size, bytes_moved=whole.bytes_moved / tp_size,
                              compute_s=whole.compute_s / tp_size, memory_s=whole.memory_s / tp_size)
    message = batch_size * seq_len * s("hidden_size") * precision_bytes("fp16")
    per_direction = hw.si("scaleup_bandwidth_total") / 2
    comm = 2 * s("layers") * fd.ring_allreduce_time(message, tp_size, per_direction, link_latency_s)
    return one, comm


@dataclass(frozen=True, slots=True)
class ServingResult:
    """What serving B requests of S tokens costs.  Floats in s and B; named fields give quantities."""

    model_name: str
    hardware_name: str
    decode_hardware_name: str
    seq_len: int
    batch_size: int
    precision: str
    prefill: PerformanceProfile
    decode: PerformanceProfile
    kv_bytes: float  # per request
    weight_bytes: float
    decode_capacity: float  # memory of the decode accelerator (B)
    kv_transfer_s: float  # 0 when prefill and decode share the accelerator
    link_bandwidth: float | None
    draft_name: str | None = None
    draft_tokens: int = 0
    draft_acceptance_rate: float = 0.0
    draft_cost_ratio: float = 0.0  # c: one draft step over one target step
    verify_cost_ratio: float = 1.0  # v: one verification pass over one target step
    expected_tokens_per_pass: float = 1.0

    @property
    def ttft_s(self) -> float:
        """Time to first token: the prefill pass (its last position yields the first token)."""
        return self.prefill.latency_s

    @property
    def itl_s(self) -> float:
        """Inter-token latency: one decode step of the batch."""
        return self.decode.latency_s

    @property
    def ttft(self):
        return _Q(self.ttft_s * 1e3, "ms")

    @property
    def itl(self):
        return _Q(self.itl_s * 1e3, "ms")

    @property
    def kv_cache_per_request(self):
        return _Q(self.kv_bytes, "B").to("GB")

    @property
    def kv_transfer_time(self):
        """Moving the prompts' KV cache from the prefill to the decode accelerator (disaggregated)."""
        return _Q(self.kv_transfer_s * 1e3, "ms")

    @property
    def speculative_speedup(self) -> float:
        """Decode speedup from speculation (1.0 without a draft model)."""
        if self.draft_name is None:
            return 1.0
        return self.expected_tokens_per_pass / (self.draft_tokens * self.draft_cost_ratio + self.verify_cost_ratio)

    @property
    def effective_itl(self):
        """Average time per generated token with speculation."""
        return _Q(self.itl_s / self.speculative_speedup * 1e3, "ms")

    @property
    def memory_needed(self):
        """Weights plus the batch's KV cache on the decode accelerator."""
        return _Q(self.weight_bytes + self.batch_size * self.kv_bytes, "B").to("GB")

    @property
    def fits(self) -> bool:
        return self.weight_bytes + self.batch_size * self.kv_bytes <= self.decode_capacity


class ServingModel:
    """The two phases of LLM serving on the roofline (Part 2)."""

    def solve(self, model, hw, seq_len: int | None = None, batch_size: int = 1, precision: str | None = None,
              draft_model=None, draft_acceptance_rate: float | None = None, draft_tokens: int | None = None,
              decode_hardware=None, efficiency: float | None = None,
              bandwidth_efficiency: float | None = None) -> ServingResult:
        """Serve `batch_size` requests with `seq_len`-token prompts: prefill on `hw`, decode on
        `decode_hardware` (default: the same accelerator), optionally speculating with `draft_model`."""
        if not isinstance(model, TransformerModel):
            raise TypeError(f"ServingModel needs a transformer, got {model!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        seq_len, precision, eta, eta_bw = _defaults(seq_len, precision, efficiency, bandwidth_efficiency)
        b = precision_bytes(precision)
        dec_hw = decode_hardware or hw
        pre = prefill(model, hw, seq_len, batch_size, precision, eta, eta_bw)
        step = Engine.solve(model, dec_hw, batch_size=batch_size, seq_len=seq_len, precision=precision,
                            efficiency=eta, bandwidth_efficiency=eta_bw)
        kv = kv_bytes_per_request(model, seq_len, b)
        transfer, link = 0.0, None
        if decode_hardware is not None:
            link = link_bandwidth(hw, decode_hardware)
            transfer = fs.kv_transfer_time(batch_size, model.kv_bytes_per_token(b), seq_len, link)
        spec = {}
        if draft_model is not None:
            alpha = (assumption("speculative", "draft_acceptance_rate") if draft_acceptance_rate is None
                     else float(draft_acceptance_rate))
            gamma = int(assumption("speculative", "draft_tokens")) if draft_tokens is None else int(draft_tokens)
            if not 0 <= alpha <= 1 or gamma < 1:
                raise ValueError(f"need 0 <= draft_acceptance_rate <= 1 and draft_tokens >= 1, got {alpha}, {gamma}")
            draft_step = Engine.solve(draft_model, dec_hw, batch_size=batch_size, seq_len=seq_len,
                                      precision=precision, efficiency=eta, bandwidth_efficiency=eta_bw)
            # Verifying gamma drafts (plus the bonus token) is gamma + 1 tokens per sequence in one
            # pass: (gamma + 1) times the FLOPs of a step, the same weight and KV-cache bytes.
            verify_s = max(step.compute_s * (gamma + 1), step.memory_s)
            expected = gamma + 1 if alpha == 1 else fs.speculative_expected_tokens(alpha, gamma)
            spec = dict(draft_name=draft_model.name, draft_tokens=gamma, draft_acceptance_rate=alpha,
                        draft_cost_ratio=draft_step.latency_s / step.latency_s,
                        verify_cost_ratio=verify_s / step.latency_s, expected_tokens_per_pass=expected)
        return ServingResult(model.name, hw.name, dec_hw.name, seq_len, batch_size, precision, pre, step, kv,
                             model.weight_bytes(b), dec_hw.si("memory_capacity"), transfer, link, **spec)


# --- Continuous batching and paged KV cache ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchingResult:
    """How many requests one accelerator serves at once, and what limits it."""

    model_name: str
    hardware_name: str
    seq_len: int
    max_context: int
    page_size: int
    precision: str
    capacity: float  # B of accelerator memory
    weight_bytes: float
    kv_bytes: float  # the KV cache a request actually holds (seq_len tokens)
    reserved_paged: float  # what paging reserves for it (whole pages)
    reserved_static: float  # what static allocation reserves (the whole context window)
    memory_limit: int  # requests that fit with paging
    static_limit: int  # requests that fit with static allocation
    itl_limit: int | None  # requests an ITL target allows (None: no target)
    max_batch_size: int | None
    max_concurrent_requests: int
    binding: str  # "memory", "ITL target" or "max batch size"
    decode: PerformanceProfile | None  # a decode step at max_concurrent_requests

    @property
    def free_memory(self):
        return _Q(self.capacity - self.weight_bytes, "B").to("GB")

    @property
    def itl(self):
        return None if self.decode is None else self.decode.latency

    @property
    def throughput(self):
        """Tokens per second at max_concurrent_requests (every request emits one token per step)."""
        if self.decode is None:
            return _Q(0.0, "token/s")
        return self.decode.throughput

    @property
    def paged_utilization(self) -> float:
        """Fraction of reserved KV memory that holds tokens, with paging."""
        return self.kv_bytes / self.reserved_paged

    @property
    def static_utilization(self) -> float:
        return self.kv_bytes / self.reserved_static

    def limit_at_utilization(self, utilization: float) -> int:
        """Requests that fit beside the weights when only `utilization` of the KV memory each one holds
        stores its tokens (the rest lost to reservation and fragmentation): each then takes kv / u."""
        return max(0, math.floor(fs.requests_fitting(self.capacity, self.weight_bytes,
                                                     self.kv_bytes / utilization)))


def _largest_batch_within(model, hw, seq_len, precision, eta, eta_bw, itl_target_s) -> int:
    """Largest B whose decode step meets the ITL target: floor of the smaller of the two solved limits."""
    s = model.spec.si
    b = precision_bytes(precision)
    p_mm = model.matmul_parameters
    limit = min(fs.itl_batch_limit_memory(itl_target_s, hw.si("memory_bandwidth"), eta_bw, p_mm, b,
                                          model.kv_bytes_per_token(b), seq_len),
                fs.itl_batch_limit_compute(itl_target_s, hw.si("peak_flops"), eta, p_mm, s("layers"),
                                           s("num_heads"), s("head_dim"), seq_len))
    n = max(0, math.floor(limit))
    # guard the floor against rounding: the step at n must meet the target, the step at n + 1 must not
    while n > 0 and Engine.solve(model, hw, batch_size=n, seq_len=seq_len, precision=precision, efficiency=eta,
                                 bandwidth_efficiency=eta_bw).latency_s > itl_target_s:
        n -= 1
    return n


class ContinuousBatchingModel:
    """Concurrency of continuous batching with a paged KV cache (vLLM's PagedAttention, Kwon et al. 2023).

    Memory: the weights stay resident; the rest holds KV caches.  Paging reserves a request's
    tokens in whole pages (waste: under one page); static allocation reserves the model's whole
    context window for every request.  Activations and runtime workspace are not counted.
    Latency: every request in the batch adds its KV-cache read to every decode step, so an ITL
    target caps the batch too.
    """

    def solve(self, model, hw, seq_len: int | None = None, max_batch_size: int | None = None,
              page_size: int | None = None, itl_slo=None, precision: str | None = None,
              max_context: int | None = None, memory_capacity=None, efficiency: float | None = None,
              bandwidth_efficiency: float | None = None) -> BatchingResult:
        """Requests of `seq_len` tokens on `hw`, at most `max_batch_size` at once, within `itl_slo`."""
        if not isinstance(model, TransformerModel):
            raise TypeError(f"ContinuousBatchingModel needs a transformer, got {model!r}")
        seq_len, precision, eta, eta_bw = _defaults(seq_len, precision, efficiency, bandwidth_efficiency)
        page = int(assumption("paging", "page_tokens")) if page_size is None else int(page_size)
        if max_context is None:
            max_context = int(model.spec.si("max_context_tokens"))
        if seq_len > max_context:
            raise ValueError(f"{model.name}: {seq_len} tokens exceed its context window of {max_context}")
        b = precision_bytes(precision)
        kv_token = model.kv_bytes_per_token(b)
        capacity = hw.si("memory_capacity") if memory_capacity is None else _bytes(memory_capacity)
        weights = model.weight_bytes(b)
        paged = fs.paged_reservation(math.ceil(seq_len / page), page, kv_token)
        static = fs.static_reservation(max_context, kv_token)
        memory_limit = max(0, math.floor(fs.requests_fitting(capacity, weights, paged)))
        static_limit = max(0, math.floor(fs.requests_fitting(capacity, weights, static)))
        limits = {"memory": memory_limit}
        itl_limit = None
        if itl_slo is not None:
            itl_limit = _largest_batch_within(model, hw, seq_len, precision, eta, eta_bw, _seconds(itl_slo))
            limits["ITL target"] = itl_limit
        if max_batch_size is not None:
            limits["max batch size"] = int(max_batch_size)
        binding = min(limits, key=lambda k: limits[k])  # ties: the first named (memory) binds
        n = limits[binding]
        step = (Engine.solve(model, hw, batch_size=n, seq_len=seq_len, precision=precision, efficiency=eta,
                             bandwidth_efficiency=eta_bw) if n > 0 else None)
        return BatchingResult(model.name, hw.name, seq_len, max_context, page, precision, capacity, weights,
                              kv_token * seq_len, paged, static, memory_limit, static_limit, itl_limit,
                              max_batch_size, n, binding, step)
