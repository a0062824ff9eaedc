import mlsysim
dist = mlsysim.DistributedModel()
# --- slide ---
llama70 = mlsysim.Models.Language.Llama3_70B
fleet = mlsysim.Systems.Clusters.Research_256
for tp in [1, 2, 4, 8]:
    for pp in [1, 2, 4, 8]:
        if tp * pp > 64: continue
        r = dist.solve(llama70, fleet, batch_size=\VAR{claim("dist.job.batch")},
                       tp_size=tp, pp_size=pp, seq_len=\VAR{claim("dist.seq")},
                       microbatch_count=max(4, 64//(tp*pp)))
        print(f"TP={tp} PP={pp} eff={r.scaling_efficiency:.1%}")
