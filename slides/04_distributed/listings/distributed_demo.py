import mlsysim
llama = mlsysim.Models.Language.Llama3_8B
# --- slide ---
fleet = mlsysim.Systems.Clusters.Frontier_8K
dist = mlsysim.DistributedModel()
result = dist.solve(llama, fleet, batch_size=\VAR{claim("dist.demo.batch")},
                    tp_size=\VAR{claim("dist.demo.tp")}, pp_size=1, microbatch_count=\VAR{claim("dist.demo.asked")},
                    seq_len=\VAR{claim("dist.seq")})
print(f"Scaling eff: {result.scaling_efficiency:.1%}")
print(f"Comm overhead: {result.communication_overhead:.1%}")
print(f"Effective MFU: {result.effective_mfu:.1%}")
