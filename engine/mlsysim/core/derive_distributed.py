"""Part 4 formulas: collectives, the pipeline bubble, training compute, reliability.

Each result is derived from the mechanism it describes (the ring's steps, the pipeline's
schedule, the expected work lost to a failure), not typed in as a known answer.
`python -m mlsysim.core.generate` prints them to `_derived_distributed.py`.

Bandwidth convention: every `bw` here is what ONE GPU sends in ONE direction (B/s).  A ring
collective sends one way on each link at a time, so the vendor's both-directions NVLink figure
must be halved before it comes here (`Accelerator.scaleup_bandwidth_per_direction`).
"""
from __future__ import annotations

import sympy as sp

from .derivations import formula, layers, head_dim, heads, params, position, sym

# --- symbols, named as on the slides -----------------------------------------------------------
message = sym("message", "M")  # bytes each GPU holds and wants reduced
n = sym("n", "N", integer=True)  # GPUs in the collective
bw = sym("bw", r"\beta")  # bytes per second, one direction, per GPU
alpha = sym("alpha", r"\alpha")  # latency of one step (one hop)
step = sym("step", "k", integer=True)

g = sym("g", "g", integer=True)  # GPUs of the group inside one node
nodes = sym("nodes", r"N_{\text{node}}", integer=True)
bw_up = sym("bw_up", r"\beta_{\text{up}}")
alpha_up = sym("alpha_up", r"\alpha_{\text{up}}")
bw_out = sym("bw_out", r"\beta_{\text{out}}")
alpha_out = sym("alpha_out", r"\alpha_{\text{out}}")

stages = sym("stages", "P", integer=True)
microbatches = sym("microbatches", "M", integer=True)
t_f = sym("t_f", r"t_{\text{f}}")  # forward time of one microbatch on one stage
t_b = sym("t_b", r"t_{\text{b}}")  # backward time of one microbatch on one stage
j = sym("j", "j", integer=True)

tokens = sym("tokens", "D")
seq = sym("seq", "S")

component_mtbf = sym("component_mtbf", r"\text{MTBF}_{\text{GPU}}")
n_gpus = sym("n_gpus", "N", integer=True)
mtbf = sym("mtbf", r"\text{MTBF}")
delta = sym("delta", r"\delta")  # time to write one checkpoint
tau = sym("tau", r"\tau")  # time between checkpoints
restart = sym("restart", "R")  # time to restart after a failure

# --- collectives (alpha-beta model) -------------------------------------------------------------

#: Ring AllReduce: N GPUs, each message cut into N chunks.  N-1 steps of reduce-scatter and N-1
#: steps of all-gather; in every step each GPU sends one chunk (M/N bytes) to its neighbour, all
#: at once.  Each step costs one latency plus one chunk over the link.
_ring = sp.Sum(alpha + (message / n) / bw, (step, 1, 2 * (n - 1))).doit()
formula("ring_allreduce_time", r"T_{\text{AllReduce}}", _ring, (message, n, bw, alpha),
        "ring AllReduce: 2(N-1) steps, each one chunk of M/N bytes plus one latency")

#: What each GPU sends over the whole ring AllReduce: one chunk of M/N bytes in each of the 2(N-1)
#: steps, 2(N-1)/N M; as N grows it tends to 2M (reduce-scatter's M plus all-gather's M), the
#: bandwidth term no ring size escapes.
_sent = sp.Sum(message / n, (step, 1, 2 * (n - 1))).doit()
formula("ring_allreduce_bytes", r"\text{Bytes}_{\text{AllReduce}}", _sent, (message, n),
        "bytes each GPU sends in a ring AllReduce: 2(N-1) chunks of M/N")
formula("ring_allreduce_bytes_limit", r"\text{Bytes}_{\text{AllReduce}}(N \to \infty)", sp.limit(_sent, n, sp.oo),
        (message,), "bytes each GPU sends in a ring AllReduce of many GPUs: the limit as N grows")

#: Half a ring AllReduce: reduce-scatter (each GPU ends with 1/N of the sum) or all-gather.
_half = sp.Sum(alpha + (message / n) / bw, (step, 1, n - 1)).doit()
formula("ring_reduce_scatter_time", r"T_{\text{ReduceScatter}}", _half, (message, n, bw, alpha),
        "ring reduce-scatter (or all-gather): N-1 steps of M/N bytes")

