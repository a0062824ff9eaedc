import mlsysim
dist = mlsysim.DistributedModel()
llama70 = mlsysim.Models.Language.Llama3_70B
# --- slide ---
fleet = mlsysim.Systems.Clusters.Research_256.subset(64)   # a 64-GPU job
for tp, pp in [(8, 1), (4, 2), (2, 4), (4, 1), (1, 8)]:
    r = dist.solve(llama70, fleet, batch_size=512, tp_size=tp,
                   pp_size=pp, seq_len=4096, microbatch_count=8)
    print(f"TP={tp} PP={pp} DP={r.dp_size}: "
          f"{r.memory.total / 1e9:3.0f} GB/GPU  eff={r.scaling_efficiency:.1%}")
