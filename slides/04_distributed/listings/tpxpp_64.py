import mlsysim
dist = mlsysim.DistributedModel()
llama70 = mlsysim.Models.Language.Llama3_70B
# prints: TP={dist.cand.A.tp} PP={dist.cand.A.pp} DP={dist.cand.A.dp}: {dist.cand.A.mem} GB/GPU eff={}%
# prints: TP={dist.cand.B.tp} PP={dist.cand.B.pp} DP={dist.cand.B.dp}: {dist.cand.B.mem} GB/GPU eff={}%
# prints: TP={dist.cand.C.tp} PP={dist.cand.C.pp} DP={dist.cand.C.dp}: {dist.cand.C.mem} GB/GPU eff={}%
# --- slide ---
fleet = mlsysim.Systems.Clusters.Research_256.subset(\VAR{claim("dist.job.gpus")})   # a 64-GPU job
for tp, pp in [(8, 1), (4, 2), (2, 4), (4, 1), (1, 8)]:
    r = dist.solve(llama70, fleet, batch_size=\VAR{claim("dist.job.batch")}, tp_size=tp,
                   pp_size=pp, seq_len=\VAR{claim("dist.seq")}, microbatch_count=\VAR{claim("dist.job.micro")})
    print(f"TP={tp} PP={pp} DP={r.dp_size}: "
          f"{r.memory.total / 1e9:3.0f} GB/GPU  eff={r.scaling_efficiency:.1%}")
