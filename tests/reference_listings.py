"""The reference deck's code listings, in deck order: the API contract.

The stored copy of the reference deck (shared/seed/tutorial_part1.tex) lost its leading whitespace;
these are its listings token for token, with Python's indentation restored.  test_reference_listings
checks them against the seed (ignoring leading whitespace) and runs them in one session, in order,
as an attendee would.
"""

# Shorthands the deck's setup slide declares for the rest of the day.
SESSION_SETUP = """
import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
"""

LISTINGS = [
    ("Answer in 0.1 Seconds", '''import mlsysim
profile = mlsysim.Engine.solve(
    mlsysim.Models.Language.Llama3_8B,
    mlsysim.Hardware.Cloud.H100,
    batch_size=1,
)
print(f"Bottleneck: {profile.bottleneck}") # Memory
print(f"MFU: {profile.mfu:.3f}") # 0.003
'''),
    ("Setup: Install \\& Verify", None),  # the shell commands (pip install ...), not Python
    ("Setup: Install \\& Verify", '''import mlsysim
model = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
prof = mlsysim.Engine.solve(model, hw, batch_size=1)
print(prof.bottleneck) # -> "Memory"
'''),
    ("Live Demo: Three Vendors, One API", '''import mlsysim
model = mlsysim.Models.Language.Llama3_8B
for hw_name in ["H100", "MI300X", "Gaudi3"]:
    hw = getattr(mlsysim.Hardware.Cloud, hw_name)
    p = mlsysim.Engine.solve(model, hw, batch_size=1)
    print(f"{hw.name}: {p.bottleneck}, "
          f"{p.latency:.2f}")
'''),
    ("Live Demo: Finding the Ridge Point", '''llama = mlsysim.Models.Language.Llama3_8B
hw = mlsysim.Hardware.Cloud.H100
for bs in [1, 4, 16, 64, 128, 256]:
    p = mlsysim.Engine.solve(llama, hw, batch_size=bs)
    print(f"bs={bs:>3d} {p.bottleneck:<8s} "
          f"MFU={p.mfu:.3f}")
'''),
    ("Exercise 1: Find the Crossover", '''for bs in range(1, 129):
    p = mlsysim.Engine.solve(llama, hw, batch_size=bs)
    if p.bottleneck == "Compute":
        print(f"Crossover at batch size {bs}")
        break
'''),
    ("Live Demo: Two-Phase Serving Analysis", '''serving = mlsysim.ServingModel()
result = serving.solve(llama, hw,
                       seq_len=4096, batch_size=1)
print(f"TTFT: {result.ttft:~P}")
print(f"ITL: {result.itl:~P}")
print(f"KV cache/req: {result.kv_cache_per_request:~P}")
'''),
    ("PagedAttention: Virtual Memory for KV Cache", '''# mlsysim models this with ContinuousBatchingModel
cb = mlsysim.ContinuousBatchingModel()
result = cb.solve(model, hw, seq_len=4096,
                  max_batch_size=32, page_size=16)
print(f"Max concurrent: {result.max_concurrent_requests}")
'''),
    ("Speculative Decoding: Betting on the Draft", '''# mlsysim supports speculative decoding
draft = mlsysim.Models.Language.Llama3_8B # smaller
result = serving.solve(model, hw, seq_len=4096,
                       draft_model=draft, draft_acceptance_rate=0.7)
print(f"Speedup: {result.speculative_speedup:.2f}x")
'''),
    ("Disaggregated Serving: Right Hardware for Each Phase", '''# Disaggregated serving in mlsysim
result = serving.solve(model, hw, seq_len=4096,
                       decode_hardware=mlsysim.Hardware.Cloud.A100)
print(f"TTFT: {result.ttft:~P} ITL: {result.itl:~P}")
'''),
    ("Exercise 2: Serving Capacity Planning", '''cb = mlsysim.ContinuousBatchingModel()
result = cb.solve(llama, hw, seq_len=4096,
                  max_batch_size=64, page_size=16)
print(f"Max concurrent: {result.max_concurrent_requests}")
'''),
    ("Live Demo: Quantization Impact", '''comp = mlsysim.CompressionModel()
for bits in [16, 8, 4]:
    r = comp.solve(llama, hw, method="quantization",
                   target_bitwidth=bits)
    print(f"INT{bits}: size={r.compressed_size:~P} "
          f"speedup={r.inference_speedup:.1f}x")
'''),
    ("Pruning: The Structure Matters", '''for stype in ["unstructured", "structured", "n_m"]:
    r = comp.solve(llama, hw, method="pruning",
                   sparsity=0.5, sparsity_type=stype)
    print(f"{stype:>14}: {r.inference_speedup:.1f}x")
'''),
    ("Exercise 3: Compression Tradeoffs", '''r1 = comp.solve(llama, hw, method="quantization",
                target_bitwidth=8)
r2 = comp.solve(llama, hw, method="pruning",
                sparsity=0.5, sparsity_type="structured")
print(f"Quant: {r1.inference_speedup:.1f}x / "
      f"{abs(r1.accuracy_delta):.1%} loss")
print(f"Prune: {r2.inference_speedup:.1f}x / "
      f"{abs(r2.accuracy_delta):.1%} loss")
'''),
    ("AllReduce: A Concrete Example", '''t = mlsysim.core.formulas.calc_ring_allreduce_time(
    message_bytes=16e9,
    n_gpus=8,
    bandwidth_bytes_s=900e9,
    latency_s=500e-9,
)
print(f"AllReduce time: {t.to('ms'):.1f}")
# -> ~35 ms (bandwidth-dominated, latency is negligible)
'''),
    ("Live Demo: Distributed Training Analysis", '''fleet = mlsysim.Systems.Clusters.Frontier_8K
dist = mlsysim.DistributedModel()
result = dist.solve(llama, fleet, batch_size=4096,
                    tp_size=8, pp_size=1, microbatch_count=32,
                    seq_len=4096)
print(f"Scaling eff: {result.scaling_efficiency:.1%}")
print(f"Comm overhead: {result.communication_overhead:.1%}")
print(f"Effective MFU: {result.effective_mfu:.1%}")
'''),
    ("Exercise 4: Distributed Training Design", '''llama70 = mlsysim.Models.Language.Llama3_70B
fleet = mlsysim.Systems.Clusters.Research_256
for tp in [1, 2, 4, 8]:
    for pp in [1, 2, 4, 8]:
        if tp * pp > 64: continue
        r = dist.solve(llama70, fleet, batch_size=512,
                       tp_size=tp, pp_size=pp, seq_len=4096,
                       microbatch_count=max(4, 64//(tp*pp)))
        print(f"TP={tp} PP={pp} eff={r.scaling_efficiency:.1%}")
'''),
]