#: Hierarchical AllReduce over g GPUs per node and N_node nodes: reduce inside the node over the
#: scale-up link (reduce-scatter: each GPU now owns the node's sum of 1/g of the message),
#: AllReduce that 1/g across nodes (every GPU over its own NIC, g rings side by side), then
#: broadcast back inside the node (all-gather).
_hier = (_half.subs({n: g, bw: bw_up, alpha: alpha_up})
         + _ring.subs({message: message / g, n: nodes, bw: bw_out, alpha: alpha_out})
         + _half.subs({n: g, bw: bw_up, alpha: alpha_up}))
formula("hierarchical_allreduce_time", r"T_{\text{hier}}", _hier,
        (message, g, nodes, bw_up, alpha_up, bw_out, alpha_out),
        "reduce in the node, AllReduce across nodes, broadcast back in the node")

#: Point-to-point: one stage hands its activations (or their gradients) to the next.
formula("p2p_time", r"T_{\text{p2p}}", alpha + message / bw, (message, bw, alpha),
        "one message from one GPU to another: a latency plus the bytes over the link")

# --- the pipeline bubble, from the schedule ------------------------------------------------------

#: GPipe / 1F1B with P stages and M microbatches.  Microbatch j enters stage p at (p-1+j-1) t_f;
#: the last forward leaves the last stage at (P-1+M) t_f, and the backward pass drains back the
#: same way: the step's makespan is (M+P-1)(t_f+t_b).  Each stage is busy M(t_f+t_b) of it.
_last_forward_done = (stages - 1 + microbatches - 1) * t_f + t_f
_makespan = _last_forward_done + ((stages - 1 + microbatches - 1) * t_b + t_b)
_busy = sp.Sum(t_f + t_b, (j, 1, microbatches)).doit()
formula("pipeline_makespan", r"T_{\text{pipeline}}", sp.factor(_makespan), (stages, microbatches, t_f, t_b),
        "time for M microbatches through P stages, forward then backward")
formula("bubble_fraction", r"\text{Bubble}", sp.factor(sp.simplify(1 - _busy / _makespan)),
        (stages, microbatches), "idle fraction of each stage during a pipelined step")

# --- training compute ---------------------------------------------------------------------------

#: Per token, a forward pass costs 2 FLOP per weight plus attention (Q.K^T and A.V, each 2*S*d_head
#: FLOP per head per layer, the full S x S count of PaLM's MFU); backward costs twice the forward.
_forward_per_token = 2 * params + 4 * layers * heads * head_dim * seq
formula("training_flops", r"C", 3 * _forward_per_token * tokens, (params, tokens, layers, heads, head_dim, seq),
        "training FLOPs: 3 x (2P + 4 L H d_head S) per token (6PD plus attention)")

# --- reliability ---------------------------------------------------------------------------------

#: N components failing independently, each at rate 1/MTBF: failure rates add.
_rate = sp.Sum(1 / component_mtbf, (step, 1, n_gpus)).doit()
formula("cluster_mtbf", r"\text{MTBF}_{\text{cluster}}", 1 / _rate, (component_mtbf, n_gpus),
        "mean time between failures of N independent GPUs")

#: Checkpoint every tau at cost delta: the overhead is delta/tau.  A failure lands on average half
#: way through an interval and loses tau/2 of work, once every MTBF.  Minimise the sum (Young 1974).
_waste = delta / tau + (tau / 2) / mtbf
formula("checkpoint_waste", r"W(\tau)", _waste, (delta, tau, mtbf),
        "fraction of time lost to writing checkpoints and redoing lost work")
_tau_opt = [s for s in sp.solve(sp.diff(_waste, tau), tau) if s.is_positive][0]
formula("young_interval", r"\tau^{*}", _tau_opt, (delta, mtbf),
        "checkpoint interval that minimises the expected lost work (Young)")

#: Goodput: the fraction of wall-clock time that is useful training, at the optimal interval,
#: counting also the restart time after each failure.
formula("goodput", r"\text{Goodput}", 1 - _waste.subs(tau, _tau_opt) - restart / mtbf, (delta, mtbf, restart),
        "useful fraction of time with checkpoints every tau* and a restart per failure")

# --- the training step and its scaling efficiency ------------------------------------------------

t_c = sym("t_c", r"t_{\text{c}}")  # compute of one microbatch on one GPU
t_tp = sym("t_tp", r"t_{\text{TP}}")  # tensor-parallel AllReduces of one microbatch
t_pp = sym("t_pp", r"t_{\text{PP}}")  # stage-to-stage sends of one microbatch
t_dp = sym("t_dp", r"T_{\text{DP}}")  # the gradient AllReduce, once per step
straggler = sym("straggler", "s")  # the slowest GPU's slowdown (>= 1)

