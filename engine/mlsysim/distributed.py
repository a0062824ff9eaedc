"""DistributedModel: one training step of a transformer on a cluster, split DP x TP x PP.

The step, as Part 4 draws it:

* Compute.  Training FLOPs of the global batch (6P per token plus attention) spread over all
  N GPUs at the node's sustained efficiency eta: the ideal step, T_ideal.
* Tensor parallelism.  Inside every layer, AllReduces of the activations in the forward pass
  and of their gradients in the backward (Megatron-LM: 2 and 2; specs/assumptions.toml), per
  microbatch, among the TP GPUs.
* Pipeline parallelism.  M microbatches through P stages take (M+P-1) microbatch-times; each stage
  hands its activations forward and their gradients back (point-to-point).
* Data parallelism.  Once per step (after gradient accumulation over the M microbatches) the
  gradients are AllReduced across the DP replicas: a ring inside a node, a ring across nodes,
  or hierarchical when a node holds several replicas.
* Stragglers.  Synchronous training waits for the slowest GPU: the step stretches by
  straggler_factor.

Communication is not overlapped with compute (an upper bound on its cost).  A configuration that
does not fit in memory (weights, gradients, optimizer state, activations per GPU) is infeasible:
its result says why, and its times are not numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .core import _derived_distributed as fd
from .registry import assumption, precision_bytes



def tp_allreduces_per_layer() -> int:
    """AllReduces a tensor-parallel layer does per microbatch: forward plus backward
    (Megatron-LM: 2 + 2; specs/assumptions.toml [training] tp_allreduces_forward, _backward)."""
    return int(assumption("training", "tp_allreduces_forward") + assumption("training", "tp_allreduces_backward"))


class NotANumber(float):
    """Stands where a time or an efficiency would be, for a configuration that cannot run."""

    def __new__(cls, reason: str, label: str = "infeasible"):
        obj = super().__new__(cls, math.nan)
        obj.reason, obj.label = reason, label
        return obj

    def __format__(self, spec: str) -> str:
        return self.label

    def __repr__(self):
        return f"NotANumber({self.reason!r})"


@dataclass(frozen=True, slots=True)
class MemoryPerGPU:
    """Bytes one GPU holds during the step (the busiest one: pipeline stage 1)."""

    weights: float
    gradients: float
    optimizer: float
    activations: float
    capacity: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations

    @property
    def fits(self) -> bool:
        return self.total <= self.capacity

    def describe(self) -> str:
        gb = 1e9
        return (f"needs {self.total / gb:.0f} GB per GPU, has {self.capacity / gb:.0f} GB "
                f"(weights {self.weights / gb:.1f}, gradients {self.gradients / gb:.1f}, "
                f"optimizer {self.optimizer / gb:.1f}, activations {self.activations / gb:.1f} GB)")


@dataclass(frozen=True)
class DistributedResult:
    """One training step.  Plain floats in s and B; named properties give quantities and ratios."""

    model_name: str
    cluster_name: str
    n_gpus: int
    tp_size: int
    pp_size: int
    dp_size: int
    batch_size: int
    seq_len: int
    microbatch_count: int
    feasible: bool
    reason: str = ""
    memory: MemoryPerGPU | None = None
    micro_compute_s: float = math.nan  # t_c: one microbatch's compute on one GPU
    micro_tp_s: float = math.nan  # t_TP: its tensor-parallel AllReduces
    micro_pp_s: float = math.nan  # t_PP: its stage-to-stage sends
    micro_cp_s: float = 0.0  # t_CP: its context-parallel K/V all-gathers (and their gradients' reduce-scatters)
    virtual_stages: int = 1  # v: model chunks per pipeline rank (1: one-forward-one-backward)
    cp_size: int = 1
    model_flops: float = math.nan  # the step's FLOPs as MFU counts them (PaLM: 6P + 12 L H d_head S per token)
    executed_flops: float = math.nan  # what the GPUs execute (causal kernels, recomputation)
    peak_flops: float = math.nan
    dp_comm_s: float = math.nan  # T_DP: the gradient AllReduce, once per step
    straggler_factor: float = 1.0
    eta: float = math.nan
    dp_algorithm: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    # --- the step ---------------------------------------------------------------------------
    def _or_missing(self, value):
        if self.feasible:
            return value
        return NotANumber(self.reason, "does not fit" if self.memory is not None else "infeasible")

    def _terms(self):
        return (self.pp_size, self.microbatch_count, self.micro_compute_s, self.micro_tp_s + self.micro_cp_s,
                self.micro_pp_s, self.dp_comm_s, self.straggler_factor)

    @property
    def step_s(self) -> float:
        """T_step = s ((M + P - 1)(t_c + t_TP + t_PP) + T_DP); with v chunks per rank, M + (P-1)/v slots."""
        if self.virtual_stages > 1:
            p, m, *rest = self._terms()
            return self._or_missing(fd.interleaved_step_time(p, m, self.virtual_stages, *rest))
        return self._or_missing(fd.training_step_time(*self._terms()))

    @property
    def mfu(self) -> float:
        """Model FLOPs utilisation of the step: model FLOPs (PaLM's count) over the GPUs' peak x step time."""
        return self._or_missing(self.model_flops / (self.n_gpus * self.peak_flops * self.step_s))

    @property
    def bubble_ratio(self) -> float:
        """Pipeline idle time over the ideal time, (P-1)/(v M)."""
        return self._or_missing(fd.bubble_ratio(self.pp_size, self.microbatch_count, self.virtual_stages))

    @property
    def ideal_s(self) -> float:
        """The step at perfect scaling: compute only, every GPU busy."""
        return self.microbatch_count * self.micro_compute_s

    @property
    def compute_s(self) -> float:
        return self.ideal_s

    @property
    def tp_comm_s(self) -> float:
        return self.microbatch_count * self.micro_tp_s

    @property
    def pp_comm_s(self) -> float:
        return self.microbatch_count * self.micro_pp_s

    @property
    def bubble_s(self) -> float:
        """The (P-1)/v idle slots of the pipeline, each one microbatch's compute and communication."""
        return ((self.pp_size - 1) / self.virtual_stages
                * (self.micro_compute_s + self.micro_tp_s + self.micro_cp_s + self.micro_pp_s))

    @property
    def step_time(self):
        from .units import Q

        return Q(self.step_s, "s")

    @property
    def cp_comm_s(self) -> float:
        return self.microbatch_count * self.micro_cp_s

    @property
    def communication_s(self) -> float:
        return self.tp_comm_s + self.cp_comm_s + self.pp_comm_s + self.dp_comm_s

    @property
    def scaling_efficiency(self) -> float:
        """Ideal step over actual step: the fraction of perfect N-fold speedup achieved."""
        if self.virtual_stages > 1:
            return self._or_missing(self.ideal_s / self.step_s)
        return self._or_missing(fd.scaling_efficiency(*self._terms()))

    @property
    def communication_overhead(self) -> float:
        """Fraction of the step spent communicating (TP, PP and DP, not overlapped)."""
        return self._or_missing(self.straggler_factor * self.communication_s / self.step_s)

    @property
    def bubble_fraction(self) -> float:
        """Idle fraction of each pipeline stage, (P-1)/(M+P-1)."""
        return self._or_missing(fd.bubble_fraction(self.pp_size, self.microbatch_count))

    @property
    def straggler_overhead(self) -> float:
        return self._or_missing(1 - 1 / self.straggler_factor)

    @property
    def effective_mfu(self) -> float:
        """Node efficiency eta times scaling efficiency (model FLOPs over the fleet's peak)."""
        return self._or_missing(self.eta * self.scaling_efficiency)

    @property
    def throughput(self):
        from .units import Q

        return Q(self.batch_size * self.seq_len / self.step_s, "token/s")


class DistributedModel:
    """Part 4's solver: DistributedModel(straggler_factor=1.05).solve(model, fleet, ...)."""

    def __init__(self, straggler_factor: float = 1.0, efficiency: float | None = None):
        if straggler_factor < 1:
            raise ValueError(f"straggler_factor is a slowdown (>= 1), got {straggler_factor}")
        self.straggler_factor = straggler_factor
        self.efficiency = efficiency

    def solve(self, model, fleet, batch_size: int, tp_size: int = 1, pp_size: int = 1,
              microbatch_count: int = 1, seq_len: int | None = None, virtual_stages: int = 1,
              cp_size: int = 1, causal_kernel: bool = False, recompute: bool = False,
              attention_efficiency: float | None = None) -> DistributedResult:
        """One step of `model` on every GPU of `fleet`: global batch of `batch_size` sequences of
        `seq_len` tokens, TP x CP x PP GPUs per model replica, DP = N / (TP x CP x PP) replicas, each
        splitting its share of the batch into `microbatch_count` microbatches.

        virtual_stages: v model chunks per pipeline rank (the interleaved schedule; 1 is 1F1B).
        cp_size: context parallelism, each sequence split over CP GPUs (K and V all-gathered per layer).
        causal_kernel: the attention kernel skips the masked half (flash attention): the GPUs execute
        (S+1)/2 positions per token, while MFU still counts PaLM's S.  recompute: activations are
        recomputed in the backward pass (4 forward-equivalents executed instead of 3).
        attention_efficiency: the attention kernel's sustained fraction of peak, when it differs from the
        matmuls' (a fused flash-attention kernel); default: the same eta as the rest."""
        s = model.spec.si
        n = fleet.gpus
        seq_len = int(seq_len if seq_len is not None else s("training_context"))
        base = dict(model_name=model.name, cluster_name=fleet.name, n_gpus=n, tp_size=tp_size,
                    pp_size=pp_size, batch_size=batch_size, seq_len=seq_len,
                    straggler_factor=self.straggler_factor, virtual_stages=virtual_stages, cp_size=cp_size)

        def infeasible(reason, dp=0, m=microbatch_count, memory=None):
            return DistributedResult(dp_size=dp, microbatch_count=m, feasible=False, reason=reason,
                                     memory=memory, **base)

        # --- does the layout exist? ----------------------------------------------------------
        replica = tp_size * cp_size * pp_size
        if tp_size < 1 or pp_size < 1 or cp_size < 1 or n % replica:
            return infeasible(f"TP x CP x PP = {replica} does not divide {n} GPUs")
        dp = n // replica
        if virtual_stages < 1 or virtual_stages * pp_size > s("layers") + 2:
            return infeasible(f"{virtual_stages} chunks on each of {pp_size} ranks for {s('layers')} layers", dp)
        if s("num_heads") % tp_size:
            return infeasible(f"TP={tp_size} does not split {s('num_heads')} attention heads", dp)
        if pp_size > s("layers"):
            return infeasible(f"PP={pp_size} stages for {s('layers')} layers", dp)
        if batch_size < dp or batch_size % dp:
            return infeasible(f"a batch of {batch_size} sequences does not split over DP={dp} replicas", dp)

        # --- microbatches: a sequence is the smallest piece of work ---------------------------
        per_replica = batch_size // dp
        notes = []
        m = min(microbatch_count, per_replica)
        if m < microbatch_count:
            notes.append(f"{microbatch_count} microbatches asked, {per_replica} sequences per replica: "
                         f"{m} microbatches of 1 sequence")
        micro_seqs = per_replica / m

        # --- memory per GPU (pipeline stage 1 holds the most activations) ---------------------
        memory = self.memory(model, fleet, tp_size, pp_size, dp, micro_seqs, m, seq_len, cp_size)
        if not memory.fits:
            return infeasible(memory.describe(), dp, m, memory)

        # --- time ---------------------------------------------------------------------------
        eta = assumption("efficiency", "compute_efficiency") if self.efficiency is None else self.efficiency
        peak = fleet.accelerator.si("peak_flops")
        flops = f_training(model, batch_size * seq_len, seq_len)
        executed = flops
        if causal_kernel or recompute:
            s_attn = fd.causal_attention_positions(seq_len) if causal_kernel else seq_len
            executed = fd.training_flops_executed(4 if recompute else 3, model.parameters, batch_size * seq_len,
                                                  s("layers"), s("num_heads"), s("head_dim"), s_attn)
        ideal = executed / (n * peak * eta)  # every GPU computing, nothing else
        if attention_efficiency is not None:  # the attention FLOPs at their own kernel's rate
            weights_part = (4 if recompute else 3) * 2 * model.parameters * batch_size * seq_len
            ideal = (weights_part / (n * peak * eta)
                     + (executed - weights_part) / (n * peak * attention_efficiency))
        act_bytes = precision_bytes(assumption("training", "precision"))
        # one microbatch, one layer, on one CP rank (which holds S/CP of each sequence's tokens)
        activation_msg = micro_seqs * seq_len / cp_size * s("hidden_size") * act_bytes

        tp_micro = 0.0
        if tp_size > 1:
            bw, lat = self._link(fleet, tp_size)
            tp_micro = (tp_allreduces_per_layer() * s("layers") / pp_size
                        * fd.ring_allreduce_time(activation_msg, tp_size, bw, lat))
        cp_micro = 0.0
        if cp_size > 1:  # per layer: all-gather the sequence's K and V, reduce-scatter their gradients
            bw, lat = self._link(fleet, tp_size * cp_size)
            kv_msg = micro_seqs * seq_len * 2 * s("num_kv_heads") * s("head_dim") * act_bytes / tp_size
            cp_micro = s("layers") / pp_size * 2 * fd.ring_reduce_scatter_time(kv_msg, cp_size, bw, lat)
        pp_micro = 0.0
        if pp_size > 1:  # activations forward and their gradients back, each GPU its 1/TP slice, v chunks
            bw, lat = self._link(fleet, replica)
            pp_micro = 2 * virtual_stages * fd.p2p_time(activation_msg / tp_size, bw, lat)
        grad_bytes = model.parameters / (tp_size * pp_size) * act_bytes
        # CP ranks hold the same weights as their DP peers: gradients are reduced over DP x CP
        dp_time, algorithm = self._dp_allreduce(fleet, grad_bytes, dp * cp_size, tp_size * pp_size)
        return DistributedResult(dp_size=dp, microbatch_count=m, feasible=True, memory=memory,
                                 micro_compute_s=ideal / m, micro_tp_s=tp_micro, micro_pp_s=pp_micro,
                                 micro_cp_s=cp_micro, dp_comm_s=dp_time, eta=eta, dp_algorithm=algorithm,
                                 model_flops=flops, executed_flops=executed, peak_flops=peak,
                                 notes=tuple(notes), **base)

    # --- the pieces --------------------------------------------------------------------------
    @staticmethod
    def memory(model, fleet, tp_size, pp_size, dp, micro_seqs, microbatches, seq_len, cp_size=1) -> MemoryPerGPU:
        """Weights, gradients, optimizer state and activations on one GPU (mixed-precision Adam)."""
        s = model.spec.si
        b = precision_bytes(assumption("training", "precision"))
        b_opt = precision_bytes(assumption("training", "optimizer_precision"))
        shard = model.parameters / (tp_size * pp_size)
        sharding = assumption("training", "optimizer_sharding")
        if sharding not in ("ZeRO-1", "none"):
            raise ValueError(f"assumptions.toml [training] optimizer_sharding: 'ZeRO-1' or 'none', got {sharding!r}")
        optimizer = shard * assumption("training", "optimizer_copies") * b_opt / (dp if sharding == "ZeRO-1" else 1)
        # full recomputation: each layer keeps its BF16 input per microbatch in flight (split over
        # TP by sequence parallelism); one layer's full activations exist during its backward
        tokens = micro_seqs * seq_len / cp_size
        in_flight = min(pp_size, microbatches)  # 1F1B: stage 1 holds P microbatches
        stored = in_flight * (s("layers") / pp_size) * tokens * s("hidden_size") * b / tp_size
        working = tokens * s("hidden_size") * assumption("training", "layer_activation_bytes") / tp_size
        return MemoryPerGPU(shard * b, shard * b, optimizer, stored + working,
                            fleet.accelerator.si("memory_capacity"))

    @staticmethod
    def _link(fleet, span: int):
        """(bandwidth, latency) of a group of `span` consecutive GPUs: NVLink if it fits in a node."""
        if span <= fleet.gpus_per_node:
            return fleet.scaleup_bw, fleet.scaleup_latency
        return fleet.scaleout_bw, fleet.scaleout_latency

    @staticmethod
    def _dp_allreduce(fleet, grad_bytes, dp, replica_gpus):
        """The gradient AllReduce among DP replicas, placed replica after replica on the nodes."""
        if dp == 1:
            return 0.0, "none"
        per_node = max(1, fleet.gpus_per_node // replica_gpus)  # replicas sharing a node
        if per_node >= dp:
            return fd.ring_allreduce_time(grad_bytes, dp, fleet.scaleup_bw, fleet.scaleup_latency), "ring (NVLink)"
        if per_node == 1:
            return fd.ring_allreduce_time(grad_bytes, dp, fleet.scaleout_bw, fleet.scaleout_latency), \
                f"ring ({fleet.link.si('name')})"
        return fd.hierarchical_allreduce_time(grad_bytes, per_node, dp // per_node, fleet.scaleup_bw,
                                              fleet.scaleup_latency, fleet.scaleout_bw,
                                              fleet.scaleout_latency), "hierarchical"


def f_training(model, tokens: float, seq_len: float | None) -> float:
    """Training FLOPs for `tokens` tokens; seq_len None leaves out attention (plain 6PD)."""
    s = model.spec.si
    return fd.training_flops(model.parameters, tokens, s("layers"), s("num_heads"), s("head_dim"), seq_len or 0)