#: Each microbatch slot of the pipeline costs compute plus its TP and PP communication; there are
#: M+P-1 slots (the makespan above with t_f + t_b = one slot); then the gradient AllReduce, once.
_slots = sp.factor(_makespan.subs({t_f: 1, t_b: 0}))  # M + P - 1
_step = straggler * (_slots * (t_c + t_tp + t_pp) + t_dp)
formula("training_step_time", r"T_{\text{step}}", _step, (stages, microbatches, t_c, t_tp, t_pp, t_dp, straggler),
        "one synchronous step: M+P-1 pipeline slots, then the gradient AllReduce, times the straggler drag")
formula("scaling_efficiency", r"\eta_{\text{scaling}}", microbatches * t_c / _step,
        (stages, microbatches, t_c, t_tp, t_pp, t_dp, straggler),
        "ideal step (compute only, every GPU busy) over the actual step")

# --- the interleaved schedule (virtual stages) ----------------------------------------------------

virtual = sym("virtual", "v", integer=True)  # model chunks (virtual stages) per pipeline rank

#: Interleaved 1F1B (Narayanan et al., SC'21, section 2.2): each of the P ranks holds v chunks of
#: L/(P v) layers, so one microbatch's forward on one chunk takes t_f/v.  The last rank starts after
#: the first microbatch crossed P-1 chunks (P-1 hops of t_f/v); then every rank is busy M(t_f+t_b);
#: the first rank finishes after the last backward crossed back P-1 chunks (P-1 hops of t_b/v).
#: With v = 1 this is the one-forward-one-backward makespan above.
_fill = sp.Sum(t_f / virtual, (j, 1, stages - 1)).doit()
_drain = sp.Sum(t_b / virtual, (j, 1, stages - 1)).doit()
_interleaved = _fill + _busy + _drain
assert sp.simplify(_interleaved.subs(virtual, 1) - _makespan) == 0
formula("interleaved_makespan", r"T_{\text{pipeline}}^{(v)}", sp.factor(_interleaved),
        (stages, microbatches, virtual, t_f, t_b),
        "time for M microbatches through P ranks of v chunks each, forward then backward")
formula("bubble_ratio", r"\frac{T_{\text{bubble}}}{T_{\text{ideal}}}", sp.simplify((_interleaved - _busy) / _busy),
        (stages, microbatches, virtual),
        "pipeline idle time over the ideal (busy) time: (P-1)/(v M)")

#: The step with v chunks per rank: M + (P-1)/v microbatch slots, each costing compute plus its TP
#: and PP communication (the caller counts the v-fold stage-to-stage sends in t_PP), then the
#: gradient AllReduce once, times the straggler drag.
_slots_v = sp.factor(_interleaved.subs({t_f: 1, t_b: 0}))  # M + (P-1)/v
_step_v = straggler * (_slots_v * (t_c + t_tp + t_pp) + t_dp)
assert sp.simplify(_step_v.subs(virtual, 1) - _step) == 0
formula("interleaved_step_time", r"T_{\text{step}}^{(v)}", _step_v,
        (stages, microbatches, virtual, t_c, t_tp, t_pp, t_dp, straggler),
        "one synchronous step with the interleaved schedule: M+(P-1)/v slots, then the gradient AllReduce")

# --- the work a training step executes ----------------------------------------------------------

passes = sym("passes", r"n_{\text{pass}}")  # forward-equivalents per step: 3 (f + 2f backward), 4 with recomputation

#: MFU counts attention as PaLM does (the full S x S score matrix, `training_flops` above).  What the
#: GPU executes depends on the kernel: a causal kernel that skips the masked half (flash attention)
#: computes, for token s of a sequence, scores against s positions only (as in prefill): averaged
#: over the sequence, (S+1)/2 positions instead of S.
_causal_positions = sp.Sum(position, (position, 1, seq)).doit() / seq
formula("causal_attention_positions", r"\bar{S}_{\text{causal}}", _causal_positions, (seq,),
        "positions a token attends to, averaged over a causal sequence of S tokens")
s_attn = sym("s_attn", r"\bar{S}")
formula("training_flops_executed", r"C_{\text{executed}}",
        passes * tokens * (2 * params + 4 * layers * heads * head_dim * s_attn),
        (passes, params, tokens, layers, heads, head_dim, s_attn),
        "FLOPs a training step executes: n_pass forward-equivalents of (2P + 4 L H d_head S_bar) per token")
